//! The registration API of `spec/webhooks.openapi.yaml`, with state: one registration a
//! sandbox (one URL a tenant), the event names, and test events limited to two a minute.
//!
//! Keys of a registration body are read case-insensitively, as the service reads them (its
//! documentation sends PascalCase, its samples camelCase); answers use the spec's camelCase.
//! Errors have the service's shape, `{"code", "description"}`.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use partner_center_api::webhooks::enums::WebhookEvent;
use serde_json::{Map, Value, json};

use super::{
    Registration, TEST_EVENT_CAPACITY, TEST_EVENTS_A_MINUTE, TEST_RESOURCE_URI, TestEvent, Webhooks,
};
use crate::seed;
use crate::server::{self, AppState};
use crate::write::Refusal;

const EVENTS: &str = "/webhooks/v1/registration/events";
const REGISTRATION: &str = "/webhooks/v1/registration";
const VALIDATION_EVENTS: &str = "/webhooks/v1/registration/validationEvents";
const VALIDATION_EVENT: &str = "/webhooks/v1/registration/validationEvents/{correlationId}";

/// The operations handled here (path template, method), rather than served from the spec.
pub(crate) const OPERATIONS: [(&str, &str); 6] = [
    (EVENTS, "get"),
    (REGISTRATION, "get"),
    (REGISTRATION, "post"),
    (REGISTRATION, "put"),
    (VALIDATION_EVENTS, "post"),
    (VALIDATION_EVENT, "get"),
];

/// The longest `WebhookUrl` taken.
const MAX_URL_LENGTH: usize = 2048;
/// The window of the test events' rate limit.
const MINUTE: Duration = Duration::from_secs(60);
/// The error code of a refused body (the spec's example of a 400).
const INVALID_BODY: u16 = 2000;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(EVENTS, get(list_events))
        .route(REGISTRATION, get(view).post(register).put(update))
        .route(VALIDATION_EVENTS, post(send_test_event))
        .route(VALIDATION_EVENT, get(view_test_event))
}

/// `GET /webhooks/v1/registration/events`: every event name the spec lists.
async fn list_events(headers: HeaderMap) -> Response {
    if let Err(refusal) = server::check_headers(EVENTS, "get", &headers) {
        return refused(refusal);
    }
    let names: Vec<&str> = WebhookEvent::KNOWN
        .iter()
        .map(WebhookEvent::as_str)
        .collect();
    server::json(StatusCode::OK, &names)
}

/// `GET /webhooks/v1/registration`: the registration, or 404.
async fn view(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(refusal) = server::check_headers(REGISTRATION, "get", &headers) {
        return refused(refusal);
    }
    match state.webhooks.state().registration.as_ref() {
        Some(registration) => server::json(StatusCode::OK, &registration.answer()),
        None => error(StatusCode::NOT_FOUND, 404, "No registration was found."),
    }
}

/// `POST /webhooks/v1/registration`: registers, unless a registration exists (409).
async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    save(&state.webhooks, "post", &headers, body)
}

/// `PUT /webhooks/v1/registration`: replaces the registration (or makes the first one: the
/// spec documents no 404 here).
async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    save(&state.webhooks, "put", &headers, body)
}

fn save(
    webhooks: &Webhooks,
    method: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let parsed = server::check_headers(REGISTRATION, method, headers)
        .and_then(|()| server::json_body(body))
        .and_then(NewRegistration::parse);
    let new = match parsed {
        Ok(new) => new,
        Err(refusal) => return refused(refusal),
    };
    match webhooks.save(new, method == "put") {
        Some(registration) => server::json(StatusCode::OK, &registration),
        None => error(
            StatusCode::CONFLICT,
            409,
            "A registration exists for this partner: replace it with PUT /webhooks/v1/registration.",
        ),
    }
}

/// `POST /webhooks/v1/registration/validationEvents`: sends a `test-created` event when the
/// registration has it, two a minute at most (then 429 with `Retry-After`, as the gateway
/// throttles). Without a registration, or without `test-created` in it, nothing is sent and
/// the test event's status says so (`notRegistered`, `notSubscribed`): the spec documents no
/// error for either.
async fn send_test_event(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(refusal) = server::check_headers(VALIDATION_EVENTS, "post", &headers) {
        return refused(refusal);
    }
    match state.webhooks.test_event(Instant::now()) {
        Ok(correlation_id) => {
            server::json(StatusCode::OK, &json!({ "correlationId": correlation_id }))
        }
        Err(retry_after) => server::throttled(retry_after),
    }
}

/// `GET /webhooks/v1/registration/validationEvents/{correlationId}`: how the test event's
/// delivery went (`pending`, `completed`, `failed`), one result an attempt.
async fn view_test_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let id = server::check_headers(VALIDATION_EVENT, "get", &headers).and_then(|()| {
        id.map(|Path(id)| id).map_err(|rejection| Refusal::Invalid {
            message: format!("The correlation id is not valid: {rejection}."),
            target: Some("correlationId".to_owned()),
        })
    });
    let id = match id {
        Ok(id) => id,
        Err(refusal) => return refused(refusal),
    };
    let state = state.webhooks.state();
    match state.test_events.iter().find(|t| t.correlation_id == id) {
        Some(test) => server::json(StatusCode::OK, &test.answer()),
        None => error(
            StatusCode::NOT_FOUND,
            404,
            "No test event with this correlation id was found.",
        ),
    }
}

/// An error as the service writes it.
pub(super) fn error(status: StatusCode, code: u16, description: &str) -> Response {
    server::json(status, &json!({ "code": code, "description": description }))
}

fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Internal(_) => server::general_exception(),
        Refusal::Invalid { message, .. }
        | Refusal::Conflict { message, .. }
        | Refusal::Unprocessable { message, .. } => {
            error(StatusCode::BAD_REQUEST, INVALID_BODY, &message)
        }
    }
}

fn invalid(message: impl Into<String>, field: &str) -> Refusal {
    Refusal::Invalid {
        message: message.into(),
        target: Some(field.to_owned()),
    }
}

/// A registration body, checked.
#[derive(Debug, PartialEq)]
struct NewRegistration {
    url: String,
    events: Vec<WebhookEvent>,
    ms_signature_header: bool,
}

/// The fields of a registration body, as the documentation spells them.
const FIELDS: [&str; 3] = [
    "WebhookUrl",
    "WebhookEvents",
    "SignatureTokenToMsSignatureHeader",
];

impl NewRegistration {
    /// Reads `body`: its keys in any case; `WebhookUrl` an absolute http(s) URL (http too, for
    /// receivers on this machine: the service takes https only), `WebhookEvents` one known
    /// event name or more, `SignatureTokenToMsSignatureHeader` a boolean (not `null`) if given. Other
    /// fields are ignored.
    fn parse(body: Value) -> Result<Self, Refusal> {
        let Value::Object(fields) = body else {
            return Err(invalid(
                "The body must be a registration (a JSON object).",
                "body",
            ));
        };
        let [url, events, header] = Self::fields(&fields)?;
        let url = match url {
            Some(Value::String(url)) => webhook_url(url)?,
            Some(_) => return Err(invalid("WebhookUrl must be a string.", "WebhookUrl")),
            None => return Err(invalid("WebhookUrl is required.", "WebhookUrl")),
        };
        let events = match events {
            Some(Value::Array(names)) if !names.is_empty() => event_names(names)?,
            Some(_) => {
                return Err(invalid(
                    "WebhookEvents must be a list of one event name or more.",
                    "WebhookEvents",
                ));
            }
            None => return Err(invalid("WebhookEvents is required.", "WebhookEvents")),
        };
        // Absent is false; `null` is not a boolean, as the spec has it.
        let ms_signature_header = match header {
            None => false,
            Some(Value::Bool(header)) => *header,
            Some(_) => {
                return Err(invalid(
                    "SignatureTokenToMsSignatureHeader must be true or false.",
                    "SignatureTokenToMsSignatureHeader",
                ));
            }
        };
        Ok(Self {
            url,
            events,
            ms_signature_header,
        })
    }

    /// The values of [`FIELDS`], whatever the case of their keys; two keys for one field are
    /// refused rather than one picked.
    fn fields(fields: &Map<String, Value>) -> Result<[Option<&Value>; 3], Refusal> {
        let mut found: [Option<(&str, &Value)>; 3] = [None; 3];
        for (key, value) in fields {
            let Some(slot) = FIELDS
                .iter()
                .position(|field| field.eq_ignore_ascii_case(key))
                .and_then(|index| found.get_mut(index))
            else {
                continue;
            };
            if let Some((first, _)) = slot {
                return Err(invalid(
                    format!(
                        "{first} and {key} are the same field: keys are read case-insensitively."
                    ),
                    key,
                ));
            }
            *slot = Some((key, value));
        }
        Ok(found.map(|field| field.map(|(_, value)| value)))
    }
}

/// `text`, if it is an absolute http or https URL with a host.
fn webhook_url(text: &str) -> Result<String, Refusal> {
    if text.len() > MAX_URL_LENGTH {
        return Err(invalid(
            format!("WebhookUrl is longer than {MAX_URL_LENGTH} characters."),
            "WebhookUrl",
        ));
    }
    let uri = text.parse::<Uri>().ok();
    let scheme = uri.as_ref().and_then(Uri::scheme_str);
    let web =
        scheme.is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"));
    let host = uri
        .as_ref()
        .and_then(Uri::host)
        .is_some_and(|h| !h.is_empty());
    match web && host {
        true => Ok(text.to_owned()),
        false => Err(invalid(
            format!("WebhookUrl must be an absolute http or https URL, not {text:?}."),
            "WebhookUrl",
        )),
    }
}

/// The events `names` names, each once, in order.
fn event_names(names: &[Value]) -> Result<Vec<WebhookEvent>, Refusal> {
    let mut events: Vec<WebhookEvent> = Vec::new();
    for name in names {
        let known = name
            .as_str()
            .and_then(|name| WebhookEvent::KNOWN.iter().find(|e| e.as_str() == name));
        match known {
            Some(event) if !events.contains(event) => events.push(event.clone()),
            Some(_) => {}
            None => {
                let known: Vec<&str> = WebhookEvent::KNOWN
                    .iter()
                    .map(WebhookEvent::as_str)
                    .collect();
                return Err(invalid(
                    format!("{name} is not an event name: use {}.", known.join(", ")),
                    "WebhookEvents",
                ));
            }
        }
    }
    Ok(events)
}

impl Registration {
    /// As the service answers it.
    fn answer(&self) -> Value {
        let events: Vec<&str> = self.events.iter().map(WebhookEvent::as_str).collect();
        json!({
            "subscriberId": self.subscriber_id,
            "webhookUrl": self.url,
            "webhookEvents": events,
            "signatureTokenToMsSignatureHeader": self.ms_signature_header,
            "lastModifiedTimestamp": self.last_modified,
        })
    }
}

impl TestEvent {
    /// As `getWebhookTestEvent` answers it.
    fn answer(&self) -> Value {
        let mut answer = json!({
            "correlationId": self.correlation_id,
            "partnerId": seed::ORGANIZATION_ID,
            "status": self.status,
            "results": self.results,
        });
        if let (Some(url), Some(answer)) = (&self.callback_url, answer.as_object_mut()) {
            answer.insert("callbackUrl".to_owned(), json!(url));
        }
        answer
    }
}

impl Webhooks {
    /// Saves `new` as the registration (keeping its subscriber id when there is one), unless
    /// one exists and `replace` is false: the answer to give, or `None`.
    fn save(&self, new: NewRegistration, replace: bool) -> Option<Value> {
        let mut state = self.state();
        let subscriber_id = match &state.registration {
            Some(_) if !replace => return None,
            Some(existing) => existing.subscriber_id.clone(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        let registration = Registration {
            subscriber_id,
            url: new.url,
            events: new.events,
            ms_signature_header: new.ms_signature_header,
            last_modified: seed::timestamp(server::now()).to_string(),
        };
        let answer = registration.answer();
        state.registration = Some(registration);
        Some(answer)
    }

    /// Starts a test event asked for `now`: its correlation id, or how long to wait when two
    /// were asked for in the last minute.
    fn test_event(&self, now: Instant) -> Result<String, Duration> {
        let mut state = self.state();
        let requests = &mut state.test_requests;
        while requests
            .front()
            .is_some_and(|asked| now.duration_since(*asked) >= MINUTE)
        {
            requests.pop_front();
        }
        if requests.len() >= TEST_EVENTS_A_MINUTE
            && let Some(oldest) = requests.front()
        {
            return Err(MINUTE.saturating_sub(now.duration_since(*oldest)));
        }
        requests.push_back(now);

        let correlation_id = uuid::Uuid::new_v4().to_string();
        let registration = state.registration.clone();
        let test_created = WebhookEvent::TestCreated;
        let (status, event) = match &registration {
            None => ("notRegistered", None),
            Some(registration) if !registration.wants(&test_created) => ("notSubscribed", None),
            Some(registration) => {
                let changed = seed::timestamp(server::now()).to_string();
                let resource_uri = format!("{TEST_RESOURCE_URI}/{correlation_id}");
                match registration.event(
                    &self.deliveries,
                    &test_created,
                    resource_uri,
                    &changed,
                    Some(correlation_id.clone()),
                ) {
                    Ok(event) => ("pending", Some(event)),
                    Err(_) => ("failed", None),
                }
            }
        };
        if state.test_events.len() == TEST_EVENT_CAPACITY {
            state.test_events.pop_front();
        }
        state.test_events.push_back(TestEvent {
            correlation_id: correlation_id.clone(),
            callback_url: registration.map(|r| r.url),
            status,
            results: Vec::new(),
        });
        // Not under the lock: a full queue records the event, which updates its status.
        drop(state);
        if let Some(event) = event {
            self.enqueue(event);
        }
        Ok(correlation_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<NewRegistration, String> {
        NewRegistration::parse(body).map_err(|refusal| match refusal {
            Refusal::Invalid { message, .. } => message,
            other => format!("{other:?}"),
        })
    }

    #[test]
    fn keys_are_read_in_any_case() {
        let expected = NewRegistration {
            url: "https://contoso.example/events".to_owned(),
            events: vec![WebhookEvent::ReferralCreated, WebhookEvent::TestCreated],
            ms_signature_header: true,
        };
        for body in [
            json!({"WebhookUrl": "https://contoso.example/events", "WebhookEvents": ["referral-created", "test-created"], "SignatureTokenToMsSignatureHeader": true}),
            json!({"webhookUrl": "https://contoso.example/events", "webhookEvents": ["referral-created", "test-created", "referral-created"], "signatureTokenToMsSignatureHeader": true, "properties": {}}),
            json!({"WEBHOOKURL": "https://contoso.example/events", "webhookevents": ["referral-created", "test-created"], "SignatureTokenToMSSignatureHeader": true}),
        ] {
            assert_eq!(parse(body.clone()).as_ref(), Ok(&expected), "{body}");
        }
        let plain = parse(
            json!({"webhookUrl": "http://127.0.0.1:9/", "webhookEvents": ["referral-updated"]}),
        );
        assert_eq!(plain.map(|r| r.ms_signature_header), Ok(false));
    }

    #[test]
    fn a_wrong_body_says_what_is_wrong() {
        let events = json!(["referral-created"]);
        for (body, says) in [
            (json!([]), "a JSON object"),
            (json!({"WebhookEvents": events}), "WebhookUrl is required"),
            (
                json!({"WebhookUrl": 7, "WebhookEvents": events}),
                "must be a string",
            ),
            (
                json!({"WebhookUrl": "/events", "WebhookEvents": events}),
                "absolute http or https URL",
            ),
            (
                json!({"WebhookUrl": "ftp://contoso.example/", "WebhookEvents": events}),
                "absolute http or https URL",
            ),
            (
                json!({"WebhookUrl": "https://", "WebhookEvents": events}),
                "absolute http or https URL",
            ),
            (
                json!({"WebhookUrl": "not a url", "WebhookEvents": events}),
                "absolute http or https URL",
            ),
            (
                json!({"WebhookUrl": format!("https://a.example/{}", "x".repeat(MAX_URL_LENGTH)), "WebhookEvents": events}),
                "longer than 2048",
            ),
            (
                json!({"WebhookUrl": "https://a.example/"}),
                "WebhookEvents is required",
            ),
            (
                json!({"WebhookUrl": "https://a.example/", "WebhookEvents": []}),
                "one event name or more",
            ),
            (
                json!({"WebhookUrl": "https://a.example/", "WebhookEvents": "referral-created"}),
                "one event name or more",
            ),
            (
                json!({"WebhookUrl": "https://a.example/", "WebhookEvents": ["referral-deleted"]}),
                "\"referral-deleted\" is not an event name: use referral-created, ",
            ),
            (
                json!({"WebhookUrl": "https://a.example/", "WebhookEvents": ["Referral-Created"]}),
                "is not an event name",
            ),
            (
                json!({"WebhookUrl": "https://a.example/", "WebhookEvents": [1]}),
                "1 is not an event name",
            ),
            (
                json!({"WebhookUrl": "https://a.example/", "WebhookEvents": events, "SignatureTokenToMsSignatureHeader": "yes"}),
                "true or false",
            ),
            (
                json!({"WebhookUrl": "https://a.example/", "WebhookEvents": events, "SignatureTokenToMsSignatureHeader": null}),
                "true or false",
            ),
            (
                json!({"WebhookUrl": "https://a.example/", "webhookUrl": "https://b.example/", "WebhookEvents": events}),
                "are the same field",
            ),
        ] {
            let error = parse(body.clone()).unwrap_err();
            assert!(error.contains(says), "{body}: {error}");
        }
    }
}
