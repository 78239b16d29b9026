//! The app's settings: one typed struct that the desktop app and the CLI share.
//!
//! What flows in: a JSON value (the app's store) or a JSON file (the CLI), written by any Onyx
//! version or by hand. What flows out: a [`Settings`] that has passed [`Settings::validate`],
//! notices saying what was changed on the way and why, and the engine's views of it
//! ([`Settings::sampling`], [`Settings::provider_choice`]).
//!
//! Why it looks like this:
//! - **Parsed, then validated once.** Ranges live in one function, [`Settings::validate`], which
//!   reports every problem at once, each naming the field, the bad value and what is allowed.
//! - **Loading never fails.** A settings file is something the user can break by hand, and a
//!   broken one must not stop the app from starting. [`Settings::from_json`] keeps every field it
//!   can use, puts the default in place of each one it cannot and says so in a notice; a file that
//!   is not settings at all gives the defaults, and [`quarantine`] moves it aside so nothing the
//!   user had is lost when the app saves over it.
//! - **Defaults in one place**, the [`Default`] impl, each with the reason it was chosen. Loading
//!   judges a field by setting it alone on top of the defaults, so the loader needs no list of
//!   fields of its own: adding a field to the struct is enough.
//! - **Versioned.** `version` says which layout a file has; [`MIGRATIONS`] upgrades older layouts
//!   step by step before the fields are read.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use onyx_runtime::ProviderChoice;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use ts_rs::TS;

use crate::sampling::SamplingParams;

/// The settings layout this build writes: one more than the last entry of [`MIGRATIONS`].
pub const CURRENT_VERSION: u32 = MIGRATIONS.len() as u32;

/// A step that upgrades a settings object by one version, in place.
type Migration = fn(&mut Map<String, Value>);

/// Entry `i` upgrades a settings object from version `i` to `i + 1`. Append new steps; never edit
/// a shipped one, since files written by that version still exist.
///
/// | step   | what changes                                                          |
/// | ------ | --------------------------------------------------------------------- |
/// | 0 -> 1 | the legacy `model` key becomes `chatModel`                            |
///
/// Version 0 is a file with no `version` key: hand-written files and files from before settings
/// carried a version.
pub const MIGRATIONS: &[Migration] = &[rename_model_to_chat_model];

/// 0 -> 1: version-0 files named the chat model `model`; there are two models now (chat and
/// embedding), so the key says which. When both keys are present, `chatModel` wins and `model` is
/// left in place, so the loader reports it as unknown instead of dropping it silently.
fn rename_model_to_chat_model(settings: &mut Map<String, Value>) {
    if !settings.contains_key("chatModel")
        && let Some(model) = settings.remove("model")
    {
        settings.insert("chatModel".into(), model);
    }
}

/// The colour scheme of the app.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Follow the operating system.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

/// "Use my documents": retrieval settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct DocumentSettings {
    /// Search the index and add the best passages to each question.
    pub enabled: bool,
    /// Passages added to a question, `1..=20`.
    pub top_k: u32,
    /// Cosine similarity below which a passage is left out, `-1..=1`.
    #[serde(serialize_with = "shortest_f32")]
    pub min_similarity: f32,
    /// Files larger than this many MiB are skipped when indexing, `1..=4096`.
    pub max_file_mb: u32,
}

/// QNN's names for its HTP performance modes (`htp_performance_mode`); empty is QNN's default.
pub const PERFORMANCE_MODES: &[&str] = &[
    "",
    "burst",
    "sustained_high_performance",
    "high_performance",
    "balanced",
    "low_balanced",
    "default",
    "power_saver",
    "low_power_saver",
    "high_power_saver",
    "extreme_power_saver",
];

/// The NPU's options (QNN's), and the cache of compiled NPU models.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct NpuSettings {
    /// QNN's HTP performance mode, one of [`PERFORMANCE_MODES`].
    pub performance_mode: String,
    /// The Snapdragon's SoC model number for QNN (60 is the X Elite); `None` lets QNN ask the
    /// device. Needed only where QNN compiles for another chip (its x86-64 emulator).
    pub soc_model: Option<u32>,
    /// The HTP architecture for QNN (73 on the X Elite); `None` lets QNN ask the device.
    pub htp_arch: Option<u32>,
    /// Keep compiled NPU models in the app data folder, so a model compiles once, not at every
    /// load.
    pub compile_cache: bool,
}

impl Default for NpuSettings {
    fn default() -> Self {
        Self {
            // Replies are short bursts of work a user waits for: QNN's fastest mode fits them.
            performance_mode: "burst".into(),
            soc_model: None,
            htp_arch: None,
            // Compiling a chat model for the HTP takes tens of seconds; the cache costs only disk.
            compile_cache: true,
        }
    }
}

impl NpuSettings {
    /// The runtime's session defaults for these settings, with compiled models kept in
    /// `compiled_dir` (none without a folder to keep them in).
    pub fn session_defaults(&self, compiled_dir: Option<&Path>) -> onyx_runtime::SessionDefaults {
        let text = |value: Option<u32>| value.map(|v| v.to_string());
        onyx_runtime::SessionDefaults {
            qnn: onyx_runtime::QnnOptions {
                htp_performance_mode: Some(self.performance_mode.clone()).filter(|mode| !mode.is_empty()),
                soc_model: text(self.soc_model),
                htp_arch: text(self.htp_arch),
                backend_path: None,
            },
            compile_cache: compiled_dir.filter(|_| self.compile_cache).map(Path::to_path_buf),
        }
    }
}

impl DocumentSettings {
    /// [`DocumentSettings::max_file_mb`] in bytes.
    pub fn max_file_bytes(&self) -> u64 {
        u64::from(self.max_file_mb) * 1024 * 1024
    }

    /// The search an answer from documents runs.
    pub fn search_options(&self) -> onyx_docs::search::SearchOptions {
        onyx_docs::search::SearchOptions {
            k: self.top_k as usize,
            min_similarity: self.min_similarity,
            ..onyx_docs::search::SearchOptions::default()
        }
    }
}

impl Default for DocumentSettings {
    fn default() -> Self {
        Self {
            // Off until the user adds a folder: with an empty index every question would pay for
            // a search that finds nothing.
            enabled: false,
            // Five chunks of ~256 tokens leave room for the question and a 512-token reply in the
            // default 2048-token context.
            top_k: 5,
            // Below ~0.3, all-MiniLM-L6-v2 similarities are mostly unrelated text.
            min_similarity: 0.3,
            // Larger files are mostly data dumps and scans; the cap bounds indexing memory.
            max_file_mb: 32,
        }
    }
}

/// Everything the user can set. Serialized in camelCase; every field has a default, so a file
/// holding only some of them loads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// Layout version of the file these settings came from ([`CURRENT_VERSION`] once loaded).
    pub version: u32,
    /// `auto`, `npu`, `gpu`, `cpu`, an execution provider's name, or `<EP name>#<device index>`.
    pub provider: String,
    /// Refuse to fall back to the CPU when the chosen provider cannot run the model.
    pub strict_npu: bool,
    /// The ONNX Runtime shared library to load instead of the one found by default (absolute).
    #[serde(serialize_with = "lossy_path")]
    pub runtime_library: Option<PathBuf>,
    /// A folder of execution provider plugins to load instead of the default one (absolute).
    #[serde(serialize_with = "lossy_path")]
    pub plugin_dir: Option<PathBuf>,
    /// The chat model: a folder name under the models folder, or an absolute folder path.
    pub chat_model: String,
    /// The embedding model, named the same way as `chat_model`.
    pub embedding_model: String,
    /// Sent as the system message of every conversation that has none; may be empty.
    pub system_prompt: String,
    /// Softmax temperature, `0..=2` (0 = greedy).
    #[serde(serialize_with = "shortest_f32")]
    pub temperature: f32,
    /// Nucleus sampling, `0..=1` excluding 0 (1 = off).
    #[serde(serialize_with = "shortest_f32")]
    pub top_p: f32,
    /// Keep the `top_k` most likely tokens, `0..=1000` (0 = off).
    pub top_k: u32,
    /// Drop tokens less likely than `min_p` times the best, `0..1` (0 = off).
    #[serde(serialize_with = "shortest_f32")]
    pub min_p: f32,
    /// Most tokens in one reply, `1..=8192`.
    pub max_tokens: u32,
    /// Penalty for repeated tokens, `1..=2` (1 = off).
    #[serde(serialize_with = "shortest_f32")]
    pub repetition_penalty: f32,
    /// Tokens of context the chat model is run with, `256..=32768`.
    pub context_length: u32,
    /// Fixed sampling seed for reproducible replies; `None` draws a fresh one per reply.
    pub seed: Option<u64>,
    /// Retrieval from the user's documents.
    pub documents: DocumentSettings,
    /// The NPU's options and the compiled-model cache.
    pub npu: NpuSettings,
    /// The app's colour scheme.
    pub theme: Theme,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            version: CURRENT_VERSION,
            // The best device of whatever machine this is, falling back to the CPU, so the first
            // run works everywhere without the user knowing what an execution provider is.
            provider: "auto".into(),
            // A reply on the CPU beats no reply; strict mode is for checking that the NPU is used.
            strict_npu: false,
            // Found next to the app (or by `scripts/setup.sh`) unless the user says otherwise.
            runtime_library: None,
            plugin_dir: None,
            // The smallest chat model Onyx ships: it loads in seconds and runs on any CPU. The CLI
            // uses the same two defaults.
            chat_model: "smollm2-135m-instruct".into(),
            embedding_model: "all-minilm-l6-v2".into(),
            // Short, because small models follow short instructions better and every token of it
            // is paid for in each prompt.
            system_prompt: "You are a helpful assistant. Answer clearly and concisely.".into(),
            // The sampling defaults are the engine's (`SamplingParams::default`, tuned for small
            // chat models), so the app and the CLI without settings reply alike; a unit test pins
            // the two together.
            temperature: 0.7,
            top_p: 0.9,
            top_k: 40,
            min_p: 0.05,
            repetition_penalty: 1.1,
            // A full answer from a small model, well within the default context.
            max_tokens: 512,
            // Enough for a few turns plus retrieved passages, while keeping the KV cache and the
            // prompt time small on a CPU.
            context_length: 2048,
            // Fresh replies each time; a fixed seed is for reproducing one.
            seed: None,
            documents: DocumentSettings::default(),
            npu: NpuSettings::default(),
            theme: Theme::System,
        }
    }
}

/// Paths that are not UTF-8 (possible from command-line flags on Unix) cannot be stored in JSON;
/// writing them lossily keeps serialization infallible, and [`Settings::validate`] reports them.
fn lossy_path<S: Serializer>(path: &Option<PathBuf>, serializer: S) -> Result<S::Ok, S::Error> {
    match path {
        Some(path) => serializer.serialize_some(&path.to_string_lossy()),
        None => serializer.serialize_none(),
    }
}

/// JSON values hold f64, and widening an f32 directly shows its binary error (0.7 becomes
/// 0.699999988079071) in saved files and notices. Widening through the shortest decimal that reads
/// back as the same f32 writes 0.7, which deserializes to the same f32.
fn shortest_f32<S: Serializer>(value: &f32, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(value.to_string().parse().unwrap_or(f64::from(*value)))
}

/// One invalid setting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingProblem {
    /// The field as it is spelled in the JSON, e.g. `temperature` or `documents.topK`.
    pub field: String,
    /// What is wrong, naming the value and what is allowed, e.g. `7.5 is outside 0..=2`.
    pub message: String,
}

impl fmt::Display for SettingProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Settings that failed [`Settings::validate`]: every problem found, not just the first.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid settings: {}", join_problems(.problems))]
pub struct SettingsError {
    /// One entry per invalid field.
    pub problems: Vec<SettingProblem>,
}

fn join_problems(problems: &[SettingProblem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// The result of loading settings, which always produces usable ones.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadedSettings {
    /// Valid settings: what the input said where it was usable, defaults elsewhere.
    pub settings: Settings,
    /// One line per thing that was changed, ignored or could not be read, for the user to see.
    pub notices: Vec<String>,
    /// The older layout version the input was upgraded from, if it was.
    pub migrated_from: Option<u32>,
    /// The input could not be read as settings at all and was dropped whole. The caller should
    /// [`quarantine`] the file before saving over it.
    pub discarded: bool,
}

impl LoadedSettings {
    fn defaults(notice: String) -> Self {
        Self { settings: Settings::default(), notices: vec![notice], migrated_from: None, discarded: true }
    }
}

impl Settings {
    /// Checks every field, collecting all problems. The checks are written so that NaN fails them.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let problems = self.problems();
        if problems.is_empty() { Ok(()) } else { Err(SettingsError { problems }) }
    }

    fn problems(&self) -> Vec<SettingProblem> {
        let mut problems = Vec::new();
        let mut check = |field: &str, ok: bool, value: &dyn fmt::Display, allowed: &str| {
            if !ok {
                problems.push(SettingProblem { field: field.into(), message: format!("{value} is outside {allowed}") });
            }
        };
        check("temperature", (0.0..=2.0).contains(&self.temperature), &self.temperature, "0..=2");
        // 0 would keep no token at all; 1 keeps them all (off).
        check("topP", self.top_p > 0.0 && self.top_p <= 1.0, &self.top_p, "0..=1 (excluding 0)");
        check("topK", self.top_k <= 1000, &self.top_k, "0..=1000");
        // At 1 only tokens exactly as likely as the best survive: greedy in disguise. 0 is off.
        check("minP", (0.0..1.0).contains(&self.min_p), &self.min_p, "0..1 (excluding 1)");
        check("maxTokens", (1..=8192).contains(&self.max_tokens), &self.max_tokens, "1..=8192");
        // Below 1 the penalty would reward repetition; above 2 it punishes common words so hard that
        // replies break down.
        check("repetitionPenalty", (1.0..=2.0).contains(&self.repetition_penalty), &self.repetition_penalty, "1..=2");
        check("contextLength", (256..=32768).contains(&self.context_length), &self.context_length, "256..=32768");
        check("documents.topK", (1..=20).contains(&self.documents.top_k), &self.documents.top_k, "1..=20");
        check(
            "documents.minSimilarity",
            (-1.0..=1.0).contains(&self.documents.min_similarity),
            &self.documents.min_similarity,
            "-1..=1",
        );
        check(
            "documents.maxFileMb",
            (1..=4096).contains(&self.documents.max_file_mb),
            &self.documents.max_file_mb,
            "1..=4096",
        );
        if let Some(soc) = self.npu.soc_model {
            check("npu.socModel", (1..=1000).contains(&soc), &soc, "1..=1000");
        }
        if let Some(arch) = self.npu.htp_arch {
            check("npu.htpArch", (1..=255).contains(&arch), &arch, "1..=255");
        }

        let mut invalid = |field: &str, message: String| problems.push(SettingProblem { field: field.into(), message });
        if !PERFORMANCE_MODES.contains(&self.npu.performance_mode.as_str()) {
            invalid(
                "npu.performanceMode",
                format!(
                    "'{}' is not one of QNN's modes ({})",
                    self.npu.performance_mode,
                    PERFORMANCE_MODES[1..].join(", ")
                ),
            );
        }
        if self.version != CURRENT_VERSION {
            invalid("version", format!("{} is not {CURRENT_VERSION}, the version this Onyx writes", self.version));
        }
        if let Some(message) = provider_problem(&self.provider) {
            invalid("provider", message);
        }
        for (field, model) in [("chatModel", &self.chat_model), ("embeddingModel", &self.embedding_model)] {
            if let Some(message) = model_problem(model) {
                invalid(field, message);
            }
        }
        for (field, path) in [("runtimeLibrary", &self.runtime_library), ("pluginDir", &self.plugin_dir)] {
            if let Some(message) = path.as_deref().and_then(path_problem) {
                invalid(field, message);
            }
        }
        problems
    }

    /// Reads settings from a JSON value, never failing: older layouts are migrated, each field
    /// that has the wrong type or an invalid value is replaced by its default, unknown fields are
    /// dropped, and every such change is described in [`LoadedSettings::notices`]. A value that is
    /// not an object gives the defaults.
    pub fn from_json(value: Value) -> LoadedSettings {
        let Value::Object(mut object) = value else {
            return LoadedSettings::defaults(format!(
                "settings must be a JSON object, not {}; using the defaults",
                describe(&value)
            ));
        };
        let mut notices = Vec::new();
        let version = match layout_version(&object) {
            Ok(version) => version,
            Err(bad) => {
                notices.push(format!(
                    "version: {bad} is not a settings version; reading the rest as version {CURRENT_VERSION}"
                ));
                CURRENT_VERSION
            }
        };
        if version > CURRENT_VERSION {
            notices.push(format!(
                "version: {version} is newer than this Onyx understands ({CURRENT_VERSION}); settings it does not \
                 know are ignored"
            ));
        }
        upgrade(&mut object, version);
        let migrated_from = (version < CURRENT_VERSION).then_some(version);
        if let Some(from) = migrated_from {
            notices.push(format!("settings upgraded from version {from} to {CURRENT_VERSION}"));
        }
        object.remove("version");

        let defaults = match Settings::default().to_json() {
            Value::Object(defaults) => defaults,
            _ => Map::new(),
        };
        let mut accepted = defaults.clone();
        for (key, value) in object {
            match defaults.get(&key) {
                None => notices.push(format!("{key}: unknown setting, ignored")),
                // A section such as `documents` is read field by field too, so one bad field in
                // it does not cost the others.
                Some(Value::Object(section_defaults)) => match value {
                    Value::Object(section) => {
                        for (inner, value) in section {
                            if section_defaults.contains_key(&inner) {
                                accept(&defaults, &mut accepted, &[&key, &inner], value, &mut notices);
                            } else {
                                notices.push(format!("{key}.{inner}: unknown setting, ignored"));
                            }
                        }
                    }
                    other => {
                        notices.push(format!("{key}: expected an object, not {}; using the defaults", describe(&other)))
                    }
                },
                Some(_) => accept(&defaults, &mut accepted, &[&key], value, &mut notices),
            }
        }

        // Every accepted field was checked on its own, and fields are independent, so this cannot
        // fail; if a future cross-field rule made it fail, the defaults are still a safe answer.
        let settings = match serde_json::from_value::<Settings>(Value::Object(accepted)) {
            Ok(settings) if settings.validate().is_ok() => settings,
            Ok(settings) => {
                notices.push(format!("{}; using the defaults", join_problems(&settings.problems())));
                Settings::default()
            }
            Err(error) => {
                notices.push(format!("settings could not be read ({error}); using the defaults"));
                Settings::default()
            }
        };
        LoadedSettings { settings, notices, migrated_from, discarded: false }
    }

    /// Reads settings from a JSON file, never failing. A missing file is a first run: the
    /// defaults, with no notice. A file that cannot be read or is not a JSON object gives the
    /// defaults, a notice naming the file and the problem, and [`LoadedSettings::discarded`] set,
    /// so the caller can [`quarantine`] it. Field notices are prefixed with the file.
    pub fn from_file(path: &Path) -> LoadedSettings {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return LoadedSettings {
                    settings: Settings::default(),
                    notices: Vec::new(),
                    migrated_from: None,
                    discarded: false,
                };
            }
            Err(error) => {
                return LoadedSettings::defaults(format!(
                    "cannot read the settings file {}: {error}; using the defaults",
                    path.display()
                ));
            }
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) => {
                let mut loaded = Settings::from_json(value);
                for notice in &mut loaded.notices {
                    *notice = format!("settings file {}: {notice}", path.display());
                }
                loaded
            }
            Err(error) => LoadedSettings::defaults(format!(
                "the settings file {} is not valid JSON ({error}); using the defaults",
                path.display()
            )),
        }
    }

    /// The settings as a JSON object, every field present; [`Settings::from_json`] reads it back
    /// equal.
    pub fn to_json(&self) -> Value {
        // Cannot fail: every field serializes infallibly (paths lossily, see `lossy_path`).
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The sampling part, as the engine takes it.
    pub fn sampling(&self) -> SamplingParams {
        SamplingParams {
            temperature: self.temperature,
            top_k: self.top_k as usize,
            top_p: self.top_p,
            min_p: self.min_p,
            repetition_penalty: self.repetition_penalty,
            seed: self.seed,
        }
    }

    /// The provider, parsed. Names of execution providers are checked against the devices found
    /// when a model is loaded, since which EPs exist depends on the plugins.
    pub fn provider_choice(&self) -> ProviderChoice {
        ProviderChoice::parse(&self.provider)
    }
}

/// Upgrades a settings object written by an older Onyx to the [`CURRENT_VERSION`] layout and sets
/// its `version`. Values that are not objects, objects from a newer Onyx and objects whose
/// `version` is not a number are returned unchanged.
pub fn migrate(value: Value) -> Value {
    match value {
        Value::Object(mut object) => {
            if let Ok(version) = layout_version(&object)
                && version <= CURRENT_VERSION
            {
                upgrade(&mut object, version);
                object.insert("version".into(), CURRENT_VERSION.into());
            }
            Value::Object(object)
        }
        other => other,
    }
}

/// Runs the migrations from `version` on.
fn upgrade(object: &mut Map<String, Value>, version: u32) {
    for step in MIGRATIONS.iter().skip(version as usize) {
        step(object);
    }
}

/// The `version` of a settings object: 0 when absent, the offending value when not a `u32`.
fn layout_version(object: &Map<String, Value>) -> Result<u32, String> {
    match object.get("version") {
        None => Ok(0),
        Some(value) => value.as_u64().and_then(|v| u32::try_from(v).ok()).ok_or_else(|| value.to_string()),
    }
}

/// Takes `value` for the field at `path` if it deserializes and validates when set alone on top
/// of the defaults; otherwise keeps the default and says why.
fn accept(
    defaults: &Map<String, Value>,
    accepted: &mut Map<String, Value>,
    path: &[&str],
    value: Value,
    notices: &mut Vec<String>,
) {
    let field = path.join(".");
    let mut candidate = defaults.clone();
    set_at(&mut candidate, path, value.clone());
    let verdict = match serde_json::from_value::<Settings>(Value::Object(candidate)) {
        Err(error) => Err(error.to_string()),
        Ok(settings) => {
            let messages: Vec<String> =
                settings.problems().into_iter().filter(|p| p.field == field).map(|p| p.message).collect();
            if messages.is_empty() { Ok(()) } else { Err(messages.join("; ")) }
        }
    };
    match verdict {
        Ok(()) => set_at(accepted, path, value),
        Err(why) => {
            let default = get_at(defaults, path).map_or_else(|| "the default".into(), show_default);
            notices.push(format!("{field}: {why}; using {default}"));
        }
    }
}

fn set_at(object: &mut Map<String, Value>, path: &[&str], value: Value) {
    match path {
        [] => {}
        [last] => {
            object.insert((*last).into(), value);
        }
        [first, rest @ ..] => {
            if let Some(Value::Object(inner)) = object.get_mut(*first) {
                set_at(inner, rest, value);
            }
        }
    }
}

fn get_at<'a>(object: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let value = object.get(*first)?;
    match (rest.is_empty(), value) {
        (true, value) => Some(value),
        (false, Value::Object(inner)) => get_at(inner, rest),
        (false, _) => None,
    }
}

fn show_default(value: &Value) -> String {
    match value {
        Value::Null => "none".into(),
        other => other.to_string(),
    }
}

/// A JSON value's kind, for messages about values that are not settings at all.
pub(crate) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `ProviderChoice::parse` takes any text (unknown names become EP names, checked against the
/// devices at load time), so this only rejects what cannot be an EP name at all.
fn provider_problem(provider: &str) -> Option<String> {
    let is_ep_name = |name: &str| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    let ok = match ProviderChoice::parse(provider) {
        ProviderChoice::Auto | ProviderChoice::Npu | ProviderChoice::Gpu | ProviderChoice::Cpu => true,
        ProviderChoice::Ep(name) => is_ep_name(&name),
        ProviderChoice::Device { ep, .. } => is_ep_name(&ep),
    };
    (!ok).then(|| {
        format!(
            "'{provider}' is not auto, npu, gpu, cpu, an execution provider name (letters, digits, '_', '-', '.') \
             or <EP name>#<device index>"
        )
    })
}

/// A model is a plain folder name (looked up under the models folder) or an absolute path; a
/// relative path would depend on the directory the app was started from.
fn model_problem(model: &str) -> Option<String> {
    if model.trim().is_empty() {
        return Some("'' is not a model: expected a folder name under the models folder or an absolute path".into());
    }
    let path = Path::new(model);
    let plain_name = !model.contains(['/', '\\']) && model != "." && model != "..";
    (!plain_name && !path.is_absolute()).then(|| {
        format!("'{model}' is a relative path: expected a folder name under the models folder or an absolute path")
    })
}

fn path_problem(path: &Path) -> Option<String> {
    if path.to_str().is_none() {
        Some(format!("'{}' is not valid UTF-8, which a settings file cannot store", path.display()))
    } else if !path.is_absolute() {
        Some(format!("'{}' is not an absolute path", path.display()))
    } else {
        None
    }
}

/// Moves an unusable file aside as `<name>.corrupt-<unix seconds>` (plus `-1`, `-2`, ... if that
/// exists), in the same folder, and returns the new path. Nothing is deleted, so the user can
/// recover what the file held; the caller then writes a fresh file at `path`.
pub fn quarantine(path: &Path) -> io::Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{} does not name a file", path.display()))
    })?;
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    // `rename` replaces an existing target on Unix, so a free name is looked for first: two
    // quarantines in one second must not overwrite each other.
    for attempt in 0..1000 {
        let mut target = name.to_os_string();
        target.push(format!(".corrupt-{seconds}"));
        if attempt > 0 {
            target.push(format!("-{attempt}"));
        }
        let target = path.with_file_name(target);
        if std::fs::symlink_metadata(&target).is_err() {
            std::fs::rename(path, &target)?;
            return Ok(target);
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("no free name to move {} aside to", path.display())))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(settings: &Settings) -> Vec<String> {
        settings.validate().expect_err("invalid settings").problems.into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn defaults_are_valid_and_sample_like_the_engine() {
        let settings = Settings::default();
        settings.validate().expect("defaults validate");
        assert_eq!(settings.sampling(), SamplingParams::default());
        assert_eq!(settings.provider_choice(), ProviderChoice::Auto);
        assert_eq!(settings.version, 1);
        assert_eq!(CURRENT_VERSION, 1);
        // Floats are written as typed, not as their f32 binary expansion.
        assert_eq!(settings.to_json()["temperature"], json!(0.7));
        assert_eq!(settings.to_json()["documents"]["minSimilarity"], json!(0.3));
        let error = Settings { version: 0, ..Settings::default() }.validate().expect_err("version 0");
        assert_eq!(error.to_string(), "invalid settings: version: 0 is not 1, the version this Onyx writes");
    }

    #[test]
    fn every_range_is_enforced_at_both_ends() {
        type Mutate = fn(&mut Settings);
        let cases: &[(&str, Mutate, Mutate)] = &[
            ("temperature", |s| s.temperature = -0.01, |s| s.temperature = 2.01),
            ("topP", |s| s.top_p = 0.0, |s| s.top_p = 1.01),
            ("topK", |s| s.top_k = 1001, |s| s.top_k = u32::MAX),
            ("minP", |s| s.min_p = -0.1, |s| s.min_p = 1.0),
            ("maxTokens", |s| s.max_tokens = 0, |s| s.max_tokens = 8193),
            ("repetitionPenalty", |s| s.repetition_penalty = 0.99, |s| s.repetition_penalty = 2.01),
            ("contextLength", |s| s.context_length = 255, |s| s.context_length = 32769),
            ("documents.topK", |s| s.documents.top_k = 0, |s| s.documents.top_k = 21),
            ("documents.minSimilarity", |s| s.documents.min_similarity = -1.01, |s| s.documents.min_similarity = 1.01),
            ("documents.maxFileMb", |s| s.documents.max_file_mb = 0, |s| s.documents.max_file_mb = 4097),
        ];
        for (field, below, above) in cases {
            for mutate in [below, above] {
                let mut settings = Settings::default();
                mutate(&mut settings);
                assert_eq!(fields(&settings), vec![field.to_string()], "{settings:?}");
            }
        }
        // The edges themselves are allowed.
        let mut edges = Settings::default();
        (edges.temperature, edges.top_p, edges.top_k, edges.min_p) = (0.0, 1.0, 0, 0.0);
        (edges.max_tokens, edges.repetition_penalty, edges.context_length) = (8192, 2.0, 256);
        (edges.documents.top_k, edges.documents.min_similarity, edges.documents.max_file_mb) = (20, -1.0, 4096);
        edges.validate().expect("edges are inside");
    }

    #[test]
    fn nan_is_rejected_and_named() {
        let settings = Settings { temperature: f32::NAN, ..Settings::default() };
        let error = settings.validate().expect_err("NaN");
        assert_eq!(error.to_string(), "invalid settings: temperature: NaN is outside 0..=2");
    }

    #[test]
    fn providers_that_parse_to_a_name_are_accepted_and_others_named() {
        for ok in ["auto", "NPU", "", "cpu", "QNNExecutionProvider", "openvino", "OpenVINOExecutionProvider#1"] {
            let settings = Settings { provider: ok.into(), ..Settings::default() };
            settings.validate().unwrap_or_else(|e| panic!("{ok:?} should be valid: {e}"));
        }
        for bad in ["my gpu", "QNN#x", "#2", "cuda!"] {
            let settings = Settings { provider: bad.into(), ..Settings::default() };
            let error = settings.validate().expect_err(bad);
            assert_eq!(error.problems[0].field, "provider");
            assert!(error.problems[0].message.starts_with(&format!("'{bad}' is not auto")), "{error}");
        }
        let device = Settings { provider: "QNNExecutionProvider#2".into(), ..Settings::default() };
        assert_eq!(device.provider_choice(), ProviderChoice::Device { ep: "QNNExecutionProvider".into(), index: 2 });
    }

    #[test]
    fn models_are_names_or_absolute_paths() {
        let absolute = std::env::temp_dir().join("models/qwen").to_string_lossy().into_owned();
        for ok in ["qwen2.5-0.5b-instruct", absolute.as_str()] {
            Settings { chat_model: ok.into(), ..Settings::default() }.validate().expect(ok);
        }
        for bad in ["", "  ", "models/qwen", "..", "./qwen"] {
            let settings = Settings { embedding_model: bad.into(), ..Settings::default() };
            assert_eq!(fields(&settings), vec!["embeddingModel".to_string()], "{bad:?}");
        }
        let settings = Settings { runtime_library: Some("lib/libonnxruntime.so".into()), ..Settings::default() };
        let error = settings.validate().expect_err("relative library");
        assert_eq!(
            error.to_string(),
            "invalid settings: runtimeLibrary: 'lib/libonnxruntime.so' is not an absolute path"
        );
    }

    #[test]
    fn the_migration_table_renames_model_once() {
        assert_eq!(migrate(json!({"model": "qwen"})), json!({"version": 1, "chatModel": "qwen"}));
        // chatModel wins; `model` stays, so the loader reports it instead of dropping it silently.
        assert_eq!(
            migrate(json!({"model": "old", "chatModel": "new"})),
            json!({"version": 1, "model": "old", "chatModel": "new"})
        );
        // Current and newer files, and non-objects, pass through untouched.
        assert_eq!(migrate(json!({"version": 1, "model": "x"})), json!({"version": 1, "model": "x"}));
        assert_eq!(migrate(json!({"version": 9})), json!({"version": 9}));
        assert_eq!(migrate(json!([1])), json!([1]));
    }

    #[test]
    fn a_bad_field_costs_only_itself() {
        let loaded = Settings::from_json(json!({
            "version": 1,
            "temperature": 7.5,
            "topK": "many",
            "maxTokens": 100,
            "theme": "blue",
            "documents": {"enabled": true, "topK": 50, "colour": 1},
        }));
        let expected = Settings {
            max_tokens: 100,
            documents: DocumentSettings { enabled: true, ..DocumentSettings::default() },
            ..Settings::default()
        };
        assert_eq!(loaded.settings, expected);
        // Key order depends on serde_json's `preserve_order` feature, which another crate may enable.
        let mut notices = loaded.notices.clone();
        notices.sort();
        assert_eq!(
            notices,
            [
                "documents.colour: unknown setting, ignored",
                "documents.topK: 50 is outside 1..=20; using 5",
                "temperature: 7.5 is outside 0..=2; using 0.7",
                "theme: unknown variant `blue`, expected one of `system`, `light`, `dark`; using \"system\"",
                "topK: invalid type: string \"many\", expected u32; using 40",
            ]
        );
        assert_eq!(loaded.migrated_from, None);
        assert!(!loaded.discarded);
    }

    #[test]
    fn a_section_that_is_not_an_object_gives_its_defaults() {
        let loaded = Settings::from_json(json!({"version": 1, "documents": 3, "seed": 7}));
        assert_eq!(loaded.settings, Settings { seed: Some(7), ..Settings::default() });
        assert_eq!(loaded.notices, vec!["documents: expected an object, not a number; using the defaults"]);
    }
}
