//! Drifted JSON costs nothing: a known field whose JSON does not fit the spec is kept as sent,
//! reported, and never fails the referral, the page or the call.

use futures_util::TryStreamExt;
use partner_center::models::Referral;
use partner_center::models::drift;
use partner_center_api::lenient::strict;
use partner_center_tests::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

/// The official example with a field of every kind drifted from the spec.
fn drifted() -> Value {
    let mut referral = json(OFFICIAL_EXAMPLE);
    // A list as one plain string, a list as one member, a date as a number, an enum as a
    // number, a link as a bare string, a tag list of objects, an amount as an object.
    referral["customerProfile"]["ids"] = json!("D-U-N-S 123456789");
    referral["customerProfile"]["team"] =
        json!({"firstName": "Ann", "email": "ann@fabrikam.example"});
    referral["createdDateTime"] = json!(1606780800);
    referral["status"] = json!(1);
    referral["links"] = json!({"relatedReferrals": "https://api.partner.microsoft.com/v1.0/x"});
    referral["tags"] = json!([{"tag": "priority"}]);
    referral["details"]["dealValue"] = json!({"amount": 10000, "currency": "USD"});
    referral
}

/// What [`drifted`] reports, in field order.
const DRIFT: &[&str] = &[
    "/createdDateTime: expected a date-time string, found a number",
    "/customerProfile/ids: expected a CustomerIds, found a string",
    "/customerProfile/team: expected an array, found an object",
    "/details/dealValue: expected a number or a numeric string, found an object",
    "/links/relatedReferrals: expected an object, found a string",
    "/status: expected a string, found a number",
    "/tags: expected an array, found an array with an item that does not fit",
];

fn shown(referral: &Referral) -> Vec<String> {
    drift(referral).iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn a_drifted_referral_decodes_keeps_every_value_and_says_where() {
    let body = drifted();
    let server = serve_referral(json_response(200, &body.to_string())).await;
    let captured = Captured::default();
    let _guard = captured.install();

    let referral = client(&server).referrals().get(OFFICIAL_ID).await.unwrap();

    // What fits is typed; what does not is empty, and kept.
    assert_eq!(referral.id.as_deref(), Some(OFFICIAL_ID));
    let customer = referral.customer_profile.as_ref().unwrap();
    assert_eq!(customer.name.as_deref(), Some("Fabrikam Customer Inc"));
    assert_eq!(customer.ids, None);
    assert_eq!(customer.extra["ids"], body["customerProfile"]["ids"]);
    assert_eq!(
        (
            referral.status.as_ref(),
            referral.created_date_time.as_ref()
        ),
        (None, None)
    );
    assert_eq!(shown(&referral), DRIFT);
    // Written back, it is what the service sent.
    assert_eq!(serde_json::to_value(&referral).unwrap(), body);

    // Logged once, as a warning naming every field.
    let logs = captured.text();
    let warnings: Vec<&str> = logs.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{logs}");
    for drift in DRIFT {
        assert!(
            warnings[0].contains(drift),
            "{drift} not in {}",
            warnings[0]
        );
    }
}

#[tokio::test]
async fn one_drifted_referral_does_not_cost_the_page_around_it() {
    let server = MockServer::start().await;
    let page = json!({"value": [listed_referral(1), drifted(), listed_referral(3)]});
    Mock::given(method("GET"))
        .and(path(LIST_PATH))
        .respond_with(json_response(200, &page.to_string()))
        .mount(&server)
        .await;

    let referrals: Vec<Referral> = client(&server)
        .referrals()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();

    let ids: Vec<_> = referrals.iter().map(|r| r.id.as_deref().unwrap()).collect();
    assert_eq!(ids, ["referral-0001", OFFICIAL_ID, "referral-0003"]);
    assert_eq!(shown(&referrals[0]), Vec::<String>::new());
    assert_eq!(shown(&referrals[1]), DRIFT);
}

#[test]
fn a_value_of_the_wrong_shape_inside_a_list_keeps_the_whole_list_as_sent() {
    let mut body = json(OFFICIAL_EXAMPLE);
    let good = json!({"firstName": "Ann", "email": "ann@contoso.example"});
    body["team"] = json!([good, "not a member", null]);

    let referral: Referral = serde_json::from_value(body.clone()).unwrap();

    assert_eq!(referral.team, None);
    assert_eq!(
        shown(&referral),
        ["/team: expected an array, found an array with an item that does not fit"]
    );
    assert_eq!(serde_json::to_value(&referral).unwrap(), body);
}

#[test]
fn nested_drift_is_found_at_its_pointer() {
    let mut body = json(OFFICIAL_EXAMPLE);
    body["team"] = json!([{"firstName": "Ann", "email": ["two", "emails"]}]);
    body["details"]["requirements"]["products"] = json!("one product");
    // JSON Pointer escapes `/` and `~` in names.
    body["customerProfile"]["extraField/with~slash"] = json!(1);

    let referral: Referral = serde_json::from_value(body.clone()).unwrap();

    assert_eq!(
        shown(&referral),
        [
            "/details/requirements/products: expected an array, found a string",
            "/team/0/email: expected a string, found an array",
        ]
    );
    assert_eq!(serde_json::to_value(&referral).unwrap(), body);
}

#[test]
fn strict_decoding_refuses_drift_and_takes_what_fits() {
    let official: Referral = strict::from_slice(OFFICIAL_EXAMPLE.as_bytes()).unwrap();
    assert_eq!(official.id.as_deref(), Some(OFFICIAL_ID));

    let err = strict::from_slice::<Referral>(drifted().to_string().as_bytes()).unwrap_err();
    let strict::StrictError::Drift(found) = &err else {
        panic!("{err}")
    };
    let found: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(found, DRIFT);
    assert!(
        err.to_string()
            .starts_with("drift from the spec: /createdDateTime"),
        "{err}"
    );

    // JSON that is not an object is no referral, strict or not.
    for not_one in ["[]", "5", "\"referral\"", "null"] {
        assert!(
            serde_json::from_str::<Referral>(not_one).is_err(),
            "{not_one}"
        );
        assert!(
            strict::from_slice::<Referral>(not_one.as_bytes()).is_err(),
            "{not_one}"
        );
    }
}

#[test]
fn explicit_nulls_and_absent_fields_stay_apart_in_every_object() {
    let body = json!({
        "id": null,
        "customerProfile": {"name": null, "address": {"city": null}},
        "details": {"dealValue": null},
        "team": [{"email": null}],
        "links": {"self": null}
    });

    let referral: Referral = serde_json::from_value(body.clone()).unwrap();

    assert_eq!(referral.id, None);
    assert_eq!(shown(&referral), Vec::<String>::new());
    assert_eq!(serde_json::to_value(&referral).unwrap(), body);
    assert_eq!(
        serde_json::to_value(Referral::default()).unwrap(),
        json!({}),
        "absent stays absent"
    );
}

#[test]
fn a_required_field_that_drifts_still_fails_its_object() {
    // Required fields tell the branches of a oneOf apart (here the three error shapes): this
    // is none of them, and the client shows it as an excerpt of the body.
    let body = r#"{"statusCode": "429", "message": "slow down"}"#;
    assert!(serde_json::from_str::<partner_center_api::types::ErrorBody>(body).is_err());
    let err = serde_json::from_str::<partner_center_api::types::ThrottlingError>(
        r#"{"statusCode": "429"}"#,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("required field `statusCode`: expected an integer, found a string"),
        "{err}"
    );
}
