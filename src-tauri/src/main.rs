//! The `onyx-app` binary: starts the desktop shell in [`onyx_app_lib`].

// Release builds on Windows are GUI programs: no console window behind the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

fn main() -> ExitCode {
    match onyx_app_lib::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("onyx-app: {error}");
            ExitCode::FAILURE
        }
    }
}
