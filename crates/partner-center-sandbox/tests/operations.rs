//! List, create and update over HTTP: OData queries, server-side paging, writes, `If-Match`,
//! `Prefer`, the lifecycle.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use partner_center_sandbox::{Fault, OFFICIAL_REFERRAL_ID, Sandbox};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};
use support::*;

const REFERRALS: &str = "/v1.0/engagements/referrals";

/// `GET /v1.0/engagements/referrals?{query}` (the query already percent-encoded).
async fn list(sandbox: &Sandbox, query: &str) -> Response {
    get(sandbox.base_url(), &format!("{REFERRALS}?{query}")).await
}

async fn list_ok(sandbox: &Sandbox, query: &str) -> Value {
    let response = list(sandbox, query).await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    response.json().await.unwrap()
}

/// Every page of a listing, following `@odata.nextLink` from `query`.
async fn all_pages(sandbox: &Sandbox, query: &str) -> Vec<Value> {
    let client = Client::new();
    let mut pages = Vec::new();
    let mut next = Some(format!("{}{REFERRALS}?{query}", sandbox.base_url()));
    while let Some(url) = next.take() {
        let response = client.get(&url).bearer_auth("t").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let page: Value = response.json().await.unwrap();
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
        pages.push(page);
    }
    pages
}

fn ids(pages: &[Value]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|page| page["value"].as_array().unwrap())
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// `filter` percent-encoded for a query string.
fn encoded(filter: &str) -> String {
    form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

async fn error_of(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    body["error"].clone()
}

async fn send_json(
    sandbox: &Sandbox,
    method: Method,
    path: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> Response {
    send_with(sandbox, method, path, Some(body), headers).await
}

/// `method path` with a token, `headers`, and `body` as JSON when there is one.
async fn send_with(
    sandbox: &Sandbox,
    method: Method,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Response {
    let mut request = Client::new()
        .request(method, format!("{}{path}", sandbox.base_url()))
        .bearer_auth("t");
    if let Some(body) = body {
        request = request.json(body);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn patch(sandbox: &Sandbox, id: &str, body: Value, headers: &[(&str, &str)]) -> Response {
    send_json(sandbox, Method::PATCH, &referral_path(id), &body, headers).await
}

fn new_referral() -> Value {
    json!({
        "type": "Shared",
        "name": "Northwind - Azure migration",
        "customerProfile": {"name": "Northwind Traders", "address": {"country": "DE"}},
        "consent": {"consentToContact": true, "consentToShareReferralWithMicrosoftSellers": true},
        "details": {"dealValue": 120000, "currency": "EUR", "notes": "Lift and shift"},
        "team": [{"email": "lee.gu@contoso.example"}]
    })
}

fn status_move(status: &str, substatus: &str) -> Value {
    json!([
        {"op": "replace", "path": "/status", "value": status},
        {"op": "replace", "path": "/substatus", "value": substatus}
    ])
}

/// The id of the first generated referral in `status`/`substatus`.
fn seeded(sandbox: &Sandbox, status: &str, substatus: &str) -> String {
    sandbox
        .referrals()
        .into_iter()
        .skip(1)
        .find(|r| {
            r.status.as_ref().map(ToString::to_string).as_deref() == Some(status)
                && r.substatus.as_ref().map(ToString::to_string).as_deref() == Some(substatus)
        })
        .and_then(|r| r.id)
        .unwrap()
}

#[tokio::test]
async fn paging_serves_every_referral_once_in_order_across_many_pages() {
    let sandbox = Sandbox::start().await.unwrap();
    let pages = all_pages(&sandbox, "$count=true").await;
    assert_eq!(pages.len(), 26);
    for page in &pages {
        assert_eq!(page["@odata.count"], 2_501);
        assert!(page["value"].as_array().unwrap().len() <= 100);
        assert_eq!(
            page["@odata.context"],
            "https://api.partner.microsoft.com/v1.0/engagments/referrals/$metadata#Referrals"
        );
    }
    assert!(pages.last().unwrap().get("@odata.nextLink").is_none());
    assert_eq!(ids(&pages), sandbox.referral_ids());

    // The next link points back at the sandbox, keeps the query, and carries a $skiptoken.
    let link = pages[0]["@odata.nextLink"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("{}{REFERRALS}?", sandbox.base_url())),
        "{link}"
    );
    assert!(link.contains("$count=true&$skiptoken="), "{link}");
}

#[tokio::test]
async fn top_sets_the_page_size_and_skip_the_start() {
    let sandbox = sandbox(30).await;
    let everything = sandbox.referral_ids();
    let pages = all_pages(&sandbox, "$top=7").await;
    assert_eq!(pages.len(), 5);
    assert_eq!(ids(&pages), everything);

    let pages = all_pages(&sandbox, "$top=10&$skip=25").await;
    assert_eq!(ids(&pages), everything[25..]);
    let page = list_ok(&sandbox, "$skip=500&$count=true").await;
    assert_eq!(page["value"], json!([]));
    assert_eq!(page["@odata.count"], 31);
    assert!(page.get("@odata.nextLink").is_none());
}

#[tokio::test]
async fn filters_select_what_they_say() {
    let sandbox = sandbox(300).await;
    let referrals: Vec<Value> = sandbox
        .referrals()
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    let expected = |keep: &dyn Fn(&Value) -> bool| -> Vec<String> {
        referrals
            .iter()
            .filter(|r| keep(r))
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let listed = |filter: String| {
        let sandbox = &sandbox;
        async move { ids(&all_pages(sandbox, &format!("$filter={}", encoded(&filter))).await) }
    };

    let new_incoming = listed("status eq 'New' and direction eq 'Incoming'".into()).await;
    assert_eq!(
        new_incoming,
        expected(&|r| r["status"] == "New" && r["direction"] == "Incoming")
    );
    assert!(new_incoming.len() > 10);

    let german_or_french = listed(
        "(customerProfile/address/country eq 'DE' or customerProfile/address/country eq 'FR') \
         and substatus ne 'Expired'"
            .into(),
    )
    .await;
    assert_eq!(
        german_or_french,
        expected(&|r| {
            let country = &r["customerProfile"]["address"]["country"];
            (country == "DE" || country == "FR") && r["substatus"] != "Expired"
        })
    );
    assert!(!german_or_french.is_empty());

    let email = "megan.bowen@contoso.example";
    let megans = listed(format!("team/any(t:t/email eq '{email}')")).await;
    assert_eq!(
        megans,
        expected(&|r| {
            r["team"]
                .as_array()
                .is_some_and(|team| team.iter().any(|m| m["email"] == email))
        })
    );
    assert!(!megans.is_empty());

    let since = "2025-05-01T00:00:00Z";
    let recent = listed(format!("updatedDateTime ge {since}")).await;
    let cutoff = chrono::DateTime::parse_from_rfc3339(since).unwrap();
    assert_eq!(
        recent,
        expected(&|r| {
            let updated = r["updatedDateTime"].as_str().unwrap();
            chrono::DateTime::parse_from_rfc3339(updated).unwrap() >= cutoff
        })
    );
    assert!(!recent.is_empty() && recent.len() < referrals.len());

    let engagement = referrals[5]["engagementId"].as_str().unwrap();
    let related = listed(format!("engagementId eq '{engagement}'")).await;
    assert_eq!(related, expected(&|r| r["engagementId"] == engagement));

    assert_eq!(
        listed(format!("id eq '{OFFICIAL_REFERRAL_ID}'")).await,
        [OFFICIAL_REFERRAL_ID]
    );
    assert!(listed("name eq 'It''s not there'".into()).await.is_empty());
}

#[tokio::test]
async fn a_created_name_with_quotes_is_found_with_doubled_quotes() {
    let sandbox = sandbox(3).await;
    let mut referral = new_referral();
    referral["name"] = json!("O'Brien's 'big' deal");
    let response = send_json(&sandbox, Method::POST, REFERRALS, &referral, &[]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();

    let filter = encoded("name eq 'O''Brien''s ''big'' deal'");
    let page = list_ok(&sandbox, &format!("$filter={filter}")).await;
    assert_eq!(page["value"].as_array().unwrap().len(), 1);
    assert_eq!(page["value"][0]["id"], created["id"]);
}

#[tokio::test]
async fn order_by_dates_is_stable_across_pages() {
    let sandbox = sandbox(240).await;
    let pages = all_pages(
        &sandbox,
        "$orderby=createdDateTime%20desc,updatedDateTime&$top=25",
    )
    .await;
    let referrals: Vec<&Value> = pages
        .iter()
        .flat_map(|p| p["value"].as_array().unwrap())
        .collect();
    assert_eq!(referrals.len(), 241);
    let unique: BTreeSet<_> = referrals.iter().map(|r| r["id"].as_str()).collect();
    assert_eq!(unique.len(), 241);
    let created = |r: &Value| {
        chrono::DateTime::parse_from_rfc3339(r["createdDateTime"].as_str().unwrap()).unwrap()
    };
    assert!(referrals.windows(2).all(|w| created(w[0]) >= created(w[1])));

    let ascending = ids(&all_pages(&sandbox, "$orderby=createdDateTime%20asc").await);
    let mut expected: Vec<String> = ids(&pages);
    expected.reverse();
    // Ties keep creation order in both directions, so only the dates must be reversed.
    let dates = |ids: &[String]| -> Vec<String> {
        let by_id: std::collections::HashMap<_, _> = sandbox
            .referrals()
            .into_iter()
            .map(|r| {
                (
                    r.id.clone().unwrap(),
                    r.created_date_time.unwrap().to_string(),
                )
            })
            .collect();
        ids.iter().map(|id| by_id[id].clone()).collect()
    };
    assert_eq!(dates(&ascending), dates(&expected));
}

#[tokio::test]
async fn a_referral_created_while_paging_is_neither_repeated_nor_skipped() {
    let sandbox = sandbox(40).await;
    let client = Client::new();
    let first: Value = list_ok(&sandbox, "$orderby=createdDateTime%20desc&$top=10").await;
    // Created now, it sorts first: a position-based next page is not shifted by it.
    let response = send_json(&sandbox, Method::POST, REFERRALS, &new_referral(), &[]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let mut seen = ids(std::slice::from_ref(&first));
    let mut next = first["@odata.nextLink"].as_str().map(str::to_owned);
    while let Some(url) = next.take() {
        let page: Value = client
            .get(&url)
            .bearer_auth("t")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen.extend(ids(std::slice::from_ref(&page)));
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
    }
    let mut original = sandbox.referral_ids();
    original.pop();
    let (mut seen_sorted, mut original_sorted) = (seen.clone(), original);
    seen_sorted.sort();
    original_sorted.sort();
    assert_eq!(seen_sorted, original_sorted);
}

#[tokio::test]
async fn select_returns_only_the_fields_asked_for_and_the_id() {
    let sandbox = sandbox(5).await;
    let page = list_ok(&sandbox, "$select=status,%20substatus&$top=3").await;
    for referral in page["value"].as_array().unwrap() {
        let mut fields: Vec<&String> = referral.as_object().unwrap().keys().collect();
        fields.sort();
        assert_eq!(fields, ["id", "status", "substatus"]);
    }
}

#[tokio::test]
async fn a_bad_query_is_a_400_that_says_what_is_wrong() {
    let sandbox = sandbox(3).await;
    for (query, target, expected) in [
        (
            format!("$filter={}", encoded("status eq 'New' and")),
            "$filter",
            "invalid $filter at character 20: expected a field, found the end",
        ),
        (
            format!("$filter={}", encoded("status eq 'New")),
            "$filter",
            "the string is not closed",
        ),
        (
            format!("$filter={}", encoded("status gt 'New'")),
            "$filter",
            "only date-times can be ordered",
        ),
        ("$top=0".into(), "$top", "from 1 to 100"),
        ("$top=101".into(), "$top", "from 1 to 100"),
        ("$skip=-3".into(), "$skip", "from 0"),
        ("$count=maybe".into(), "$count", "true or false"),
        ("$orderby=name".into(), "$orderby", "date-time fields only"),
        (
            "$skiptoken=nope".into(),
            "$skiptoken",
            "not one this listing gave out",
        ),
    ] {
        let error = error_of(list(&sandbox, &query).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(error["code"], "invalidRequest", "{query}");
        assert_eq!(error["target"], target, "{query}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(expected), "{query}: {message}");
    }
}

#[tokio::test]
async fn next_links_point_at_the_host_the_client_used() {
    let sandbox = sandbox(150).await;
    let url = format!("http://localhost:{}{REFERRALS}", sandbox.addr().port());
    let page: Value = Client::new()
        .get(url)
        .bearer_auth("t")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = page["@odata.nextLink"].as_str().unwrap();
    assert!(
        link.starts_with(&format!(
            "http://localhost:{}{REFERRALS}?$skiptoken=",
            sandbox.addr().port()
        )),
        "{link}"
    );
}

#[tokio::test]
async fn create_sets_what_the_service_sets_and_the_referral_can_be_read_back() {
    let sandbox = sandbox(3).await;
    let response = send_json(&sandbox, Method::POST, REFERRALS, &new_referral(), &[]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let etag = header(response.headers(), "etag").unwrap().to_owned();
    let created: Value = response.json().await.unwrap();

    let id = created["id"].as_str().unwrap();
    assert!(is_guid(id), "{id}");
    assert!(is_guid(created["engagementId"].as_str().unwrap()));
    assert_eq!(created["eTag"], etag.as_str());
    assert!(etag.starts_with('"') && etag.ends_with('"'));
    assert_eq!(
        (&created["status"], &created["substatus"]),
        (&json!("New"), &json!("Pending"))
    );
    assert_eq!(created["createdDateTime"], created["updatedDateTime"]);
    assert_eq!(created["createdDateTime"].as_str().unwrap().len(), 28);
    assert!(created["expirationDateTime"].is_string());
    for (field, value) in new_referral().as_object().unwrap() {
        assert_eq!(&created[field], value, "{field}");
    }

    let read: Value = get(sandbox.base_url(), &referral_path(id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, created);
    assert_eq!(sandbox.referral_ids().last().map(String::as_str), Some(id));
    let page = list_ok(
        &sandbox,
        &format!("$filter={}", encoded(&format!("id eq '{id}'"))),
    )
    .await;
    assert_eq!(page["value"], json!([created]));
}

/// A deal value past every integer and float type.
const BIG: &str = "123456789012345678901234567890";
/// A decimal with more digits than an `f64` holds.
const LONG_DECIMAL: &str = "123456789012345678901234567890.000000000000000001";
/// One past `u64::MAX`.
const PAST_U64: &str = "18446744073709551616";

/// `method path` with `body` as its exact JSON text.
async fn send_text(
    sandbox: &Sandbox,
    method: Method,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Response {
    let mut request = Client::new()
        .request(method, format!("{}{path}", sandbox.base_url()))
        .bearer_auth("t")
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// Asserts that the compact JSON `text` holds `"name":number` verbatim.
fn assert_number(text: &str, name: &str, number: &str) {
    let field = format!(r#""{name}":{number}"#);
    assert!(text.contains(&field), "{field} not in {text}");
}

#[tokio::test]
async fn numbers_are_kept_digit_for_digit() {
    let sandbox = sandbox(3).await;
    let referral = new_referral().to_string().replacen(
        r#""dealValue":120000"#,
        &format!(r#""dealValue":{BIG},"rank":{PAST_U64},"score":1.10"#),
        1,
    );
    assert!(referral.contains(BIG));

    let response = send_text(&sandbox, Method::POST, REFERRALS, &referral, &[]).await;
    let status = response.status();
    let created = response.text().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_number(&created, "dealValue", BIG);
    assert_number(&created, "rank", PAST_U64);
    assert_number(&created, "score", "1.10");
    let id = serde_json::from_str::<Value>(&created).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = get(sandbox.base_url(), &referral_path(&id)).await;
    let read = read.text().await.unwrap();
    assert_number(&read, "dealValue", BIG);
    assert_number(&read, "rank", PAST_U64);
    assert_number(&read, "score", "1.10");

    let set = format!(r#"[{{"op":"replace","path":"/details/dealValue","value":{LONG_DECIMAL}}}]"#);
    let prefer = [("Prefer", "return=representation")];
    let response = send_text(&sandbox, Method::PATCH, &referral_path(&id), &set, &prefer).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_number(&response.text().await.unwrap(), "dealValue", LONG_DECIMAL);
    let filter = encoded(&format!("id eq '{id}'"));
    let listed = list(&sandbox, &format!("$filter={filter}")).await;
    let listed = listed.text().await.unwrap();
    assert_number(&listed, "dealValue", LONG_DECIMAL);
    assert_number(&listed, "rank", PAST_U64);
    assert_number(&listed, "score", "1.10");
}

#[tokio::test]
async fn create_ignores_server_set_fields_and_starts_new() {
    let sandbox = sandbox(3).await;
    let mut referral = new_referral();
    let mine = [
        ("@odata.context", json!("https://example.test/$metadata")),
        ("id", json!("my-own-id")),
        ("engagementId", json!("my-engagement")),
        ("organizationId", json!("my-organization")),
        ("organizationName", json!("Not the partner")),
        ("createdDateTime", json!("1999-01-01T00:00:00Z")),
        ("updatedDateTime", json!("1999-01-01T00:00:00Z")),
        ("expirationDateTime", json!("1999-01-15T00:00:00Z")),
        ("acceptedDateTime", json!("1999-01-02T00:00:00Z")),
        ("closedDateTime", json!("1999-01-03T00:00:00Z")),
        ("eTag", json!("\"mine\"")),
        (
            "links",
            json!({"self": {"uri": "https://example.test/mine", "method": "GET"}}),
        ),
    ];
    for (field, value) in &mine {
        referral[*field] = value.clone();
    }
    referral["status"] = json!("New");
    referral["substatus"] = json!("Received");
    let created: Value = send_json(&sandbox, Method::POST, REFERRALS, &referral, &[])
        .await
        .json()
        .await
        .unwrap();
    for (field, value) in &mine {
        assert_ne!(&created[*field], value, "{field}");
    }
    assert!(created["acceptedDateTime"].is_null() && created["closedDateTime"].is_null());
    assert!(created["createdDateTime"].as_str().unwrap() > "2020");
    assert!(created["expirationDateTime"].as_str().unwrap() > "2020");
    assert_eq!(
        (&created["status"], &created["substatus"]),
        (&json!("New"), &json!("Received"))
    );
}

#[tokio::test]
async fn create_refuses_what_the_service_requires_or_the_spec_forbids() {
    let sandbox = sandbox(3).await;
    let without = |field: &str| {
        let mut referral = new_referral();
        referral.as_object_mut().unwrap().remove(field);
        referral
    };
    let with = |field: &str, value: Value| {
        let mut referral = new_referral();
        referral[field] = value;
        referral
    };
    let customer = |address: Value| json!({"name": "Northwind Traders", "address": address});
    for (body, target, expected) in [
        (without("type"), "type", "\"type\" is a required property"),
        (
            without("customerProfile"),
            "customerProfile",
            "\"customerProfile\" is a required property",
        ),
        (
            without("consent"),
            "consent",
            "\"consent\" is a required property",
        ),
        (
            with("details", Value::Null),
            "details",
            "null is not of type \"object\"",
        ),
        (json!([1, 2]), "body", "a JSON object"),
        (
            with("type", json!("Exclusive")),
            "type",
            "\"Exclusive\" is not one of",
        ),
        // A referral starts New: it cannot be created Active or Closed/Won.
        (
            with("status", json!("Active")),
            "status",
            "\"Active\" is not one of",
        ),
        (
            with("status", json!("Closed")),
            "status",
            "\"Closed\" is not one of",
        ),
        (
            with("substatus", json!("Won")),
            "substatus",
            "\"Won\" is not one of",
        ),
        (
            with("details", json!({"closingDateTime": "next week"})),
            "details/closingDateTime",
            "is not a \"date-time\"",
        ),
        (
            with("customerProfile", customer(json!({"country": "Germany"}))),
            "customerProfile/address/country",
            "\"Germany\" does not match \"^[A-Z]{2}$\"",
        ),
        (
            with("details", json!({"dealValue": 5, "currency": "euro"})),
            "details/currency",
            "\"euro\" does not match \"^[A-Z]{3}$\"",
        ),
    ] {
        let response = send_json(&sandbox, Method::POST, REFERRALS, &body, &[]).await;
        let error = error_of(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(error["code"], "invalidRequest");
        assert_eq!(error["target"], target, "{body}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(expected), "{body}: {message}");
    }

    let response = Client::new()
        .post(format!("{}{REFERRALS}", sandbox.base_url()))
        .bearer_auth("t")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let error = error_of(response, StatusCode::BAD_REQUEST).await;
    assert!(error["message"].as_str().unwrap().contains("not JSON"));
    assert_eq!(sandbox.referral_ids().len(), 4, "nothing was created");
}

#[tokio::test]
async fn patch_answers_204_or_the_referral_with_prefer() {
    let sandbox = sandbox(10).await;
    let id = seeded(&sandbox, "New", "Pending");
    let before = sandbox
        .referrals()
        .into_iter()
        .find(|r| r.id.as_deref() == Some(&id))
        .unwrap();

    let notes = json!([
        {"op": "replace", "path": "/details/notes", "value": "Call on Monday"},
        {"op": "add", "path": "/team/-", "value": {"email": "alex.wilber@contoso.example"}},
        {"op": "add", "path": "/tags", "value": ["priority"]}
    ]);
    let response = patch(&sandbox, &id, notes, &[]).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let etag = header(response.headers(), "etag").unwrap().to_owned();
    assert!(response.headers().get("content-type").is_none());
    assert!(response.bytes().await.unwrap().is_empty());

    let read: Value = get(sandbox.base_url(), &referral_path(&id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["details"]["notes"], "Call on Monday");
    let team = read["team"].as_array().unwrap();
    assert_eq!(team.last().unwrap()["email"], "alex.wilber@contoso.example");
    assert_eq!(team.len(), before.team.as_ref().unwrap().len() + 1);
    assert_eq!(read["tags"], json!(["priority"]));
    assert_eq!(read["eTag"], etag.as_str());
    assert_ne!(read["eTag"].as_str(), before.e_tag.as_deref());
    assert_ne!(
        read["updatedDateTime"].as_str(),
        before.updated_date_time.as_ref().map(|t| t.as_str())
    );

    let prefer = [("Prefer", "return=representation")];
    let response = patch(&sandbox, &id, status_move("Active", "Accepted"), &prefer).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(response.headers(), "preference-applied"),
        Some("return=representation")
    );
    let etag = header(response.headers(), "etag").unwrap().to_owned();
    let accepted: Value = response.json().await.unwrap();
    assert_eq!(accepted["eTag"], etag.as_str());
    assert_eq!(
        (&accepted["status"], &accepted["substatus"]),
        (&json!("Active"), &json!("Accepted"))
    );
    assert!(accepted["acceptedDateTime"].is_string());
    assert_eq!(accepted["details"]["notes"], "Call on Monday");

    // `null` is a value: it clears the field.
    let clear = json!([{"op": "replace", "path": "/details/notes", "value": null}]);
    let response = patch(&sandbox, &id, clear, &prefer).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cleared: Value = response.json().await.unwrap();
    assert_eq!(cleared["details"]["notes"], Value::Null);
    assert_eq!(
        cleared["details"]["currency"],
        accepted["details"]["currency"]
    );
}

#[tokio::test]
async fn if_match_must_be_the_current_etag() {
    let sandbox = sandbox(10).await;
    let id = seeded(&sandbox, "Active", "Accepted");
    let etag = sandbox
        .referrals()
        .into_iter()
        .find(|r| r.id.as_deref() == Some(&id))
        .unwrap()
        .e_tag
        .unwrap();
    let notes = |text: &str| json!([{"op": "replace", "path": "/details/notes", "value": text}]);

    let response = patch(&sandbox, &id, notes("first"), &[("If-Match", &etag)]).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let new_etag = header(response.headers(), "etag").unwrap().to_owned();

    // The eTag read before the update is stale now.
    let response = patch(&sandbox, &id, notes("second"), &[("If-Match", &etag)]).await;
    let error = error_of(response, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(error["code"], "preconditionFailed");
    assert_eq!(error["target"], "If-Match");
    let read: Value = get(sandbox.base_url(), &referral_path(&id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["details"]["notes"], "first");
    // A patch wrong in itself is a 400, whatever If-Match says.
    let moved = json!([{"op": "move", "path": "/name", "value": 1}]);
    let response = patch(&sandbox, &id, moved, &[("If-Match", &etag)]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // The current eTag, alone or in a list, or `*`, lets the update through.
    let mut current = new_etag;
    for if_match in [
        |etag: &str| etag.to_owned(),
        |etag: &str| format!("\"other\", {etag}"),
        |_: &str| "*".to_owned(),
    ] {
        let if_match = if_match(&current);
        let response = patch(&sandbox, &id, notes(&if_match), &[("If-Match", &if_match)]).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{if_match}");
        current = header(response.headers(), "etag").unwrap().to_owned();
        let read: Value = get(sandbox.base_url(), &referral_path(&id))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(read["details"]["notes"], if_match.as_str());
    }
}

#[tokio::test]
async fn the_lifecycle_is_enforced() {
    let sandbox = sandbox(20).await;
    let new = seeded(&sandbox, "New", "Received");
    let closed = seeded(&sandbox, "Closed", "Won");
    for (id, body, expected) in [
        (
            &closed,
            status_move("Active", "Accepted"),
            "a Closed referral cannot become Active",
        ),
        (
            &closed,
            status_move("New", "Pending"),
            "a Closed referral cannot become New",
        ),
        (
            &new,
            status_move("Closed", "Accepted"),
            "substatus Accepted does not go with status Closed",
        ),
        (
            &new,
            json!([{"op": "replace", "path": "/substatus", "value": "Won"}]),
            "substatus Won does not go with status New",
        ),
    ] {
        let error = error_of(
            patch(&sandbox, id, body.clone(), &[]).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error["code"], "invalidRequest");
        assert_eq!(error["target"], "status");
        assert_eq!(error["message"], expected, "{body}");
    }
    // Allowed: New -> Closed/Declined, Closed/Won -> Closed/Lost.
    for (id, status, substatus) in [(&new, "Closed", "Declined"), (&closed, "Closed", "Lost")] {
        let response = patch(&sandbox, id, status_move(status, substatus), &[]).await;
        assert_eq!(
            response.status(),
            StatusCode::NO_CONTENT,
            "{status}/{substatus}"
        );
    }
}

#[tokio::test]
async fn patch_refuses_what_cannot_be_applied_or_would_break_the_referral() {
    let sandbox = sandbox(3).await;
    let id = OFFICIAL_REFERRAL_ID;
    let (bad, conflict, unprocessable) = (
        StatusCode::BAD_REQUEST,
        StatusCode::CONFLICT,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    for (body, status, target, expected) in [
        // 400: the spec's request schema, `JsonPatch`.
        (json!([]), bad, "body", "[] has less than 1 item"),
        (
            json!({"op": "replace"}),
            bad,
            "body",
            "is not of type \"array\"",
        ),
        (
            json!([{"path": "/name", "value": 1}]),
            bad,
            "0/op",
            "\"op\" is a required property",
        ),
        (
            json!([{"op": "remove", "path": "/name", "value": null}]),
            bad,
            "0/op",
            "\"remove\" is not one of \"replace\" or \"add\"",
        ),
        (
            json!([{"op": "replace", "path": "/name"}]),
            bad,
            "0/value",
            "\"value\" is a required property",
        ),
        (
            json!([{"op": "replace", "path": "name", "value": "x"}]),
            bad,
            "0/path",
            "\"name\" does not match \"^(/([^/~]|~[01])*)+$\"",
        ),
        // 409 (RFC 5789): a structure the referral does not have.
        (
            json!([{"op": "replace", "path": "/consent/x", "value": 1}]),
            conflict,
            "/consent/x",
            "does not exist",
        ),
        (
            json!([{"op": "add", "path": "/details/requirements/industries/9", "value": {}}]),
            conflict,
            "/details/requirements/industries/9",
            "is not an index",
        ),
        // 422 (RFC 5789): a change the service does not make.
        (
            json!([{"op": "replace", "path": "/id", "value": "x"}]),
            unprocessable,
            "/id",
            "set by the service",
        ),
        (
            json!([{"op": "replace", "path": "/status", "value": "Open"}]),
            unprocessable,
            "status",
            "is not one of",
        ),
        (
            json!([{"op": "replace", "path": "/status", "value": null}]),
            unprocessable,
            "status",
            "would not be valid",
        ),
        (
            json!([{"op": "replace", "path": "/details/dealValue", "value": "lots"}]),
            unprocessable,
            "details/dealValue",
            "would not be valid",
        ),
        (
            json!([{"op": "replace", "path": "/team", "value": 5}]),
            unprocessable,
            "team",
            "would not be valid",
        ),
    ] {
        let error = error_of(patch(&sandbox, id, body.clone(), &[]).await, status).await;
        assert_eq!(error["code"], "invalidRequest", "{body}");
        assert_eq!(error["target"], target, "{body}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(expected), "{body}: {message}");
    }
    // Nothing changed.
    let read: Value = get(sandbox.base_url(), &referral_path(id))
        .await
        .json()
        .await
        .unwrap();
    let official: Value = serde_json::from_str(OFFICIAL_EXAMPLE).unwrap();
    assert_eq!(read, official);

    let response = patch(
        &sandbox,
        "no-such-referral",
        status_move("Active", "Accepted"),
        &[],
    )
    .await;
    let error = error_of(response, StatusCode::NOT_FOUND).await;
    assert_eq!(error["code"], "itemNotFound");
}

/// The spec declares the request headers: a value it does not allow is a 400, on every
/// operation, before anything else is looked at.
#[tokio::test]
async fn request_headers_are_held_to_the_spec() {
    let sandbox = sandbox(3).await;
    let official = referral_path(OFFICIAL_REFERRAL_ID);
    let notes = json!([{"op": "replace", "path": "/details/notes", "value": "x"}]);
    let guid = "0d9e4c2a-7b1f-4c3e-9a5d-2f6b8e1c4a70";
    let good = [
        ("client-request-id", guid),
        ("MS-CorrelationId", guid),
        ("MS-RequestId", guid),
        ("MS-PartnerCenter-Application", "contoso-crm-sync"),
        ("X-Locale", "en-US"),
    ];
    let operations = [
        (Method::GET, REFERRALS.to_owned(), None),
        (Method::POST, REFERRALS.to_owned(), Some(new_referral())),
        (Method::GET, official.clone(), None),
        (Method::PATCH, official.clone(), Some(notes.clone())),
    ];
    for (method, path, body) in &operations {
        let response = send_with(&sandbox, method.clone(), path, body.as_ref(), &good).await;
        assert!(response.status().is_success(), "{method} {path}");
        for (name, bad) in [
            ("client-request-id", "not-a-guid"),
            ("MS-CorrelationId", ""),
            ("MS-RequestId", "42"),
            ("MS-PartnerCenter-Application", ""),
            ("X-Locale", "English (US)"),
        ] {
            let response = send_with(
                &sandbox,
                method.clone(),
                path,
                body.as_ref(),
                &[(name, bad)],
            )
            .await;
            let error = error_of(response, StatusCode::BAD_REQUEST).await;
            assert_eq!(error["target"], name, "{method} {path}");
            let message = error["message"].as_str().unwrap();
            assert!(
                message.starts_with(&format!("the {name} header is not valid")),
                "{message}"
            );
        }
    }
    // `Prefer` takes the values the spec lists.
    let response = patch(
        &sandbox,
        OFFICIAL_REFERRAL_ID,
        notes.clone(),
        &[("Prefer", "return=minimal")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = patch(
        &sandbox,
        OFFICIAL_REFERRAL_ID,
        notes,
        &[("Prefer", "return=everything")],
    )
    .await;
    let error = error_of(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(error["target"], "Prefer");
}

#[tokio::test]
async fn faults_apply_to_every_operation() {
    let sandbox = sandbox(3).await;
    let retry = Duration::from_secs(3);
    for method in [Method::GET, Method::POST] {
        sandbox
            .faults()
            .push(Fault::Throttle { retry_after: retry }, 1);
        let response = send_json(&sandbox, method.clone(), REFERRALS, &new_referral(), &[]).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{method}");
    }
    sandbox
        .faults()
        .push(Fault::Unavailable { retry_after: None }, 1);
    let response = patch(
        &sandbox,
        OFFICIAL_REFERRAL_ID,
        status_move("Active", "Accepted"),
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        sandbox.referral_ids().len(),
        4,
        "a faulted create creates nothing"
    );

    sandbox.faults().push(Fault::MalformedJson, 1);
    let cut = list(&sandbox, "").await.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&cut).is_err());
}

#[tokio::test]
async fn concurrent_updates_with_the_same_etag_let_exactly_one_through() {
    let sandbox = sandbox(3).await;
    let etag = sandbox.referrals()[0].e_tag.clone().unwrap();
    let updates = (0..8).map(|i| {
        let body =
            json!([{"op": "replace", "path": "/details/notes", "value": format!("writer {i}")}]);
        let (sandbox, etag) = (&sandbox, etag.clone());
        async move {
            patch(sandbox, OFFICIAL_REFERRAL_ID, body, &[("If-Match", &etag)])
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(updates).await;
    let won = statuses
        .iter()
        .filter(|s| **s == StatusCode::NO_CONTENT)
        .count();
    let lost = statuses
        .iter()
        .filter(|s| **s == StatusCode::PRECONDITION_FAILED)
        .count();
    assert_eq!((won, lost), (1, 7), "{statuses:?}");
}

#[tokio::test]
async fn every_route_allows_only_its_methods() {
    let sandbox = sandbox(3).await;
    for (method, path, allow) in [
        (Method::DELETE, REFERRALS.to_owned(), "GET, HEAD, POST"),
        (
            Method::PUT,
            referral_path(OFFICIAL_REFERRAL_ID),
            "GET, HEAD, PATCH",
        ),
        (
            Method::POST,
            referral_path(OFFICIAL_REFERRAL_ID),
            "GET, HEAD, PATCH",
        ),
    ] {
        let response = send(sandbox.base_url(), method.clone(), &path, Some("t")).await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(header(response.headers(), "allow"), Some(allow));
    }
}
