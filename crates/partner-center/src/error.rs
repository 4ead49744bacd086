//! [`Error`]: everything a call can fail with, in one enum.

use std::fmt;
use std::time::Duration;

use partner_center_api::types::ErrorBody;
use reqwest::StatusCode;

use crate::auth::AuthError;
use crate::models::ErrorDetail;
use crate::retry::is_retryable_status;

/// How many characters of an undecodable body an error keeps.
const EXCERPT_CHARS: usize = 512;

/// The result of a Partner Center call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a Partner Center call can fail with.
///
/// Match on the variant for what to do, and read [`ServiceError`] for what the service said:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sandbox = partner_center_sandbox::Sandbox::start().await?;
/// # let client = partner_center::PartnerCenter::builder().base_url(sandbox.base_url()).token("t").build()?;
/// use partner_center::Error;
///
/// match client.referrals().get("no-such-referral").await {
///     Ok(referral) => println!("{:?}", referral.status),
///     Err(Error::NotFound(e)) => assert_eq!(e.code(), Some("itemNotFound")),
///     Err(Error::Unauthorized(e)) => println!("sign in again (request id {:?})", e.request_id()),
///     Err(e) => eprintln!("{e}"),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 401: the token is missing, expired or not an App+User token.
    #[error("unauthorized: {0}")]
    Unauthorized(Box<ServiceError>),
    /// 403: the user lacks a referrals role (Referrals Admin or Referrals User).
    #[error("forbidden: {0}")]
    Forbidden(Box<ServiceError>),
    /// 404: no such referral.
    #[error("not found: {0}")]
    NotFound(Box<ServiceError>),
    /// 412: the referral changed since it was read (its `eTag` no longer matches `If-Match`).
    /// Read it again, and apply the change to the new version.
    #[error("the referral changed since it was read; read it again: {0}")]
    PreconditionFailed(Box<ServiceError>),
    /// Any other error status from the service (or a gateway in front of it).
    #[error("service error: {0}")]
    Service(Box<ServiceError>),
    /// The service answered with success, but the body is not what the spec describes.
    #[error("cannot decode the response: {0}")]
    Decode(Box<DecodeError>),
    /// The request did not complete: connection refused or reset, timeout, TLS failure.
    #[error("transport error: {0}")]
    Transport(Box<TransportError>),
    /// The response body was larger than the client accepts
    /// ([`crate::PartnerCenterBuilder::max_response_bytes`]).
    #[error("the {status} response is larger than {limit} bytes ({call})")]
    ResponseTooLarge {
        /// The response's status.
        status: StatusCode,
        /// The limit it exceeded.
        limit: usize,
        /// The call's ids and attempts.
        call: Box<CallInfo>,
    },
    /// No token could be had, or a rejected one could not be refreshed.
    #[error("authentication failed: {0}")]
    Auth(#[from] AuthError),
    /// A link from the service (an `@odata.nextLink`) points off the client's host or
    /// downgrades its scheme; it is not followed, and the token is not sent to it.
    #[error("untrusted link: {0}")]
    UntrustedLink(String),
    /// The call was refused before anything was sent (an empty id, for example).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The client is misconfigured (no token, a base URL that is not http(s)).
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Error {
    /// The HTTP status the service answered with, if it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Unauthorized(e)
            | Self::Forbidden(e)
            | Self::NotFound(e)
            | Self::PreconditionFailed(e)
            | Self::Service(e) => Some(e.status),
            Self::Decode(e) => Some(e.status),
            Self::ResponseTooLarge { status, .. } => Some(*status),
            Self::Transport(_)
            | Self::Auth(_)
            | Self::UntrustedLink(_)
            | Self::InvalidInput(_)
            | Self::Config(_) => None,
        }
    }

    /// What is known of the call: its request ids and every attempt made. `None` for errors
    /// raised before a request was sent.
    pub fn call(&self) -> Option<&CallInfo> {
        match self {
            Self::Unauthorized(e)
            | Self::Forbidden(e)
            | Self::NotFound(e)
            | Self::PreconditionFailed(e)
            | Self::Service(e) => Some(&e.call),
            Self::Decode(e) => Some(&e.call),
            Self::Transport(e) => Some(&e.call),
            Self::ResponseTooLarge { call, .. } => Some(call),
            Self::Auth(_) | Self::UntrustedLink(_) | Self::InvalidInput(_) | Self::Config(_) => {
                None
            }
        }
    }

    /// How long the service asked to wait before trying again (`Retry-After`), if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        self.service_error().and_then(ServiceError::retry_after)
    }

    /// Whether trying again later may succeed: throttling, a 408/5xx answer the retry policy
    /// covers, or a request that did not complete.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Service(e) => is_retryable_status(e.status),
            Self::Transport(_) => true,
            _ => false,
        }
    }

    /// Whether the service throttled the call (429).
    pub fn is_throttled(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// The service's error details, for the variants that carry them.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            Self::Unauthorized(e)
            | Self::Forbidden(e)
            | Self::NotFound(e)
            | Self::PreconditionFailed(e)
            | Self::Service(e) => Some(e),
            _ => None,
        }
    }

    /// Maps an error response to its variant.
    pub(crate) fn from_service(error: ServiceError) -> Self {
        let error = Box::new(error);
        match error.status {
            StatusCode::UNAUTHORIZED => Self::Unauthorized(error),
            StatusCode::FORBIDDEN => Self::Forbidden(error),
            StatusCode::NOT_FOUND => Self::NotFound(error),
            StatusCode::PRECONDITION_FAILED => Self::PreconditionFailed(error),
            _ => Self::Service(error),
        }
    }
}

/// What is known of one call: the ids that tie it to the service's logs, and its attempts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallInfo {
    /// The `client-request-id` (and `MS-RequestId`) this client sent, the same on every attempt.
    pub client_request_id: String,
    /// The `MS-CorrelationId` this client sent.
    pub correlation_id: String,
    /// The `Request-ID` of the last answer, if any.
    pub request_id: Option<String>,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
}

impl fmt::Display for CallInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "request id {}",
            self.request_id.as_deref().unwrap_or("-")
        )?;
        write!(f, ", client-request-id {}", self.client_request_id)?;
        if self.attempts.len() > 1 {
            write!(f, ", {} attempts:", self.attempts.len())?;
            for attempt in &self.attempts {
                write!(f, " {}", attempt.outcome)?;
            }
        }
        Ok(())
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

/// An error status and what the service said about it.
#[derive(Clone, Debug)]
pub struct ServiceError {
    status: StatusCode,
    detail: Option<ErrorDetail>,
    body_excerpt: Option<String>,
    retry_after: Option<Duration>,
    call: CallInfo,
}

impl ServiceError {
    /// Decodes an error response body in any of the shapes Partner Center uses: the referrals
    /// shape `{"error": {"code", "message", ...}}`, the wider API's `{"code", "description"}`
    /// and the throttling `{"statusCode", "message"}`. Anything else (an HTML gateway page,
    /// an empty body) is kept as an excerpt.
    pub(crate) fn from_body(status: StatusCode, body: &[u8], call: CallInfo) -> Self {
        match decode_error_body(body) {
            Some(detail) => Self::new(status, Some(detail), call),
            None => Self {
                body_excerpt: Some(excerpt(body)),
                ..Self::new(status, None, call)
            },
        }
    }

    pub(crate) fn new(status: StatusCode, detail: Option<ErrorDetail>, call: CallInfo) -> Self {
        Self {
            status,
            detail,
            body_excerpt: None,
            retry_after: None,
            call,
        }
    }

    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// How long the service asked to wait before trying again (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The call's ids and attempts.
    pub fn call(&self) -> &CallInfo {
        &self.call
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The service's error code (`itemNotFound`, `accessDenied`, ...): match on this, not on
    /// the message.
    pub fn code(&self) -> Option<&str> {
        self.detail.as_ref().map(|d| d.code.as_str())
    }

    /// The service's human-readable message.
    pub fn message(&self) -> Option<&str> {
        self.detail.as_ref().and_then(|d| d.message.as_deref())
    }

    /// The part of the request the error is about.
    pub fn target(&self) -> Option<&str> {
        self.detail.as_ref().and_then(|d| d.target.as_deref())
    }

    /// The whole decoded error, with its `innerError` chain and any fields the spec does not know.
    pub fn detail(&self) -> Option<&ErrorDetail> {
        self.detail.as_ref()
    }

    /// The start of the body, when it was not an error shape this client knows (e.g. HTML).
    pub fn body_excerpt(&self) -> Option<&str> {
        self.body_excerpt.as_deref()
    }

    /// The service's `Request-ID`: quote it when asking Microsoft for help.
    pub fn request_id(&self) -> Option<&str> {
        self.call.request_id.as_deref()
    }

    /// The `client-request-id` this client sent.
    pub fn client_request_id(&self) -> &str {
        &self.call.client_request_id
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        if let Some(code) = self.code() {
            write!(f, " {code}")?;
        }
        match (self.message(), &self.body_excerpt) {
            (Some(message), _) => write!(f, ": {message}")?,
            (None, Some(body)) if !body.is_empty() => write!(f, ": body {body:?}")?,
            _ => {}
        }
        write!(f, " ({})", self.call)
    }
}

/// A success response whose body could not be decoded.
#[derive(Debug)]
pub struct DecodeError {
    status: StatusCode,
    source: serde_json::Error,
    body_excerpt: String,
    call: CallInfo,
}

impl DecodeError {
    pub(crate) fn new(
        status: StatusCode,
        source: serde_json::Error,
        body: &[u8],
        call: CallInfo,
    ) -> Self {
        Self {
            status,
            source,
            body_excerpt: excerpt(body),
            call,
        }
    }

    /// The (success) status the body came with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What serde_json could not read, with its line and column.
    pub fn source_error(&self) -> &serde_json::Error {
        &self.source
    }

    /// The start of the body.
    pub fn body_excerpt(&self) -> &str {
        &self.body_excerpt
    }

    /// The call's ids and attempts.
    pub fn call(&self) -> &CallInfo {
        &self.call
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} with a body that is not a valid response ({}): {:?} ({})",
            self.status, self.source, self.body_excerpt, self.call
        )
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A request that did not complete.
#[derive(Debug)]
pub struct TransportError {
    source: reqwest::Error,
    call: CallInfo,
}

impl TransportError {
    pub(crate) fn new(source: reqwest::Error, call: CallInfo) -> Self {
        Self { source, call }
    }

    /// Whether the call ran out of time.
    pub fn is_timeout(&self) -> bool {
        self.source.is_timeout()
    }

    /// Whether the connection could not be made.
    pub fn is_connect(&self) -> bool {
        self.source.is_connect()
    }

    /// The call's ids and attempts.
    pub fn call(&self) -> &CallInfo {
        &self.call
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // reqwest's own message stops at the first cause; the root cause is what helps.
        write!(f, "{}", self.source)?;
        let mut cause = std::error::Error::source(&self.source);
        while let Some(inner) = cause {
            write!(f, ": {inner}")?;
            cause = inner.source();
        }
        write!(f, " ({})", self.call)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// The error details of a body the spec describes (`ErrorBody`: the referrals, throttling and
/// Partner Center shapes), in the referrals shape.
pub(crate) fn error_detail(body: ErrorBody) -> ErrorDetail {
    let (code, message) = match body {
        ErrorBody::ErrorResponse(response) => return response.error,
        ErrorBody::ThrottlingError(e) => (e.status_code.to_string(), e.message),
        ErrorBody::PartnerCenterError(e) => {
            let code = match e.code {
                serde_json::Value::String(code) => code,
                other => other.to_string(),
            };
            (code, e.description)
        }
    };
    ErrorDetail {
        code,
        message,
        target: None,
        inner_error: None,
        extra: serde_json::Map::new(),
    }
}

fn decode_error_body(body: &[u8]) -> Option<ErrorDetail> {
    serde_json::from_slice(body).ok().map(error_detail)
}

/// At most [`EXCERPT_CHARS`] characters of `body`, lossily decoded, with an ellipsis when cut.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> CallInfo {
        CallInfo {
            client_request_id: "c1".into(),
            request_id: Some("r1".into()),
            ..CallInfo::default()
        }
    }

    #[test]
    fn referrals_error_shape_keeps_code_message_target_and_inner_chain() {
        let body = br#"{"error":{"code":"invalidRequest","message":"bad","target":"id",
            "innerError":{"code":"tooLong","message":"id too long"}}}"#;
        let e = ServiceError::from_body(StatusCode::BAD_REQUEST, body, ids());
        assert_eq!(e.code(), Some("invalidRequest"));
        assert_eq!(e.message(), Some("bad"));
        assert_eq!(e.target(), Some("id"));
        let inner = e.detail().unwrap().inner_error.as_ref().unwrap();
        assert_eq!(inner.code, "tooLong");
        assert_eq!(e.body_excerpt(), None);
        assert_eq!(
            e.to_string(),
            "400 Bad Request invalidRequest: bad (request id r1, client-request-id c1)"
        );
    }

    #[test]
    fn partner_center_and_throttling_shapes_decode_too() {
        let e = ServiceError::from_body(
            StatusCode::CONFLICT,
            br#"{"code":"2000","description":"conflict","data":[],"source":"PartnerFD"}"#,
            ids(),
        );
        assert_eq!((e.code(), e.message()), (Some("2000"), Some("conflict")));
        let e = ServiceError::from_body(
            StatusCode::TOO_MANY_REQUESTS,
            br#"{"statusCode":429,"message":"Rate limit is exceeded. Try again in 57 seconds."}"#,
            ids(),
        );
        assert_eq!(e.code(), Some("429"));
        assert_eq!(
            e.message(),
            Some("Rate limit is exceeded. Try again in 57 seconds.")
        );
        // A status code no integer type holds is still the throttling shape, digit for digit.
        let e = ServiceError::from_body(
            StatusCode::TOO_MANY_REQUESTS,
            br#"{"statusCode":123456789012345678901234567890,"message":"slow down"}"#,
            ids(),
        );
        assert_eq!(e.code(), Some("123456789012345678901234567890"));
        assert_eq!(e.body_excerpt(), None);
    }

    #[test]
    fn other_bodies_are_kept_as_a_bounded_excerpt() {
        let html = format!("<html><body>{}</body></html>", "x".repeat(2000));
        let e = ServiceError::from_body(StatusCode::BAD_GATEWAY, html.as_bytes(), ids());
        assert_eq!(e.code(), None);
        let kept = e.body_excerpt().unwrap();
        assert!(
            kept.starts_with("<html><body>xxx") && kept.ends_with("..."),
            "{kept}"
        );
        assert_eq!(kept.chars().count(), EXCERPT_CHARS + 3);

        for body in [&b""[..], b"null", b"[]", b"{\"error\": 5}", b"\xff\xfe"] {
            let e = ServiceError::from_body(StatusCode::INTERNAL_SERVER_ERROR, body, ids());
            assert_eq!(e.code(), None, "{body:?}");
            assert!(e.body_excerpt().is_some());
        }
    }

    #[test]
    fn excerpts_never_split_a_character() {
        let body = "\u{e9}".repeat(EXCERPT_CHARS + 1);
        assert_eq!(
            excerpt(body.as_bytes()),
            format!("{}...", "\u{e9}".repeat(EXCERPT_CHARS))
        );
    }

    #[test]
    fn statuses_map_to_their_variants() {
        let variant = |status| Error::from_service(ServiceError::new(status, None, ids()));
        assert!(matches!(
            variant(StatusCode::UNAUTHORIZED),
            Error::Unauthorized(_)
        ));
        assert!(matches!(
            variant(StatusCode::FORBIDDEN),
            Error::Forbidden(_)
        ));
        assert!(matches!(variant(StatusCode::NOT_FOUND), Error::NotFound(_)));
        let e = variant(StatusCode::SERVICE_UNAVAILABLE);
        assert!(matches!(e, Error::Service(_)));
        assert_eq!(e.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    }
}
