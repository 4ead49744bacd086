//! [`Failure`]: why a command failed, typed; `main` prints it once, as one line.

use std::io;
use std::path::PathBuf;

use partner_center::Error;
use partner_center::auth::{AuthError, WEBHOOKS_SCOPE};
use partner_center::error::Report;
use partner_center::operations::ArgumentError;
use partner_center_sandbox::spec::{Problem, SpecError};

/// Why a command failed. Each `Display` says its own level; the cause is its `source()`, and
/// [`Failure::line`] shows them all.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// A call to Partner Center (or the sandbox) failed.
    #[error(transparent)]
    Call(#[from] Error),
    /// Signing in, or the token cache.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The parameters or the body of `partner-center api` do not fit the operation.
    #[error(transparent)]
    Arguments(#[from] ArgumentError),
    #[error("no token: pass --token, set PARTNER_CENTER_TOKEN, or run `partner-center login`")]
    NoToken,
    #[error("no cache directory on this system: pass --token-cache")]
    NoCacheDirectory,
    #[error("cannot read {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not JSON", .path.display())]
    NotJson {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{} is not a new referral: {problem}", .path.display())]
    NotNewReferral { path: PathBuf, problem: Problem },
    #[error("{} is not a new referral", .path.display())]
    NotDecodable {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("the spec's schemas cannot be read")]
    Spec(#[source] SpecError),
    #[error("cannot write the output")]
    Output(#[source] io::Error),
    #[error("cannot encode the output as JSON")]
    Encode(#[source] serde_json::Error),
    #[error("cannot start the sandbox{}", .port.map(|p| format!(" on 127.0.0.1:{p}")).unwrap_or_default())]
    SandboxStart {
        port: Option<u16>,
        #[source]
        source: io::Error,
    },
    #[error("the sandbox did not stop cleanly")]
    SandboxStop(#[source] io::Error),
    #[error("cannot listen on {address}")]
    Listen {
        address: std::net::SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("cannot wait for Ctrl-C")]
    Signal(#[source] io::Error),
    /// `sync`: the sync engine or its database.
    #[error(transparent)]
    Sync(#[from] partner_center_sync::Error),
    #[error(
        "with --sandbox, pass --database: the sandbox's referrals must not go into your sync database"
    )]
    SandboxDatabase,
    #[error("no data directory on this system: pass --database")]
    NoDataDirectory,
    #[error("cannot create {}", .path.display())]
    CreateDirectory {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot start the async runtime")]
    Runtime(#[source] io::Error),
}

impl Failure {
    /// The failure and its causes on one line, with what to do next where the CLI knows it
    /// (`sandbox` says whether the command ran against `--sandbox`).
    pub(crate) fn line(&self, sandbox: bool) -> String {
        let report = Report::new(self);
        match self {
            Self::Call(Error::NotFound(_)) if sandbox => {
                format!("{report}; `partner-center sandbox ids` lists the sandbox's referrals")
            }
            Self::Call(Error::PageLimit { .. }) => format!("{report}; here: --max-pages"),
            Self::Call(Error::WebhookRegistered(_)) => {
                format!("{report} (here: --replace, or `webhooks update`)")
            }
            Self::Call(Error::Auth(AuthError::Missing(why))) if why.contains(WEBHOOKS_SCOPE) => {
                format!("{report}; pass --webhooks-token or set PARTNER_CENTER_WEBHOOKS_TOKEN")
            }
            _ => report.to_string(),
        }
    }
}
