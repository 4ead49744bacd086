//! The command line: global options and commands.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use partner_center::auth::DEFAULT_AUTHORITY;
use partner_center::models::{
    ReferralDirection, ReferralQualification, ReferralStatus, ReferralSubstatus, ReferralType,
};
use partner_center::webhooks::WebhookEvent;
use partner_center::{
    DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_BASE_URL, DEFAULT_MAX_PAGES, DEFAULT_TIMEOUT,
    referrals::{Direction, MAX_PAGE_SIZE, Verb},
};
use partner_center_sandbox::{DEFAULT_REFERRAL_COUNT, DEFAULT_SEED, SandboxBuilder};
use serde_json::Value;

#[derive(Parser)]
#[command(
    name = "partner-center",
    version,
    about = "Microsoft Partner Center Referrals API"
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The options every command takes.
#[derive(Args)]
pub(crate) struct Global {
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
    /// An App+User bearer token for https://api.partnercenter.microsoft.com, the webhook
    /// registration API's (`webhooks` commands; never sent to the Referrals API).
    #[arg(
        long,
        global = true,
        env = "PARTNER_CENTER_WEBHOOKS_TOKEN",
        hide_env_values = true
    )]
    pub(crate) webhooks_token: Option<String>,
    /// Call an offline sandbox started in this process instead of Partner Center: no token
    /// needed (--base-url, --token and --webhooks-token are ignored). `partner-center sandbox
    /// ids` lists its referrals. Each run starts a fresh sandbox: what a create or an update changes is gone
    /// by the next run (use `partner-center sandbox serve` to keep one running).
    #[arg(long, global = true)]
    pub(crate) sandbox: bool,
    /// Where `login` keeps the tokens that commands use when no token is given [default: the
    /// user's cache directory, partner-center/token.json].
    #[arg(long, global = true, env = "PARTNER_CENTER_TOKEN_CACHE")]
    pub(crate) token_cache: Option<PathBuf>,
    /// Log each call and attempt on stderr (-v; -vv for more). Tokens are never logged, and
    /// query values only where the spec marks them loggable.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub(crate) verbose: u8,
    /// How long one call may take in all, in seconds: its attempts and the waits between
    /// them (throttling, retries).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) timeout: u64,
    /// How long one attempt may take, from connecting to the end of the answer, in seconds;
    /// a slower attempt is abandoned and retried.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = DEFAULT_ATTEMPT_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) attempt_timeout: u64,
    /// How to print results: json is exactly what the service sent (an array for lists),
    /// ndjson one referral per line, table a summary [default: json; table for `sandbox ids`].
    #[arg(long, global = true, value_enum)]
    pub(crate) output: Option<Output>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// The JSON the service sent, pretty-printed.
    Json,
    /// One compact JSON document per line: a referral, or an id.
    Ndjson,
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
    /// The tenant's webhook registration: which events Partner Center sends, and where.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Keep a database in step with the referrals: the first run stores every referral, later
    /// ones only those changed since (each distinct version kept). Prints a summary on
    /// stderr; `sync status` and `sync export` read the database.
    Sync(SyncArgs),
    /// Call any operation of the spec by its id, as the spec types it (with no operation: list
    /// them). Prints the answer's body exactly as the service sent it.
    Api(ApiArgs),
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
    /// List referrals: the first page (--top, at most 100), or every page with --all.
    ///
    /// Filters combine with `and`; a filter given several times (--status New --status
    /// Active) matches any of its values.
    List(ListArgs),
    /// List the referrals of the same engagement as this one.
    Related {
        /// The referral's id.
        id: String,
        #[command(flatten)]
        paging: PagingArgs,
    },
    /// Create a referral from a JSON file and print it as created.
    ///
    /// The file is a referral as the service writes them; its type, customerProfile, consent
    /// and details are required, and its name, externalReferenceId and team are used. The rest
    /// (id, status, dates...) is set by the service.
    Create {
        /// The referral's JSON (`-` reads standard input).
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Change fields of a referral (one JSON Patch of `replace` operations). Prints the
    /// updated referral with --return; nothing otherwise.
    Update {
        /// The referral's id.
        id: String,
        /// A field and its new value: `/details/notes=Call back on Monday`. The value is read
        /// as JSON when it is JSON (`/details/dealValue=25000`, `/tags=["priority"]`), as text
        /// otherwise; quote it to force text: `/name="2025"`.
        #[arg(long = "set", value_name = "PATH=VALUE", required = true, value_parser = parse_set)]
        set: Vec<(String, Value)>,
        /// Update only if the referral's eTag is still this one (quotes included, as read);
        /// otherwise the service refuses with 412.
        #[arg(long, value_name = "ETAG")]
        if_match: Option<String>,
        /// Ask for the updated referral back and print it.
        #[arg(long = "return")]
        return_representation: bool,
    },
    #[command(flatten)]
    Lifecycle(LifecycleCommand),
}

/// The lifecycle verbs: each reads the referral, then moves it with one PATCH (its eTag in
/// `If-Match`, the move checked against its status) and prints it as updated.
#[derive(Subcommand)]
pub(crate) enum LifecycleCommand {
    /// Accept a new referral (Active / Accepted).
    Accept {
        /// The referral's id.
        id: String,
    },
    /// Close a referral as won (Closed / Won).
    Win {
        /// The referral's id.
        id: String,
    },
    /// Close a referral as lost (Closed / Lost), saying why.
    Lose {
        /// The referral's id.
        id: String,
        /// Why it was lost.
        #[arg(long)]
        reason: String,
    },
    /// Decline a referral (Closed / Declined), saying why.
    Decline {
        /// The referral's id.
        id: String,
        /// Why it is declined.
        #[arg(long)]
        reason: String,
    },
}

impl LifecycleCommand {
    /// The referral's id, and the SDK's verb for the command.
    pub(crate) fn into_verb(self) -> (String, Verb) {
        match self {
            Self::Accept { id } => (id, Verb::Accept),
            Self::Win { id } => (id, Verb::Win),
            Self::Lose { id, reason } => (id, Verb::Lose(reason)),
            Self::Decline { id, reason } => (id, Verb::Decline(reason)),
        }
    }
}

/// `referrals list`: which referrals, in which order, how many.
#[derive(Args)]
pub(crate) struct ListArgs {
    /// Only referrals in this status.
    #[arg(long, ignore_case = true, value_parser = one_of(ReferralStatus::KNOWN, ReferralStatus::as_str))]
    pub(crate) status: Vec<ReferralStatus>,
    /// Only referrals in this substatus.
    #[arg(long, ignore_case = true, value_parser = one_of(ReferralSubstatus::KNOWN, ReferralSubstatus::as_str))]
    pub(crate) substatus: Vec<ReferralSubstatus>,
    /// Only incoming or outgoing referrals.
    #[arg(long, ignore_case = true, value_parser = one_of(ReferralDirection::KNOWN, ReferralDirection::as_str))]
    pub(crate) direction: Vec<ReferralDirection>,
    /// Only referrals of this type.
    #[arg(long = "type", ignore_case = true, value_parser = one_of(ReferralType::KNOWN, ReferralType::as_str))]
    pub(crate) referral_type: Vec<ReferralType>,
    /// Only referrals of this qualification.
    #[arg(long, ignore_case = true, value_parser = one_of(ReferralQualification::KNOWN, ReferralQualification::as_str))]
    pub(crate) qualification: Vec<ReferralQualification>,
    /// Only the referrals of this engagement.
    #[arg(long, value_name = "ID")]
    pub(crate) engagement: Option<String>,
    /// Only referrals whose customer is in this country (ISO 3166 alpha-2, e.g. US).
    #[arg(long, value_name = "CC")]
    pub(crate) country: Vec<String>,
    /// Only referrals whose partner team includes this email address.
    #[arg(long, value_name = "EMAIL")]
    pub(crate) team_email: Option<String>,
    /// Only referrals updated at or after this date (2025-05-01) or date-time
    /// (2025-05-01T08:00:00Z).
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub(crate) updated_since: Option<DateTime<Utc>>,
    /// An OData filter of your own, added with `and`:
    /// "customerProfile/address/city eq 'Redmond'".
    #[arg(long, value_name = "ODATA")]
    pub(crate) filter: Option<String>,
    /// Sort by a date-time field, e.g. createdDateTime:desc; repeat for more keys.
    #[arg(long, value_name = "FIELD[:desc]", value_parser = parse_order)]
    pub(crate) order_by: Vec<(String, Direction)>,
    /// How many referrals a page holds (1 to 100; the service's default is 100).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PAGE_SIZE)))]
    pub(crate) top: Option<u32>,
    /// Every page, not only the first (ndjson and table print each page as it comes).
    #[arg(long)]
    pub(crate) all: bool,
    /// With --all, report progress on stderr even when it is not a terminal (a line per page).
    #[arg(long, requires = "all")]
    pub(crate) progress: bool,
    #[command(flatten)]
    pub(crate) paging: PagingArgs,
}

/// `partner-center api [OPERATION_ID]`.
#[derive(Args)]
pub(crate) struct ApiArgs {
    /// The operation's id in the spec (e.g. getReferral); leave it out to list them.
    pub(crate) operation: Option<String>,
    /// A parameter by its spec name (path, query or header), checked against its schema:
    /// `--param id=<id>`, `--param '$top=5'`, `--param X-Locale=fr-FR`. Repeatable.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE", value_parser = parse_param)]
    pub(crate) params: Vec<(String, String)>,
    /// The request body: a file holding its JSON, or - for stdin; checked against the
    /// operation's request schema before anything is sent.
    #[arg(long, value_name = "FILE")]
    pub(crate) body: Option<PathBuf>,
    /// For a list operation: follow the next links and print every item (json: one array,
    /// ndjson: one item a line).
    #[arg(long)]
    pub(crate) all: bool,
    #[command(flatten)]
    pub(crate) paging: PagingArgs,
}

/// How far a listing of every page may go.
#[derive(Args)]
pub(crate) struct PagingArgs {
    /// Read at most this many pages; a listing with more stops with an error (a service
    /// whose next links never end cannot keep it going).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PAGES, value_parser = clap::value_parser!(u64).range(1..).map(|n| n as usize))]
    pub(crate) max_pages: usize,
}

/// A value the spec lists, matched without regard to case, as the service spells it.
fn one_of<T>(known: &'static [T], name: fn(&T) -> &str) -> impl TypedValueParser<Value = T>
where
    T: Clone + Send + Sync + for<'a> From<&'a str> + 'static,
{
    PossibleValuesParser::new(known.iter().map(name)).map(move |value| {
        known
            .iter()
            .find(|k| name(k).eq_ignore_ascii_case(&value))
            .cloned()
            .unwrap_or_else(|| T::from(value.as_str()))
    })
}

/// `PATH=VALUE`, the value as JSON when it is JSON.
fn parse_set(text: &str) -> Result<(String, Value), String> {
    let (path, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not PATH=VALUE (e.g. /details/notes=Call back)"))?;
    if !path.starts_with('/') {
        return Err(format!(
            "{path:?} is not a path into the referral: start it with / (e.g. /details/notes)"
        ));
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((path.to_owned(), value))
}

/// `NAME=VALUE`, both as text (the operation's types read the value).
fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!(
            "{text:?} is not NAME=VALUE (e.g. id=c5fbb3b6-be74-4795-9fb5-4324c73fed37)"
        )),
    }
}

/// A date (midnight UTC) or an RFC 3339 date-time.
fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .or_else(|_| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|day| day.and_time(chrono::NaiveTime::MIN).and_utc())
        })
        .map_err(|_| {
            format!(
                "{text:?} is neither a date (2025-05-01) nor a date-time (2025-05-01T08:00:00Z)"
            )
        })
}

/// `createdDateTime`, `createdDateTime:desc` or `createdDateTime:asc`.
fn parse_order(text: &str) -> Result<(String, Direction), String> {
    let (field, direction) = match text.rsplit_once(':') {
        Some((field, "desc")) => (field, Direction::Descending),
        Some((field, "asc")) => (field, Direction::Ascending),
        Some(_) => return Err(format!("{text:?}: the direction is asc or desc")),
        None => (text, Direction::Ascending),
    };
    if field.is_empty() {
        return Err("the field to sort by is missing".to_owned());
    }
    Ok((field.to_owned(), direction))
}

#[derive(Args)]
pub(crate) struct SyncArgs {
    /// The database: sqlite:PATH (created if missing) or postgres://USER[:PASSWORD]@HOST/DB
    /// [default: the user's data directory, partner-center/sync.db; required with --sandbox].
    #[arg(
        long,
        global = true,
        env = "PARTNER_CENTER_SYNC_DATABASE",
        value_name = "URL"
    )]
    pub(crate) database: Option<String>,
    /// Keep running: receive Partner Center's webhooks (verified) and store each changed
    /// referral as it comes, with a reconciliation sweep at once and then periodically.
    /// Register the receiver's public URL with `webhooks register` (with --sandbox, it
    /// registers itself). Ctrl-C stops.
    #[arg(long)]
    pub(crate) listen: bool,
    /// With --listen: seconds between the end of a reconciliation sweep and the next.
    #[arg(
        long,
        default_value_t = 900,
        value_name = "SECONDS",
        requires = "listen"
    )]
    pub(crate) reconcile_every: u64,
    /// With --listen: how many changed referrals are read at a time.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64), requires = "listen")]
    pub(crate) fetch_concurrency: u16,
    #[command(flatten)]
    pub(crate) receiver: ReceiverArgs,
    #[command(subcommand)]
    pub(crate) command: Option<SyncCommand>,
}

#[derive(Subcommand)]
pub(crate) enum SyncCommand {
    /// Print, as JSON, the referrals stored by status, the versions, the watermark, the last
    /// run and the last failed one.
    Status,
    /// Print the current referrals stored: one JSON document a line as received (ndjson), or
    /// CSV with the columns people filter on, for a CRM import.
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Ndjson)]
        format: ExportFormat,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormat {
    /// The JSON of each referral as received, one a line.
    Ndjson,
    /// A header, then a row a referral: id, etag, updated_at, status, ..., closing_at.
    Csv,
}

#[derive(Subcommand)]
pub(crate) enum WebhooksCommand {
    /// List the event names a registration can ask for.
    Events,
    /// Print what is registered (`null` when nothing is).
    Show,
    /// Register URL for events. Refused when something is registered (it may be another
    /// application's, such as Microsoft's CRM connectors): --replace replaces it.
    Register {
        #[command(flatten)]
        registration: RegistrationArgs,
        /// Replace what is registered, if anything is.
        #[arg(long)]
        replace: bool,
    },
    /// Replace the registration with URL and events, whatever is registered now.
    Update {
        #[command(flatten)]
        registration: RegistrationArgs,
    },
    /// Ask Partner Center to send a test event (`test-created`) to the registered URL and
    /// print its id; with an ID, print how the delivery of that test event went.
    Test {
        /// A test event's id, as `webhooks test` printed it.
        id: Option<String>,
    },
    /// Receive Partner Center's webhooks: verify each (signature, certificate), and print each
    /// new event as one NDJSON line `{"event": ...}` until Ctrl-C. Answers 200 to a verified
    /// callback, 401 to a bad signature, 400 to a bad body; a repeated delivery is printed once.
    ///
    /// With --sandbox, a sandbox started in this process sends its events here (registered
    /// at start), and its base URL is printed on stderr for changing its referrals.
    Listen(ListenArgs),
}

/// Where and how `webhooks listen` receives.
#[derive(Args)]
pub(crate) struct ListenArgs {
    #[command(flatten)]
    pub(crate) receiver: ReceiverArgs,
    /// Also read each event's referral and print it with the event (`"referral"`).
    #[arg(long)]
    pub(crate) fetch: bool,
}

/// The webhook receiver of `webhooks listen` and `sync --listen`.
#[derive(Args)]
pub(crate) struct ReceiverArgs {
    /// The port to listen on (0: any free port; the address is printed on stderr).
    #[arg(long, default_value_t = 0)]
    pub(crate) port: u16,
    /// The address to listen on (0.0.0.0 for every interface, e.g. behind a tunnel).
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: std::net::IpAddr,
    /// Trust the sandbox at --base-url (`partner-center sandbox serve`) instead of Partner
    /// Center: its test CA and its certificate URLs. Never for real callbacks.
    #[arg(long)]
    pub(crate) trust_sandbox: bool,
}

/// A registration's URL and events.
#[derive(Args)]
pub(crate) struct RegistrationArgs {
    /// Where Partner Center sends the events.
    pub(crate) url: String,
    /// An event to send (repeatable) [default: referral-created, referral-updated,
    /// related-referral-created, related-referral-updated].
    #[arg(long = "event", value_name = "NAME", value_parser = one_of(WebhookEvent::KNOWN, WebhookEvent::as_str))]
    pub(crate) events: Vec<WebhookEvent>,
    /// Send the signature in `Authorization` rather than `x-ms-signature`.
    #[arg(long)]
    pub(crate) authorization_header: bool,
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
        #[command(flatten)]
        changes: SandboxChanges,
    },
    /// List the referrals the sandbox serves (those of `--sandbox` without options): id,
    /// customer, status...
    Ids {
        #[command(flatten)]
        data: SandboxData,
        /// How many to list, from the first (0: all of them).
        #[arg(long, default_value_t = 25)]
        limit: usize,
    },
}

/// How `sandbox serve` changes its referrals over time, as a live service does: for a sync
/// or a webhook receiver to follow.
#[derive(Args)]
pub(crate) struct SandboxChanges {
    /// Every SECONDS, change the next --changes referrals (in `sandbox ids` order, round
    /// robin): each gets a new eTag and updatedDateTime, and its webhook event is sent.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) change_every: Option<u64>,
    /// With --change-every: how many referrals change each time.
    #[arg(long, default_value_t = 1, requires = "change_every")]
    pub(crate) changes: usize,
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
