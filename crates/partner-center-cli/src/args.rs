//! The command line: global options and commands.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use partner_center::DEFAULT_BASE_URL;
use partner_center::auth::DEFAULT_AUTHORITY;
use partner_center_sandbox::{DEFAULT_REFERRAL_COUNT, DEFAULT_SEED, SandboxBuilder};

#[derive(Parser)]
#[command(
    name = "partner-center",
    version,
    about = "Microsoft Partner Center Referrals API"
)]
pub(crate) struct Cli {
    /// The service to call.
    #[arg(long, global = true, env = "PARTNER_CENTER_BASE_URL", default_value = DEFAULT_BASE_URL)]
    pub(crate) base_url: String,
    /// An App+User bearer token for https://api.partner.microsoft.com.
    #[arg(
        long,
        global = true,
        env = "PARTNER_CENTER_TOKEN",
        hide_env_values = true
    )]
    pub(crate) token: Option<String>,
    /// Call an offline sandbox started in this process instead of Partner Center: no token
    /// needed (--base-url and --token are ignored). `partner-center sandbox ids` lists its
    /// referrals.
    #[arg(long, global = true)]
    pub(crate) sandbox: bool,
    /// Where `login` keeps the tokens that commands use when no token is given [default: the
    /// user's cache directory, partner-center/token.json].
    #[arg(long, global = true, env = "PARTNER_CENTER_TOKEN_CACHE")]
    pub(crate) token_cache: Option<PathBuf>,
    /// Log each call and attempt on stderr (-v; -vv for more). Tokens are never logged, and
    /// query values only from an allow-list.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub(crate) verbose: u8,
    /// How to print results: json is exactly what the service sent, table a summary [default:
    /// json; table for `sandbox ids`].
    #[arg(long, global = true, value_enum)]
    pub(crate) output: Option<Output>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// The JSON the service sent, pretty-printed.
    Json,
    /// A table: id, customer, status, deal value, currency, closing date.
    Table,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Leads and co-sell opportunities.
    #[command(subcommand)]
    Referrals(ReferralsCommand),
    /// The offline sandbox: a local Partner Center with seeded referrals.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Sign in with a device code (App+User) and cache the tokens for later commands.
    Login {
        /// The partner tenant: its domain or id.
        #[arg(long)]
        tenant: String,
        /// The public client app (Entra ID app registration) to sign in with.
        #[arg(long)]
        client_id: String,
        /// The Entra ID host.
        #[arg(long, env = "PARTNER_CENTER_AUTHORITY", default_value = DEFAULT_AUTHORITY)]
        authority: String,
    },
    /// Forget the cached sign-in.
    Logout,
}

#[derive(Subcommand)]
pub(crate) enum ReferralsCommand {
    /// Print one referral: JSON exactly as the service sent it, or a table.
    Get {
        /// The referral's id (with --sandbox, `partner-center sandbox ids` lists them).
        id: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum SandboxCommand {
    /// Run the sandbox as a server on 127.0.0.1 for other tools (curl, Postman, your app)
    /// until Ctrl-C; prints its base URL first.
    Serve {
        /// The port to listen on (0: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        #[command(flatten)]
        data: SandboxData,
    },
    /// List the referrals the sandbox serves (those of `--sandbox` without options): id,
    /// customer, status...
    Ids {
        #[command(flatten)]
        data: SandboxData,
    },
}

/// Which referrals a sandbox serves.
#[derive(Args)]
pub(crate) struct SandboxData {
    /// The seed of the generated referrals: the same seed gives the same referrals.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// How many referrals to generate besides the official example.
    #[arg(long, default_value_t = DEFAULT_REFERRAL_COUNT)]
    count: usize,
}

impl SandboxData {
    /// A sandbox with this data.
    pub(crate) fn builder(&self) -> SandboxBuilder {
        partner_center_sandbox::Sandbox::builder()
            .seed(self.seed)
            .referral_count(self.count)
    }
}
