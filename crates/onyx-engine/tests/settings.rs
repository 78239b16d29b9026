//! Settings through the public API: validation, lenient loading of damaged and old files,
//! quarantine, and the round trip the app and the CLI depend on. No model or runtime needed.

use std::path::{Path, PathBuf};

use onyx_engine::sampling::SamplingParams;
use onyx_engine::settings::{self, CURRENT_VERSION, DocumentSettings, NpuSettings, Settings, Theme};
use onyx_runtime::ProviderChoice;
use serde_json::json;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write settings file");
    path
}

/// Settings with every field away from its default, so a round trip that drops one shows.
fn everything_changed() -> Settings {
    Settings {
        version: CURRENT_VERSION,
        provider: "QNNExecutionProvider#2".into(),
        strict_npu: true,
        runtime_library: Some(std::env::temp_dir().join("ort/libonnxruntime.so")),
        plugin_dir: Some(std::env::temp_dir().join("ort/plugins")),
        chat_model: "qwen2.5-0.5b-instruct".into(),
        embedding_model: std::env::temp_dir().join("models/bge-small").to_string_lossy().into_owned(),
        system_prompt: "Answer in French.\nBe brief.".into(),
        temperature: 1.3,
        top_p: 0.95,
        top_k: 0,
        min_p: 0.1,
        max_tokens: 1024,
        repetition_penalty: 1.25,
        context_length: 4096,
        seed: Some(u64::MAX),
        documents: DocumentSettings { enabled: true, top_k: 8, min_similarity: -0.2, max_file_mb: 100 },
        npu: NpuSettings {
            performance_mode: "sustained_high_performance".into(),
            soc_model: Some(60),
            htp_arch: Some(73),
            compile_cache: false,
        },
        theme: Theme::Dark,
    }
}

#[test]
fn defaults_validate_and_feed_the_engine() {
    let settings = Settings::default();
    settings.validate().expect("defaults are valid");
    assert_eq!(settings.chat_model, "smollm2-135m-instruct");
    assert_eq!(settings.embedding_model, "all-minilm-l6-v2");
    assert_eq!(settings.sampling(), SamplingParams::default());
    assert_eq!(settings.provider_choice(), ProviderChoice::Auto);
    assert_eq!(settings.theme, Theme::System);
    let json = settings.to_json();
    assert_eq!(json["theme"], json!("system"));
    assert_eq!(json["maxTokens"], json!(512));
    assert_eq!(json["documents"]["maxFileMb"], json!(32));
    assert_eq!(
        json["npu"],
        json!({"performanceMode": "burst", "socModel": null, "htpArch": null, "compileCache": true})
    );
}

#[test]
fn npu_settings_become_the_runtime_session_defaults() {
    let compiled = std::env::temp_dir().join("onyx-compiled");
    let defaults = Settings::default().npu.session_defaults(Some(&compiled));
    assert_eq!(defaults.qnn.htp_performance_mode.as_deref(), Some("burst"));
    assert_eq!((defaults.qnn.soc_model, defaults.qnn.htp_arch), (None, None));
    assert_eq!(defaults.compile_cache.as_deref(), Some(compiled.as_path()));
    let chosen =
        NpuSettings { performance_mode: String::new(), soc_model: Some(60), htp_arch: Some(73), compile_cache: false };
    let defaults = chosen.session_defaults(Some(&compiled));
    assert_eq!(defaults.qnn.htp_performance_mode, None, "empty leaves QNN's own default");
    assert_eq!((defaults.qnn.soc_model.as_deref(), defaults.qnn.htp_arch.as_deref()), (Some("60"), Some("73")));
    assert_eq!(defaults.compile_cache, None);
    assert_eq!(Settings::default().npu.session_defaults(None).compile_cache, None, "no folder, no cache");
}

#[test]
fn every_invalid_value_is_reported_at_once_with_its_field_value_and_range() {
    let settings = Settings {
        provider: "not a provider".into(),
        chat_model: "models/relative".into(),
        temperature: 7.5,
        top_p: 0.0,
        top_k: 5000,
        min_p: 1.5,
        max_tokens: 0,
        repetition_penalty: 0.5,
        context_length: 100,
        plugin_dir: Some("plugins".into()),
        documents: DocumentSettings { enabled: true, top_k: 0, min_similarity: 2.0, max_file_mb: 0 },
        npu: NpuSettings {
            performance_mode: "turbo".into(),
            soc_model: Some(0),
            htp_arch: Some(300),
            compile_cache: true,
        },
        ..Settings::default()
    };
    let error = settings.validate().expect_err("invalid settings");
    let problems: Vec<String> = error.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "temperature: 7.5 is outside 0..=2",
            "topP: 0 is outside 0..=1 (excluding 0)",
            "topK: 5000 is outside 0..=1000",
            "minP: 1.5 is outside 0..1 (excluding 1)",
            "maxTokens: 0 is outside 1..=8192",
            "repetitionPenalty: 0.5 is outside 1..=2",
            "contextLength: 100 is outside 256..=32768",
            "documents.topK: 0 is outside 1..=20",
            "documents.minSimilarity: 2 is outside -1..=1",
            "documents.maxFileMb: 0 is outside 1..=4096",
            "npu.socModel: 0 is outside 1..=1000",
            "npu.htpArch: 300 is outside 1..=255",
            "npu.performanceMode: 'turbo' is not one of QNN's modes (burst, sustained_high_performance, \
             high_performance, balanced, low_balanced, default, power_saver, low_power_saver, high_power_saver, \
             extreme_power_saver)",
            "provider: 'not a provider' is not auto, npu, gpu, cpu, an execution provider name (letters, digits, \
             '_', '-', '.') or <EP name>#<device index>",
            "chatModel: 'models/relative' is a relative path: expected a folder name under the models folder or an \
             absolute path",
            "pluginDir: 'plugins' is not an absolute path",
        ]
    );
    assert!(error.to_string().starts_with("invalid settings: temperature: 7.5 is outside 0..=2; topP: "), "{error}");
}

#[test]
fn garbage_files_load_the_defaults_name_the_file_and_quarantine_keeps_the_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let random: Vec<u8> = (0u32..512).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let cases: [(&str, &[u8], &str); 5] = [
        ("random.json", &random, "is not valid JSON"),
        ("array.json", b"[1,2]", "settings must be a JSON object, not an array; using the defaults"),
        ("string.json", b"\"str\"", "settings must be a JSON object, not a string; using the defaults"),
        ("truncated.json", b"{\"temperature\": 0.5, \"topK\": 4", "is not valid JSON (EOF while parsing"),
        ("empty.json", b"", "is not valid JSON (EOF while parsing"),
    ];
    for (name, bytes, problem) in cases {
        let path = write(dir.path(), name, bytes);
        let loaded = Settings::from_file(&path);
        assert_eq!(loaded.settings, Settings::default(), "{name}");
        assert!(loaded.discarded, "{name}");
        assert_eq!(loaded.migrated_from, None, "{name}");
        assert_eq!(loaded.notices.len(), 1, "{name}: {:?}", loaded.notices);
        let notice = &loaded.notices[0];
        assert!(notice.contains(&path.display().to_string()), "{name}: {notice}");
        assert!(notice.contains(problem), "{name}: {notice}");

        let moved = settings::quarantine(&path).expect("quarantine");
        assert!(!path.exists(), "{name} was moved");
        assert_eq!(moved.parent(), path.parent());
        let moved_name = moved.file_name().expect("name").to_string_lossy().into_owned();
        assert!(moved_name.starts_with(&format!("{name}.corrupt-")), "{moved_name}");
        assert_eq!(std::fs::read(&moved).expect("read quarantined"), bytes, "{name}: bytes kept");
    }
}

#[test]
fn quarantining_twice_in_one_second_keeps_both_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "settings.json", b"first");
    let first = settings::quarantine(&path).expect("first");
    std::fs::write(&path, b"second").expect("write again");
    let second = settings::quarantine(&path).expect("second");
    assert_ne!(first, second);
    assert_eq!(std::fs::read(&first).expect("first"), b"first");
    assert_eq!(std::fs::read(&second).expect("second"), b"second");
    let missing = settings::quarantine(&dir.path().join("absent.json")).expect_err("nothing to move");
    assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn a_missing_file_is_a_first_run_with_no_notice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let loaded = Settings::from_file(&dir.path().join("settings.json"));
    assert_eq!(loaded.settings, Settings::default());
    assert!(loaded.notices.is_empty(), "{:?}", loaded.notices);
    assert!(!loaded.discarded);
}

#[test]
fn an_unreadable_file_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A directory where the file should be: reading it fails on every platform, even as root.
    let path = dir.path().join("settings.json");
    std::fs::create_dir(&path).expect("mkdir");
    let loaded = Settings::from_file(&path);
    assert_eq!(loaded.settings, Settings::default());
    assert!(loaded.discarded);
    assert!(loaded.notices[0].starts_with(&format!("cannot read the settings file {}: ", path.display())));
}

#[test]
fn a_version_0_file_is_migrated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "settings.json", br#"{"model": "qwen2.5-0.5b-instruct", "temperature": 0.2}"#);
    let loaded = Settings::from_file(&path);
    assert_eq!(loaded.migrated_from, Some(0));
    assert_eq!(loaded.settings.chat_model, "qwen2.5-0.5b-instruct");
    assert_eq!(loaded.settings.temperature, 0.2);
    assert_eq!(loaded.settings.version, CURRENT_VERSION);
    assert_eq!(loaded.notices, [format!("settings file {}: settings upgraded from version 0 to 1", path.display())]);
    assert!(!loaded.discarded);

    assert_eq!(
        settings::migrate(json!({"model": "a", "theme": "dark"})),
        json!({"version": 1, "chatModel": "a", "theme": "dark"})
    );
}

#[test]
fn unknown_fields_are_ignored_with_a_notice() {
    let loaded = Settings::from_json(json!({"version": 1, "maxTokens": 64, "fontSize": 14}));
    assert_eq!(loaded.settings, Settings { max_tokens: 64, ..Settings::default() });
    assert_eq!(loaded.notices, ["fontSize: unknown setting, ignored"]);
    // In a version-0 file that also has `chatModel`, the legacy key is reported, not lost silently.
    let loaded = Settings::from_json(json!({"model": "old", "chatModel": "new"}));
    assert_eq!(loaded.settings.chat_model, "new");
    assert!(loaded.notices.contains(&"model: unknown setting, ignored".to_string()), "{:?}", loaded.notices);
}

#[test]
fn bad_values_fall_back_to_their_defaults_one_by_one() {
    let loaded = Settings::from_json(json!({
        "version": 1,
        "temperature": 7.5,
        "provider": "gpu",
        "contextLength": -4,
        "seed": 42,
        "runtimeLibrary": null,
    }));
    let expected = Settings { provider: "gpu".into(), seed: Some(42), ..Settings::default() };
    assert_eq!(loaded.settings, expected);
    let mut notices = loaded.notices;
    notices.sort();
    assert_eq!(
        notices,
        [
            "contextLength: invalid value: integer `-4`, expected u32; using 2048",
            "temperature: 7.5 is outside 0..=2; using 0.7",
        ]
    );
}

#[test]
fn odd_versions_are_read_as_well_as_possible() {
    let newer = Settings::from_json(json!({"version": 7, "topK": 10, "newThing": true}));
    assert_eq!(newer.settings, Settings { top_k: 10, ..Settings::default() });
    assert_eq!(newer.migrated_from, None);
    assert_eq!(newer.notices.len(), 2, "{:?}", newer.notices);
    assert!(newer.notices[0].starts_with("version: 7 is newer than this Onyx understands (1)"), "{:?}", newer.notices);
    let garbage = Settings::from_json(json!({"version": "two", "model": "kept as unknown"}));
    assert_eq!(garbage.settings, Settings::default());
    assert_eq!(garbage.notices[0], "version: \"two\" is not a settings version; reading the rest as version 1");
}

#[test]
fn to_json_and_back_is_the_identity() {
    for settings in [Settings::default(), everything_changed()] {
        settings.validate().expect("valid");
        let loaded = Settings::from_json(settings.to_json());
        assert_eq!(loaded.settings, settings);
        assert!(loaded.notices.is_empty(), "{:?}", loaded.notices);
        // Through text and a file too, as the CLI reads it.
        let dir = tempfile::tempdir().expect("temp dir");
        let text = serde_json::to_vec_pretty(&settings.to_json()).expect("json text");
        let from_file = Settings::from_file(&write(dir.path(), "settings.json", &text));
        assert_eq!(from_file.settings, settings);
        assert!(from_file.notices.is_empty(), "{:?}", from_file.notices);
    }
    let changed = everything_changed();
    assert_eq!(
        changed.sampling(),
        SamplingParams {
            temperature: 1.3,
            top_k: 0,
            top_p: 0.95,
            min_p: 0.1,
            repetition_penalty: 1.25,
            seed: Some(u64::MAX)
        }
    );
    assert_eq!(changed.provider_choice(), ProviderChoice::Device { ep: "QNNExecutionProvider".into(), index: 2 });
}

#[test]
fn a_partial_file_keeps_the_other_defaults() {
    let loaded = Settings::from_json(json!({"version": 1, "theme": "light", "documents": {"enabled": true}}));
    let expected = Settings {
        theme: Theme::Light,
        documents: DocumentSettings { enabled: true, ..DocumentSettings::default() },
        ..Settings::default()
    };
    assert_eq!(loaded.settings, expected);
    assert!(loaded.notices.is_empty(), "{:?}", loaded.notices);
}
