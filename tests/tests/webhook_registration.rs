//! The webhook registration handler (`client.webhooks()`) against a mock of the registration
//! API: what it sends, and that it never replaces a registration unless told to.

use partner_center::Error;
use partner_center::webhooks::WebhookEvent;
use partner_center_tests::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REGISTRATION: &str = "/webhooks/v1/registration";
const OURS: &str = "https://partner.example.com/partner-center/events";

/// What the tenant has registered: Microsoft's CRM connector, say.
fn theirs() -> Value {
    json!({
        "subscriberId": "2f5b8ef6-7a8e-4c1a-9b3e-3c4d5e6f7a8b",
        "webhookUrl": "https://prod-42.westus.logic.azure.com/workflows/abc/triggers/manual",
        "webhookEvents": ["referral-created", "referral-updated"]
    })
}

fn ours() -> Value {
    json!({"subscriberId": "s-1", "webhookUrl": OURS, "webhookEvents": ["referral-updated"]})
}

async fn mount(server: &MockServer, verb: &str, at: &str, status: u16, body: Value) {
    let answer = ResponseTemplate::new(status).set_body_json(body);
    let mock = Mock::given(method(verb)).and(path(at)).respond_with(answer);
    mock.mount(server).await;
}

/// The requests `server` received, as `METHOD path body`.
async fn sent(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.unwrap_or_default();
    let line = |r: &wiremock::Request| {
        let body = String::from_utf8_lossy(&r.body).into_owned();
        format!("{} {} {body}", r.method, r.url.path())
            .trim_end()
            .to_owned()
    };
    requests.iter().map(line).collect()
}

#[tokio::test]
async fn register_posts_when_nothing_is_registered() {
    let server = MockServer::start().await;
    let not_found = json!({"code": 404, "description": "No registration was found."});
    mount(&server, "GET", REGISTRATION, 404, not_found).await;
    mount(&server, "POST", REGISTRATION, 200, ours()).await;

    let registered = client(&server)
        .webhooks()
        .register(OURS, [WebhookEvent::ReferralUpdated])
        .await
        .unwrap();

    assert_eq!(registered.webhook_url.as_deref(), Some(OURS));
    let body = r#"{"SignatureTokenToMsSignatureHeader":true,"WebhookEvents":["referral-updated"],"WebhookUrl":"https://partner.example.com/partner-center/events"}"#;
    let expected = [
        format!("GET {REGISTRATION}"),
        format!("POST {REGISTRATION} {body}"),
    ];
    assert_eq!(sent(&server).await, expected);
}

#[tokio::test]
async fn register_refuses_to_replace_what_is_registered_and_says_what_it_is() {
    let server = MockServer::start().await;
    mount(&server, "GET", REGISTRATION, 200, theirs()).await;

    let err = client(&server)
        .webhooks()
        .register(OURS, [WebhookEvent::ReferralCreated])
        .await
        .unwrap_err();

    let Error::WebhookRegistered(current) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        current.webhook_url.as_deref(),
        theirs()["webhookUrl"].as_str()
    );
    let shown = err.to_string();
    assert!(shown.contains("prod-42.westus.logic.azure.com"), "{shown}");
    assert!(
        shown.contains("referral-created, referral-updated"),
        "{shown}"
    );
    // Only the look: nothing was written.
    assert_eq!(sent(&server).await, [format!("GET {REGISTRATION}")]);
}

#[tokio::test]
async fn register_replaces_when_told_to() {
    let server = MockServer::start().await;
    mount(&server, "GET", REGISTRATION, 200, theirs()).await;
    mount(&server, "PUT", REGISTRATION, 200, ours()).await;

    let registered = client(&server)
        .webhooks()
        .register(OURS, [WebhookEvent::ReferralUpdated])
        .ms_signature_header(false)
        .replace_existing(true)
        .await
        .unwrap();

    assert_eq!(registered.webhook_url.as_deref(), Some(OURS));
    let body = r#"{"SignatureTokenToMsSignatureHeader":false,"WebhookEvents":["referral-updated"],"WebhookUrl":"https://partner.example.com/partner-center/events"}"#;
    let expected = [
        format!("GET {REGISTRATION}"),
        format!("PUT {REGISTRATION} {body}"),
    ];
    assert_eq!(sent(&server).await, expected);
}

#[tokio::test]
async fn a_registration_made_meanwhile_is_refused_like_one_seen_first() {
    let server = MockServer::start().await;
    let not_found = json!({"code": 404, "description": "No registration was found."});
    // The first look finds nothing; by the time of the POST, someone has registered.
    Mock::given(method("GET"))
        .and(path(REGISTRATION))
        .respond_with(ResponseTemplate::new(404).set_body_json(not_found))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount(&server, "GET", REGISTRATION, 200, theirs()).await;
    let conflict = json!({"code": 409, "description": "A registration exists for this partner."});
    mount(&server, "POST", REGISTRATION, 409, conflict).await;

    let err = client(&server)
        .webhooks()
        .register(OURS, [WebhookEvent::ReferralCreated])
        .await
        .unwrap_err();

    assert!(matches!(err, Error::WebhookRegistered(_)), "{err:?}");
    assert_eq!(sent(&server).await.len(), 3);
}

#[tokio::test]
async fn a_bad_registration_is_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    let webhooks = client(&server);
    let webhooks = webhooks.webhooks();

    for url in [
        "ftp://partner.example.com/events",
        "partner.example.com/events",
        "",
    ] {
        let err = webhooks
            .register(url, [WebhookEvent::ReferralCreated])
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{url}: {err:?}");
    }
    let err = webhooks.update(OURS, []).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert!(sent(&server).await.is_empty());
}

#[tokio::test]
async fn events_registration_and_test_events() {
    let server = MockServer::start().await;
    let names = json!(["referral-created", "referral-updated", "referral-archived"]);
    mount(
        &server,
        "GET",
        "/webhooks/v1/registration/events",
        200,
        names,
    )
    .await;
    mount(&server, "GET", REGISTRATION, 200, ours()).await;
    let sent_event = json!({"correlationId": "8d2f6b1e-3c4a-4b5d-9e6f-7a8b9c0d1e2f"});
    mount(
        &server,
        "POST",
        "/webhooks/v1/registration/validationEvents",
        200,
        sent_event,
    )
    .await;
    let status = json!({
        "correlationId": "8d2f6b1e-3c4a-4b5d-9e6f-7a8b9c0d1e2f", "status": "completed",
        "callbackUrl": OURS,
        "results": [{"responseCode": "OK", "responseMessage": "", "systemError": "",
                     "dateTimeUtc": "2024-05-02T08:30:00.123"}]
    });
    let at = "/webhooks/v1/registration/validationEvents/8d2f6b1e-3c4a-4b5d-9e6f-7a8b9c0d1e2f";
    mount(&server, "GET", at, 200, status).await;
    let client = client(&server);
    let webhooks = client.webhooks();

    let events = webhooks.events().await.unwrap();
    let registration = webhooks.registration().await.unwrap().unwrap();
    let id = webhooks.send_test_event().await.unwrap();
    let delivery = webhooks.test_event(&id).await.unwrap();

    // An event name the spec does not list is kept.
    let expected = [
        WebhookEvent::ReferralCreated,
        WebhookEvent::ReferralUpdated,
        WebhookEvent::Other("referral-archived".into()),
    ];
    assert_eq!(events, expected);
    assert_eq!(registration.webhook_url.as_deref(), Some(OURS));
    assert_eq!(id, "8d2f6b1e-3c4a-4b5d-9e6f-7a8b9c0d1e2f");
    assert_eq!(delivery.status.as_deref(), Some("completed"));
    let results = delivery.results.unwrap();
    assert_eq!(results[0].response_code.as_deref(), Some("OK"));
    let err = webhooks.test_event("").await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
}

#[tokio::test]
async fn update_replaces_without_a_look() {
    let server = MockServer::start().await;
    mount(&server, "PUT", REGISTRATION, 200, ours()).await;

    let updated = client(&server)
        .webhooks()
        .update(OURS, [WebhookEvent::ReferralUpdated])
        .await
        .unwrap();

    assert_eq!(updated.webhook_url.as_deref(), Some(OURS));
    let body = r#"{"SignatureTokenToMsSignatureHeader":true,"WebhookEvents":["referral-updated"],"WebhookUrl":"https://partner.example.com/partner-center/events"}"#;
    assert_eq!(sent(&server).await, [format!("PUT {REGISTRATION} {body}")]);
}
