//! `partner-center`: the command line for the Partner Center Referrals API.

mod args;
mod output;
mod sandbox;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use partner_center::{Error, PartnerCenter};

use crate::args::{Cli, Command, Output, ReferralsCommand, SandboxCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

/// Runs the command: what it prints goes to stdout, an error comes back as one line.
async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Referrals(ReferralsCommand::Get { id }) => {
            // With --sandbox, the sandbox lives until the call is done.
            let (client, _sandbox) = if cli.sandbox {
                let sandbox = sandbox::start().await?;
                (client(sandbox.base_url(), sandbox::TOKEN)?, Some(sandbox))
            } else {
                let token = cli
                    .token
                    .ok_or("no token: pass --token or set PARTNER_CENTER_TOKEN")?;
                (client(&cli.base_url, &token)?, None)
            };
            let referral = client
                .referrals()
                .get(&id)
                .await
                .map_err(|e| describe(&e, cli.sandbox))?;
            output::print(&output::referral(
                &referral,
                cli.output.unwrap_or(Output::Json),
            )?)
        }
        Command::Sandbox(SandboxCommand::Ids { data }) => {
            output::print(&sandbox::ids(&data, cli.output.unwrap_or(Output::Table))?)
        }
        Command::Sandbox(SandboxCommand::Serve { port, data }) => sandbox::serve(port, &data).await,
    }
}

fn client(base_url: &str, token: &str) -> Result<PartnerCenter, String> {
    PartnerCenter::builder()
        .base_url(base_url)
        .token(token)
        .build()
        .map_err(|e| e.to_string())
}

/// One line about a failed call; in the sandbox, an unknown id comes with where to find one.
fn describe(error: &Error, sandbox: bool) -> String {
    match error {
        Error::NotFound(_) if sandbox => {
            format!("{error}; `partner-center sandbox ids` lists the sandbox's referrals")
        }
        _ => error.to_string(),
    }
}

fn fail(message: &str) -> ExitCode {
    let _ = writeln!(io::stderr(), "error: {message}");
    ExitCode::FAILURE
}
