//! Webhooks as Partner Center has them: the registration API of `spec/webhooks.openapi.yaml`,
//! served with state ([`registration`]), and events sent to the registered URL when a referral
//! is created or changes ([`delivery`]), signed with the key of a test certificate
//! ([`signing`]).

mod delivery;
mod registration;
mod signing;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use partner_center_api::webhooks::enums::WebhookEvent;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use delivery::{DeliveryOutcome, WebhookDeliveries, WebhookDelivery};
pub(crate) use registration::OPERATIONS;

use crate::server::{self, AppState};
use crate::store::Store;
use delivery::{Event, Pending};

/// Where a receiver downloads the signing certificate (`X-MS-Certificate-Url`): like Partner
/// Center's `/cert/*.cer`. Served without a token, as a blob would be.
pub(crate) const CERTIFICATE_PATH: &str = "/cert/sandbox.cer";
const CA_PATH: &str = "/_sandbox/webhooks/ca.pem";
const DELIVERIES_PATH: &str = "/_sandbox/webhooks/deliveries";
/// Where every event's `ResourceUri` points, as the service writes it: not a Referrals API URL.
const RESOURCE_URI: &str = "https://api.partnercenter.microsoft.com/engagements/v1/referrals";
/// Where a test event's `ResourceUri` points: the test event itself (a sandbox choice, not
/// something for a receiver to rely on).
const TEST_RESOURCE_URI: &str =
    "https://api.partnercenter.microsoft.com/webhooks/v1/registration/validationEvents";
/// How many test events a minute the service takes.
const TEST_EVENTS_A_MINUTE: usize = 2;
/// How many test events' statuses are kept: the oldest go first.
const TEST_EVENT_CAPACITY: usize = 100;

/// How events are sent; set on [`crate::SandboxBuilder`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    /// The wait after the first failed attempt, doubled after each one.
    pub(crate) retry_delay: Duration,
    /// How long one attempt may take, answer included.
    pub(crate) attempt_timeout: Duration,
    /// Whether events may go to hosts other than this machine's.
    pub(crate) remote_hosts: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            retry_delay: Duration::from_secs(1),
            attempt_timeout: Duration::from_secs(10),
            remote_hosts: false,
        }
    }
}

/// The webhooks of one sandbox: its registration, its test events, its delivery queue and
/// log. Clones share them.
#[derive(Clone, Debug)]
pub(crate) struct Webhooks {
    state: Arc<Mutex<State>>,
    pub(crate) deliveries: WebhookDeliveries,
    queue: mpsc::Sender<Event>,
    /// `{base_url}/cert/sandbox.cer`.
    pub(crate) certificate_url: Arc<str>,
}

#[derive(Debug, Default)]
struct State {
    registration: Option<Registration>,
    /// The latest test events, oldest first.
    test_events: VecDeque<TestEvent>,
    /// When the test events of the last minute were asked for, oldest first.
    test_requests: VecDeque<Instant>,
}

/// What is registered: one URL per sandbox, as per tenant.
#[derive(Clone, Debug)]
struct Registration {
    subscriber_id: String,
    url: String,
    events: Vec<WebhookEvent>,
    ms_signature_header: bool,
    last_modified: String,
}

impl Registration {
    fn wants(&self, event: &WebhookEvent) -> bool {
        self.events.contains(event)
    }

    /// An `event` for this registration, about `resource_uri` as of `changed`.
    fn event(
        &self,
        deliveries: &WebhookDeliveries,
        event: &WebhookEvent,
        resource_uri: String,
        changed: &str,
        correlation_id: Option<String>,
    ) -> Result<Event, serde_json::Error> {
        // The service's keys, in the service's order.
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Payload<'a> {
            event_name: &'a str,
            resource_uri: &'a str,
            resource_name: &'a str,
            audit_uri: Option<&'a str>,
            resource_change_utc_date: &'a str,
        }
        let name = event.as_str().to_owned();
        let body = serde_json::to_vec(&Payload {
            event_name: &name,
            resource_uri: &resource_uri,
            resource_name: match event {
                WebhookEvent::TestCreated => "test",
                _ => "referral",
            },
            audit_uri: None,
            resource_change_utc_date: changed,
        })?;
        Ok(Event {
            name,
            resource_uri,
            correlation_id,
            url: self.url.clone(),
            ms_signature_header: self.ms_signature_header,
            body: Bytes::from(body),
            _pending: Pending::new(deliveries),
        })
    }
}

/// A test event and how its delivery went.
#[derive(Debug)]
struct TestEvent {
    correlation_id: String,
    callback_url: Option<String>,
    status: &'static str,
    results: Vec<TestResult>,
}

/// One attempt at a test event, as `getWebhookTestEvent` answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TestResult {
    response_code: String,
    response_message: String,
    system_error: String,
    date_time_utc: String,
}

/// What happened to a referral.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    Created,
    Updated,
}

impl Webhooks {
    /// Starts the delivery task of a sandbox at `base_url`; it stops with `shutdown`.
    pub(crate) fn start(settings: Settings, base_url: &str, shutdown: CancellationToken) -> Self {
        let (queue, receiver) = mpsc::channel(delivery::QUEUE_CAPACITY);
        let webhooks = Self {
            state: Arc::default(),
            deliveries: WebhookDeliveries::new(),
            queue,
            certificate_url: format!("{base_url}{CERTIFICATE_PATH}").into(),
        };
        tokio::spawn(delivery::run(
            receiver,
            webhooks.clone(),
            settings,
            shutdown,
        ));
        webhooks
    }

    /// Sends the events a registration asks for about `referral`, which `change` just
    /// happened to: `referral-created` or `-updated`, and `related-referral-created` or
    /// `-updated` when other referrals of `store` share its engagement (every referral here is
    /// the partner's own, so both come for the same referral).
    pub(crate) fn referral_changed(&self, store: &Store, referral: &Value, change: Change) {
        let Some(registration) = self.state().registration.clone() else {
            return;
        };
        let text = |field: &str| referral.get(field).and_then(Value::as_str);
        let (Some(id), Some(changed)) = (text("id"), text("updatedDateTime")) else {
            return;
        };
        let (own, related) = match change {
            Change::Created => (
                WebhookEvent::ReferralCreated,
                WebhookEvent::RelatedReferralCreated,
            ),
            Change::Updated => (
                WebhookEvent::ReferralUpdated,
                WebhookEvent::RelatedReferralUpdated,
            ),
        };
        let has_related = registration.wants(&related)
            && text("engagementId").is_some_and(|engagement| store.has_related(id, engagement));
        let events = [
            Some(own).filter(|own| registration.wants(own)),
            has_related.then_some(related),
        ];
        for event in events.into_iter().flatten() {
            let resource_uri = format!("{RESOURCE_URI}/{id}");
            if let Ok(event) =
                registration.event(&self.deliveries, &event, resource_uri, changed, None)
            {
                self.enqueue(event);
            }
        }
    }

    /// Notes attempt `answer` at the test event `id`.
    fn test_event_attempt(
        &self,
        id: &str,
        answer: &Result<(u16, String), String>,
        outcome: DeliveryOutcome,
        at: SystemTime,
    ) {
        let mut state = self.state();
        let Some(test) = state
            .test_events
            .iter_mut()
            .find(|t| t.correlation_id == id)
        else {
            return;
        };
        test.status = match outcome {
            DeliveryOutcome::Delivered => "completed",
            DeliveryOutcome::Retrying => "pending",
            DeliveryOutcome::GivenUp => "failed",
        };
        let (response_code, response_message, system_error) = match answer {
            Ok((status, message)) => (response_code(*status), message.clone(), String::new()),
            Err(error) => (String::new(), String::new(), error.clone()),
        };
        test.results.push(TestResult {
            response_code,
            response_message,
            system_error,
            // UTC without an offset, to the millisecond, as the service writes it.
            date_time_utc: DateTime::<Utc>::from(at)
                .format("%Y-%m-%dT%H:%M:%S%.3f")
                .to_string(),
        });
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every change under the lock is a few assignments: a poisoned lock still guards
        // consistent data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A status as .NET names it in the service's `responseCode` (`OK`, `InternalServerError`):
/// the reason phrase without its spaces, or the number when it has none.
fn response_code(status: u16) -> String {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .map_or_else(
            || status.to_string(),
            |reason| reason.chars().filter(char::is_ascii_alphanumeric).collect(),
        )
}

/// Whether `path` is one of the registration API's (under `/webhooks/`).
pub(crate) fn in_api(path: &str) -> bool {
    path.starts_with("/webhooks/")
}

/// A 401 in the registration API's error shape (code 600, as the spec's example has it).
pub(crate) fn unauthenticated(description: &str) -> Response {
    registration::error(StatusCode::UNAUTHORIZED, 600, description)
}

/// The webhook routes: the registration API (behind the token check and faults, like every
/// API route), and the certificate, the CA and the delivery log (without).
pub(crate) fn routes() -> Router<AppState> {
    registration::routes()
        .route(CERTIFICATE_PATH, get(certificate))
        .route(CA_PATH, get(ca))
        .route(DELIVERIES_PATH, get(deliveries))
}

/// `GET /cert/sandbox.cer`: the leaf certificate, DER.
async fn certificate() -> Response {
    match signing::signer_async().await {
        Ok(signer) => file("application/pkix-cert", signer.leaf_der().to_vec()),
        Err(_) => server::general_exception(),
    }
}

/// `GET /_sandbox/webhooks/ca.pem`: the test CA, PEM.
async fn ca() -> Response {
    match signing::signer_async().await {
        Ok(signer) => file(
            "application/x-pem-file",
            signer.ca_pem().as_bytes().to_vec(),
        ),
        Err(_) => server::general_exception(),
    }
}

fn file(media_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(media_type));
    response
}

/// `GET /_sandbox/webhooks/deliveries`: the delivery log, for tools not written in Rust.
async fn deliveries(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    let deliveries = &state.webhooks.deliveries;
    let body = json!({
        "recorded": deliveries.recorded(),
        "pending": deliveries.pending(),
        "deliveries": deliveries.all(),
    });
    server::json(StatusCode::OK, &body)
}

/// The PEM of the test CA, for [`crate::Sandbox::webhook_ca_pem`].
pub(crate) fn ca_pem() -> Result<String, String> {
    signing::signer().map(|signer| signer.ca_pem().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_codes_are_named_as_dotnet_names_them() {
        assert_eq!(response_code(200), "OK");
        assert_eq!(response_code(500), "InternalServerError");
        assert_eq!(response_code(404), "NotFound");
        assert_eq!(response_code(203), "NonAuthoritativeInformation");
        assert_eq!(response_code(599), "599");
    }
}
