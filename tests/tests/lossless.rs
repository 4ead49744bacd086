//! Nothing the service sends is lost: unknown fields, enum values and the digits of numbers are
//! kept, and a decoded referral serializes back to the JSON that was received.

use partner_center::models::Referral;
use partner_center::models::{
    AttributeType, CustomerIds, CustomerMarketplaceIntent, PricingModel, PrimaryDeploymentOn,
    ProfileType, ReferralStatus, ReferralType,
};
use partner_center_tests::*;
use serde_json::{Value, json};

/// Serves `body`, gets it through the client, and returns the referral and its re-serialization.
async fn through_the_client(body: &str) -> (Referral, Value) {
    let server = serve_referral(json_response(200, body)).await;
    let referral = client(&server).referrals().get(OFFICIAL_ID).await.unwrap();
    let reserialized = serde_json::to_value(&referral).unwrap();
    (referral, reserialized)
}

#[tokio::test]
async fn the_official_example_round_trips_exactly() {
    let (_, reserialized) = through_the_client(OFFICIAL_EXAMPLE).await;
    assert_eq!(reserialized, json(OFFICIAL_EXAMPLE));
}

#[test]
fn the_spec_carries_the_official_example() {
    let spec: Value = serde_yaml::from_str(partner_center_api::spec::OPENAPI_YAML).unwrap();
    let example = &spec["components"]["examples"]["OfficialReferral"]["value"];
    assert_eq!(example, &json(OFFICIAL_EXAMPLE));
}

#[tokio::test]
async fn unknown_fields_are_kept_at_every_level() {
    let mut body = json(OFFICIAL_EXAMPLE);
    body["aiScore"] = json!({"value": 0.87, "model": "v2"});
    body["customerProfile"]["address"]["county"] = json!("King");
    body["customerProfile"]["segment"] = json!(["SMB", {"tier": 2}]);
    body["details"]["requirements"]["solutions"][0]["rating"] = json!(4.5);
    body["links"]["history"] = json!({"uri": "https://example.test/h", "method": "GET"});

    let (referral, reserialized) = through_the_client(&body.to_string()).await;

    assert_eq!(reserialized, body);
    assert_eq!(referral.extra["aiScore"]["model"], "v2");
    let address = referral
        .customer_profile
        .as_ref()
        .unwrap()
        .address
        .as_ref()
        .unwrap();
    assert_eq!(address.extra["county"], "King");
}

/// The fields the second round of research found (Microsoft's connector and real payloads) are
/// typed, not left in `extra`, and still round-trip.
#[tokio::test]
async fn the_fields_found_in_real_payloads_are_typed() {
    let mut body = json(OFFICIAL_EXAMPLE);
    body["lastRunId"] = json!("run-42");
    body["customerProfile"]["id"] = json!("cust-7");
    body["customerProfile"]["ids"] = json!([{"profileType": "Duns", "id": "970002754"}]);
    body["customerProfile"]["team"] = json!([{
        "email": "ann@fabrikam.example",
        "emailValidationStatus": "Validated",
        "phoneValidationStatus": null
    }]);
    let details = &mut body["details"];
    details["incentiveLevel"] = json!("Tier1");
    details["requirements"]["solutions"][0]["closingDateTime"] = json!("2021-01-31T00:00:00Z");
    details["requirements"]["additionalRequirements"] = json!({
        "attributes": [{"id": "Yes", "type": "CustomerMarketplaceIntent"}],
        "iot": {
            "customerLicenseAgreementNumber": "CLA-1",
            "deviceCategory": null,
            "siliconType": "ARM",
            "azureCertifiedDevice": false,
            "attachServices": true
        }
    });
    body["trackingInfo"] = json!({
        "microsoftMsxId": null,
        "microsoftUSFedOpportunityId": "fed-opp",
        "microsoftUSFedLeadId": "fed-lead",
        "migratedPSCDealId": "psc-deal",
        "migratedPSCPartnerDealId": "psc-partner-deal"
    });
    body["registrations"] = json!([{"solutionDetails": [{
        "id": "sol-1",
        "name": "Contoso Analytics",
        "value": json("125000.50"),
        "currency": "USD",
        "isDeployedOnAzure": true,
        "primaryDeploymentOn": "Customer",
        "pricingModel": "Other",
        "marketplaceTransactionDetails": {
            "isMarketplaceTransacted": true,
            "marketplaceTransactionDateTime": "2021-02-01T10:00:00Z"
        }
    }]}]);

    let (referral, reserialized) = through_the_client(&body.to_string()).await;

    // What `extra` holds besides the explicit nulls of known fields (kept there too).
    let unknown = |extra: &serde_json::Map<String, Value>| {
        extra
            .iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(key, _)| key.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(referral.last_run_id.as_deref(), Some("run-42"));
    assert!(unknown(&referral.extra).is_empty());
    let customer = referral.customer_profile.as_ref().unwrap();
    assert_eq!(customer.id.as_deref(), Some("cust-7"));
    let Some(CustomerIds::IdList(ids)) = &customer.ids else {
        panic!("{:?}", customer.ids)
    };
    assert_eq!(ids[0].profile_type, Some(ProfileType::Duns));
    let member = &customer.team.as_ref().unwrap()[0];
    assert_eq!(member.email_validation_status.as_deref(), Some("Validated"));
    assert!(unknown(&member.extra).is_empty());
    let details = referral.details.as_ref().unwrap();
    assert_eq!(details.incentive_level.as_deref(), Some("Tier1"));
    let requirements = details.requirements.as_ref().unwrap();
    let solution = &requirements.solutions.as_ref().unwrap()[0];
    assert!(
        solution
            .closing_date_time
            .as_ref()
            .unwrap()
            .instant()
            .is_some()
    );
    let additional = requirements.additional_requirements.as_ref().unwrap();
    let intent = &additional.attributes.as_ref().unwrap()[0];
    assert_eq!(intent.type_, Some(AttributeType::CustomerMarketplaceIntent));
    assert_eq!(intent.id, Some(CustomerMarketplaceIntent::Yes));
    let iot = additional.iot.as_ref().unwrap();
    assert_eq!(
        (iot.azure_certified_device, iot.attach_services),
        (Some(false), Some(true))
    );
    assert_eq!(iot.silicon_type.as_deref(), Some("ARM"));
    let tracking = referral.tracking_info.as_ref().unwrap();
    assert_eq!(
        tracking.microsoft_us_fed_lead_id.as_deref(),
        Some("fed-lead")
    );
    assert_eq!(
        tracking.migrated_psc_partner_deal_id.as_deref(),
        Some("psc-partner-deal")
    );
    assert!(unknown(&tracking.extra).is_empty());
    let registration = &referral.registrations.as_ref().unwrap()[0];
    let solution = &registration.solution_details.as_ref().unwrap()[0];
    assert_eq!(
        solution.pricing_model,
        Some(PricingModel::OtherPricingModel)
    );
    assert_eq!(
        solution.primary_deployment_on,
        Some(PrimaryDeploymentOn::Customer)
    );
    assert_eq!(solution.value.as_ref().unwrap().to_string(), "125000.50");
    let transaction = solution.marketplace_transaction_details.as_ref().unwrap();
    assert_eq!(transaction.is_marketplace_transacted, Some(true));
    assert!(unknown(&solution.extra).is_empty());
    // Everything as sent, the `null`s of known fields included.
    assert_eq!(reserialized, body);
}

/// `customerProfile.ids` comes as a list in most payloads and as an object in some (a 2019 list
/// example sends `"ids": {}`): both decode, typed, and round-trip.
#[tokio::test]
async fn customer_ids_come_as_a_list_or_an_object() {
    for (ids, by_type) in [
        (json!({}), true),
        (
            json!({"Duns": "970002754", "External": "crm-1", "Other": 5}),
            true,
        ),
        (json!([]), false),
    ] {
        let mut body = json(OFFICIAL_EXAMPLE);
        body["customerProfile"]["ids"] = ids.clone();

        let (referral, reserialized) = through_the_client(&body.to_string()).await;

        assert_eq!(reserialized, body, "{ids}");
        let decoded = referral.customer_profile.unwrap().ids.unwrap();
        match decoded {
            CustomerIds::IdsByType(by) if by_type => {
                assert_eq!(by.duns.as_deref(), ids["Duns"].as_str());
                assert_eq!(by.extra.get("Other"), ids.get("Other"));
            }
            CustomerIds::IdList(list) if !by_type => assert!(list.is_empty()),
            other => panic!("{ids} decoded as {other:?}"),
        }
    }
}

#[tokio::test]
async fn unknown_enum_values_are_kept_verbatim() {
    let mut body = json(OFFICIAL_EXAMPLE);
    body["status"] = json!("Frozen");
    body["type"] = json!("Partnered");
    body["substatus"] = json!("");

    let (referral, reserialized) = through_the_client(&body.to_string()).await;

    assert_eq!(
        referral.status,
        Some(ReferralStatus::Other("Frozen".into()))
    );
    assert_eq!(
        referral.type_,
        Some(ReferralType::Other("Partnered".into()))
    );
    assert_eq!(reserialized, body);
}

#[tokio::test]
async fn nulls_and_missing_fields_decode() {
    let body = json!({
        "id": OFFICIAL_ID,
        "name": null,
        "status": null,
        "createdDateTime": null,
        "customerProfile": {"name": null, "address": null, "team": null},
        "details": {"dealValue": null, "closingDateTime": null, "requirements": {"products": null}},
        "team": null,
        "tags": null,
        "favorite": null,
        "trackingInfo": {"microsoftMsxId": null, "otherId": null}
    });

    let (referral, reserialized) = through_the_client(&body.to_string()).await;

    assert_eq!(referral.status, None);
    assert_eq!(referral.created_date_time, None);
    assert_eq!(referral.customer_profile.as_ref().unwrap().name, None);
    assert_eq!(referral.details.as_ref().unwrap().deal_value, None);
    // Explicit nulls stay explicit (absent fields stay absent), known and unknown alike, and
    // a null in an optional field is no drift.
    assert_eq!(reserialized, body);
    assert_eq!(partner_center_api::lenient::drift(&referral), []);
}

#[tokio::test]
async fn date_times_keep_their_text_and_instant() {
    let mut body = json(OFFICIAL_EXAMPLE);
    body["acceptedDateTime"] = json!("2020-11-02T08:30:15.1234567+01:00");
    body["closedDateTime"] = json!("0001-01-01T00:00:00");

    let (referral, reserialized) = through_the_client(&body.to_string()).await;

    let accepted = referral.accepted_date_time.as_ref().unwrap();
    assert_eq!(
        accepted.instant().unwrap().to_rfc3339(),
        "2020-11-02T07:30:15.123456700+00:00"
    );
    let closed = referral.closed_date_time.as_ref().unwrap();
    assert_eq!(
        closed.instant().unwrap().to_rfc3339(),
        "0001-01-01T00:00:00+00:00"
    );
    assert_eq!(reserialized, body);
}

#[tokio::test]
async fn empty_arrays_and_strings_survive() {
    let mut body = json(OFFICIAL_EXAMPLE);
    body["tags"] = json!([]);
    body["team"] = json!([]);
    body["details"]["dealValue"] = json!(12345.67);
    body["details"]["notes"] = json!("");

    let (_, reserialized) = through_the_client(&body.to_string()).await;

    assert_eq!(reserialized, body);
}

/// A deal value past every integer and float type.
const BIG: &str = "123456789012345678901234567890";
/// A decimal with more digits than an `f64` holds.
const LONG_DECIMAL: &str = "123456789012345678901234567890.000000000000000001";
/// One past `u64::MAX`.
const PAST_U64: &str = "18446744073709551616";

/// `text` with its one occurrence of `from` replaced by `to`.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?}");
    text.replacen(from, to, 1)
}

/// The official example as text, with numbers no integer or float type holds: the deal
/// value, a solution's quantity, and unknown fields: a decimal with a trailing zero, one with
/// too many digits, a big integer. Written as text, so no parser of this test can round them.
fn with_big_numbers() -> String {
    let body = replace_once(
        OFFICIAL_EXAMPLE,
        r#""dealValue": 10000"#,
        &format!(r#""dealValue": {BIG}"#),
    );
    let body = replace_once(
        &body,
        r#""id": "SOL-Microsoft365","#,
        &format!(r#""id": "SOL-Microsoft365", "quantity": {PAST_U64},"#),
    );
    replace_once(
        &body,
        r#""eTag":"#,
        &format!(r#""score": 1.10, "exactScore": {LONG_DECIMAL}, "rank": {BIG}, "eTag":"#),
    )
}

/// Asserts that `json` (compact JSON text) holds `"name":number` verbatim.
fn assert_number(json: &str, name: &str, number: &str) {
    let field = format!(r#""{name}":{number}"#);
    assert!(json.contains(&field), "{field} not in {json}");
}

#[tokio::test]
async fn numbers_keep_their_exact_text() {
    let body = with_big_numbers();

    let (referral, reserialized) = through_the_client(&body).await;

    let details = referral.details.as_ref().unwrap();
    assert_eq!(details.deal_value.as_ref().unwrap().to_string(), BIG);
    let solution = &details
        .requirements
        .as_ref()
        .unwrap()
        .solutions
        .as_ref()
        .unwrap()[0];
    let quantity = solution.quantity.as_ref().unwrap();
    assert_eq!(
        (quantity.to_string().as_str(), quantity.as_u64()),
        (PAST_U64, None)
    );
    assert_eq!(referral.extra["score"].to_string(), "1.10");
    assert_eq!(referral.extra["exactScore"].to_string(), LONG_DECIMAL);
    assert_eq!(referral.extra["rank"].to_string(), BIG);
    let text = serde_json::to_string(&referral).unwrap();
    assert_number(&text, "dealValue", BIG);
    assert_number(&text, "quantity", PAST_U64);
    assert_number(&text, "score", "1.10");
    assert_number(&text, "exactScore", LONG_DECIMAL);
    assert_number(&text, "rank", BIG);
    // The rest round-trips too.
    assert_eq!(reserialized, json(&body));
}

#[tokio::test]
async fn a_page_keeps_its_numbers() {
    let server = wiremock::MockServer::start().await;
    let page = format!(
        r#"{{"@odata.count": {BIG}, "value": [{}]}}"#,
        with_big_numbers()
    );
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(json_response(200, &page))
        .mount(&server)
        .await;

    let listed = client(&server)
        .referrals()
        .list()
        .count(true)
        .send()
        .await
        .unwrap();

    // `Page::count` is an `i64`: a count past it is unknown, never a wrong number.
    assert_eq!(listed.count, None);
    let text = serde_json::to_string(&listed.items).unwrap();
    assert_number(&text, "dealValue", BIG);
    assert_number(&text, "quantity", PAST_U64);
    assert_number(&text, "exactScore", LONG_DECIMAL);
    // The page's model keeps the count itself.
    let decoded: partner_center_api::types::ReferralPage = serde_json::from_str(&page).unwrap();
    assert_eq!(decoded.odata_count.as_ref().unwrap().to_string(), BIG);
    assert_number(
        &serde_json::to_string(&decoded).unwrap(),
        "@odata.count",
        BIG,
    );
}
