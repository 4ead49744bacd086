//! The sandbox's webhooks over real HTTP: the registration API with state; events sent to a
//! receiver on this machine (an axum server here), signed as Partner Center signs them,
//! retried and recorded; the test event flow and its rate limit; the control that changes a
//! referral over time.
//!
//! Nothing sleeps to let a delivery happen: the tests wait on the delivery log
//! (`WebhookDeliveries::wait_idle`, `wait_for`), which returns as soon as the attempts are
//! recorded; [`PATIENCE`] only turns a hang into a failure.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use partner_center_sandbox::{
    ChangeError, DeliveryOutcome, Fault, OFFICIAL_REFERRAL_ID, Sandbox, WebhookDelivery,
};
use reqwest::{Client, Method};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, UnixTime};
use serde_json::{Value, json};
use support::*;
use webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256;
use webpki::{EndEntityCert, KeyUsage, anchor_from_trusted_cert};

/// How long a test waits for deliveries before failing. Not a synchronisation: the waits
/// return as soon as what they wait for is recorded.
const PATIENCE: Duration = Duration::from_secs(30);

const REGISTRATION: &str = "/webhooks/v1/registration";
const TEST_EVENTS: &str = "/webhooks/v1/registration/validationEvents";

/// A sandbox whose deliveries retry after a millisecond.
async fn quick(referrals: usize) -> Sandbox {
    Sandbox::builder()
        .referral_count(referrals)
        .webhook_retry_delay(Duration::from_millis(1))
        .start()
        .await
        .expect("the sandbox starts")
}

/// A receiver of events on 127.0.0.1, at `/events`: records each request, and answers it
/// with the status `answer` gives its number (0 for the first).
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Receiver {
    async fn start(answer: impl Fn(usize) -> u16 + Clone + Send + Sync + 'static) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&received);
        let handler = move |headers: HeaderMap, body: Bytes| {
            let (recorded, answer) = (Arc::clone(&recorded), answer.clone());
            async move {
                let number = {
                    let mut recorded = recorded.lock().unwrap();
                    recorded.push(Received { headers, body });
                    recorded.len() - 1
                };
                StatusCode::from_u16(answer(number)).unwrap()
            }
        };
        let app = axum::Router::new().route("/events", axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// Sends `method path` to the sandbox with a token, and `body` as JSON: the status and the
/// JSON answer (`null` for none).
async fn call(
    sandbox: &Sandbox,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = Client::new()
        .request(method, format!("{}{path}", sandbox.base_url()))
        .bearer_auth("t");
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("the sandbox answers");
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.bytes().await.unwrap();
    let json = match bytes.is_empty() {
        true => Value::Null,
        false => serde_json::from_slice(&bytes).expect("a JSON answer"),
    };
    (status, headers, json)
}

/// Registers `body`, which must succeed.
async fn register(sandbox: &Sandbox, body: Value) -> Value {
    let (status, _, answer) = call(sandbox, Method::POST, REGISTRATION, Some(&body)).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// Asks for a test event, which must succeed: its correlation id.
async fn send_test_event(sandbox: &Sandbox) -> String {
    let (status, _, sent) = call(sandbox, Method::POST, TEST_EVENTS, None).await;
    assert_eq!(status, 200, "{sent}");
    sent["correlationId"]
        .as_str()
        .expect("a correlation id")
        .to_owned()
}

/// The status of the test event `id`, which must exist.
async fn test_event_status(sandbox: &Sandbox, id: &str) -> Value {
    let (status, _, test) = call(sandbox, Method::GET, &format!("{TEST_EVENTS}/{id}"), None).await;
    assert_eq!(status, 200, "{test}");
    test
}

/// Every delivery once none is pending.
async fn idle(sandbox: &Sandbox) -> Vec<WebhookDelivery> {
    let deliveries = sandbox.webhook_deliveries();
    tokio::time::timeout(PATIENCE, deliveries.wait_idle())
        .await
        .expect("the deliveries end")
}

fn body_of(received: &Received) -> Value {
    serde_json::from_slice(&received.body).expect("a JSON event")
}

/// Checks an event as a receiver would: the signature in `header` (`Signature <base64>`) over
/// the exact body, with the key of the certificate `X-MS-Certificate-Url` serves (without a
/// token), which chains to the CA of `/_sandbox/webhooks/ca.pem`.
async fn verify(sandbox: &Sandbox, event: &Received, header: &str) {
    let text = |name: &str| {
        let value = event.headers.get(name);
        value
            .unwrap_or_else(|| panic!("no {name}"))
            .to_str()
            .unwrap()
    };
    assert_eq!(text("content-type"), "application/json");
    assert_eq!(text("x-ms-signature-algorithm"), "rsa-sha256");
    let certificate_url = text("x-ms-certificate-url");
    assert_eq!(certificate_url, sandbox.webhook_certificate_url());
    assert_eq!(
        certificate_url,
        format!("{}/cert/sandbox.cer", sandbox.base_url())
    );
    let signature = text(header)
        .strip_prefix("Signature ")
        .expect("Signature <base64>");
    let signature = STANDARD.decode(signature).expect("base64");

    let response = Client::new().get(certificate_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        header_of(response.headers(), "content-type"),
        "application/pkix-cert"
    );
    let der = CertificateDer::from(response.bytes().await.unwrap().to_vec());
    let leaf = EndEntityCert::try_from(&der).expect("a certificate");
    leaf.verify_signature(RSA_PKCS1_2048_8192_SHA256, &event.body, &signature)
        .expect("the signature verifies");
    let mut tampered = event.body.to_vec();
    tampered.push(b' ');
    assert!(
        leaf.verify_signature(RSA_PKCS1_2048_8192_SHA256, &tampered, &signature)
            .is_err()
    );

    let ca = ca_served(sandbox).await;
    let anchor = anchor_from_trusted_cert(&ca).expect("a trust anchor");
    leaf.verify_for_usage(
        &[RSA_PKCS1_2048_8192_SHA256],
        &[anchor],
        &[],
        UnixTime::now(),
        KeyUsage::server_auth(),
        None,
        None,
    )
    .expect("the leaf chains to the sandbox's CA");
}

fn header_of<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers.get(name).map_or("", |v| v.to_str().unwrap())
}

/// The CA `GET /_sandbox/webhooks/ca.pem` serves (no token), which is
/// `Sandbox::webhook_ca_pem`.
async fn ca_served(sandbox: &Sandbox) -> CertificateDer<'static> {
    let url = format!("{}/_sandbox/webhooks/ca.pem", sandbox.base_url());
    let response = Client::new().get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        header_of(response.headers(), "content-type"),
        "application/x-pem-file"
    );
    let pem = response.text().await.unwrap();
    assert_eq!(pem, sandbox.webhook_ca_pem());
    CertificateDer::from_pem_slice(pem.as_bytes()).expect("a PEM certificate")
}

#[tokio::test]
async fn a_registration_is_made_once_then_replaced_and_viewed() {
    let sandbox = small().await;
    let (status, _, none) = call(&sandbox, Method::GET, REGISTRATION, None).await;
    assert_eq!(status, 404);
    assert_eq!(
        none,
        json!({"code": 404, "description": "No registration was found."})
    );
    let (status, _, events) = call(
        &sandbox,
        Method::GET,
        "/webhooks/v1/registration/events",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        events,
        json!([
            "referral-created",
            "referral-updated",
            "related-referral-created",
            "related-referral-updated",
            "test-created"
        ])
    );

    // The documentation's PascalCase.
    let made = register(
        &sandbox,
        json!({"WebhookUrl": "http://127.0.0.1:9/a", "WebhookEvents": ["referral-created"], "SignatureTokenToMsSignatureHeader": true}),
    )
    .await;
    let subscriber = made["subscriberId"].as_str().unwrap();
    assert!(is_guid(subscriber), "{made}");
    assert_eq!(made["webhookUrl"], "http://127.0.0.1:9/a");
    assert_eq!(made["webhookEvents"], json!(["referral-created"]));
    assert_eq!(made["signatureTokenToMsSignatureHeader"], true);
    let made_at = made["lastModifiedTimestamp"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(made_at).is_ok(),
        "{made}"
    );

    // One registration: a second is a conflict, and changes nothing.
    let other =
        json!({"webhookUrl": "http://127.0.0.1:9/b", "webhookEvents": ["referral-updated"]});
    let (status, _, conflict) = call(&sandbox, Method::POST, REGISTRATION, Some(&other)).await;
    assert_eq!(status, 409);
    assert_eq!(conflict["code"], 409);
    let (_, _, view) = call(&sandbox, Method::GET, REGISTRATION, None).await;
    assert_eq!(view, made);

    // The samples' camelCase; the subscriber stays.
    let replacement = json!({"webhookUrl": "https://localhost:8443/b", "webhookEvents": ["referral-updated", "test-created"]});
    let (status, _, replaced) = call(&sandbox, Method::PUT, REGISTRATION, Some(&replacement)).await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["subscriberId"], subscriber);
    assert_eq!(replaced["webhookUrl"], "https://localhost:8443/b");
    assert_eq!(
        replaced["webhookEvents"],
        json!(["referral-updated", "test-created"])
    );
    assert_eq!(replaced["signatureTokenToMsSignatureHeader"], false);
    assert!(replaced["lastModifiedTimestamp"].as_str().unwrap() >= made_at);
    let (_, _, view) = call(&sandbox, Method::GET, REGISTRATION, None).await;
    assert_eq!(view, replaced);

    // A wrong body is refused in the service's error shape, and changes nothing.
    let wrong = json!({"webhookUrl": "ftp://127.0.0.1/b", "webhookEvents": ["referral-updated"]});
    let (status, _, refused) = call(&sandbox, Method::PUT, REGISTRATION, Some(&wrong)).await;
    assert_eq!(status, 400);
    assert_eq!(refused["code"], 2000);
    let description = refused["description"].as_str().unwrap();
    assert!(
        description.contains("WebhookUrl must be an absolute http or https URL"),
        "{description}"
    );
    let (_, _, view) = call(&sandbox, Method::GET, REGISTRATION, None).await;
    assert_eq!(view, replaced);

    let anonymous = send(sandbox.base_url(), Method::GET, REGISTRATION, None).await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        header(anonymous.headers(), "www-authenticate"),
        Some("Bearer")
    );
    assert_eq!(anonymous.json::<Value>().await.unwrap()["code"], 600);
}

#[tokio::test]
async fn an_update_through_the_api_sends_one_signed_event() {
    let receiver = Receiver::start(|_| 200).await;
    let sandbox = quick(3).await;
    register(
        &sandbox,
        json!({"WebhookUrl": receiver.url, "WebhookEvents": ["referral-updated"]}),
    )
    .await;
    // Not asked for: a create sends nothing.
    let (status, _, created) = call(
        &sandbox,
        Method::POST,
        "/v1.0/engagements/referrals",
        Some(&new_referral()),
    )
    .await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap();
    let notes = json!([{"op": "replace", "path": "/details/notes", "value": "Kick-off booked"}]);
    let response = Client::new()
        .patch(format!("{}{}", sandbox.base_url(), referral_path(id)))
        .bearer_auth("t")
        .header("Prefer", "return=representation")
        .json(&notes)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.unwrap();
    let changed = updated["updatedDateTime"].as_str().unwrap();

    let deliveries = idle(&sandbox).await;
    assert_eq!(deliveries.len(), 1, "{deliveries:#?}");
    let delivery = &deliveries[0];
    assert_eq!(
        (
            delivery.event_name.as_str(),
            delivery.attempt,
            delivery.status,
            delivery.outcome
        ),
        ("referral-updated", 1, Some(200), DeliveryOutcome::Delivered)
    );
    assert_eq!(delivery.url, receiver.url);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    // The service's body, to the byte: PascalCase keys in its order, no referral data.
    assert_eq!(
        std::str::from_utf8(&received[0].body).unwrap(),
        format!(
            r#"{{"EventName":"referral-updated","ResourceUri":"https://api.partnercenter.microsoft.com/engagements/v1/referrals/{id}","ResourceName":"referral","AuditUri":null,"ResourceChangeUtcDate":"{changed}"}}"#
        )
    );
    assert!(received[0].headers.get("x-ms-signature").is_none());
    verify(&sandbox, &received[0], "authorization").await;
}

#[tokio::test]
async fn a_registration_can_ask_for_the_signature_in_x_ms_signature() {
    let receiver = Receiver::start(|_| 200).await;
    let sandbox = quick(3).await;
    register(
        &sandbox,
        json!({"webhookUrl": receiver.url, "webhookEvents": ["referral-created"], "signatureTokenToMsSignatureHeader": true}),
    )
    .await;
    let (status, _, created) = call(
        &sandbox,
        Method::POST,
        "/v1.0/engagements/referrals",
        Some(&new_referral()),
    )
    .await;
    assert_eq!(status, 201);

    let deliveries = idle(&sandbox).await;
    assert_eq!(deliveries.len(), 1, "{deliveries:#?}");
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].headers.get("authorization").is_none());
    let event = body_of(&received[0]);
    assert_eq!(event["EventName"], "referral-created");
    let id = created["id"].as_str().unwrap();
    assert!(
        event["ResourceUri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/{id}"))
    );
    assert_eq!(event["ResourceChangeUtcDate"], created["updatedDateTime"]);
    verify(&sandbox, &received[0], "x-ms-signature").await;
}

#[tokio::test]
async fn the_certificates_are_the_ones_a_verifier_expects() {
    let sandbox = small().await;
    let ca = ca_served(&sandbox).await;
    let anchor = anchor_from_trusted_cert(&ca).unwrap();
    let contains = |der: &[u8], text: &str| der.windows(text.len()).any(|w| w == text.as_bytes());
    assert!(contains(
        &anchor.subject,
        "Partner Center Sandbox Webhook CA"
    ));
    assert!(contains(&anchor.subject, "Partner Center Sandbox"));

    // The leaf is served without a token, and takes no fault.
    sandbox
        .faults()
        .push(Fault::Unavailable { retry_after: None }, 1);
    let response = Client::new()
        .get(sandbox.webhook_certificate_url())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(sandbox.faults().pending(), 1);
    let der = CertificateDer::from(response.bytes().await.unwrap().to_vec());
    assert!(contains(&der, "webhooks.sandbox.invalid"));
    let leaf = EndEntityCert::try_from(&der).unwrap();
    let name = rustls_pki_types::ServerName::try_from("webhooks.sandbox.invalid").unwrap();
    leaf.verify_is_valid_for_subject_name(&name).unwrap();

    let chain = |anchor, at: UnixTime| {
        leaf.verify_for_usage(
            &[
                RSA_PKCS1_2048_8192_SHA256,
                webpki::aws_lc_rs::ECDSA_P256_SHA256,
            ],
            &[anchor],
            &[],
            at,
            KeyUsage::server_auth(),
            None,
            None,
        )
        .map(drop)
    };
    assert_eq!(chain(anchor.clone(), UnixTime::now()), Ok(()));
    // Valid from yesterday for a year: not before, not after.
    let now = UnixTime::now().as_secs();
    let at = |secs| UnixTime::since_unix_epoch(Duration::from_secs(secs));
    let day = 24 * 60 * 60;
    assert!(chain(anchor.clone(), at(now - 3 * day)).is_err());
    assert!(chain(anchor.clone(), at(now + 400 * day)).is_err());

    // Another CA is not the sandbox's.
    let stranger_key = rcgen::KeyPair::generate().unwrap();
    let stranger = rcgen::CertificateParams::new(Vec::new())
        .unwrap()
        .self_signed(&stranger_key)
        .unwrap();
    let stranger = anchor_from_trusted_cert(stranger.der()).unwrap();
    assert_eq!(
        chain(stranger, UnixTime::now()),
        Err(webpki::Error::UnknownIssuer)
    );
}

#[tokio::test]
async fn a_failing_receiver_gets_the_event_again_until_it_takes_it() {
    let receiver = Receiver::start(|n| if n < 5 { 500 } else { 200 }).await;
    let sandbox = quick(0).await;
    register(
        &sandbox,
        json!({"WebhookUrl": receiver.url, "WebhookEvents": ["referral-updated"]}),
    )
    .await;
    sandbox.touch_referral(OFFICIAL_REFERRAL_ID).unwrap();

    let deliveries = idle(&sandbox).await;
    let attempts: Vec<_> = deliveries
        .iter()
        .map(|d| (d.attempt, d.status, d.outcome))
        .collect();
    let mut expected: Vec<_> = (1..=5)
        .map(|n| (n, Some(500), DeliveryOutcome::Retrying))
        .collect();
    expected.push((6, Some(200), DeliveryOutcome::Delivered));
    assert_eq!(attempts, expected);
    let received = receiver.received();
    assert_eq!(received.len(), 6);
    // The same event each time, signed the same.
    for again in &received[1..] {
        assert_eq!(again.body, received[0].body);
        assert_eq!(
            header_of(&again.headers, "authorization"),
            header_of(&received[0].headers, "authorization")
        );
    }
}

#[tokio::test]
async fn an_event_is_given_up_after_ten_failed_attempts() {
    let receiver = Receiver::start(|_| 500).await;
    let sandbox = quick(0).await;
    register(
        &sandbox,
        json!({"WebhookUrl": receiver.url, "WebhookEvents": ["referral-updated"]}),
    )
    .await;
    sandbox.touch_referral(OFFICIAL_REFERRAL_ID).unwrap();

    let deliveries = idle(&sandbox).await;
    assert_eq!(deliveries.len(), 10, "{deliveries:#?}");
    assert_eq!(receiver.received().len(), 10);
    for (n, delivery) in (1..).zip(&deliveries) {
        assert_eq!((delivery.attempt, delivery.status), (n, Some(500)));
        let last = n == 10;
        assert_eq!(
            delivery.outcome,
            match last {
                true => DeliveryOutcome::GivenUp,
                false => DeliveryOutcome::Retrying,
            }
        );
    }
    assert_eq!(sandbox.webhook_deliveries().recorded(), 10);

    // The same log for tools not written in Rust: no token needed.
    let url = format!("{}/_sandbox/webhooks/deliveries", sandbox.base_url());
    let log: Value = Client::new()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (log["recorded"].as_u64(), log["pending"].as_u64()),
        (Some(10), Some(0))
    );
    let last = &log["deliveries"][9];
    assert_eq!(last["outcome"], "givenUp");
    assert_eq!(last["attempt"], 10);
    assert_eq!(last["status"], 500);
    assert_eq!(last["eventName"], "referral-updated");
    assert_eq!(last["url"], receiver.url);
    assert!(last["at"].as_str().unwrap().ends_with('Z'), "{last}");
}

#[tokio::test]
async fn a_test_event_is_sent_and_its_status_shows_the_attempts_two_a_minute() {
    let receiver = Receiver::start(|_| 200).await;
    let sandbox = quick(0).await;
    register(
        &sandbox,
        json!({"WebhookUrl": receiver.url, "WebhookEvents": ["test-created"]}),
    )
    .await;
    let id = &send_test_event(&sandbox).await;
    assert!(is_guid(id), "{id}");

    idle(&sandbox).await;
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let event = body_of(&received[0]);
    assert_eq!(event["EventName"], "test-created");
    assert_eq!(event["ResourceName"], "test");
    assert_eq!(event["AuditUri"], Value::Null);
    assert!(
        event["ResourceUri"].as_str().unwrap().ends_with(id),
        "{event}"
    );
    verify(&sandbox, &received[0], "authorization").await;

    let test = test_event_status(&sandbox, id).await;
    assert_eq!(test["correlationId"], json!(id));
    assert_eq!(test["status"], "completed");
    assert_eq!(test["callbackUrl"], receiver.url);
    assert!(is_guid(test["partnerId"].as_str().unwrap()), "{test}");
    let results = test["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(
        (&results[0]["responseCode"], &results[0]["systemError"]),
        (&json!("OK"), &json!(""))
    );
    // UTC without an offset, to the millisecond.
    let at = results[0]["dateTimeUtc"].as_str().unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S%.3f").is_ok()
            && at.len() == 23,
        "{at}"
    );

    // Two a minute: the third is throttled as the gateway throttles.
    send_test_event(&sandbox).await;
    let (status, headers, throttled) = call(&sandbox, Method::POST, TEST_EVENTS, None).await;
    assert_eq!(status, 429);
    let retry_after: u64 = header_of(&headers, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(throttled["statusCode"], 429);

    let (status, _, unknown) = call(
        &sandbox,
        Method::GET,
        &format!("{TEST_EVENTS}/{}", uuid::Uuid::new_v4()),
        None,
    )
    .await;
    assert_eq!((status.as_u16(), &unknown["code"]), (404, &json!(404)));
}

#[tokio::test]
async fn a_test_event_nobody_takes_fails_after_ten_attempts() {
    // A port nothing listens on: every attempt is a connection error.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sandbox = quick(0).await;
    let url = format!("http://127.0.0.1:{port}/events");
    register(
        &sandbox,
        json!({"WebhookUrl": url, "WebhookEvents": ["test-created"]}),
    )
    .await;
    let id = &send_test_event(&sandbox).await;

    let deliveries = idle(&sandbox).await;
    assert_eq!(deliveries.len(), 10);
    assert!(
        deliveries
            .iter()
            .all(|d| d.status.is_none() && d.error.is_some())
    );
    assert_eq!(deliveries[9].outcome, DeliveryOutcome::GivenUp);
    assert_eq!(deliveries[9].correlation_id.as_ref(), Some(id));
    let test = test_event_status(&sandbox, id).await;
    assert_eq!(test["status"], "failed");
    let results = test["results"].as_array().unwrap();
    assert_eq!(results.len(), 10);
    for result in results {
        assert_eq!(result["responseCode"], "");
        assert_ne!(result["systemError"], "", "{result}");
    }
}

#[tokio::test]
async fn a_test_event_without_test_created_registered_is_not_sent() {
    let sandbox = quick(0).await;
    let unregistered = test_event_status(&sandbox, &send_test_event(&sandbox).await).await;
    assert_eq!(unregistered["status"], "notRegistered");
    assert!(unregistered.get("callbackUrl").is_none());

    register(
        &sandbox,
        json!({"WebhookUrl": "http://127.0.0.1:9/", "WebhookEvents": ["referral-created"]}),
    )
    .await;
    let unsubscribed = test_event_status(&sandbox, &send_test_event(&sandbox).await).await;
    assert_eq!(unsubscribed["status"], "notSubscribed");
    assert_eq!(unsubscribed["callbackUrl"], "http://127.0.0.1:9/");
    assert_eq!(unsubscribed["results"], json!([]));
    assert!(idle(&sandbox).await.is_empty());
}

#[tokio::test]
async fn the_control_changes_a_referral_over_time_and_sends_referral_updated() {
    let receiver = Receiver::start(|_| 200).await;
    let sandbox = quick(3).await;
    register(
        &sandbox,
        json!({"WebhookUrl": receiver.url, "WebhookEvents": ["referral-updated"]}),
    )
    .await;
    let path = referral_path(OFFICIAL_REFERRAL_ID);
    let (_, _, before) = call(&sandbox, Method::GET, &path, None).await;
    let control = format!(
        "{}/_sandbox/referrals/{OFFICIAL_REFERRAL_ID}",
        sandbox.base_url()
    );
    let instant = |referral: &Value| {
        let text = referral["updatedDateTime"].as_str().unwrap();
        chrono::DateTime::parse_from_rfc3339(text).unwrap()
    };

    // A touch: no token, no fault, no body.
    sandbox.faults().push(
        Fault::Throttle {
            retry_after: Duration::from_secs(1),
        },
        1,
    );
    let response = Client::new().patch(&control).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(sandbox.faults().pending(), 1);
    sandbox.faults().clear();
    let etag = header_of(response.headers(), "etag").to_owned();
    let touched: Value = response.json().await.unwrap();
    assert_eq!(touched["eTag"], json!(etag));
    assert_ne!(touched["eTag"], before["eTag"]);
    assert!(instant(&touched) > instant(&before));
    let mut unchanged = touched.clone();
    for field in ["eTag", "updatedDateTime"] {
        unchanged[field] = before[field].clone();
    }
    assert_eq!(unchanged, before);

    // A merge patch, past the API's rules: the API may not change createdDateTime.
    let server_set =
        json!([{"op": "replace", "path": "/createdDateTime", "value": "2020-01-01T00:00:00Z"}]);
    let (status, _, _) = call(&sandbox, Method::PATCH, &path, Some(&server_set)).await;
    assert_eq!(status, 422);
    let patch = json!({"createdDateTime": "2020-01-01T00:00:00Z", "details": {"notes": "Called back"}, "qualification": null});
    let response = Client::new()
        .patch(&control)
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (_, _, patched) = call(&sandbox, Method::GET, &path, None).await;
    assert_eq!(patched["createdDateTime"], "2020-01-01T00:00:00Z");
    assert_eq!(patched["details"]["notes"], "Called back");
    assert_eq!(
        patched["details"]["dealValue"],
        before["details"]["dealValue"]
    );
    // `null` removes a field.
    assert!(before.get("qualification").is_some() && patched.get("qualification").is_none());
    assert!(instant(&patched) > instant(&touched));

    // From Rust, many times in a row: each change later than the last.
    let mut last = patched["updatedDateTime"].as_str().unwrap().to_owned();
    let mut dates = vec![
        touched["updatedDateTime"].clone(),
        patched["updatedDateTime"].clone(),
    ];
    for _ in 0..20 {
        let referral = sandbox.touch_referral(OFFICIAL_REFERRAL_ID).unwrap();
        let date = referral.updated_date_time.unwrap();
        assert!(
            date.instant()
                > chrono::DateTime::parse_from_rfc3339(&last)
                    .ok()
                    .map(|d| d.to_utc()),
            "{date} after {last}"
        );
        last = date.to_string();
        dates.push(json!(last));
    }

    // One referral-updated a change, each saying when.
    let deliveries = idle(&sandbox).await;
    assert_eq!(deliveries.len(), 22);
    assert!(
        deliveries
            .iter()
            .all(|d| d.event_name == "referral-updated" && d.outcome == DeliveryOutcome::Delivered)
    );
    let mut sent: Vec<Value> = receiver
        .received()
        .iter()
        .map(|r| body_of(r)["ResourceChangeUtcDate"].clone())
        .collect();
    let key = |v: &Value| v.as_str().unwrap().to_owned();
    sent.sort_by_key(key);
    dates.sort_by_key(key);
    assert_eq!(sent, dates);
}

#[tokio::test]
async fn the_control_refuses_what_it_cannot_do() {
    let sandbox = quick(0).await;
    let control = |id: &str| format!("{}/_sandbox/referrals/{id}", sandbox.base_url());
    let client = Client::new();
    for (id, body, status, says) in [
        ("nope", json!({}), 404, "itemNotFound"),
        (OFFICIAL_REFERRAL_ID, json!([]), 400, "a JSON merge patch"),
        (
            OFFICIAL_REFERRAL_ID,
            json!({"id": "other"}),
            422,
            "cannot change",
        ),
        (
            OFFICIAL_REFERRAL_ID,
            json!({"status": "Open"}),
            422,
            "would not be valid",
        ),
    ] {
        let response = client.patch(control(id)).json(&body).send().await.unwrap();
        assert_eq!(response.status(), status, "{body}");
        let text = response.text().await.unwrap();
        assert!(text.contains(says), "{body}: {text}");
    }
    let response = client
        .get(control(OFFICIAL_REFERRAL_ID))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(header_of(response.headers(), "allow"), "PATCH");

    assert_eq!(sandbox.touch_referral("nope"), Err(ChangeError::NotFound));
    let refused = sandbox.change_referral(OFFICIAL_REFERRAL_ID, &json!({"status": "Open"}));
    assert!(
        matches!(refused, Err(ChangeError::Refused(ref why)) if why.contains("\"Open\"")),
        "{refused:?}"
    );
    // Nothing changed, nothing sent (nothing is registered either).
    let (_, _, official) = call(
        &sandbox,
        Method::GET,
        &referral_path(OFFICIAL_REFERRAL_ID),
        None,
    )
    .await;
    assert_eq!(
        official,
        serde_json::from_str::<Value>(OFFICIAL_EXAMPLE).unwrap()
    );
    assert!(idle(&sandbox).await.is_empty());
}

#[tokio::test]
async fn a_referral_of_a_shared_engagement_sends_related_referral_updated() {
    let receiver = Receiver::start(|_| 200).await;
    let sandbox = quick(40).await;
    let referrals = sandbox.referrals();
    let of_engagement = |engagement: &Option<String>| {
        referrals
            .iter()
            .filter(|r| r.engagement_id == *engagement)
            .count()
    };
    let shared = referrals
        .iter()
        .find(|r| of_engagement(&r.engagement_id) > 1)
        .expect("a shared engagement");
    let alone = referrals
        .iter()
        .find(|r| of_engagement(&r.engagement_id) == 1)
        .expect("a lone referral");
    register(
        &sandbox,
        json!({"WebhookUrl": receiver.url, "WebhookEvents": ["related-referral-updated"]}),
    )
    .await;
    let shared_id = shared.id.as_deref().unwrap();
    sandbox
        .touch_referral(alone.id.as_deref().unwrap())
        .unwrap();
    sandbox.touch_referral(shared_id).unwrap();

    let deliveries = idle(&sandbox).await;
    assert_eq!(deliveries.len(), 1, "{deliveries:#?}");
    assert_eq!(deliveries[0].event_name, "related-referral-updated");
    assert!(
        deliveries[0]
            .resource_uri
            .ends_with(&format!("/{shared_id}"))
    );
    let event = body_of(&receiver.received()[0]);
    assert_eq!(
        (&event["EventName"], &event["ResourceName"]),
        (&json!("related-referral-updated"), &json!("referral"))
    );
}

#[tokio::test]
async fn events_for_another_host_are_not_sent() {
    let sandbox = quick(0).await;
    register(
        &sandbox,
        json!({"WebhookUrl": "https://partner.example.com/partner-center/events", "WebhookEvents": ["referral-updated"]}),
    )
    .await;
    sandbox.touch_referral(OFFICIAL_REFERRAL_ID).unwrap();
    let deliveries = idle(&sandbox).await;
    assert_eq!(deliveries.len(), 1);
    let delivery = &deliveries[0];
    assert_eq!(
        (delivery.attempt, delivery.status, delivery.outcome),
        (0, None, DeliveryOutcome::GivenUp)
    );
    let error = delivery.error.as_deref().unwrap();
    assert!(
        error.contains("partner.example.com is not a loopback address"),
        "{error}"
    );
}

/// On the test's one thread, the delivery task does not run between two touches: the queue
/// fills, and what comes past it is dropped, recorded, while the API answers as ever.
#[tokio::test(flavor = "current_thread")]
async fn a_full_queue_drops_events_and_does_not_hold_up_the_api() {
    // Takes connections and never answers them, should a delivery start.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox = Sandbox::builder().referral_count(0).start().await.unwrap();
    let url = format!("http://{}/events", hole.local_addr().unwrap());
    register(
        &sandbox,
        json!({"WebhookUrl": url, "WebhookEvents": ["referral-updated"]}),
    )
    .await;
    let deliveries = sandbox.webhook_deliveries();
    for _ in 0..300 {
        sandbox.touch_referral(OFFICIAL_REFERRAL_ID).unwrap();
    }
    assert_eq!(deliveries.pending(), 256);
    let dropped = deliveries.all();
    assert_eq!(dropped.len(), 300 - 256);
    for delivery in &dropped {
        assert_eq!(
            (delivery.attempt, delivery.outcome),
            (0, DeliveryOutcome::GivenUp)
        );
        let error = delivery.error.as_deref().unwrap();
        assert!(error.contains("256 events were already waiting"), "{error}");
    }
}
