//! The policy applied to every request, whichever operation built it: [`Call`], one logical
//! call, and [`Shared`], what every call of one client uses.
//!
//! The generated operations hand their request to progenitor's `ClientHooks::exec`, which
//! hands it to the [`Call`] of the current logical call. The call then, per attempt: sets the
//! ids and the bearer token ([`headers`]), waits for the rate limit, sends with the attempt's
//! time budget and reads the body, bounded ([`crate::transport`]), so that a body cut short is
//! retried like any failed attempt, and decides whether and how long to wait before the next
//! one ([`retry_loop`]). What the generated code cannot carry (the attempts, a token refresh
//! that failed, a body over the limit, a request that got no answer) is kept here and turned
//! into the [`Error`] ([`Call::take_failure`], [`errors`]).

mod errors;
mod headers;
mod retry_loop;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use partner_center_api as api;
use partner_center_api::lenient::{self, Drifted};
use reqwest::StatusCode;
use reqwest::header::HeaderValue;
use tracing::Instrument;

use crate::auth::{AccessToken, TokenProvider};
use crate::error::{CallInfo, Error};
use crate::redact::{self, Secrets};
use crate::retry::{Attempt, RetryPolicy};
use crate::transport::{Replayable, Transport};

pub(crate) use self::headers::Bearer;
use self::headers::{Ids, header_str, header_text};

/// How many drifted fields a warning names (a page of drifted referrals could hold hundreds).
const DRIFT_SHOWN: usize = 20;

/// What every call of one client uses: the policy's configuration.
pub(crate) struct Shared {
    /// Builds the generated operations' requests.
    pub(crate) http: reqwest::Client,
    /// Sends them.
    pub(crate) transport: Transport,
    pub(crate) base_url: String,
    /// The base URL of every spec document but the main one (whose is `base_url`), by name.
    pub(crate) document_base_urls: Vec<(&'static str, String)>,
    pub(crate) auth: Box<dyn TokenProvider>,
    pub(crate) application: Option<HeaderValue>,
    /// The `Authorization` value of the last token sent.
    pub(crate) bearer: Bearer,
    pub(crate) retry: RetryPolicy,
    pub(crate) attempt_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) max_pages: usize,
    #[cfg(feature = "rate-limit")]
    pub(crate) rate_limiter: Option<governor::DefaultDirectRateLimiter>,
}

impl Shared {
    /// Whether calls wait for a rate limit before each attempt.
    fn rate_limited(&self) -> bool {
        #[cfg(feature = "rate-limit")]
        return self.rate_limiter.is_some();
        #[cfg(not(feature = "rate-limit"))]
        false
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Whether a call keeps its answer's headers ([`crate::PartnerCenter::send`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Headers {
    Kept,
    Dropped,
}

/// One logical call: its ids, its token, and what happened on the wire.
#[derive(Debug)]
pub(crate) struct Call {
    shared: Arc<Shared>,
    ids: Ids,
    started: Instant,
    headers: Headers,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The scope of the token, and the token: a refresh asks for the same scope.
    scope: &'static str,
    token: AccessToken,
    /// `Bearer <token>`, built once per token and marked sensitive (never shown in `Debug`).
    authorization: HeaderValue,
    attempts: Vec<Attempt>,
    /// The last answer's status, `Request-ID`, `Retry-After` and `WWW-Authenticate`.
    status: Option<StatusCode>,
    request_id: Option<HeaderValue>,
    retry_after: Option<Duration>,
    www_authenticate: Option<HeaderValue>,
    /// The URL the request went to (a page's, for the next link it carries).
    url: Option<reqwest::Url>,
    /// The generated operation's id (`list_referrals`...).
    operation_id: &'static str,
    /// An error the generated code cannot express; it wins over whatever that code returns.
    failure: Option<Error>,
}

impl Call {
    /// A call with `token` of `scope`; refused when the token cannot be sent in a header.
    pub(crate) fn new(
        shared: Arc<Shared>,
        correlation_id: Option<HeaderValue>,
        (scope, token): (&'static str, AccessToken),
        headers: Headers,
    ) -> Result<Self, Error> {
        let authorization = shared.bearer.value(&token)?;
        Ok(Self {
            shared,
            ids: Ids::new(correlation_id),
            started: Instant::now(),
            headers,
            state: Mutex::new(State {
                scope,
                token,
                authorization,
                attempts: Vec::new(),
                status: None,
                request_id: None,
                retry_after: None,
                www_authenticate: None,
                url: None,
                operation_id: "",
                failure: None,
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn info(&self) -> CallInfo {
        let state = self.state();
        CallInfo {
            client_request_id: header_str(&self.ids.client_request_id),
            correlation_id: header_str(&self.ids.correlation_id),
            request_id: header_text(state.request_id.as_ref()),
            attempts: state.attempts.clone(),
        }
    }

    /// What errors mask in the text the service sent: the token this call sends.
    fn secrets(&self) -> Secrets {
        Secrets::new(self.state().token.secret().clone())
    }

    /// The URL the call's request went to, once it was sent (moved out: asked for once).
    pub(crate) fn take_url(&self) -> Option<reqwest::Url> {
        self.state().url.take()
    }

    /// The generated id of the operation the call sent, once it was sent.
    pub(crate) fn operation_id(&self) -> &'static str {
        self.state().operation_id
    }

    /// The failure the policy recorded that the generated code could not express: it wins
    /// over whatever that code returned.
    pub(crate) fn take_failure(&self) -> Option<Error> {
        self.state().failure.take()
    }

    /// Logs, once, as a warning, the fields of `value` that drifted from the spec: their values
    /// are kept, and the call succeeds.
    pub(crate) fn warn_of_drift<T: Drifted>(&self, value: &T) {
        let drift = lenient::drift(value);
        if drift.is_empty() {
            return;
        }
        let mut shown: Vec<String> = drift
            .iter()
            .take(DRIFT_SHOWN)
            .map(ToString::to_string)
            .collect();
        if drift.len() > DRIFT_SHOWN {
            shown.push(format!("and {} more", drift.len() - DRIFT_SHOWN));
        }
        tracing::warn!(
            client_request_id = %header_str(&self.ids.client_request_id),
            fields = drift.len(),
            drift = %shown.join("; "),
            "the answer does not fit the spec here; these values are kept as sent"
        );
    }
}

impl api::CallPolicy for Call {
    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        mut request: reqwest::Request,
        operation_id: &'static str,
    ) -> api::ResponseFuture<'a> {
        {
            let mut state = self.state();
            state.url = Some(request.url().clone());
            state.operation_id = operation_id;
        }
        self.ids
            .set(request.headers_mut(), self.shared.application.as_ref());
        let span = tracing::info_span!(
            "partner_center",
            operation = operation_id,
            method = %request.method(),
            url = %redact::path_and_query(request.url()),
            client_request_id = %header_str(&self.ids.client_request_id),
            correlation_id = %header_str(&self.ids.correlation_id),
        );
        // The request stays in this block, and `run` borrows it: an `async fn` would keep its
        // parameter twice (as given, and as a local).
        let call = async move {
            match Replayable::new(&request) {
                Some(replayable) => self.run(&replayable).await,
                None => client.execute(request).await,
            }
        };
        Box::pin(call.instrument(span))
    }
}
