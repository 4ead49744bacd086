//! `partner-center`: the command line for the Partner Center Referrals API.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use partner_center::{DEFAULT_BASE_URL, PartnerCenter};

#[derive(Parser)]
#[command(
    name = "partner-center",
    version,
    about = "Microsoft Partner Center Referrals API"
)]
struct Cli {
    /// The service to call.
    #[arg(long, global = true, env = "PARTNER_CENTER_BASE_URL", default_value = DEFAULT_BASE_URL)]
    base_url: String,
    /// An App+User bearer token for https://api.partner.microsoft.com.
    #[arg(
        long,
        global = true,
        env = "PARTNER_CENTER_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Leads and co-sell opportunities.
    #[command(subcommand)]
    Referrals(ReferralsCommand),
}

#[derive(Subcommand)]
enum ReferralsCommand {
    /// Print one referral as JSON, exactly as the service sent it.
    Get {
        /// The referral's id.
        id: String,
    },
}

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
        Ok(output) => print(&output),
        Err(message) => fail(&message),
    }
}

/// Runs the command and returns what to print on stdout.
async fn run(cli: Cli) -> Result<String, String> {
    let token = cli
        .token
        .ok_or("no token: pass --token or set PARTNER_CENTER_TOKEN")?;
    let client = PartnerCenter::builder()
        .base_url(cli.base_url)
        .token(token)
        .build()
        .map_err(|e| e.to_string())?;
    match cli.command {
        Command::Referrals(ReferralsCommand::Get { id }) => {
            let referral = client
                .referrals()
                .get(&id)
                .await
                .map_err(|e| e.to_string())?;
            serde_json::to_string_pretty(&referral).map_err(|e| e.to_string())
        }
    }
}

fn print(output: &str) -> ExitCode {
    let mut stdout = io::stdout().lock();
    match writeln!(stdout, "{output}").and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(&format!("cannot write the output: {e}")),
    }
}

fn fail(message: &str) -> ExitCode {
    let _ = writeln!(io::stderr(), "error: {message}");
    ExitCode::FAILURE
}
