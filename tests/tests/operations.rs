//! List (filters, paging, continuations), related, create and update: what is sent, what
//! comes back, and what is refused before anything is sent.

use futures_util::{StreamExt, TryStreamExt};
use partner_center::models::{
    Amount, Consent, CountryCode, CurrencyCode, Member, NewAddress, NewCustomerProfile,
    NewReferralDetails, ReferralDirection, ReferralStatus, ReferralSubstatus, ReferralType,
};
use partner_center::{
    Error,
    models::{NewReferral, Referral},
    referrals::{Direction, Filter},
};
use partner_center_tests::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A snapshot of `request`'s shape (see [`request_snapshot`]).
fn snapshot_request(name: &str, request: &Request) {
    insta::assert_snapshot!(name, request_snapshot(request));
}

#[tokio::test]
async fn list_sends_the_odata_query_and_decodes_the_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(LIST_PATH))
        .respond_with(json_response(
            200,
            &json!({
                "@odata.context": "https://api.partner.microsoft.com/v1.0/engagements/$metadata#referrals",
                "@odata.count": 1234,
                "value": [listed_referral(1), listed_referral(2)],
                "@odata.nextLink": format!("{}{LIST_PATH}?$skiptoken=p2", server.uri()),
            })
            .to_string(),
        ))
        .mount(&server)
        .await;

    let page = client(&server)
        .referrals()
        .list()
        .filter(Filter::status(ReferralStatus::New))
        .filter(
            Filter::direction(ReferralDirection::Incoming)
                .or(Filter::team_email("o'neil@contoso.com")),
        )
        .order_by("createdDateTime", Direction::Descending)
        .top(50)
        .skip(10)
        .select(["id", "status"])
        .count(true)
        .send()
        .await
        .unwrap();

    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[1].id.as_deref(), Some("referral-0002"));
    let next = page
        .next()
        .unwrap()
        .as_str()
        .replace(&server.uri(), "[server]");
    insta::assert_snapshot!(
        "list_response",
        snapshot_json(&json!({
            "count": page.count,
            "next": next,
            "items": page.items.iter().map(|r| json!({"id": r.id, "status": r.status, "eTag": r.e_tag})).collect::<Vec<_>>(),
        }))
    );
    let requests = server.received_requests().await.unwrap();
    snapshot_request("list_request", &requests[0]);
}

#[tokio::test]
async fn list_refuses_a_page_size_the_service_would_refuse() {
    let server = MockServer::start().await;
    for top in [0, 101] {
        let err = client(&server)
            .referrals()
            .list()
            .top(top)
            .send()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{top}: {err:?}");
    }
    // The spec's query values are not empty.
    let client = client(&server);
    for (query, parameter) in [
        (client.referrals().list().filter(Filter::raw("")), "$filter"),
        (client.referrals().list().select([]), "$select"),
    ] {
        let err = query.send().await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput(m) if m.starts_with(parameter)),
            "{err:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// A server with `pages` pages of 3 referrals, linked by `$skiptoken`.
async fn paged_server(pages: usize) -> MockServer {
    let server = MockServer::start().await;
    for n in 0..pages {
        let items = (0..3).map(|i| listed_referral(n * 3 + i)).collect();
        let next = (n + 1 < pages)
            .then(|| format!("{}{LIST_PATH}?$skiptoken=page{}", server.uri(), n + 1));
        let mock = Mock::given(method("GET")).and(path(LIST_PATH));
        let mock = if n == 0 {
            mock.and(wiremock::matchers::query_param_is_missing("$skiptoken"))
        } else {
            mock.and(query_param("$skiptoken", format!("page{n}")))
        };
        mock.respond_with(referral_page(items, next))
            .mount(&server)
            .await;
    }
    server
}

#[tokio::test]
async fn paging_follows_next_links_to_the_last_page_in_order() {
    let server = paged_server(12).await;

    let ids: Vec<String> = client(&server)
        .referrals()
        .list()
        .stream()
        .map_ok(|r| r.id.unwrap())
        .try_collect()
        .await
        .unwrap();

    let expected: Vec<String> = (0..36).map(|n| format!("referral-{n:04}")).collect();
    assert_eq!(ids, expected);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 12);
    // Every page carries the token and its own request ids.
    assert!(
        requests
            .iter()
            .all(|r| r.headers["authorization"] == format!("Bearer {TOKEN}").as_str())
    );
}

#[tokio::test]
async fn a_continuation_resumes_a_listing_later() {
    let server = paged_server(3).await;
    let client = client(&server);

    let first = client.referrals().list().send().await.unwrap();
    let saved = first.next().unwrap().to_string();

    let rest: Vec<_> = client
        .referrals()
        .resume(partner_center::paging::Continuation::new(saved))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[1].items[2].id.as_deref(), Some("referral-0008"));
    // A page is its referrals, by reference or by value.
    let by_ref: Vec<_> = (&rest[0])
        .into_iter()
        .filter_map(|r| r.id.as_deref())
        .collect();
    assert_eq!(by_ref, ["referral-0003", "referral-0004", "referral-0005"]);
    let owned: Vec<Referral> = rest[1].clone().into_iter().collect();
    assert_eq!(owned.len(), 3);
}

/// A listing owns what it needs: it outlives the client it came from and runs on another task.
#[tokio::test]
async fn a_listing_can_be_spawned_after_its_client_is_gone() {
    let server = paged_server(3).await;
    let referrals = {
        let client = client(&server);
        client.referrals().list().stream()
    };

    let ids = tokio::spawn(async move {
        referrals
            .map_ok(|r| r.id.unwrap())
            .try_collect::<Vec<_>>()
            .await
    });

    let ids = ids.await.unwrap().unwrap();
    let expected: Vec<String> = (0..9).map(|n| format!("referral-{n:04}")).collect();
    assert_eq!(ids, expected);
}

/// Every page's call is traced as the spec's list operation, the first one, the next ones and
/// a resumed listing's alike.
#[tokio::test]
async fn every_page_is_traced_as_the_list_operation() {
    let server = paged_server(3).await;
    let client = client(&server);
    let captured = Captured::default();
    let _guard = captured.install();

    let pages: Vec<_> = client
        .referrals()
        .list()
        .pages()
        .try_collect()
        .await
        .unwrap();
    let saved = pages[0].next().unwrap().clone();
    let resumed: Vec<_> = client
        .referrals()
        .resume(saved)
        .try_collect()
        .await
        .unwrap();

    assert_eq!((pages.len(), resumed.len()), (3, 2));
    let text = captured.text();
    let attempts: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("attempt finished"))
        .collect();
    assert_eq!(attempts.len(), 5, "{text}");
    for line in attempts {
        assert!(line.contains("operation=\"list_referrals\""), "{line}");
    }
}

/// What a call answered, beside its value, when asked for.
#[tokio::test]
async fn a_response_carries_the_status_request_id_and_etag() {
    let server = serve_referral(
        ResponseTemplate::new(200)
            .set_body_raw(OFFICIAL_EXAMPLE, "application/json")
            .insert_header("Request-ID", "req-42")
            .insert_header("ETag", "\"v7\""),
    )
    .await;

    let response = client(&server)
        .referrals()
        .get_response("c5fbb3b6-be74-4795-9fb5-4324c73fed37")
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.request_id(), Some("req-42"));
    assert_eq!(response.etag().as_deref(), Some("\"v7\""));
    assert_eq!(response.headers()["content-type"], "application/json");
    let referral = response.into_inner();
    assert_eq!(
        referral.id.as_deref(),
        Some("c5fbb3b6-be74-4795-9fb5-4324c73fed37")
    );
}

/// A relative next link resolves against the URL of the page that carried it (RFC 3986), not
/// against the base URL: here a base URL with a path, and links relative to the page's path.
#[tokio::test]
async fn a_relative_next_link_resolves_against_its_page() {
    let server = MockServer::start().await;
    let list = format!("/prefix{LIST_PATH}");
    for (token, next) in [
        (None, Some("?$skiptoken=p2")),
        (Some("p2"), Some("referrals?$skiptoken=p3")),
        (Some("p3"), None),
    ] {
        let mock = Mock::given(method("GET")).and(path(list.as_str()));
        let mock = match token {
            None => mock.and(wiremock::matchers::query_param_is_missing("$skiptoken")),
            Some(token) => mock.and(query_param("$skiptoken", token)),
        };
        let n = token.map_or(1, |t| t[1..].parse().unwrap());
        mock.respond_with(referral_page(
            vec![listed_referral(n)],
            next.map(str::to_owned),
        ))
        .mount(&server)
        .await;
    }
    let client = partner_center::PartnerCenter::builder()
        .base_url(format!("{}/prefix", server.uri()))
        .token(TOKEN)
        .build()
        .unwrap();

    let first = client.referrals().list().send().await.unwrap();
    // The continuation is the resolved link: it can be kept and resumed from.
    let next = first.next().unwrap().as_str();
    assert_eq!(next, format!("{}{list}?$skiptoken=p2", server.uri()));
    let ids: Vec<String> = client
        .referrals()
        .list()
        .stream()
        .map_ok(|r| r.id.unwrap())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["referral-0001", "referral-0002", "referral-0003"]);
}

#[tokio::test]
async fn a_next_link_off_the_host_is_refused_and_gets_no_token() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(referral_page(vec![], None))
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    let off_host = format!("{}{LIST_PATH}?$skiptoken=x", elsewhere.uri());
    let https = format!(
        "{}{LIST_PATH}?$skiptoken=y",
        server.uri().replace("http://", "https://")
    );
    for link in [off_host, https, "ftp://127.0.0.1/x".to_owned()] {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path(LIST_PATH))
            .respond_with(referral_page(vec![listed_referral(1)], Some(link.clone())))
            .mount(&server)
            .await;

        let pages: Vec<_> = client(&server).referrals().list().pages().collect().await;

        assert_eq!(pages.len(), 2, "{link}");
        assert!(pages[0].is_ok());
        assert!(
            matches!(&pages[1], Err(Error::UntrustedLink(_))),
            "{link}: {:?}",
            pages[1]
        );
    }
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn related_referrals_are_listed_by_engagement() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(LIST_PATH))
        .and(query_param(
            "$filter",
            "engagementId eq '65edc0b5-3485-41b7-a17e-dfa9ef4706e2'",
        ))
        .respond_with(referral_page(
            vec![listed_referral(1), listed_referral(2)],
            None,
        ))
        .mount(&server)
        .await;
    let official: Referral = serde_json::from_str(OFFICIAL_EXAMPLE).unwrap();

    let page = client(&server)
        .referrals()
        .related(&official)
        .unwrap()
        .send()
        .await
        .unwrap();

    assert_eq!(page.items.len(), 2);
    let lonely = Referral::default();
    assert!(matches!(
        client(&server).referrals().related(&lonely),
        Err(Error::InvalidInput(_))
    ));
}

fn new_referral() -> NewReferral {
    NewReferral::new(
        ReferralType::Independent,
        NewCustomerProfile {
            name: Some("Fabrikam Customer Inc".into()),
            address: Some(NewAddress {
                city: Some("Redmond".into()),
                country: Some("US".parse().unwrap()),
                ..Default::default()
            }),
            ..Default::default()
        },
        Consent {
            consent_to_share_referral_with_microsoft_sellers: Some(false),
            consent_to_contact: Some(true),
            ..Default::default()
        },
        NewReferralDetails {
            notes: Some("Microsoft 365 roll-out".into()),
            deal_value: Some(Amount::from(10_000_i64)),
            currency: Some("USD".parse().unwrap()),
            ..Default::default()
        },
    )
    .name("Fabrikam M365")
}

#[tokio::test]
async fn create_sends_the_referral_and_accepts_200_and_201() {
    for status in [201, 200] {
        let server = MockServer::start().await;
        let mut created = json(OFFICIAL_EXAMPLE);
        created["name"] = json!("Fabrikam M365");
        Mock::given(method("POST"))
            .and(path(LIST_PATH))
            .respond_with(json_response(status, &created.to_string()))
            .mount(&server)
            .await;

        let referral = client(&server)
            .referrals()
            .create(new_referral())
            .await
            .unwrap();

        assert_eq!(referral.id.as_deref(), Some(OFFICIAL_ID), "{status}");
        let requests = server.received_requests().await.unwrap();
        if status == 201 {
            snapshot_request("create_request", &requests[0]);
            insta::assert_snapshot!(
                "create_response",
                snapshot_json(&json!({
                    "id": referral.id,
                    "name": referral.name,
                    "status": referral.status,
                    "substatus": referral.substatus,
                    "eTag": referral.e_tag,
                }))
            );
        }
    }
}

/// What the service requires of a new referral is in its types, from the spec: a referral that
/// breaks a rule cannot be made, so none is sent.
#[test]
fn a_new_referral_that_breaks_the_spec_cannot_be_made() {
    assert!("USA".parse::<CountryCode>().is_err());
    assert!("usd".parse::<CurrencyCode>().is_err());
    for (json, why) in [
        (
            r#"{"type": "Shared", "consent": {}, "details": {}}"#,
            "missing field `customerProfile`",
        ),
        (
            r#"{"type": "Shared", "customerProfile": {"address": {"country": "USA"}}, "consent": {}, "details": {}}"#,
            "doesn't match pattern",
        ),
        (
            r#"{"type": "Shared", "customerProfile": {}, "consent": {}, "details": {}, "status": "Closed"}"#,
            "unknown variant `Closed`",
        ),
    ] {
        let err = serde_json::from_str::<NewReferral>(json).unwrap_err();
        assert!(err.to_string().contains(why), "{json}: {err}");
    }
}

async fn patch_server(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(referral_path(OFFICIAL_ID)))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

fn official() -> Referral {
    serde_json::from_str(OFFICIAL_EXAMPLE).unwrap()
}

#[tokio::test]
async fn update_sends_one_json_patch_with_if_match_and_prefer() {
    let mut updated = json(OFFICIAL_EXAMPLE);
    updated["status"] = json!("Active");
    updated["substatus"] = json!("Accepted");
    let server = patch_server(json_response(200, &updated.to_string())).await;

    let referral = client(&server)
        .referrals()
        .update(&official())
        .status(ReferralStatus::Active, ReferralSubstatus::Accepted)
        .deal_value(Amount::from(25_000_i64))
        .notes("Kick-off booked")
        .add_team_member(Member {
            email: Some("ann@contoso.com".into()),
            first_name: Some("Ann".into()),
            ..Default::default()
        })
        .return_representation()
        .send()
        .await
        .unwrap();

    let returned = referral.referral.as_ref().unwrap();
    assert_eq!(returned.status, Some(ReferralStatus::Active));
    insta::assert_snapshot!(
        "update_response",
        snapshot_json(&json!({
            "etag": referral.etag,
            "status": returned.status,
            "substatus": returned.substatus,
        }))
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].headers["if-match"],
        "\"2500ec5a-0000-0000-0000-5bf4967d0000\""
    );
    assert_eq!(requests[0].headers["prefer"], "return=representation");
    snapshot_request("update_request", &requests[0]);
}

#[tokio::test]
async fn a_204_update_is_a_success_without_a_body_with_the_new_etag() {
    let server = patch_server(ResponseTemplate::new(204).insert_header("ETag", "\"v2\"")).await;

    let updated = client(&server)
        .referrals()
        .update_by_id(OFFICIAL_ID)
        .notes("n")
        .send()
        .await
        .unwrap();

    assert_eq!(updated.referral, None);
    assert_eq!(updated.etag, Some("\"v2\"".into()));
}

#[tokio::test]
async fn a_412_tells_the_user_to_read_the_referral_again() {
    let body = r#"{"error":{"code":"preconditionFailed","message":"The eTag does not match."}}"#;
    let server = patch_server(json_response(412, body)).await;

    let err = client(&server)
        .referrals()
        .win(&official())
        .await
        .unwrap_err();

    let Error::PreconditionFailed(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.code(), Some("preconditionFailed"));
    assert!(err.to_string().contains("read it again"), "{err}");
}

#[tokio::test]
async fn lifecycle_verbs_send_one_patch_each() {
    let server = patch_server(json_response(200, OFFICIAL_EXAMPLE)).await;
    let client = client(&server);
    let new = official();

    client.referrals().accept(&new).await.unwrap();
    client.referrals().lose(&new, "Budget cut").await.unwrap();
    client
        .referrals()
        .decline(&new, "Not our region")
        .await
        .unwrap();
    client.referrals().win(&new).await.unwrap();

    let bodies: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        bodies,
        vec![
            json!([{"op":"replace","path":"/status","value":"Active"},{"op":"replace","path":"/substatus","value":"Accepted"}]),
            json!([{"op":"replace","path":"/status","value":"Closed"},{"op":"replace","path":"/substatus","value":"Lost"},{"op":"replace","path":"/statusReason","value":"Budget cut"}]),
            json!([{"op":"replace","path":"/status","value":"Closed"},{"op":"replace","path":"/substatus","value":"Declined"},{"op":"replace","path":"/statusReason","value":"Not our region"}]),
            json!([{"op":"replace","path":"/status","value":"Closed"},{"op":"replace","path":"/substatus","value":"Won"}]),
        ]
    );
}

#[tokio::test]
async fn moves_the_lifecycle_forbids_are_refused_before_sending() {
    let server = patch_server(ResponseTemplate::new(204)).await;
    let mut closed = official();
    closed.status = Some(ReferralStatus::Closed);
    let client = client(&server);

    let err = client.referrals().accept(&closed).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("a Closed referral cannot become Active")),
        "{err:?}"
    );
    let err = client
        .referrals()
        .update_by_id(OFFICIAL_ID)
        .status(ReferralStatus::Closed, ReferralSubstatus::Pending)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("does not go with")),
        "{err:?}"
    );
    let err = client
        .referrals()
        .update_by_id(OFFICIAL_ID)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("changes nothing")),
        "{err:?}"
    );
    // The spec's `JsonPointer`: a path starts with `/`.
    let err = client
        .referrals()
        .update_by_id(OFFICIAL_ID)
        .replace("details/notes", json!("x"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("\"details/notes\" is not a JSON Pointer")),
        "{err:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_null_value_is_sent_to_clear_a_field() {
    let server = patch_server(ResponseTemplate::new(204)).await;

    client(&server)
        .referrals()
        .update_by_id(OFFICIAL_ID)
        .replace("/details/notes", Value::Null)
        .send()
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(
        body,
        json!([{"op": "replace", "path": "/details/notes", "value": null}])
    );
}

#[tokio::test]
async fn post_is_not_retried_after_a_503_unless_opted_in() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json_response(
            503,
            r#"{"error":{"code":"serviceNotAvailable","message":"x"}}"#,
        ))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(json_response(201, OFFICIAL_EXAMPLE))
        .mount(&server)
        .await;

    let err = fast_client(&server.uri())
        .referrals()
        .create(new_referral())
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // Opted in, the second 503 is retried and the create succeeds.
    let created = retrying_client(&server.uri(), fast_retries().retry_post(true))
        .referrals()
        .create(new_referral())
        .await;
    assert!(created.is_ok(), "{created:?}");
    let posts = server.received_requests().await.unwrap();
    assert_eq!(posts.len(), 3);
    assert_eq!(
        posts[1].body, posts[2].body,
        "the retry re-sends the same body"
    );
}

#[tokio::test]
async fn patch_is_retried_with_the_same_body() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(json_response(
            503,
            r#"{"error":{"code":"serviceNotAvailable","message":"x"}}"#,
        ))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;

    fast_client(&server.uri())
        .referrals()
        .update_by_id(OFFICIAL_ID)
        .notes("same")
        .send()
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    assert!(
        requests
            .iter()
            .all(|r| r.body == requests[0].body && !r.body.is_empty())
    );
    assert!(
        requests
            .iter()
            .all(|r| r.headers["client-request-id"] == requests[0].headers["client-request-id"])
    );
}
