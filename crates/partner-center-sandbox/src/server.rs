//! The HTTP side: the routes of the spec, the service's headers, authentication and faults.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::header::{
    ALLOW, AUTHORIZATION, CONTENT_TYPE, ETAG, HOST, IF_MATCH, RETRY_AFTER, WWW_AUTHENTICATE,
};
use axum::http::uri::Authority;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, patch, post};
use partner_center_api::types::{ErrorDetail, ErrorResponse, JsonPatch};
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::faults::{Fault, FaultRequest, Faults, whole_seconds};
use crate::patch;
use crate::query::ListQuery;
use crate::served::{Destination, Routes};
use crate::spec;
use crate::store::Store;
use crate::webhooks::{self, Change, Webhooks};
use crate::write::{self, Refusal};

const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");
const PREFER: HeaderName = HeaderName::from_static("prefer");
const PREFERENCE_APPLIED: HeaderName = HeaderName::from_static("preference-applied");
/// What the service writes in a page's `@odata.context`, typo included.
const LIST_CONTEXT: &str =
    "https://api.partner.microsoft.com/v1.0/engagments/referrals/$metadata#Referrals";
/// Routes under this prefix control the sandbox: no token, no faults.
const ADMIN_PREFIX: &str = "/_sandbox/";

/// Whether `path` is outside the API: an admin route, or the webhook certificate (which a
/// receiver downloads without a token).
fn outside_api(path: &str) -> bool {
    path.starts_with(ADMIN_PREFIX) || path == webhooks::CERTIFICATE_PATH
}

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) faults: Faults,
    /// `http://127.0.0.1:PORT`: where next links point when a request has no usable `Host`.
    pub(crate) base_url: String,
    /// Cancelled when the sandbox shuts down, so that a delayed answer does not hold it up.
    pub(crate) shutdown: CancellationToken,
    /// Every operation of the documents: where each request goes.
    pub(crate) routes: Arc<Routes>,
    pub(crate) webhooks: Webhooks,
    /// API requests received so far (`GET /_sandbox/requests`).
    pub(crate) requests: Arc<AtomicU64>,
}

/// The referral operations with a handler of their own here (path template, method).
const REFERRAL_OPERATIONS: [(&str, &str); 4] = [
    (REFERRALS, "get"),
    (REFERRALS, "post"),
    (REFERRAL, "get"),
    (REFERRAL, "patch"),
];

/// Every operation with a handler of its own (path template, method): the referral ones and
/// the webhook registration API; the others are served from the spec.
pub(crate) fn hand_written() -> Vec<(&'static str, &'static str)> {
    REFERRAL_OPERATIONS
        .iter()
        .chain(&webhooks::OPERATIONS)
        .copied()
        .collect()
}

/// The most a spec-served operation reads of a request body: axum's default, as the
/// hand-written handlers have.
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The hand-written operations, plus the admin routes; [`dispatch`] in front sends every
/// other request to the spec-served operations.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route(REFERRALS, get(list_referrals).post(create_referral))
        .route(REFERRAL, get(get_referral).patch(update_referral))
        .route(
            "/_sandbox/faults",
            post(add_fault)
                .delete(clear_faults)
                .fallback(|| async { not_allowed("POST, DELETE") }),
        )
        .route(
            "/_sandbox/requests",
            get(request_count).fallback(|| async { not_allowed("GET") }),
        )
        .route(
            "/_sandbox/referrals/{id}",
            patch(change_referral).fallback(|| async { not_allowed("PATCH") }),
        )
        .merge(webhooks::routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), dispatch))
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .layer(middleware::from_fn(stamp))
        .with_state(state)
}

/// Headers the service puts on every response: a fresh `Request-ID`, and the caller's
/// `client-request-id` echoed.
async fn stamp(request: Request, next: Next) -> Response {
    let client_request_id = request.headers().get(CLIENT_REQUEST_ID).cloned();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let request_id = uuid::Uuid::new_v4().hyphenated().to_string();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID, value);
    }
    if let Some(value) = client_request_id {
        headers.insert(CLIENT_REQUEST_ID, value);
    }
    response
}

/// In front of every API route: the next queued fault, then the bearer token check.
async fn gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if outside_api(request.uri().path()) {
        return next.run(request).await;
    }
    state.requests.fetch_add(1, Ordering::Relaxed);
    let fault = state.faults.next();
    match &fault {
        Some(Fault::Throttle { retry_after }) => return throttled(*retry_after),
        Some(Fault::Unavailable { retry_after }) => return unavailable(*retry_after),
        Some(Fault::Delay(delay)) => {
            tokio::select! {
                () = tokio::time::sleep(*delay) => {}
                () = state.shutdown.cancelled() => return unavailable(None),
            }
        }
        Some(Fault::MalformedJson) | None => {}
    }
    let response = if has_bearer_token(request.headers()) {
        next.run(request).await
    } else {
        unauthenticated(request.uri().path())
    };
    match fault {
        Some(Fault::MalformedJson) => truncated(response).await,
        _ => response,
    }
}

/// Behind the gate, where an API request goes: to its hand-written handler (the router's
/// route), to its operation served from the spec, or nowhere: 405 with the methods the spec
/// has for the path, or 404.
async fn dispatch(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if outside_api(request.uri().path()) {
        return next.run(request).await;
    }
    let routes = Arc::clone(&state.routes);
    match routes.find(request.method(), request.uri().path()) {
        Destination::HandWritten => next.run(request).await,
        Destination::Served(Ok(operation), path) => {
            let (parts, body) = request.into_parts();
            let checked = match axum::body::to_bytes(body, BODY_LIMIT).await {
                Ok(body) => operation.check(&path, parts.uri.query(), &parts.headers, &body),
                Err(e) => Err(Refusal::Invalid {
                    message: format!("the body cannot be read: {e}"),
                    target: Some("body".to_owned()),
                }),
            };
            match checked.map(|()| operation.answer()) {
                Ok(Ok(answer)) => answer,
                Ok(Err(message)) => sandbox_error(message),
                Err(refusal) => refused(refusal),
            }
        }
        Destination::Served(Err(message), _) => sandbox_error(message),
        Destination::NotAllowed(allow) => not_allowed(&allow),
        Destination::NotFound => not_found(request.uri().clone()).await,
    }
}

/// Whether the request carries `Authorization: Bearer <something>`: any token will do.
fn has_bearer_token(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    value.split_once(' ').is_some_and(|(scheme, token)| {
        scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()
    })
}

/// The paths of the hand-written operations.
const REFERRALS: &str = "/v1.0/engagements/referrals";
const REFERRAL: &str = "/v1.0/engagements/referrals/{id}";

/// Refuses a request whose headers break the spec's header parameters of `method path` (a
/// `client-request-id` that is not a GUID, a `Prefer` it does not list, ...).
pub(crate) fn check_headers(path: &str, method: &str, headers: &HeaderMap) -> Result<(), Refusal> {
    let parameters =
        spec::header_parameters(path, method).map_err(|e| Refusal::Internal(e.to_string()))?;
    parameters
        .iter()
        .try_for_each(|parameter| parameter.check_header(headers))
}

/// `GET /v1.0/engagements/referrals`: one page of the referrals the OData query selects.
async fn list_referrals(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(refusal) = check_headers(REFERRALS, "get", &headers) {
        return refused(refusal);
    }
    let query = match ListQuery::parse(query.as_deref()) {
        Ok(query) => query,
        Err(e) => return invalid_request(&e.message, Some(e.parameter)),
    };
    let page = state.store.page(&query);
    // The members in the order `Value` writes an object's (by name), the referrals as the
    // store has their JSON: the bytes of the page as a `Value`, without decoding each.
    let mut body = format!("{{\"@odata.context\":{}", Value::from(LIST_CONTEXT));
    if let Some(count) = page.count {
        body.push_str(&format!(",\"@odata.count\":{count}"));
    }
    if let Some(cursor) = &page.next {
        let origin = origin(&headers, &state.base_url);
        let link = Value::from(query.next_link(&origin, cursor));
        body.push_str(&format!(",\"@odata.nextLink\":{link}"));
    }
    body.push_str(",\"value\":[");
    body.push_str(&page.referrals.join(","));
    body.push_str("]}");
    json_bytes(StatusCode::OK, body.into())
}

/// Where the caller reached the sandbox (`http://` and its `Host`), so that a next link
/// points back at the same place; the sandbox's own base URL when `Host` is unusable.
fn origin(headers: &HeaderMap, base_url: &str) -> String {
    headers
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .and_then(|host| host.parse::<Authority>().ok())
        .filter(|authority| authority.as_str().chars().all(|c| c.is_ascii_graphic()))
        .map_or_else(
            || base_url.to_owned(),
            |authority| format!("http://{authority}"),
        )
}

/// `POST /v1.0/engagements/referrals`: creates a referral; `201` with it.
async fn create_referral(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let created = check_headers(REFERRALS, "post", &headers)
        .and_then(|()| json_body(body))
        .and_then(|body| write::create(body, now()));
    match created {
        Ok(referral) => {
            state.store.insert(referral.clone());
            let webhooks = &state.webhooks;
            webhooks.referral_changed(&state.store, &referral, Change::Created);
            referral_response(StatusCode::CREATED, &referral)
        }
        Err(refusal) => refused(refusal),
    }
}

/// `GET /v1.0/engagements/referrals/{id}`. The id is one percent-decoded path segment.
async fn get_referral(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let id = match check_headers(REFERRAL, "get", &headers).and_then(|()| referral_id(id)) {
        Ok(id) => id,
        Err(refusal) => return refused(refusal),
    };
    match state.store.get(&id) {
        Some(referral) => referral_response(StatusCode::OK, &referral),
        None => referral_not_found(),
    }
}

/// `PATCH /v1.0/engagements/referrals/{id}`: applies a JSON Patch, if `If-Match` (when sent)
/// is the current `eTag`; `204`, or `200` with the referral for
/// `Prefer: return=representation`.
async fn update_referral(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let id = match check_headers(REFERRAL, "patch", &headers).and_then(|()| referral_id(id)) {
        Ok(id) => id,
        Err(refusal) => return refused(refusal),
    };
    // What the request itself gets wrong is a 400 before the precondition is looked at: the
    // spec's request schema first, then what the patch asks for.
    let operations = match json_body(body).and_then(|body| {
        write::check(spec::update_body(), &body)?;
        let patch = serde_json::from_value::<JsonPatch>(body).map_err(|e| Refusal::Invalid {
            message: format!("the body must be a JSON Patch (an array of operations): {e}"),
            target: Some("body".to_owned()),
        })?;
        let server_set = spec::server_set().map_err(|e| Refusal::Internal(e.to_string()))?;
        patch::parse(patch.0, server_set).map_err(Refusal::unprocessable)
    }) {
        Ok(operations) => operations,
        Err(refusal) => return refused(refusal),
    };
    // A value that is not text cannot be any eTag: it fails the precondition like a stale one.
    let if_match = headers
        .get(IF_MATCH)
        .map(|v| v.to_str().unwrap_or_default());
    let outcome = state.store.update(&id, |current| {
        if let Some(if_match) = if_match.filter(|tag| !write::precondition_holds(tag, current)) {
            return Err(NotUpdated::Stale(if_match.to_owned()));
        }
        write::update(current, &operations, now()).map_err(NotUpdated::Refused)
    });
    if let Some(Ok(referral)) = &outcome {
        let webhooks = &state.webhooks;
        webhooks.referral_changed(&state.store, referral, Change::Updated);
    }
    match outcome {
        None => referral_not_found(),
        Some(Ok(referral)) if wants_representation(&headers) => {
            let mut response = referral_response(StatusCode::OK, &referral);
            response.headers_mut().insert(
                PREFERENCE_APPLIED,
                HeaderValue::from_static("return=representation"),
            );
            response
        }
        Some(Ok(referral)) => {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NO_CONTENT;
            with_etag(response, &referral)
        }
        Some(Err(NotUpdated::Refused(refusal))) => refused(refusal),
        Some(Err(NotUpdated::Stale(if_match))) => error(
            StatusCode::PRECONDITION_FAILED,
            "preconditionFailed",
            &format!(
                "If-Match ({if_match}) is not the referral's eTag: it changed since it was read."
            ),
            Some("If-Match"),
        ),
    }
}

/// The time of a write (the clock, unlike seeded data).
pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    std::time::SystemTime::now().into()
}

/// Why an update did not happen.
enum NotUpdated {
    /// `If-Match` (this value) is not the referral's `eTag`.
    Stale(String),
    Refused(Refusal),
}

/// Whether `Prefer` asks for the updated referral back.
fn wants_representation(headers: &HeaderMap) -> bool {
    headers
        .get_all(PREFER)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|preference| {
            preference
                .trim()
                .eq_ignore_ascii_case("return=representation")
        })
}

/// The id of a referral route; one that is not text is refused.
fn referral_id(id: Result<Path<String>, PathRejection>) -> Result<String, Refusal> {
    id.map(|Path(id)| id).map_err(|rejection| Refusal::Invalid {
        message: format!("The referral id is not valid: {rejection}."),
        target: Some("id".to_owned()),
    })
}

/// A request body as JSON.
pub(crate) fn json_body(body: Result<Bytes, BytesRejection>) -> Result<Value, Refusal> {
    let body = body.map_err(|rejection| Refusal::Invalid {
        message: rejection.body_text(),
        target: Some("body".to_owned()),
    })?;
    write::json(&body)
}

fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Invalid { message, target } => invalid_request(&message, target.as_deref()),
        Refusal::Conflict { message, target } => error(
            StatusCode::CONFLICT,
            "invalidRequest",
            &message,
            Some(&target),
        ),
        Refusal::Unprocessable { message, target } => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalidRequest",
            &message,
            Some(&target),
        ),
        Refusal::Internal(_) => general_exception(),
    }
}

fn invalid_request(message: &str, target: Option<&str>) -> Response {
    error(StatusCode::BAD_REQUEST, "invalidRequest", message, target)
}

fn referral_not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "itemNotFound",
        "The referral was not found.",
        Some("id"),
    )
}

/// `POST /_sandbox/faults`: queue a fault (see [`FaultRequest`]); answers how many requests
/// will get one.
async fn add_fault(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    let parsed = body
        .map_err(|rejection| rejection.body_text())
        .and_then(|body| serde_json::from_slice::<FaultRequest>(&body).map_err(|e| e.to_string()))
        .and_then(FaultRequest::into_fault);
    match parsed {
        Ok((fault, times)) => {
            state.faults.push(fault, times);
            pending(&state.faults)
        }
        Err(message) => invalid_request(&message, Some("body")),
    }
}

/// `DELETE /_sandbox/faults`: drop every queued fault.
async fn clear_faults(State(state): State<AppState>) -> Response {
    state.faults.clear();
    pending(&state.faults)
}

fn pending(faults: &Faults) -> Response {
    json(StatusCode::OK, &json!({ "pending": faults.pending() }))
}

/// `GET /_sandbox/requests`: how many API requests the sandbox has received.
async fn request_count(State(state): State<AppState>) -> Response {
    let requests = state.requests.load(Ordering::Relaxed);
    json(StatusCode::OK, &json!({ "requests": requests }))
}

/// `PATCH /_sandbox/referrals/{id}`: changes a referral with a JSON merge patch (RFC 7396; an
/// empty body or `{}` only touches it), without the API's rules: see [`change`].
async fn change_referral(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request = referral_id(id).and_then(|id| match body {
        Ok(body) if body.is_empty() => Ok((id, json!({}))),
        body => json_body(body).map(|patch| (id, patch)),
    });
    let (id, patch) = match request {
        Ok(request) => request,
        Err(refusal) => return refused(refusal),
    };
    match change(&state.store, &state.webhooks, &id, &patch) {
        None => referral_not_found(),
        Some(Ok(referral)) => referral_response(StatusCode::OK, &referral),
        Some(Err(refusal)) => refused(refusal),
    }
}

/// Applies the JSON merge patch `patch` to the referral `id` of `store` (see
/// [`write::change`]) and sends `referral-updated`; `None` when there is no such referral.
pub(crate) fn change(
    store: &Store,
    webhooks: &Webhooks,
    id: &str,
    patch: &Value,
) -> Option<Result<Value, Refusal>> {
    let outcome = store.update(id, |current| write::change(current, patch, now()));
    if let Some(Ok(referral)) = &outcome {
        webhooks.referral_changed(store, referral, Change::Updated);
    }
    outcome
}

async fn not_found(uri: Uri) -> Response {
    // `target: path` tells a wrong address from an unknown referral (`target: id`).
    error(
        StatusCode::NOT_FOUND,
        "itemNotFound",
        &format!("No resource at {}.", uri.path()),
        Some("path"),
    )
}

fn not_allowed(allow: &str) -> Response {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalidRequest",
        &format!("This resource allows {allow} only."),
        None,
    );
    if let Ok(allow) = HeaderValue::from_str(allow) {
        response.headers_mut().insert(ALLOW, allow);
    }
    response
}

/// A 500 saying why the sandbox cannot serve an operation of its spec (an example that breaks
/// its own schema, a schema that does not compile): the spec's author needs to know.
fn sandbox_error(message: &str) -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "generalException",
        &format!("The sandbox cannot serve this operation: {message}"),
        None,
    )
}

/// A 401, in the error shape of the API `path` is part of.
fn unauthenticated(path: &str) -> Response {
    const MESSAGE: &str = "The caller is not authenticated: send Authorization: Bearer <token> (any token works in the sandbox).";
    let mut response = match webhooks::in_api(path) {
        true => webhooks::unauthenticated(MESSAGE),
        false => error(StatusCode::UNAUTHORIZED, "unauthenticated", MESSAGE, None),
    };
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// What the Partner Center gateway answers a throttled tenant.
pub(crate) fn throttled(retry_after: Duration) -> Response {
    let seconds = whole_seconds(retry_after);
    let body = json!({
        "statusCode": 429,
        "message": format!("Rate limit is exceeded. Try again in {seconds} seconds."),
    });
    with_retry_after(json(StatusCode::TOO_MANY_REQUESTS, &body), seconds)
}

fn unavailable(retry_after: Option<Duration>) -> Response {
    let response = error(
        StatusCode::SERVICE_UNAVAILABLE,
        "serviceNotAvailable",
        "The service is temporarily unavailable.",
        None,
    );
    match retry_after {
        Some(retry_after) => with_retry_after(response, whole_seconds(retry_after)),
        None => response,
    }
}

fn with_retry_after(mut response: Response, seconds: u64) -> Response {
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// The same response with the first half of its body only.
async fn truncated(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => Response::from_parts(parts, Body::from(bytes.slice(..bytes.len() / 2))),
        Err(_) => general_exception(),
    }
}

/// A referral, with its `eTag` as `ETag`.
fn referral_response(status: StatusCode, referral: &Value) -> Response {
    with_etag(json(status, referral), referral)
}

fn with_etag(mut response: Response, referral: &Value) -> Response {
    if let Some(etag) = referral
        .get("eTag")
        .and_then(Value::as_str)
        .and_then(|tag| HeaderValue::from_str(tag).ok())
    {
        response.headers_mut().insert(ETAG, etag);
    }
    response
}

/// A referrals error response: `{"error": {"code", "message", "target"?}}`.
fn error(status: StatusCode, code: &str, message: &str, target: Option<&str>) -> Response {
    let body = ErrorResponse {
        error: ErrorDetail {
            code: code.to_owned(),
            message: Some(message.to_owned()),
            target: target.map(str::to_owned),
            inner_error: None,
            extra: Map::new(),
        },
        extra: Map::new(),
    };
    json(status, &body)
}

pub(crate) fn json(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => json_bytes(status, bytes.into()),
        Err(_) => general_exception(),
    }
}

/// A 500 whose body needs no serializer, for when writing the real answer failed.
pub(crate) fn general_exception() -> Response {
    json_bytes(
        StatusCode::INTERNAL_SERVER_ERROR,
        Bytes::from_static(
            br#"{"error":{"code":"generalException","message":"An unexpected error occurred."}}"#,
        ),
    )
}

fn json_bytes(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_non_empty_bearer_token_is_accepted() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            has_bearer_token(&headers)
        };
        assert!(with("Bearer sandbox"));
        assert!(with("bearer x"));
        assert!(with("BEARER eyJ0eXAi.e30.sig"));
        assert!(!with("Bearer"));
        assert!(!with("Bearer "));
        assert!(!with("Bearer    "));
        assert!(!with("Basic dXNlcjpwYXNz"));
        assert!(!with("sandbox"));
        assert!(!has_bearer_token(&HeaderMap::new()));
    }
}
