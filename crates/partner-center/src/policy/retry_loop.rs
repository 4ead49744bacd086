//! The retry loop: attempts until an answer is final, a token refresh after a 401, the waits
//! in between.

use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Response, StatusCode};
use tracing::Instrument;

use super::headers::REQUEST_ID;
use super::{Call, Headers};
use crate::auth::AuthError;
use crate::error::{Error, TransportError};
use crate::retry::{self, Attempt, AttemptOutcome};
use crate::transport::{AttemptError, Failure, Replayable};

impl Call {
    /// Sends `replayable`'s request until an answer is final.
    pub(super) async fn run(&self, replayable: &Replayable<'_>) -> reqwest::Result<Response> {
        let deadline = self.started + self.shared.timeout;
        let mut refreshed = false;
        loop {
            let authorization = self.state().authorization.clone();
            let attempt_timeout = self.shared.attempt_timeout;
            #[cfg(feature = "rate-limit")]
            if let Some(limiter) = &self.shared.rate_limiter {
                limiter.until_ready().await;
            }
            let number = self.state().attempts.len() + 1;
            // The first attempt starts when the call does (once its token is in hand), unless
            // it waited for the rate limit: one reading of the clock fewer a call.
            let started = if number == 1 && !self.shared.rate_limited() {
                self.started
            } else {
                Instant::now()
            };
            let attempt_deadline = deadline.min(started + attempt_timeout);
            let span = tracing::debug_span!("attempt", number, status = tracing::field::Empty);
            let sent = tracing::enabled!(tracing::Level::DEBUG).then(Instant::now);
            let result = self
                .shared
                .transport
                .send(
                    replayable,
                    authorization,
                    self.shared.max_response_bytes,
                    attempt_deadline,
                    attempt_timeout,
                )
                .instrument(span.clone())
                .await;

            let (result, outcome, retry_after) = self.record_attempt(result, &span, sent);

            // The answer is taken by value and is out of scope before the wait: a local that
            // lives across two awaits takes its own room in this future (which is boxed).
            let wait = match result {
                Ok(response) => {
                    if response.status() == StatusCode::UNAUTHORIZED && !refreshed {
                        refreshed = true;
                        if self.refresh_token().await {
                            continue;
                        }
                        return Ok(response);
                    }
                    match self.retry_wait(replayable, outcome, retry_after, number, deadline) {
                        Some(wait) => wait,
                        None => return Ok(self.final_answer(response)),
                    }
                }
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
                    match self.retry_wait(replayable, outcome, None, number, deadline) {
                        Some(wait) => wait,
                        None => return Err(self.failed(e).await),
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Records how attempt `result` went (in `span` too); returns it, with its outcome and the
    /// `Retry-After` it asked for. Takes and gives back the result, rather than borrow it: the
    /// retry loop's future would otherwise keep room for it across every later await.
    fn record_attempt(
        &self,
        result: Result<Response, AttemptError>,
        span: &tracing::Span,
        sent: Option<Instant>,
    ) -> (
        Result<Response, AttemptError>,
        AttemptOutcome,
        Option<Duration>,
    ) {
        let (outcome, retry_after) = match &result {
            Ok(response) | Err(AttemptError::TooLarge(response)) => {
                span.record("status", response.status().as_u16());
                let retry_after = self.record_answer(response);
                (AttemptOutcome::Status(response.status()), retry_after)
            }
            Err(AttemptError::Transport(e)) if e.is_connect() => {
                (AttemptOutcome::NotConnected, None)
            }
            Err(AttemptError::Transport(e)) if e.is_timeout() => (AttemptOutcome::TimedOut, None),
            Err(AttemptError::Transport(_)) => (AttemptOutcome::Failed, None),
        };
        self.state().attempts.push(Attempt {
            outcome,
            wait: None,
        });
        tracing::debug!(
            parent: span,
            elapsed_ms = sent.map_or(0, |sent| sent.elapsed().as_millis() as u64),
            outcome = %outcome,
            request_id = self.state().request_id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or("-"),
            "attempt finished"
        );
        (result, outcome, retry_after)
    }

    /// The answer handed to the generated code. A success's headers are dropped unless the
    /// caller keeps them: the ids are recorded by now, and progenitor's decode copies them.
    fn final_answer(&self, mut response: Response) -> Response {
        if self.headers == Headers::Dropped && response.status().is_success() {
            *response.headers_mut() = HeaderMap::new();
        }
        response
    }

    /// Records `failure` as the call's error (`take_failure` hands it on), and gives the generated
    /// code, whose error type is reqwest's, one that says so.
    async fn failed(&self, failure: Failure) -> reqwest::Error {
        let error = TransportError::new(failure, self.info());
        self.state().failure = Some(Error::Transport(Box::new(error)));
        let said = std::io::Error::other("the request did not complete; the call's error says why");
        let frames = futures_util::stream::iter([Err::<hyper::body::Frame<bytes::Bytes>, _>(said)]);
        let body = reqwest::Body::wrap(http_body_util::StreamBody::new(frames));
        let answer = reqwest::Response::from(http::Response::new(body));
        answer.bytes().await.expect_err("the body is an error")
    }

    /// Records an answer's status and ids; returns its `Retry-After`. The header values are
    /// kept as they are (shared, not copied): only an error reads them as text.
    fn record_answer(&self, response: &Response) -> Option<Duration> {
        let headers = response.headers();
        let retry_after = retry::retry_after(headers, SystemTime::now);
        let mut state = self.state();
        state.status = Some(response.status());
        state.request_id = headers.get(REQUEST_ID).cloned();
        state.retry_after = retry_after;
        state.www_authenticate = headers.get(WWW_AUTHENTICATE).cloned();
        retry_after
    }

    /// After a 401: asks the provider for a new token once. `true` when there is one to retry
    /// with; a provider that cannot refresh leaves the 401 as the answer, other failures are
    /// recorded.
    async fn refresh_token(&self) -> bool {
        let (scope, rejected) = {
            let state = self.state();
            (state.scope, state.token.clone())
        };
        match self.shared.auth.refresh(scope, &rejected).await {
            Ok(token) => match self.shared.bearer.value(&token) {
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

    /// Decides whether attempt `number` of `request` is retried, and after how long a wait.
    fn retry_wait(
        &self,
        request: &Replayable<'_>,
        outcome: AttemptOutcome,
        retry_after: Option<Duration>,
        number: usize,
        deadline: Instant,
    ) -> Option<Duration> {
        let (policy, method) = (&self.shared.retry, request.method());
        if number >= policy.max_attempts as usize || !policy.should_retry(method, outcome) {
            return None;
        }
        let backoff = policy.backoff(number as u32);
        let wait = retry_after.map_or(backoff, |asked| asked.max(backoff));
        if wait > policy.max_wait || Instant::now() + wait >= deadline {
            tracing::debug!(
                wait_ms = wait.as_millis() as u64,
                "not retrying: the wait exceeds the budget"
            );
            return None;
        }
        tracing::debug!(wait_ms = wait.as_millis() as u64, ?retry_after, "retrying");
        if let Some(last) = self.state().attempts.last_mut() {
            last.wait = Some(wait);
        }
        Some(wait)
    }
}
