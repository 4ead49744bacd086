//! [`RetryPolicy`]: which failures are retried, and how long to wait before the next attempt;
//! [`Attempt`]: what one attempt came to, which it decides on.

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};

/// When and how a call is tried again.
///
/// Retried: 408, 429, 500, 502, 503 and 504 answers, and requests that did not complete
/// (connection refused or reset, a body cut short, an attempt timeout). GET, PUT, PATCH and
/// DELETE are retried on all of these; POST only when it never reached the server (the
/// connection could not be made), unless [`RetryPolicy::retry_post`] opts in.
///
/// The wait before attempt *n + 1* is the larger of the service's `Retry-After` (seconds or
/// an HTTP date; `retry-after-ms` too) and an exponential backoff with full jitter
/// (`initial_backoff * 2^(n-1)`, capped at `max_backoff`). A wait longer than `max_wait`, or
/// one that would end past the call's overall timeout, ends the retrying: the error then
/// carries the `Retry-After` for the caller to honour.
///
/// ```
/// use std::time::Duration;
/// use partner_center::RetryPolicy;
///
/// let patient = RetryPolicy::default().max_attempts(6).max_wait(Duration::from_secs(120));
/// let never = RetryPolicy::none();
/// # let _ = (patient, never);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub(crate) max_attempts: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) max_wait: Duration,
    pub(crate) retry_post: bool,
}

impl Default for RetryPolicy {
    /// 4 attempts, backoff from 1 s up to 30 s, waits of up to 60 s (Partner Center asks for
    /// up to a minute when it throttles), POST not retried once it reached the server.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_wait: Duration::from_secs(60),
            retry_post: false,
        }
    }
}

impl RetryPolicy {
    /// No retries: every call makes exactly one attempt (a 401 is still retried once after a
    /// token refresh).
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// How many attempts a call makes at most, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The first backoff, doubled for each further retry.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The largest backoff computed (before jitter).
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The longest single wait, `Retry-After` included; a longer one ends the retrying.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// Retry POST after it reached the server too. Off by default: a create that timed out
    /// may have happened, and a retry would create it twice.
    pub fn retry_post(mut self, retry: bool) -> Self {
        self.retry_post = retry;
        self
    }

    /// Whether an attempt that ended this way may be tried again (attempts left aside): a
    /// request that never reached the server always; one that may have, only if replayable.
    pub(crate) fn should_retry(&self, method: &Method, outcome: AttemptOutcome) -> bool {
        let replayable = *method != Method::POST || self.retry_post;
        match outcome {
            AttemptOutcome::Status(status) => replayable && is_retryable_status(status),
            AttemptOutcome::NotConnected => true,
            AttemptOutcome::TimedOut | AttemptOutcome::Failed => replayable,
        }
    }

    /// The backoff before retry number `retry` (1 for the first retry), with full jitter.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(31);
        let ceiling = self
            .initial_backoff
            .saturating_mul(1 << exponent)
            .min(self.max_backoff);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// One attempt of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempt {
    /// How it ended: a status, or why no answer came.
    pub outcome: AttemptOutcome,
    /// How long the client waited after it before the next attempt (`None` for the last).
    pub wait: Option<Duration>,
}

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// The service answered with this status.
    Status(StatusCode),
    /// The connection could not be made.
    NotConnected,
    /// The attempt ran out of time.
    TimedOut,
    /// The request failed on the way (connection reset, body cut short).
    Failed,
}

impl fmt::Display for AttemptOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(status) => write!(f, "{}", status.as_u16()),
            Self::NotConnected => f.write_str("not-connected"),
            Self::TimedOut => f.write_str("timed-out"),
            Self::Failed => f.write_str("failed"),
        }
    }
}

/// The statuses worth another attempt.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// How long the service asked to wait: `retry-after-ms`, else `Retry-After` in seconds or as
/// an HTTP date (relative to `now`, read only then: most answers ask for no wait).
pub(crate) fn retry_after(
    headers: &HeaderMap,
    now: impl FnOnce() -> SystemTime,
) -> Option<Duration> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|t| t.parse::<u64>().ok()) {
        return Some(Duration::from_millis(ms));
    }
    let value = text("retry-after")?;
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now()).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_in_seconds_date_and_milliseconds() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let later = httpdate::fmt_http_date(now + Duration::from_secs(57));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(5));
        assert_eq!(
            retry_after(&headers(&[("retry-after", "57")]), || now),
            Some(Duration::from_secs(57))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", &later)]), || now),
            Some(Duration::from_secs(57))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", &earlier)]), || now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "57"), ("retry-after-ms", "250")]),
                || now
            ),
            Some(Duration::from_millis(250))
        );
        for junk in ["", "soon", "-3", "1.5"] {
            assert_eq!(
                retry_after(&headers(&[("retry-after", junk)]), || now),
                None,
                "{junk:?}"
            );
        }
        assert_eq!(retry_after(&HeaderMap::new(), || now), None);
    }

    #[test]
    fn backoff_grows_exponentially_under_its_cap_with_jitter() {
        let policy = RetryPolicy::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(450));
        for (retry, ceiling) in [(1, 100), (2, 200), (3, 400), (4, 450), (40, 450)] {
            let waits: Vec<Duration> = (0..200).map(|_| policy.backoff(retry)).collect();
            let ceiling = Duration::from_millis(ceiling);
            assert!(waits.iter().all(|w| *w <= ceiling), "retry {retry}");
            // Full jitter spreads the waits; 200 draws all in the top or bottom tenth is
            // astronomically unlikely.
            assert!(
                waits.iter().any(|w| *w < ceiling / 10 * 9),
                "retry {retry}: no jitter"
            );
            assert!(
                waits.iter().any(|w| *w > ceiling / 10),
                "retry {retry}: no jitter"
            );
        }
    }

    #[test]
    fn statuses_and_methods_that_are_retried() {
        let policy = RetryPolicy::default();
        for code in [408, 429, 500, 502, 503, 504] {
            let status = AttemptOutcome::Status(StatusCode::from_u16(code).unwrap());
            assert!(policy.should_retry(&Method::GET, status), "{code}");
            assert!(policy.should_retry(&Method::PATCH, status), "{code}");
            assert!(!policy.should_retry(&Method::POST, status), "{code}");
            assert!(
                policy
                    .clone()
                    .retry_post(true)
                    .should_retry(&Method::POST, status)
            );
        }
        for code in [400, 401, 403, 404, 409, 412, 501] {
            let status = AttemptOutcome::Status(StatusCode::from_u16(code).unwrap());
            assert!(!policy.should_retry(&Method::GET, status), "{code}");
        }
        assert!(policy.should_retry(&Method::POST, AttemptOutcome::NotConnected));
        assert!(!policy.should_retry(&Method::POST, AttemptOutcome::Failed));
        assert!(!policy.should_retry(&Method::POST, AttemptOutcome::TimedOut));
        assert!(policy.should_retry(&Method::PUT, AttemptOutcome::Failed));
        assert!(policy.should_retry(&Method::GET, AttemptOutcome::TimedOut));
        assert_eq!(RetryPolicy::none().max_attempts, 1);
        assert_eq!(RetryPolicy::default().max_attempts(0).max_attempts, 1);
    }
}
