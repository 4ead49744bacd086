//! `client.referrals().get(id)`: what is sent, and what comes back.

use partner_center::Error;
use partner_center::models::{ReferralStatus, ReferralSubstatus};
use partner_center_tests::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn decodes_the_official_example() {
    let server = serve_referral(json_response(200, OFFICIAL_EXAMPLE)).await;

    let referral = client(&server).referrals().get(OFFICIAL_ID).await.unwrap();

    assert_eq!(referral.id.as_deref(), Some(OFFICIAL_ID));
    assert_eq!(referral.status, Some(ReferralStatus::New));
    assert_eq!(referral.substatus, Some(ReferralSubstatus::Pending));
    let details = referral.details.as_ref().unwrap();
    assert_eq!(
        details.deal_value.as_ref().and_then(|v| v.to_f64()),
        Some(10000.0)
    );
    let created = referral
        .created_date_time
        .as_ref()
        .unwrap()
        .instant()
        .unwrap();
    assert_eq!(created.to_rfc3339(), "2020-10-30T21:03:00+00:00");
    insta::assert_snapshot!("official_example_decoded", snapshot_json(&referral));
}

#[tokio::test]
async fn sends_the_partner_center_headers() {
    let server = serve_referral(json_response(200, OFFICIAL_EXAMPLE)).await;

    client(&server).referrals().get(OFFICIAL_ID).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let shape = request_shape(&requests[0]);
    let headers = &shape["headers"];
    assert_eq!(headers["client-request-id"], headers["ms-requestid"]);
    assert_ne!(headers["client-request-id"], headers["ms-correlationid"]);
    insta::assert_json_snapshot!("get_referral_request", shape, {
        ".headers[\"client-request-id\"]" => guid_redaction(),
        ".headers[\"ms-requestid\"]" => guid_redaction(),
        ".headers[\"ms-correlationid\"]" => guid_redaction(),
        ".headers.authorization" => insta::dynamic_redaction(|value, _| {
            assert_eq!(value.as_str(), Some(format!("Bearer {TOKEN}").as_str()));
            "Bearer [token]"
        }),
        ".headers[\"user-agent\"]" => insta::dynamic_redaction(|value, _| {
            assert!(value.as_str().unwrap().starts_with("partner-center-rs/"), "{value:?}");
            "partner-center-rs/[version]"
        }),
    });
}

#[tokio::test]
async fn every_call_gets_fresh_request_ids() {
    let server = serve_referral(json_response(200, OFFICIAL_EXAMPLE)).await;
    let client = client(&server);

    client.referrals().get(OFFICIAL_ID).await.unwrap();
    client.referrals().get(OFFICIAL_ID).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    let ids = |name: &str| -> Vec<String> {
        requests
            .iter()
            .map(|r| r.headers[name].to_str().unwrap().to_owned())
            .collect()
    };
    for name in ["client-request-id", "ms-correlationid"] {
        let ids = ids(name);
        assert!(ids.iter().all(|id| is_guid(id)), "{name}: {ids:?}");
        assert_ne!(ids[0], ids[1], "{name} was reused");
    }
}

#[tokio::test]
async fn an_id_is_sent_as_one_percent_encoded_segment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_response(200, OFFICIAL_EXAMPLE))
        .mount(&server)
        .await;
    let client = client(&server);

    for (id, encoded) in [
        ("a/b", "a%2Fb"),
        ("x?y=1#z", "x%3Fy=1%23z"),
        ("50% off", "50%25%20off"),
        ("%2e%2e", "%252e%252e"),
        ("caf\u{e9}", "caf%C3%A9"),
    ] {
        client.referrals().get(id).await.unwrap();
        let requests = server.received_requests().await.unwrap();
        let request = requests.last().unwrap();
        assert_eq!(request.url.path(), referral_path(encoded), "id {id:?}");
        assert_eq!(request.url.query(), None, "id {id:?}");
    }
}

#[tokio::test]
async fn ids_that_cannot_be_a_segment_are_refused_before_sending() {
    let server = MockServer::start().await;
    let client = client(&server);

    for id in ["", "  ", "..", ".", "a\\b", "a\r\nb", " padded "] {
        let err = client.referrals().get(id).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "id {id:?}: {err:?}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn undocumented_success_statuses_are_not_taken_for_a_referral() {
    let server = serve_referral(ResponseTemplate::new(204)).await;

    let err = client(&server)
        .referrals()
        .get(OFFICIAL_ID)
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::Service(e) if e.status() == 204),
        "{err:?}"
    );
}
