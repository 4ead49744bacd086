//! [`Error`]: everything a call can fail with, in one enum.

use std::fmt;
use std::time::Duration;

use partner_center_api::types::ErrorBody;
use reqwest::StatusCode;

use crate::auth::AuthError;
use crate::models::ErrorDetail;
use crate::redact::{self, Secrets};
use crate::retry::{Attempt, is_retryable_status};
use crate::text::{self, SHOWN_CHARS};
use crate::transport::Failure;

/// How many characters of an undecodable body an error keeps.
const EXCERPT_CHARS: usize = SHOWN_CHARS;

/// The result of a Partner Center call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a Partner Center call can fail with.
///
/// Match on the variant for what to do, and read [`ServiceError`] for what the service said.
/// As std's errors do, its `Display` says only what went wrong at its level ("not found"), and
/// the cause (the service's answer, the transport failure) is its `source()`: [`Report`] shows
/// the whole chain on one line.
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
///     Err(e) => eprintln!("{}", partner_center::error::Report::new(&e)),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 401: the token is missing, expired or not an App+User token.
    #[error("unauthorized")]
    Unauthorized(#[source] Box<ServiceError>),
    /// 403: the user lacks a referrals role (Referrals Admin or Referrals User).
    #[error("forbidden")]
    Forbidden(#[source] Box<ServiceError>),
    /// 404: no such referral.
    #[error("not found")]
    NotFound(#[source] Box<ServiceError>),
    /// 412: the referral changed since it was read (its `eTag` no longer matches `If-Match`).
    /// Read it again, and apply the change to the new version.
    #[error("the referral changed since it was read; read it again")]
    PreconditionFailed(#[source] Box<ServiceError>),
    /// Any other error status from the service (or a gateway in front of it).
    #[error("service error")]
    Service(#[source] Box<ServiceError>),
    /// The service answered with success, but the body is not what the spec describes.
    #[error("cannot decode the response")]
    Decode(#[source] Box<DecodeError>),
    /// The request did not complete: connection refused or reset, timeout, TLS failure.
    #[error("transport error")]
    Transport(#[source] Box<TransportError>),
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
    #[error("authentication failed")]
    Auth(#[from] AuthError),
    /// A link from the service (an `@odata.nextLink`) points off the client's host or
    /// downgrades its scheme; it is not followed, and the token is not sent to it.
    #[error("untrusted link: {0}")]
    UntrustedLink(String),
    /// A listing's `@odata.nextLink` leads back to a page it has already read, so following
    /// it would never end. The pages before were returned; the link is shown redacted.
    #[error(
        "paging stopped: the next link of page {page} leads back to page {earlier}, \
         which was already read ({link})"
    )]
    PagingLoop {
        /// The link, query values redacted as in logs, cut at [`text::SHOWN_CHARS`] characters.
        link: String,
        /// The page whose next link it is.
        page: usize,
        /// The page read from that link before.
        earlier: usize,
    },
    /// A listing read as many pages as it may ([`crate::referrals::ListReferrals::max_pages`],
    /// [`crate::PartnerCenterBuilder::max_pages`]) and the service still gave a next link.
    #[error(
        "paging stopped after {}, the most this listing reads, with more to come (raise the \
         limit with max_pages)",
        pages(*limit)
    )]
    PageLimit {
        /// The limit reached.
        limit: usize,
    },
    /// The call was refused before anything was sent (an empty id, for example).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The client is misconfigured (no token, a base URL that is not http(s)).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A webhook registration was refused because the tenant has one, which this holds:
    /// registering would replace it, and it may be another application's (Microsoft's co-sell
    /// CRM connectors register too). Replace it knowingly with
    /// [`crate::webhooks::Register::replace_existing`] or [`crate::webhooks::Webhooks::update`].
    #[error("{}", registered(.0))]
    WebhookRegistered(Box<partner_center_api::webhooks::types::WebhookRegistration>),
}

/// What [`Error::WebhookRegistered`] says: what is registered, on one inert line.
fn registered(current: &partner_center_api::webhooks::types::WebhookRegistration) -> String {
    let url = current.webhook_url.as_deref().unwrap_or("an unknown URL");
    let events: Vec<String> = current
        .webhook_events
        .iter()
        .flatten()
        .map(|e| e.to_string())
        .collect();
    format!(
        "a webhook is registered already: {} for {}; it may be another application's \
         (Microsoft's CRM connectors register too): replace it only knowingly",
        text::excerpt(url, text::SHOWN_CHARS),
        text::excerpt(&events.join(", "), text::SHOWN_CHARS)
    )
}

/// `1 page`, `3 pages`.
fn pages(n: usize) -> String {
    if n == 1 {
        "1 page".to_owned()
    } else {
        format!("{n} pages")
    }
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
            | Self::PagingLoop { .. }
            | Self::PageLimit { .. }
            | Self::InvalidInput(_)
            | Self::Config(_)
            | Self::WebhookRegistered(_) => None,
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
            Self::Auth(_)
            | Self::UntrustedLink(_)
            | Self::PagingLoop { .. }
            | Self::PageLimit { .. }
            | Self::InvalidInput(_)
            | Self::Config(_)
            | Self::WebhookRegistered(_) => None,
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

/// An error and its causes (`source()` after `source()`) on one line, `: ` between them: what a
/// log line or a command line shows.
///
/// Each level is escaped and cut as [`text::excerpt`] does (none can add a line or reach a
/// terminal raw), and at most [`Report::MAX_LEVELS`] levels are shown.
///
/// ```
/// use partner_center::error::Report;
///
/// let err = partner_center::PartnerCenter::builder().build().unwrap_err();
/// assert_eq!(
///     Report::new(&err).to_string(),
///     "invalid configuration: no token: set one with .token(...) or .token_provider(...)"
/// );
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Report<'e>(&'e (dyn std::error::Error + 'static));

impl<'e> Report<'e> {
    /// The most levels a report shows (a cause chain can be a loop in a broken error type).
    pub const MAX_LEVELS: usize = 16;

    /// The report of `error`.
    pub fn new(error: &'e (dyn std::error::Error + 'static)) -> Self {
        Self(error)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut level: Option<&dyn std::error::Error> = Some(self.0);
        let mut shown = 0;
        while let Some(error) = level {
            if shown == Self::MAX_LEVELS {
                return f.write_str(": ...");
            }
            if shown > 0 {
                f.write_str(": ")?;
            }
            write!(f, "{}", text::excerpt(&error.to_string(), SHOWN_CHARS * 8))?;
            shown += 1;
            level = error.source();
        }
        Ok(())
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
        // The `Request-ID` is the service's text too: a header can hold a tab, and be long.
        match &self.request_id {
            Some(id) => write!(f, "request id {}", text::excerpt(id, SHOWN_CHARS))?,
            None => f.write_str("request id -")?,
        }
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

/// An error status and what the service said about it.
///
/// What the service sent is kept with the call's token (and any `Bearer` value) masked, so
/// that a gateway that reflects the request headers cannot put the token in a log. `Display`
/// shows each piece of it on one line, escaped and cut at [`text::SHOWN_CHARS`] characters.
#[derive(Clone, Debug)]
pub struct ServiceError {
    status: StatusCode,
    detail: Option<ErrorDetail>,
    body_excerpt: Option<String>,
    /// How many characters of the body the excerpt leaves out.
    body_cut: usize,
    retry_after: Option<Duration>,
    www_authenticate: Option<String>,
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
            None => {
                let (excerpt, cut) = excerpt(body);
                Self {
                    body_excerpt: Some(excerpt),
                    body_cut: cut,
                    ..Self::new(status, None, call)
                }
            }
        }
    }

    pub(crate) fn new(status: StatusCode, detail: Option<ErrorDetail>, call: CallInfo) -> Self {
        Self {
            status,
            detail,
            body_excerpt: None,
            body_cut: 0,
            retry_after: None,
            www_authenticate: None,
            call,
        }
    }

    /// Adds what the answer's headers said: `Retry-After` and `WWW-Authenticate`.
    pub(crate) fn with_headers(
        mut self,
        retry_after: Option<Duration>,
        www_authenticate: Option<String>,
    ) -> Self {
        self.retry_after = retry_after;
        self.www_authenticate = www_authenticate;
        self
    }

    /// The same error with `secrets` masked in everything the service sent.
    pub(crate) fn masked(mut self, secrets: &Secrets) -> Self {
        if let Some(detail) = &mut self.detail {
            mask_detail(detail, secrets);
        }
        if let Some(excerpt) = &mut self.body_excerpt {
            mask_excerpt(excerpt, self.body_cut, secrets);
        }
        for text in [&mut self.www_authenticate, &mut self.call.request_id]
            .into_iter()
            .flatten()
        {
            mask(text, secrets);
        }
        self
    }

    /// How long the service asked to wait before trying again (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The `WWW-Authenticate` header of the answer (on a 401, why the token was refused:
    /// e.g. `Bearer error="invalid_token", error_description="The token is expired"`).
    pub fn www_authenticate(&self) -> Option<&str> {
        self.www_authenticate.as_deref()
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

    /// The service's human-readable message, whole (`Display` shows its start).
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

    /// The start of the body (at most 512 characters), when it was not an error shape this
    /// client knows (e.g. HTML).
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
        let shown = |text| text::excerpt(text, SHOWN_CHARS);
        write!(f, "{}", self.status)?;
        if let Some(code) = self.code() {
            write!(f, " {}", shown(code))?;
        }
        match (self.message(), &self.body_excerpt) {
            (Some(message), _) => write!(f, ": {}", shown(message))?,
            (None, Some(body)) if !body.is_empty() => {
                write!(f, ": body \"{}\"", shown(body).with_cut(self.body_cut))?
            }
            _ => {}
        }
        if let Some(wait) = self.retry_after {
            write!(
                f,
                "; the service asked to wait {} s",
                wait.as_secs_f64().ceil()
            )?;
        }
        if let Some(challenge) = &self.www_authenticate {
            write!(f, "; WWW-Authenticate: {}", shown(challenge))?;
        }
        write!(f, " ({})", self.call)
    }
}

impl std::error::Error for ServiceError {}

/// A success response whose body could not be decoded.
///
/// Its `Display` carries serde_json's message (bounded: it can quote the body); so that a
/// chain printer cannot show that message whole, the serde_json error is not its
/// `source()` and its `Debug` leaves it out: read it with [`DecodeError::source_error`].
pub struct DecodeError {
    status: StatusCode,
    source: serde_json::Error,
    /// serde_json's message, secrets masked.
    message: String,
    body_excerpt: String,
    body_cut: usize,
    call: CallInfo,
}

impl DecodeError {
    pub(crate) fn new(
        status: StatusCode,
        source: serde_json::Error,
        body: &[u8],
        mut call: CallInfo,
        secrets: &Secrets,
    ) -> Self {
        if let Some(id) = &mut call.request_id {
            mask(id, secrets);
        }
        let (mut body_excerpt, body_cut) = excerpt(body);
        mask_excerpt(&mut body_excerpt, body_cut, secrets);
        let mut message = source.to_string();
        mask(&mut message, secrets);
        Self {
            status,
            source,
            message,
            body_excerpt,
            body_cut,
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

    /// The start of the body (at most 512 characters).
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
            "{} with a body that is not a valid response ({}): \"{}\" ({})",
            self.status,
            text::excerpt(&self.message, SHOWN_CHARS),
            text::excerpt(&self.body_excerpt, SHOWN_CHARS).with_cut(self.body_cut),
            self.call
        )
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // serde_json's error itself is left out: its message quotes the body, secrets and all.
        f.debug_struct("DecodeError")
            .field("status", &self.status)
            .field("message", &self.message)
            .field("line", &self.source.line())
            .field("column", &self.source.column())
            .field("body_excerpt", &self.body_excerpt)
            .field("body_cut", &self.body_cut)
            .field("call", &self.call)
            .finish()
    }
}

impl std::error::Error for DecodeError {}

/// A request that did not complete.
///
/// The URL it shows has its query values redacted as in logs (`$filter` can hold customer
/// emails).
#[derive(Debug)]
pub struct TransportError {
    source: Failure,
    call: CallInfo,
}

impl TransportError {
    pub(crate) fn new(mut source: Failure, call: CallInfo) -> Self {
        if let Some(url) = source.url_mut() {
            redact::redact_url(url);
        }
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
        let what = if self.is_timeout() {
            "the request timed out"
        } else if self.is_connect() {
            "cannot connect"
        } else {
            "the request did not complete"
        };
        // What went wrong on the wire is the `source()` (reqwest's or hyper's): [`Report`] shows it.
        write!(f, "{what} ({})", self.call)
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
        ErrorBody::PartnerCenterError(e) => (e.code.to_string(), e.description),
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

/// At most [`EXCERPT_CHARS`] characters of `body`, lossily decoded, and how many were left out.
fn excerpt(body: &[u8]) -> (String, usize) {
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => (text[..cut].to_owned(), text[cut..].chars().count()),
        None => (text.into_owned(), 0),
    }
}

/// Masks `secrets` in `text`, in place.
fn mask(text: &mut String, secrets: &Secrets) {
    if let std::borrow::Cow::Owned(masked) = secrets.mask(text) {
        *text = masked;
    }
}

/// Masks `secrets` in an excerpt that left `cut` characters out, in place: a token the cut
/// went through too.
fn mask_excerpt(excerpt: &mut String, cut: usize, secrets: &Secrets) {
    let masked = match cut {
        0 => secrets.mask(excerpt),
        _ => secrets.mask_cut(excerpt),
    };
    if let std::borrow::Cow::Owned(masked) = masked {
        *excerpt = masked;
    }
}

/// Masks `secrets` in every text of an error detail: its fields, the fields the spec does
/// not know, and its inner errors.
fn mask_detail(detail: &mut ErrorDetail, secrets: &Secrets) {
    for text in [
        Some(&mut detail.code),
        detail.message.as_mut(),
        detail.target.as_mut(),
    ]
    .into_iter()
    .flatten()
    {
        mask(text, secrets);
    }
    mask_fields(&mut detail.extra, secrets);
    if let Some(inner) = &mut detail.inner_error {
        mask_detail(inner, secrets);
    }
}

fn mask_value(value: &mut serde_json::Value, secrets: &Secrets) {
    match value {
        serde_json::Value::String(text) => mask(text, secrets),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| mask_value(v, secrets)),
        serde_json::Value::Object(fields) => mask_fields(fields, secrets),
        _ => {}
    }
}

/// Masks `secrets` in the names and values of `fields`: a name is service text too.
fn mask_fields(fields: &mut serde_json::Map<String, serde_json::Value>, secrets: &Secrets) {
    fields.values_mut().for_each(|v| mask_value(v, secrets));
    let named = |name: &String| matches!(secrets.mask(name), std::borrow::Cow::Owned(_));
    if fields.keys().any(named) {
        *fields = std::mem::take(fields)
            .into_iter()
            .map(|(mut name, value)| {
                mask(&mut name, secrets);
                (name, value)
            })
            .collect();
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

    /// An error whose `source()` is itself: a chain that never ends.
    #[derive(Debug)]
    struct Looping;

    impl fmt::Display for Looping {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("two\nlines")
        }
    }

    impl std::error::Error for Looping {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(self)
        }
    }

    #[test]
    fn a_report_is_one_line_of_bounded_levels() {
        let shown = Report::new(&Looping).to_string();
        let level = "two\\nlines";
        let expected = vec![level; Report::MAX_LEVELS].join(": ") + ": ...";
        assert_eq!(shown, expected);
    }

    #[test]
    fn a_service_error_is_the_cause_of_its_variant() {
        let body = br#"{"error": {"code": "itemNotFound", "message": "gone"}}"#;
        let error = ServiceError::from_body(StatusCode::NOT_FOUND, body, ids());
        let err = Error::from_service(error);
        assert_eq!(err.to_string(), "not found");
        assert_eq!(
            Report::new(&err).to_string(),
            "not found: 404 Not Found itemNotFound: gone (request id r1, client-request-id c1)"
        );
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
        // Its code is a string or a number (`PartnerCenterErrorCode`), nothing else.
        let e = ServiceError::from_body(
            StatusCode::CONFLICT,
            br#"{"code":2001,"description":"conflict"}"#,
            ids(),
        );
        assert_eq!((e.code(), e.message()), (Some("2001"), Some("conflict")));
        let e = ServiceError::from_body(
            StatusCode::CONFLICT,
            br#"{"code":{"n":1},"description":"conflict"}"#,
            ids(),
        );
        assert_eq!(e.code(), None);
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
        assert!(kept.starts_with("<html><body>xxx"), "{kept}");
        assert_eq!(kept.chars().count(), EXCERPT_CHARS);
        let cut = html.len() - EXCERPT_CHARS;
        assert!(
            e.to_string()
                .contains(&format!("xxx... [{cut} more characters]\" (request id r1")),
            "{e}"
        );

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
            ("\u{e9}".repeat(EXCERPT_CHARS), 1)
        );
    }

    #[test]
    fn a_huge_message_is_shown_cut_saying_how_much() {
        let message = "m".repeat(5 * 1024 * 1024);
        let body = serde_json::json!({"error": {"code": "generalException", "message": message}});
        let e = ServiceError::from_body(
            StatusCode::INTERNAL_SERVER_ERROR,
            body.to_string().as_bytes(),
            ids(),
        );
        assert_eq!(e.message().map(str::len), Some(message.len()), "kept whole");
        let shown = e.to_string();
        assert!(shown.len() < 1024, "{} bytes shown", shown.len());
        let cut = message.len() - SHOWN_CHARS;
        assert!(
            shown.contains(&format!("m... [{cut} more characters] (request id")),
            "{shown}"
        );
    }

    #[test]
    fn service_text_is_shown_on_one_line_without_escape_sequences() {
        let body = br#"{"error":{"code":"bad\ncode","message":"line 1\nline 2 \u001b[2J\u001b]0;title\u0007"}}"#;
        let shown = ServiceError::from_body(StatusCode::BAD_REQUEST, body, ids()).to_string();
        assert_eq!(
            shown,
            "400 Bad Request bad\\ncode: line 1\\nline 2 \\u{1b}[2J\\u{1b}]0;title\\u{7} \
             (request id r1, client-request-id c1)"
        );
        let html = b"<html>\r\n<title>\x1b[31mBad gateway</title>";
        let shown = ServiceError::from_body(StatusCode::BAD_GATEWAY, html, ids()).to_string();
        assert!(!shown.chars().any(char::is_control), "{shown}");
    }

    #[test]
    fn secrets_are_masked_in_everything_the_service_sent() {
        let secrets = Secrets::new("tok-123.secret".into());
        let reflected = br#"{"error":{"code":"unauthenticated","message":"Authorization: Bearer tok-123.secret",
            "target":"tok-123.secret","headers":{"authorization":["Bearer other.token"]},
            "tok-123.secret":{"Bearer other.token":1},
            "innerError":{"code":"x","message":"token tok-123.secret"}}}"#;
        let call = CallInfo {
            request_id: Some("Bearer tok-123.secret".into()),
            ..ids()
        };
        let e = ServiceError::from_body(StatusCode::UNAUTHORIZED, reflected, call)
            .with_headers(None, Some("Bearer realm=\"tok-123.secret\"".into()))
            .masked(&secrets);
        let everything = format!("{e} {e:?}");
        assert!(!everything.contains("tok-123"), "{everything}");
        assert!(!everything.contains("other.token"), "{everything}");
        assert_eq!(e.message(), Some("Authorization: Bearer [redacted]"));
        assert_eq!(
            e.detail()
                .unwrap()
                .inner_error
                .as_ref()
                .unwrap()
                .message
                .as_deref(),
            Some("token [redacted]")
        );

        let page = b"<pre>GET /v1.0 HTTP/1.1\nAuthorization: Bearer tok-123.secret\n</pre>";
        let e = ServiceError::from_body(StatusCode::BAD_GATEWAY, page, ids()).masked(&secrets);
        assert!(!format!("{e} {e:?}").contains("tok-123"));
        assert!(e.body_excerpt().unwrap().contains("Bearer [redacted]"));
    }

    #[test]
    fn the_request_id_is_shown_escaped_and_bounded() {
        let call = CallInfo {
            request_id: Some(format!("r1\tr2\n{}", "x".repeat(5000))),
            ..ids()
        };
        let shown = ServiceError::from_body(StatusCode::BAD_GATEWAY, b"", call).to_string();
        assert!(!shown.chars().any(char::is_control), "{shown}");
        assert!(shown.len() < 1024, "{} bytes shown", shown.len());
        assert!(shown.contains("(request id r1\\tr2\\nxxx"), "{shown}");
        assert!(
            shown.contains("xxx... [4494 more characters], client-request-id c1)"),
            "{shown}"
        );
    }

    #[test]
    fn a_token_cut_by_the_excerpt_is_masked_too() {
        let token = "tok-123.secret-payload.signature";
        let secrets = Secrets::new(token.into());
        let page = format!("<pre>{}{token}</pre>", "x".repeat(EXCERPT_CHARS - 5 - 20));
        let e = ServiceError::from_body(StatusCode::BAD_GATEWAY, page.as_bytes(), ids())
            .masked(&secrets);
        let everything = format!("{e} {e:?}");
        assert!(!everything.contains("tok-123.secret"), "{everything}");
    }

    #[test]
    fn the_wait_asked_for_and_the_authentication_challenge_are_shown() {
        let e = ServiceError::from_body(StatusCode::TOO_MANY_REQUESTS, b"{}", ids())
            .with_headers(Some(Duration::from_secs(120)), None);
        assert!(
            e.to_string()
                .contains("; the service asked to wait 120 s ("),
            "{e}"
        );
        let challenge = r#"Bearer error="invalid_token", error_description="The token is expired""#;
        let e = ServiceError::from_body(StatusCode::UNAUTHORIZED, b"", ids())
            .with_headers(None, Some(challenge.into()));
        assert_eq!(e.www_authenticate(), Some(challenge));
        assert!(
            e.to_string()
                .contains(&format!("; WWW-Authenticate: {challenge} (")),
            "{e}"
        );
    }

    #[test]
    fn decode_errors_are_bounded_escaped_and_masked() {
        // serde_json quotes a string it cannot take: the message holds service text.
        let body = format!(r#""Bearer tok-123.secret {}\n\u001b[2J""#, "n".repeat(4000));
        let source = serde_json::from_str::<u8>(&body).unwrap_err();
        assert!(source.to_string().contains("tok-123"));
        let secrets = Secrets::new("tok-123.secret".into());
        let call = CallInfo {
            request_id: Some("tok-123.secret".into()),
            ..ids()
        };
        let e = DecodeError::new(StatusCode::OK, source, body.as_bytes(), call, &secrets);
        let shown = e.to_string();
        assert!(
            !shown.contains("tok-123") && !shown.chars().any(char::is_control),
            "{shown}"
        );
        let debug = format!("{e:?}");
        assert!(!debug.contains("tok-123"), "{debug}");
        assert!(debug.contains("line: 1, column: 4035"), "{debug}");
        assert!(shown.len() < 1400, "{shown}");
        assert!(std::error::Error::source(&e).is_none());
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
