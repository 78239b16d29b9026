//! Which of a package's graphs runs: the cpu variant first, and the npu variant when an NPU is
//! in play and takes it whole; every refusal is kept in the provider's report.

use super::*;

/// The one graph of an embedding variant.
pub(super) fn graph_file(entry: &manifest::Variant) -> Result<&str, EngineError> {
    match entry.files.as_slice() {
        [file] => Ok(file),
        files => Err(EngineError::package(
            file_list(files),
            format!("the {} variant of an embedding package must have one graph", entry.target),
        )),
    }
}

pub(super) fn file_list(files: &[String]) -> PathBuf {
    PathBuf::from(files.join(" + "))
}

pub(super) fn build_session(
    runtime: &Runtime,
    model_file: &Path,
    choice: &ProviderChoice,
    strict: bool,
) -> Result<ProvidedSession, EngineError> {
    let mut request = SessionRequest::new(ModelSource::File(model_file), choice.clone());
    request.strict = strict;
    Ok(runtime.build_session(&request)?)
}

pub(super) fn build_variant(
    runtime: &Runtime,
    dir: &Path,
    entry: &manifest::Variant,
    choice: &ProviderChoice,
    strict: bool,
) -> Result<ProvidedSession, EngineError> {
    // ModelFolder::open checked that the files are there.
    build_session(runtime, &dir.join(graph_file(entry)?), choice, strict)
}

/// Picks and builds the package graph to use; see [`EmbeddingModel::load`].
pub(super) fn build_package_session<'m>(
    runtime: &Runtime,
    dir: &Path,
    manifest: &'m Manifest,
    choice: &ProviderChoice,
    strict: bool,
    forced: Option<Variant>,
) -> Result<(Variant, &'m manifest::Variant, ProvidedSession), EngineError> {
    let find = |variant: Variant| manifest.variant(variant.target());
    if let Some(variant) = forced {
        let entry = find(variant).ok_or_else(|| {
            let listed: Vec<&str> = manifest.variants.iter().map(|v| v.target.as_str()).collect();
            EngineError::package(
                dir.join(MANIFEST_FILE),
                format!("has no {} variant (it has {})", variant.target().as_str(), listed.join(", ")),
            )
        })?;
        return Ok((variant, entry, build_variant(runtime, dir, entry, choice, strict)?));
    }

    let (primary, primary_entry) = match (find(Variant::Cpu), find(Variant::Npu)) {
        (Some(entry), _) => (Variant::Cpu, entry),
        (None, Some(entry)) => (Variant::Npu, entry),
        (None, None) => {
            return Err(EngineError::package(dir.join(MANIFEST_FILE), "has neither a cpu nor an npu variant"));
        }
    };
    let mut primary_built = build_variant(runtime, dir, primary_entry, choice, strict);
    let npu_entry = find(Variant::Npu).filter(|_| primary == Variant::Cpu);
    if let Some(npu_entry) = npu_entry
        && npu_in_play(&primary_built)
    {
        let note = match build_variant(runtime, dir, npu_entry, choice, strict) {
            Ok(built) if built.provider.device_kind == DeviceKind::Npu => {
                return Ok((Variant::Npu, npu_entry, built));
            }
            Ok(built) => Attempt {
                ep: built.provider.ep,
                device: built.provider.device_name,
                device_index: Some(built.provider.device_index),
                device_kind: Some(built.provider.device_kind),
                reason: format!("the npu variant ({}) did not run on an NPU", npu_entry.files.join(" + ")),
            },
            Err(error @ EngineError::Package { .. }) => return Err(error),
            Err(error) => Attempt::without_device("npu variant", format!("{}: {error}", npu_entry.files.join(" + "))),
        };
        // Keep the report honest about why the NPU graph is not the one running.
        match &mut primary_built {
            Ok(built) => built.provider.tried.push(note),
            Err(EngineError::Provider(ProviderError::AllFailed { tried, .. })) => tried.push(note),
            Err(_) => {}
        }
    }
    Ok((primary, primary_entry, primary_built?))
}

/// Whether an NPU was involved in building the cpu variant: it runs there, or one was tried and
/// refused it. NPU compilers reject dynamic shapes, so the second case is the common one, and
/// exactly when the static graph is worth building.
pub(super) fn npu_in_play(built: &Result<ProvidedSession, EngineError>) -> bool {
    match built {
        Ok(built) => {
            built.provider.device_kind == DeviceKind::Npu || built.provider.tried.iter().any(Attempt::was_on_npu)
        }
        Err(EngineError::Provider(ProviderError::AllFailed { tried, .. })) => tried.iter().any(Attempt::was_on_npu),
        Err(_) => false,
    }
}
