//! `cargo xtask bench`: builds crates/partner-center-bench (and the CLI it runs) in release and
//! runs it, the server and the clients pinned to separate CPUs when `taskset` and two CPUs are
//! there. The bench crate depends on the SDK, so it is a separate binary, not a dependency:
//! xtask must build even when the generated code is stale.

use std::path::Path;
use std::process::Command;

/// The CPUs for the server and for the clients (and the benchmark driving them).
const SERVER_CPU: usize = 0;
const CLIENT_CPU: usize = 1;

/// Builds and runs the benchmark with `args` (e.g. `--quick`, `--out PATH`).
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = Command::new(&cargo)
        .current_dir(root)
        // The sync benchmark runs the CLI's release binary, next to the bench's.
        .args([
            "build",
            "--release",
            "-p",
            "partner-center-bench",
            "-p",
            "partner-center-cli",
        ])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !build.success() {
        return Err("building partner-center-bench and partner-center-cli failed".into());
    }

    // `cargo run` on an up-to-date build only starts the binary, wherever the target dir is.
    let mut run_args = vec![
        "run",
        "--quiet",
        "--release",
        "-p",
        "partner-center-bench",
        "--",
    ];
    let server_cpu = SERVER_CPU.to_string();
    let mut command = if can_pin() {
        run_args.extend(["--server-cpu", &server_cpu]);
        let mut command = Command::new("taskset");
        command.args(["-c", &CLIENT_CPU.to_string()]).arg(&cargo);
        command
    } else {
        eprintln!("warning: taskset or a second CPU is missing: running unpinned");
        Command::new(&cargo)
    };
    let status = command
        .current_dir(root)
        .args(run_args)
        .args(args)
        .status()
        .map_err(|e| format!("cannot run the benchmark: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the benchmark failed ({status})"))
    }
}

/// Whether `taskset` works and there are two CPUs to share out.
fn can_pin() -> bool {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    cpus >= 2
        && Command::new("taskset")
            .args(["-c", &CLIENT_CPU.to_string(), "true"])
            .status()
            .is_ok_and(|status| status.success())
}
