//! `partner-center`: the command line for the Partner Center Referrals API.

// As in the library crates; in a binary it only reaches the `pub` items of this file (the
// modules are private).
#![deny(missing_debug_implementations)]

mod api;
mod args;
mod auth;
mod failure;
mod input;
mod listen;
mod output;
mod progress;
mod referrals;
mod sandbox;
mod sync;
mod waiting;
mod webhooks;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use partner_center::PartnerCenter;
use partner_center::auth::TokenProvider;

use crate::args::{Cli, Command, Global, ListArgs, Output, ReferralsCommand, SandboxCommand};
use crate::failure::Failure;
use crate::waiting::Waiting;

/// The most characters of an error line (the SDK bounds each piece of service text in it).
const MAX_ERROR_CHARS: usize = 4096;

fn main() -> ExitCode {
    let Cli {
        global: cli,
        command,
    } = Cli::parse();
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
    match runtime.block_on(run(cli, command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(&failure.line(sandbox)),
    }
}

/// Runs the command: what it prints goes to stdout; a failure comes back to be shown once.
async fn run(cli: Global, command: Command) -> Result<(), Failure> {
    match command {
        Command::Referrals(command) => {
            let forced = matches!(
                &command,
                ReferralsCommand::List(ListArgs { progress: true, .. })
            );
            let waiting = Waiting::new(cli.verbose > 0, forced, cli.attempt_timeout, cli.timeout);
            let format = cli.output.unwrap_or(Output::Json);
            // With --sandbox, the sandbox lives until the command is done.
            let (client, _sandbox) = connect(&cli, None).await?;
            referrals::run(&client, command, format, &waiting).await
        }
        Command::Api(args) => {
            let Some(operation) = &args.operation else {
                return api::list(cli.output);
            };
            // Checked before a sandbox is started or a token is read.
            let call = api::call(operation, &args)?;
            let waiting = Waiting::new(cli.verbose > 0, false, cli.attempt_timeout, cli.timeout);
            let format = cli.output.unwrap_or(Output::Json);
            let (client, _sandbox) = connect(&cli, Some(args.paging.max_pages)).await?;
            api::run(&client, call, args.all, format, &waiting).await
        }
        Command::Webhooks(command) => {
            let (client, sandbox) = connect(&cli, None).await?;
            webhooks::run(&client, command, sandbox.as_ref(), &cli.base_url).await
        }
        Command::Sync(args) => sync::run(&cli, args).await,
        Command::Sandbox(SandboxCommand::Ids { data, limit }) => output::print(&sandbox::ids(
            &data,
            limit,
            cli.output.unwrap_or(Output::Table),
        )?),
        Command::Sandbox(SandboxCommand::Serve {
            port,
            data,
            changes,
        }) => sandbox::serve(port, &data, &changes).await,
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

/// The client the global options ask for, and the sandbox it calls with `--sandbox` (which
/// lives as long as it is kept). `max_pages` bounds its listings when given.
async fn connect(
    cli: &Global,
    max_pages: Option<usize>,
) -> Result<(PartnerCenter, Option<partner_center_sandbox::Sandbox>), Failure> {
    let (base_url, tokens, sandbox): (String, Box<dyn TokenProvider>, _) = if cli.sandbox {
        let sandbox = sandbox::start().await?;
        // The sandbox serves every API on one host, and takes any token.
        let token = Box::new(partner_center::auth::StaticToken::for_every_scope(
            sandbox::TOKEN,
        ));
        (sandbox.base_url().to_owned(), token, Some(sandbox))
    } else {
        let (referrals, webhooks) = (cli.token.clone(), cli.webhooks_token.clone());
        let tokens = auth::provider(referrals, webhooks, cli.token_cache.clone())?;
        (cli.base_url.clone(), tokens, None)
    };
    let mut builder = PartnerCenter::builder()
        .base_url(base_url)
        .token_provider(tokens)
        .application_name("partner-center-cli")
        .attempt_timeout(Duration::from_secs(cli.attempt_timeout))
        .timeout(Duration::from_secs(cli.timeout));
    if let Some(max_pages) = max_pages {
        builder = builder.max_pages(max_pages);
    }
    Ok((builder.build()?, sandbox))
}

/// Prints `message` as one bounded line with nothing a terminal would act on: it can quote
/// the service, a file or the user.
fn fail(message: &str) -> ExitCode {
    let shown = partner_center::text::excerpt(message, MAX_ERROR_CHARS);
    let _ = writeln!(io::stderr(), "error: {shown}");
    ExitCode::FAILURE
}
