//! The Onyx desktop shell: a thin Tauri layer over the engine crates.
//!
//! What flows in: IPC calls from the window (ui/), each a command in [`commands`] that the
//! window's capability (capabilities/main.json) grants. What flows out: the engine's own
//! serializable types (for now `onyx_runtime::doctor::DoctorReport`) or an [`error::Error`]
//! as `{code, message}`. Only this crate knows Tauri; the engine crates stay usable from the
//! `onyx` CLI and from tests without it.
//!
//! Layout, by domain: `doctor` holds the state and the worker-thread call for the system check;
//! `commands` holds the one-line command functions; `error` the wire error.

mod commands;
mod doctor;
mod error;

use onyx_runtime::RuntimeConfig;

use crate::doctor::DoctorState;

/// Builds and runs the app until its last window closes.
///
/// The runtime configuration is the default one: onyx-runtime itself finds `runtime/` in the
/// repository or honours `ONYX_RUNTIME` / `ORT_DYLIB_PATH`, exactly as the `onyx` CLI does, so
/// both front ends report the same machine the same way.
pub fn run() -> tauri::Result<()> {
    tauri::Builder::default()
        .manage(DoctorState::new(RuntimeConfig::default()))
        // One list for the whole app, grouped by domain; build.rs and capabilities/main.json
        // must name the same commands (see `tests::commands_are_declared_everywhere`).
        .invoke_handler(tauri::generate_handler![
            // doctor
            commands::doctor_report,
        ])
        .run(tauri::generate_context!())
}

#[cfg(test)]
mod tests {
    //! Keeps the places that name a command in step: a command left out of build.rs has no
    //! permission to grant, one left out of the capability is refused at run time, and one the
    //! UI invokes under another name fails only when clicked.

    use std::collections::BTreeSet;
    use std::fs;
    use std::path::Path;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn read(relative: &str) -> Result<String, std::io::Error> {
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative))
    }

    /// The names in build.rs's `const COMMANDS: &[&str] = &[...]`.
    fn build_rs_commands() -> Result<BTreeSet<String>, Box<dyn std::error::Error>> {
        let build_rs = read("build.rs")?;
        let start = build_rs.find("const COMMANDS").ok_or("build.rs has no COMMANDS list")?;
        let list = &build_rs[start..];
        let open = list.find("= &[").ok_or("COMMANDS is not a slice literal")? + 4;
        let close = list[open..].find(']').ok_or("COMMANDS list is not closed")? + open;
        Ok(list[open..close]
            .split(',')
            .map(|name| name.trim().trim_matches('"').to_owned())
            .filter(|name| !name.is_empty())
            .collect())
    }

    /// The functions marked `#[tauri::command]` in commands.rs.
    fn command_functions() -> Result<BTreeSet<String>, Box<dyn std::error::Error>> {
        let source = read("src/commands.rs")?;
        let mut names = BTreeSet::new();
        for chunk in source.split("#[tauri::command]").skip(1) {
            let after_fn = chunk.split_once("fn ").ok_or("a command attribute without fn")?.1;
            let name: String = after_fn.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            names.insert(name);
        }
        Ok(names)
    }

    #[test]
    fn commands_are_declared_everywhere() -> TestResult {
        let declared = build_rs_commands()?;
        assert!(!declared.is_empty(), "build.rs declares no commands");
        assert_eq!(declared, command_functions()?, "build.rs COMMANDS vs commands.rs");

        let lib = read("src/lib.rs")?;
        for name in &declared {
            assert!(lib.contains(&format!("commands::{name},")), "{name} is not in generate_handler!");
        }

        let capability: serde_json::Value = serde_json::from_str(&read("capabilities/main.json")?)?;
        let granted: BTreeSet<String> = capability["permissions"]
            .as_array()
            .ok_or("capability has no permissions list")?
            .iter()
            .filter_map(|permission| permission.as_str())
            .filter_map(|permission| permission.strip_prefix("allow-"))
            .map(|command| command.replace('-', "_"))
            .collect();
        assert_eq!(declared, granted, "build.rs COMMANDS vs allow-* in capabilities/main.json");
        Ok(())
    }

    #[test]
    fn the_ui_invokes_only_declared_commands() -> TestResult {
        let declared = build_rs_commands()?;
        let ipc_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/ipc");
        let mut invoked = BTreeSet::new();
        for entry in fs::read_dir(&ipc_dir)? {
            let path = entry?.path();
            let is_source =
                path.extension().is_some_and(|ext| ext == "ts") && !path.to_string_lossy().ends_with(".test.ts");
            if is_source {
                let source = fs::read_to_string(&path)?;
                for call in source.split("invoke<").skip(1).chain(source.split("invoke(").skip(1)) {
                    if let Some(name) = call.split('"').nth(1) {
                        invoked.insert(name.to_owned());
                    }
                }
            }
        }
        assert!(!invoked.is_empty(), "found no invoke calls in {}", ipc_dir.display());
        let unknown: Vec<_> = invoked.difference(&declared).collect();
        assert!(unknown.is_empty(), "the UI invokes undeclared commands: {unknown:?}");
        Ok(())
    }
}
