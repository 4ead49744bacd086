//! `partner-center`: the command line for the Partner Center Referrals API.

// As in the library crates; in a binary it only reaches the `pub` items of this file (the
// modules are private).
#![deny(missing_debug_implementations)]

mod args;
mod auth;
mod failure;
mod output;
mod referrals;
mod sandbox;
mod waiting;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use partner_center::PartnerCenter;
use partner_center::auth::TokenProvider;

use crate::args::{Cli, Command, ListArgs, Output, ReferralsCommand, SandboxCommand};
use crate::failure::Failure;
use crate::waiting::Waiting;

/// The most characters of an error line (the SDK bounds each piece of service text in it).
const MAX_ERROR_CHARS: usize = 4096;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verbose > 0 {
        let level = match cli.verbose {
            1 => tracing::Level::DEBUG,
            _ => tracing::Level::TRACE,
        };
        tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(io::stderr().is_terminal())
            .with_writer(io::stderr)
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&Failure::Runtime(e).line(false)),
    };
    let sandbox = cli.sandbox;
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(&failure.line(sandbox)),
    }
}

/// Runs the command: what it prints goes to stdout; a failure comes back to be shown once.
async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Referrals(command) => {
            let timeouts = Timeouts {
                attempt: Duration::from_secs(cli.attempt_timeout),
                call: Duration::from_secs(cli.timeout),
            };
            // With --sandbox, the sandbox lives until the command is done.
            let (client, _sandbox) = if cli.sandbox {
                let sandbox = sandbox::start().await?;
                let token = Box::new(partner_center::auth::StaticToken::new(sandbox::TOKEN));
                (client(sandbox.base_url(), token, timeouts)?, Some(sandbox))
            } else {
                let tokens = auth::provider(cli.token, cli.token_cache)?;
                (client(&cli.base_url, tokens, timeouts)?, None)
            };
            let format = cli.output.unwrap_or(Output::Json);
            let forced = matches!(
                &command,
                ReferralsCommand::List(ListArgs { progress: true, .. })
            );
            let waiting = Waiting::new(cli.verbose > 0, forced, cli.attempt_timeout, cli.timeout);
            referrals::run(&client, command, format, &waiting).await
        }
        Command::Sandbox(SandboxCommand::Ids { data, limit }) => output::print(&sandbox::ids(
            &data,
            limit,
            cli.output.unwrap_or(Output::Table),
        )?),
        Command::Sandbox(SandboxCommand::Serve { port, data }) => sandbox::serve(port, &data).await,
        Command::Login {
            tenant,
            client_id,
            authority,
        } => {
            let cache = auth::cache_path(cli.token_cache)?;
            output::print(&auth::login(&tenant, &client_id, &authority, &cache).await?)
        }
        Command::Logout => output::print(&auth::logout(&auth::cache_path(cli.token_cache)?)?),
    }
}

/// `--attempt-timeout` and `--timeout`.
#[derive(Clone, Copy)]
struct Timeouts {
    attempt: Duration,
    call: Duration,
}

fn client(
    base_url: &str,
    tokens: Box<dyn TokenProvider>,
    timeouts: Timeouts,
) -> Result<PartnerCenter, Failure> {
    let client = PartnerCenter::builder()
        .base_url(base_url)
        .token_provider(tokens)
        .application_name("partner-center-cli")
        .attempt_timeout(timeouts.attempt)
        .timeout(timeouts.call)
        .build()?;
    Ok(client)
}

/// Prints `message` as one bounded line with nothing a terminal would act on: it can quote
/// the service, a file or the user.
fn fail(message: &str) -> ExitCode {
    let shown = partner_center::text::excerpt(message, MAX_ERROR_CHARS);
    let _ = writeln!(io::stderr(), "error: {shown}");
    ExitCode::FAILURE
}
