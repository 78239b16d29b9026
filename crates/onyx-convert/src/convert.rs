//! Converting whatever [`SourceKind`] recognised into a package: the one entry point that
//! `onyx convert` and the app's import share, so both build the same variants from the same flags.

use std::ops::ControlFlow;
use std::path::Path;

use crate::ConvertError;
use crate::chat::{ChatOptions, Progress, convert_gguf_chat, convert_hf_chat};
use crate::folder::SourceKind;
use crate::manifest::{Manifest, QuantScheme, Target};

/// What to build, for either kind of source.
#[derive(Clone, Debug)]
pub struct ConvertOptions {
    /// Chat sources: the variants and how each is built.
    pub chat: ChatOptions,
    /// Embedding sources: the targets to build.
    pub embedding_targets: Vec<Target>,
    /// Embedding sources: the weights of every target.
    pub embedding_quant: QuantScheme,
}

impl ConvertOptions {
    /// The options for `--target` and `--quant`: chat as [`ChatOptions::for_targets`] says;
    /// embedding graphs in `quant`, exact fp32 when none is asked for (a small model loses more
    /// to quantization than it saves).
    pub fn new(targets: &[Target], quant: Option<QuantScheme>) -> Result<Self, ConvertError> {
        let chat = ChatOptions::for_targets(targets, quant).map_err(|e| ConvertError::unsupported("--target", e))?;
        Ok(Self { chat, embedding_targets: targets.to_vec(), embedding_quant: quant.unwrap_or(QuantScheme::Fp32) })
    }
}

impl Default for ConvertOptions {
    /// Both targets, each in its default scheme: what the app's import builds.
    fn default() -> Self {
        Self {
            chat: ChatOptions::default(),
            embedding_targets: vec![Target::Cpu, Target::Npu],
            embedding_quant: QuantScheme::Fp32,
        }
    }
}

/// Converts `source` into a package at `out`, telling `progress` each step and the share done
/// (see [`Progress`]). A folder Onyx already runs has nothing to convert and is refused.
pub fn convert(
    source: &SourceKind,
    out: &Path,
    options: &ConvertOptions,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<Manifest, ConvertError> {
    match source {
        SourceKind::Gguf(path) => convert_gguf_chat(path, out, &options.chat, progress),
        SourceKind::HfChat(dir) => convert_hf_chat(dir, out, &options.chat, progress),
        SourceKind::HfEmbedding(dir) => crate::bert::convert_embedding_with_progress(
            dir,
            out,
            &options.embedding_targets,
            options.embedding_quant,
            progress,
        )
        .map(|summary| summary.manifest),
        SourceKind::Model(folder) => Err(ConvertError::unsupported(
            &folder.dir,
            format!(
                "it is already {} model Onyx runs as it is ({}); there is nothing to convert",
                folder.kind.with_article(),
                folder.layout.describe()
            ),
        )),
    }
}
