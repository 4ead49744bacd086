//! [`Call`]: the policy applied to every request, whichever operation built it.
//!
//! The generated operations hand their request to progenitor's `ClientHooks::exec`, which
//! hands it to the [`Call`] of the current logical call. The call then, per attempt: sets the
//! ids and the bearer token, waits for the rate limit, sends with the attempt's time budget,
//! reads the body (bounded) so that a body cut short is retried like any failed attempt, and
//! decides whether and how long to wait before the next one. What the generated code cannot
//! carry (the attempts, a token refresh that failed, a body over the limit) is kept here and
//! turned into the [`Error`] by [`Call::finish`].

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use partner_center_api as api;
use partner_center_api::lenient::{self, Drifted};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Response, StatusCode};
use secrecy::ExposeSecret;
use tracing::Instrument;

use crate::auth::{AccessToken, AuthError};
use crate::client::Shared;
use crate::error::{
    Attempt, AttemptOutcome, CallInfo, DecodeError, Error, ServiceError, TransportError,
    error_detail,
};
use crate::redact::{self, Secrets};
use crate::retry;

const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");
const MS_REQUEST_ID: HeaderName = HeaderName::from_static("ms-requestid");
const MS_CORRELATION_ID: HeaderName = HeaderName::from_static("ms-correlationid");
const MS_APPLICATION: HeaderName = HeaderName::from_static("ms-partnercenter-application");
/// How many drifted fields a warning names (a page of drifted referrals could hold hundreds).
const DRIFT_SHOWN: usize = 20;
/// progenitor sends `api-version: <info.version>` on every request; Partner Center has no use
/// for it, so it is not sent.
const API_VERSION: HeaderName = HeaderName::from_static("api-version");

/// One logical call: its ids, its token, and what happened on the wire.
#[derive(Debug)]
pub(crate) struct Call {
    shared: Arc<Shared>,
    client_request_id: HeaderValue,
    correlation_id: HeaderValue,
    started: Instant,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    token: AccessToken,
    /// `Bearer <token>`, built once per token and marked sensitive (never shown in `Debug`).
    authorization: HeaderValue,
    attempts: Vec<Attempt>,
    /// The last answer's status, `Request-ID`, `Retry-After` and `WWW-Authenticate`.
    status: Option<StatusCode>,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    www_authenticate: Option<String>,
    /// The URL the request went to (a page's, for the next link it carries).
    url: Option<reqwest::Url>,
    /// The generated operation's id (`list_referrals`...).
    operation_id: &'static str,
    /// An error the generated code cannot express; it wins over whatever that code returns.
    failure: Option<Error>,
}

/// How one attempt went wrong before a complete answer came back.
enum AttemptError {
    Transport(reqwest::Error),
    TooLarge(Response),
}

impl Call {
    /// A call with `token`; refused when the token cannot be sent in a header.
    pub(crate) fn new(
        shared: Arc<Shared>,
        correlation_id: Option<HeaderValue>,
        token: AccessToken,
    ) -> Result<Self, Error> {
        let authorization = bearer(&token)?;
        Ok(Self {
            shared,
            client_request_id: guid_header(),
            correlation_id: correlation_id.unwrap_or_else(guid_header),
            started: Instant::now(),
            state: Mutex::new(State {
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
            client_request_id: header_str(&self.client_request_id),
            correlation_id: header_str(&self.correlation_id),
            request_id: state.request_id.clone(),
            attempts: state.attempts.clone(),
        }
    }

    /// The URL the call's request went to, once it was sent (moved out: asked for once).
    pub(crate) fn take_url(&self) -> Option<reqwest::Url> {
        self.state().url.take()
    }

    /// The generated id of the operation the call sent, once it was sent.
    pub(crate) fn operation_id(&self) -> &'static str {
        self.state().operation_id
    }

    /// The call's result: what the generated operation returned, unless the policy recorded a
    /// failure it could not express. Fields of the answer that drifted from the spec are
    /// logged once, as a warning: their values are kept, and the call succeeds.
    pub(crate) async fn finish<T: Drifted>(
        &self,
        outcome: api::GeneratedResult<T>,
    ) -> Result<T, Error> {
        if let Some(failure) = self.state().failure.take() {
            return Err(failure);
        }
        match outcome {
            Ok(response) => {
                let value = response.into_inner();
                self.warn_of_drift(&value);
                Ok(value)
            }
            Err(error) => Err(self.map_error(error).await),
        }
    }

    fn warn_of_drift<T: Drifted>(&self, value: &T) {
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
            client_request_id = %header_str(&self.client_request_id),
            fields = drift.len(),
            drift = %shown.join("; "),
            "the answer does not fit the spec here; these values are kept as sent"
        );
    }

    async fn map_error(&self, error: api::Error<api::types::ErrorBody>) -> Error {
        use api::Error as E;
        match error {
            E::ErrorResponse(response) => {
                let status = response.status();
                let detail = error_detail(response.into_inner());
                self.service_error(ServiceError::new(status, Some(detail), self.info()))
            }
            E::InvalidResponsePayload(body, source) => {
                // Bound first: a guard held across the match would deadlock `self.info()`.
                let status = self.state().status;
                match status {
                    Some(status) if !status.is_success() => {
                        self.service_error(ServiceError::from_body(status, &body, self.info()))
                    }
                    status => Error::Decode(Box::new(DecodeError::new(
                        status.unwrap_or(StatusCode::OK),
                        source,
                        &body,
                        self.info(),
                        &self.secrets(),
                    ))),
                }
            }
            E::UnexpectedResponse(response) => {
                let status = response.status();
                // The body was read (bounded) by `execute`: this is a copy in memory.
                match response.bytes().await {
                    Ok(body) => {
                        self.service_error(ServiceError::from_body(status, &body, self.info()))
                    }
                    Err(e) => self.transport(e),
                }
            }
            E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e) => {
                self.transport(e)
            }
            E::InvalidRequest(message) | E::Custom(message) => Error::InvalidInput(message),
        }
    }

    fn service_error(&self, error: ServiceError) -> Error {
        let (retry_after, www_authenticate) = {
            let state = self.state();
            (state.retry_after, state.www_authenticate.clone())
        };
        let error = error
            .with_headers(retry_after, www_authenticate)
            .masked(&self.secrets());
        Error::from_service(error)
    }

    /// What errors mask in the text the service sent: the token this call sends.
    fn secrets(&self) -> Secrets {
        Secrets::new(self.state().token.secret().clone())
    }

    fn transport(&self, source: reqwest::Error) -> Error {
        Error::Transport(Box::new(TransportError::new(source, self.info())))
    }

    /// Sends `request` until an answer is final: the retry loop.
    async fn run(
        &self,
        client: &reqwest::Client,
        request: reqwest::Request,
    ) -> reqwest::Result<Response> {
        let policy = &self.shared.retry;
        let deadline = self.started + self.shared.timeout;
        let mut refreshed = false;
        loop {
            // `try_clone` fails only for streaming bodies, which the generated code never sends.
            let Some(mut attempt) = request.try_clone() else {
                return client.execute(request).await;
            };
            attempt
                .headers_mut()
                .insert(AUTHORIZATION, self.state().authorization.clone());
            // The HTTP client applies the attempt timeout; a request-level timeout (which costs
            // allocations and a timer) only when the call's deadline is nearer.
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining < self.shared.attempt_timeout {
                *attempt.timeout_mut() = Some(remaining);
            } else if self.shared.own_http {
                *attempt.timeout_mut() = Some(self.shared.attempt_timeout);
            }
            #[cfg(feature = "rate-limit")]
            if let Some(limiter) = &self.shared.rate_limiter {
                limiter.until_ready().await;
            }
            let number = self.state().attempts.len() + 1;
            let span = tracing::debug_span!("attempt", number, status = tracing::field::Empty);
            let sent = Instant::now();
            let result = send_bounded(client, attempt, self.shared.max_response_bytes)
                .instrument(span.clone())
                .await;

            let (outcome, retry_after) = match &result {
                Ok(response) | Err(AttemptError::TooLarge(response)) => {
                    span.record("status", response.status().as_u16());
                    let retry_after = self.record_answer(response);
                    (AttemptOutcome::Status(response.status()), retry_after)
                }
                Err(AttemptError::Transport(e)) if e.is_connect() => {
                    (AttemptOutcome::NotConnected, None)
                }
                Err(AttemptError::Transport(e)) if e.is_timeout() => {
                    (AttemptOutcome::TimedOut, None)
                }
                Err(AttemptError::Transport(_)) => (AttemptOutcome::Failed, None),
            };
            self.state().attempts.push(Attempt {
                outcome,
                wait: None,
            });
            tracing::debug!(
                parent: &span,
                elapsed_ms = sent.elapsed().as_millis() as u64,
                outcome = %outcome,
                request_id = self.state().request_id.as_deref().unwrap_or("-"),
                "attempt finished"
            );

            let response = match result {
                Ok(response) => response,
                Err(AttemptError::TooLarge(response)) => {
                    let limit = self.shared.max_response_bytes;
                    let status = response.status();
                    let call = Box::new(self.info());
                    self.state().failure = Some(Error::ResponseTooLarge {
                        status,
                        limit,
                        call,
                    });
                    return Ok(response);
                }
                Err(AttemptError::Transport(e)) => {
                    if self
                        .wait_before_retry(
                            policy,
                            request.method(),
                            outcome,
                            None,
                            number,
                            deadline,
                        )
                        .await
                    {
                        continue;
                    }
                    return Err(e);
                }
            };

            if response.status() == StatusCode::UNAUTHORIZED && !refreshed {
                refreshed = true;
                if self.refresh_token().await {
                    continue;
                }
                return Ok(response);
            }
            if self
                .wait_before_retry(
                    policy,
                    request.method(),
                    outcome,
                    retry_after,
                    number,
                    deadline,
                )
                .await
            {
                continue;
            }
            return Ok(response);
        }
    }

    /// Records an answer's status and ids; returns its `Retry-After`.
    fn record_answer(&self, response: &Response) -> Option<Duration> {
        let retry_after = retry::retry_after(response.headers(), SystemTime::now());
        let mut state = self.state();
        state.status = Some(response.status());
        state.request_id = header_text(response.headers(), "request-id");
        state.retry_after = retry_after;
        state.www_authenticate = header_text(response.headers(), "www-authenticate");
        retry_after
    }

    /// After a 401: asks the provider for a new token once. `true` when there is one to retry
    /// with; a provider that cannot refresh leaves the 401 as the answer, other failures are
    /// recorded.
    async fn refresh_token(&self) -> bool {
        let rejected = self.state().token.clone();
        match self.shared.auth.refresh(&rejected).await {
            Ok(token) => match bearer(&token) {
                Ok(authorization) => {
                    tracing::debug!("token refreshed after a 401; retrying once");
                    let mut state = self.state();
                    state.token = token;
                    state.authorization = authorization;
                    true
                }
                Err(e) => {
                    self.state().failure = Some(e);
                    false
                }
            },
            Err(AuthError::CannotRefresh(reason)) => {
                tracing::debug!(%reason, "401 and no token refresh possible");
                false
            }
            Err(e) => {
                self.state().failure = Some(Error::Auth(e));
                false
            }
        }
    }

    /// Decides whether attempt `number` is retried; if so, waits and returns `true`.
    async fn wait_before_retry(
        &self,
        policy: &retry::RetryPolicy,
        method: &reqwest::Method,
        outcome: AttemptOutcome,
        retry_after: Option<Duration>,
        number: usize,
        deadline: Instant,
    ) -> bool {
        if number >= policy.max_attempts as usize || !policy.should_retry(method, outcome) {
            return false;
        }
        let backoff = policy.backoff(number as u32);
        let wait = retry_after.map_or(backoff, |asked| asked.max(backoff));
        if wait > policy.max_wait || Instant::now() + wait >= deadline {
            tracing::debug!(
                wait_ms = wait.as_millis() as u64,
                "not retrying: the wait exceeds the budget"
            );
            return false;
        }
        tracing::debug!(wait_ms = wait.as_millis() as u64, ?retry_after, "retrying");
        if let Some(last) = self.state().attempts.last_mut() {
            last.wait = Some(wait);
        }
        tokio::time::sleep(wait).await;
        true
    }
}

impl api::Transport for Call {
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
        let headers = request.headers_mut();
        headers.remove(API_VERSION);
        headers.insert(CLIENT_REQUEST_ID, self.client_request_id.clone());
        headers.insert(MS_REQUEST_ID, self.client_request_id.clone());
        headers.insert(MS_CORRELATION_ID, self.correlation_id.clone());
        if let Some(application) = &self.shared.application {
            headers.insert(MS_APPLICATION, application.clone());
        }
        let span = tracing::info_span!(
            "partner_center",
            operation = operation_id,
            method = %request.method(),
            url = %redact::path_and_query(request.url()),
            client_request_id = %header_str(&self.client_request_id),
            correlation_id = %header_str(&self.correlation_id),
        );
        Box::pin(self.run(client, request).instrument(span))
    }
}

/// Sends one attempt and reads its whole body, refusing more than `limit` bytes.
async fn send_bounded(
    client: &reqwest::Client,
    request: reqwest::Request,
    limit: usize,
) -> Result<Response, AttemptError> {
    let mut response = client
        .execute(request)
        .await
        .map_err(AttemptError::Transport)?;
    let too_large = |response: Response| {
        let mut answer = http::Response::new(reqwest::Body::from(Bytes::new()));
        *answer.status_mut() = response.status();
        *answer.headers_mut() = response.headers().clone();
        AttemptError::TooLarge(Response::from(answer))
    };
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(too_large(response));
    }
    // Most bodies come in one chunk: keep it as it is, and copy only to join several.
    let mut body = Bytes::new();
    let mut joined: Option<BytesMut> = None;
    while let Some(chunk) = response.chunk().await.map_err(AttemptError::Transport)? {
        let read = joined.as_ref().map_or(body.len(), BytesMut::len);
        if read + chunk.len() > limit {
            return Err(too_large(response));
        }
        match &mut joined {
            Some(buffer) => buffer.extend_from_slice(&chunk),
            None if body.is_empty() => body = chunk,
            None => {
                let mut buffer = BytesMut::from(&body[..]);
                buffer.extend_from_slice(&chunk);
                joined = Some(buffer);
            }
        }
    }
    let body = joined.map_or(body, BytesMut::freeze);
    let mut answer = http::Response::new(reqwest::Body::from(body));
    *answer.status_mut() = response.status();
    *answer.version_mut() = response.version();
    *answer.headers_mut() = std::mem::take(response.headers_mut());
    Ok(Response::from(answer))
}

/// `Bearer <token>` as a sensitive header value; a token that cannot be a header value is an
/// error that does not show it.
fn bearer(token: &AccessToken) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.secret().expose_secret()))
        .map_err(|_| {
            Error::Auth(AuthError::Missing(
                "the token has characters that cannot be sent in a header".into(),
            ))
        })?;
    value.set_sensitive(true);
    Ok(value)
}

/// A random (v4) GUID as a header value. Request ids need to be unique, not unpredictable: a
/// fast generator spares a system call per id.
fn guid_header() -> HeaderValue {
    let random = fastrand::u128(..).to_le_bytes();
    let guid = uuid::Builder::from_random_bytes(random).into_uuid();
    let mut buffer = uuid::Uuid::encode_buffer();
    let text = guid.hyphenated().encode_lower(&mut buffer);
    HeaderValue::from_str(text).expect("a hyphenated GUID is a valid header value")
}

fn header_str(value: &HeaderValue) -> String {
    value.to_str().unwrap_or_default().to_owned()
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
