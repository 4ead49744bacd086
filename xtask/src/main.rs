//! Project automation: `cargo xtask <command>`.

mod bench;
mod boxed;
mod codegen;
mod endpoint;
mod lenient;
mod operations;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "partner-center-rs project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the api crate's src/generated/ (a module a document of spec/) from the OpenAPI
    /// documents in spec/.
    Codegen {
        /// Do not write: fail (with a diff) when a committed file is stale.
        #[arg(long)]
        check: bool,
    },
    /// README's "Adding an endpoint", performed on a copy of the workspace (under
    /// target/endpoint-test): one operation added to the spec and `cargo xtask codegen`, then
    /// the CLI, the SDK and the sandbox must serve it and the contract test must ask for its
    /// snapshots. Takes minutes; CI runs it.
    EndpointTest,
    /// Build crates/partner-center-bench in release and run it pinned (see BENCHMARKS.md);
    /// its options (`--quick`, `--out PATH`, ...) are passed through.
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Codegen { check } => {
            let root = workspace_root();
            codegen::check_spec_link(&root).and_then(|()| {
                let (specs, out) = (root.join(codegen::SPEC_DIR), root.join(codegen::OUTPUT_DIR));
                codegen::run(&specs, &out, check)
            })
        }
        Command::Bench { args } => bench::run(&workspace_root(), &args),
        Command::EndpointTest => endpoint::run(&workspace_root()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    let xtask_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().map(PathBuf::from).unwrap_or(xtask_dir)
}
