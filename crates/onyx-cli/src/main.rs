//! The `onyx` command: the Onyx engine from a terminal.
//!
//! This binary is glue: it parses arguments, calls into the library crates and prints. The
//! interface follows the contract in ARCHITECTURE.md, which scripts and tests depend on; `--json`
//! output is for machines, everything else for people.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use onyx_runtime::doctor::{self, DoctorReport, RuntimeStatus};
use onyx_runtime::{DeviceInfo, PluginState, Runtime, RuntimeConfig};

#[derive(Parser)]
#[command(
    name = "onyx",
    version,
    about = "Private, local AI: chat and document search on your NPU, GPU or CPU"
)]
struct Cli {
    /// ONNX Runtime library file, or a folder holding it (default: ORT_DYLIB_PATH, ONYX_RUNTIME,
    /// next to this program, then the repository's runtime/ folder).
    #[arg(long, global = true, value_name = "PATH")]
    runtime: Option<PathBuf>,
    /// Extra folder to search for execution-provider plugin libraries.
    #[arg(long, global = true, value_name = "DIR")]
    plugin_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show the runtime library, plugin libraries, devices, and where a model would run.
    Doctor {
        /// Provider to check: auto, npu, gpu, cpu, or an EP name.
        #[arg(long, short = 'p', default_value = "auto")]
        provider: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the devices ONNX Runtime can run models on.
    Devices {
        /// Print the devices as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = RuntimeConfig {
        library_path: cli.runtime.clone(),
        plugin_dir: cli.plugin_dir.clone(),
    };
    let result = match cli.command {
        Command::Doctor { provider, json } => run_doctor(&config, &provider, json),
        Command::Devices { json } => run_devices(&config, json),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            // One line, the whole cause chain: "could not load ONNX Runtime: ...".
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_devices(config: &RuntimeConfig, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = Runtime::init(config)?;
    let devices = runtime.devices();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(devices).context("serializing devices")?
        );
    } else {
        print_devices(devices);
    }
    Ok(ExitCode::SUCCESS)
}

fn run_doctor(config: &RuntimeConfig, provider: &str, json: bool) -> anyhow::Result<ExitCode> {
    let probe = onyx_convert::probe::probe_model();
    let report = doctor::run(config, provider, Some(&probe));
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("serializing the report")?
        );
    } else {
        print_report(&report);
    }
    // The report is always printed; the exit code says whether a model can run at all.
    let healthy = matches!(report.runtime, RuntimeStatus::Loaded { .. })
        && report.provider.as_ref().is_some_and(|p| p.active.is_some());
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_report(report: &DoctorReport) {
    println!("ONNX Runtime");
    match &report.runtime {
        RuntimeStatus::Loaded {
            path,
            version,
            skipped,
        } => {
            println!("  version  {version}");
            println!("  library  {path}");
            for s in skipped {
                println!("  skipped  {} ({})", s.path.display(), s.reason);
            }
        }
        RuntimeStatus::Failed { error, .. } => {
            println!("  not loaded: {error}");
            println!("  run scripts/setup.sh, or pass --runtime PATH / set ORT_DYLIB_PATH");
            return;
        }
    }

    println!("\nExecution-provider plugins");
    if report.plugins.is_empty() {
        println!("  none found");
    }
    for plugin in &report.plugins {
        match plugin.status {
            PluginState::Registered => {
                println!("  ok      {:<28} {}", plugin.ep_name, plugin.path.display())
            }
            PluginState::Failed => println!(
                "  failed  {:<28} {}: {}",
                plugin.ep_name,
                plugin.path.display(),
                plugin.error.as_deref().unwrap_or("unknown error")
            ),
        }
    }

    println!("\nDevices");
    print_devices(&report.devices);

    if let Some(check) = &report.provider {
        println!(
            "\nProvider '{}' (checked by running a probe model)",
            check.requested
        );
        for attempt in &check.tried {
            println!(
                "  fell back  {} on {}: {}",
                attempt.ep, attempt.device, attempt.reason
            );
        }
        match (&check.active, &check.error) {
            (Some(active), _) => println!("  running    {}", active.summary()),
            (None, Some(error)) => println!("  failed     {error}"),
            (None, None) => println!("  failed     no device could run the probe model"),
        }
    }
}

fn print_devices(devices: &[DeviceInfo]) {
    println!(
        "  {:<3} {:<4} {:<30} {:<10} {}",
        "#", "KIND", "EP", "VENDOR", "DEVICE"
    );
    for d in devices {
        println!(
            "  {:<3} {:<4} {:<30} {:<10} {}",
            d.index,
            d.kind.label(),
            d.ep_name,
            d.hardware_vendor,
            d.display_name()
        );
    }
}
