//! Webhooks end to end, as a partner's service runs them: register with the sandbox, change a
//! referral through the API, receive the sandbox's signed event over real HTTP, verify it, and
//! read the referral it names.

use std::time::Duration;

use partner_center::PartnerCenter;
use partner_center::auth::StaticToken;
use partner_center::webhooks::{Receiver, Verifier, WebhookEvent};
use partner_center_sandbox::Sandbox;
use partner_center_tests::*;

/// A guard against a hang, not a wait: the event ends it as soon as it arrives.
const GUARD: Duration = Duration::from_secs(60);

#[tokio::test]
async fn register_change_receive_verify_and_fetch() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = PartnerCenter::builder()
        .base_url(sandbox.base_url())
        .token_provider(StaticToken::for_every_scope(TOKEN))
        .build()
        .unwrap();
    let verifier = Verifier::builder()
        .trust_sandbox(sandbox.base_url(), sandbox.webhook_ca_pem())
        .build()
        .unwrap();
    let (router, mut events) = Receiver::new(verifier)
        .dedupe(Duration::from_secs(3600), 1000)
        .router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    client
        .webhooks()
        .register(&url, [WebhookEvent::ReferralUpdated])
        .await
        .unwrap();
    let updated = client
        .referrals()
        .update_by_id(OFFICIAL_ID)
        .notes("Call back on Monday")
        .send()
        .await
        .unwrap();
    let event = tokio::time::timeout(GUARD, events.recv())
        .await
        .expect("the sandbox sent the event")
        .expect("the receiver is running");
    let referral = client
        .referrals()
        .get(event.referral_id().unwrap())
        .await
        .unwrap();

    assert_eq!(event.name(), &WebhookEvent::ReferralUpdated);
    assert_eq!(event.referral_id(), Some(OFFICIAL_ID));
    assert_eq!(
        referral.details.unwrap().notes.as_deref(),
        Some("Call back on Monday")
    );
    // The event's change time is the referral's.
    let updated_at = referral.updated_date_time.unwrap().instant().unwrap();
    assert_eq!(event.changed_at(), updated_at);
    assert_eq!(updated.etag, referral.e_tag);
    let deliveries = sandbox.webhook_deliveries().wait_idle().await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].status, Some(200));
    server.abort();
}
