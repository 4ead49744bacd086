//! The sandbox over HTTP: what the service would answer, seeding, faults, shutdown.

mod support;

use std::time::{Duration, Instant};

use partner_center_sandbox::{Fault, OFFICIAL_REFERRAL_ID, Sandbox};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use support::*;

#[tokio::test]
async fn the_official_example_is_served_with_the_service_headers() {
    let sandbox = Sandbox::start().await.unwrap();

    let response = Client::new()
        .get(format!(
            "{}{}",
            sandbox.base_url(),
            referral_path(OFFICIAL_REFERRAL_ID)
        ))
        .bearer_auth("any-token-at-all")
        .header("client-request-id", "3f1b6b0e-0000-4000-8000-000000000001")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    assert_eq!(
        header(&headers, "etag"),
        Some("\"2500ec5a-0000-0000-0000-5bf4967d0000\"")
    );
    assert!(is_guid(header(&headers, "request-id").unwrap()));
    assert_eq!(
        header(&headers, "client-request-id"),
        Some("3f1b6b0e-0000-4000-8000-000000000001")
    );
    let body: Value = response.json().await.unwrap();
    let fixture: Value = serde_json::from_str(OFFICIAL_EXAMPLE).unwrap();
    assert_eq!(body, fixture);
}

#[tokio::test]
async fn every_response_gets_a_fresh_request_id_and_no_echo_unless_asked() {
    let sandbox = small().await;
    let mut ids = Vec::new();
    for path in [
        referral_path(OFFICIAL_REFERRAL_ID),
        referral_path("nope"),
        "/x".into(),
    ] {
        let response = get(sandbox.base_url(), &path).await;
        assert!(response.headers().get("client-request-id").is_none());
        ids.push(header(response.headers(), "request-id").unwrap().to_owned());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "{ids:?}");
}

#[tokio::test]
async fn without_a_bearer_token_every_api_route_is_401() {
    let sandbox = small().await;
    let official = referral_path(OFFICIAL_REFERRAL_ID);
    let cases = [
        (official.as_str(), None),
        (official.as_str(), Some("Basic dXNlcjpwYXNz")),
        (official.as_str(), Some("Bearer ")),
        (official.as_str(), Some("sandbox")),
        ("/v1.0/engagements/nothing-here", None),
    ];
    for (path, authorization) in cases {
        let mut request = Client::new().get(format!("{}{path}", sandbox.base_url()));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();

        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{path} {authorization:?}"
        );
        assert_eq!(
            header(response.headers(), "www-authenticate"),
            Some("Bearer")
        );
        assert!(is_guid(header(response.headers(), "request-id").unwrap()));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthenticated", "{body}");
    }
}

#[tokio::test]
async fn error_bodies_have_the_referrals_shape() {
    let sandbox = small().await;
    let base = sandbox.base_url();
    let unauthenticated = send(
        base,
        Method::GET,
        &referral_path(OFFICIAL_REFERRAL_ID),
        None,
    )
    .await;
    let unknown_id = get(base, &referral_path("00000000-0000-0000-0000-000000000000")).await;
    let unknown_route = get(base, "/v1.0/engagements/leads").await;
    let empty_id = get(base, "/v1.0/engagements/referrals/").await;
    let not_utf8 = get(base, &referral_path("%FF")).await;
    let wrong_method = send(
        base,
        Method::DELETE,
        &referral_path(OFFICIAL_REFERRAL_ID),
        Some("t"),
    )
    .await;
    assert_eq!(
        header(wrong_method.headers(), "allow"),
        Some("GET, HEAD, PATCH")
    );

    let mut answers = Vec::new();
    for response in [
        unauthenticated,
        unknown_id,
        unknown_route,
        empty_id,
        not_utf8,
        wrong_method,
    ] {
        assert_eq!(
            header(response.headers(), "content-type"),
            Some("application/json")
        );
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        answers.push(json!({ "status": status, "body": body }));
    }
    insta::assert_snapshot!("error_bodies", snapshot_json(&answers));
}

#[tokio::test]
async fn ids_are_one_percent_decoded_path_segment() {
    let sandbox = small().await;

    // `%2D` is `-`: the decoded id is the official one.
    let encoded = OFFICIAL_REFERRAL_ID.replacen('-', "%2D", 1);
    let response = get(sandbox.base_url(), &referral_path(&encoded)).await;
    assert_eq!(response.status(), StatusCode::OK);

    // `%2F` is a `/` inside the id, not a second segment: an unknown referral, not a route.
    let response = get(
        sandbox.base_url(),
        &referral_path(&format!("{OFFICIAL_REFERRAL_ID}%2Fx")),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["target"], "id");

    // A real second segment is another route, which does not exist.
    let response = get(
        sandbox.base_url(),
        &referral_path(&format!("{OFFICIAL_REFERRAL_ID}/x")),
    )
    .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["target"], "path");
}

#[tokio::test]
async fn every_seeded_referral_is_served_with_its_etag() {
    let sandbox = Sandbox::builder()
        .seed(11)
        .referral_count(12)
        .start()
        .await
        .unwrap();
    let referrals = sandbox.referrals();
    assert_eq!(referrals.len(), 13);
    assert_eq!(referrals[0].id.as_deref(), Some(OFFICIAL_REFERRAL_ID));

    for referral in referrals {
        let id = referral.id.clone().unwrap();
        let response = get(sandbox.base_url(), &referral_path(&id)).await;
        assert_eq!(response.status(), StatusCode::OK, "{id}");
        let etag = header(response.headers(), "etag").map(str::to_owned);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, serde_json::to_value(&referral).unwrap());
        assert_eq!(
            etag.as_deref(),
            referral.e_tag.as_ref().map(|tag| tag.as_str())
        );
        assert!(etag.is_some_and(|tag| tag.starts_with('"') && tag.ends_with('"')));
    }
}

#[tokio::test]
async fn the_same_seed_serves_the_same_data() {
    let one = Sandbox::builder().seed(99).referral_count(25);
    let one = one.start().await.unwrap();
    let two = Sandbox::builder().seed(99).referral_count(25);
    let two = two.start().await.unwrap();
    let other = Sandbox::builder().seed(100).referral_count(25);
    let other = other.start().await.unwrap();
    assert_ne!(one.base_url(), two.base_url());
    assert_eq!(one.referral_ids(), two.referral_ids());
    assert_eq!(one.referral_ids()[0], other.referral_ids()[0]);
    assert_ne!(one.referral_ids()[1..], other.referral_ids()[1..]);

    for id in one.referral_ids() {
        let a = get(one.base_url(), &referral_path(&id))
            .await
            .bytes()
            .await
            .unwrap();
        let b = get(two.base_url(), &referral_path(&id))
            .await
            .bytes()
            .await
            .unwrap();
        assert_eq!(a, b, "{id}");
    }
}

#[tokio::test]
async fn a_generated_referral_looks_like_a_real_one() {
    let sandbox = Sandbox::builder()
        .seed(0)
        .referral_count(1)
        .start()
        .await
        .unwrap();
    let id = &sandbox.referral_ids()[1];
    let body: Value = get(sandbox.base_url(), &referral_path(id))
        .await
        .json()
        .await
        .unwrap();
    insta::assert_snapshot!("generated_referral_seed_0", snapshot_json(&body));
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_then_recovers() {
    let sandbox = small().await;
    let path = referral_path(OFFICIAL_REFERRAL_ID);
    sandbox.faults().push(
        Fault::Throttle {
            retry_after: Duration::from_millis(1500),
        },
        2,
    );

    for _ in 0..2 {
        let response = get(sandbox.base_url(), &path).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header(response.headers(), "retry-after"), Some("2"));
        assert!(is_guid(header(response.headers(), "request-id").unwrap()));
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"statusCode": 429, "message": "Rate limit is exceeded. Try again in 2 seconds."})
        );
    }
    assert_eq!(sandbox.faults().pending(), 0);
    assert_eq!(
        get(sandbox.base_url(), &path).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn outages_answer_503_with_retry_after_only_when_given() {
    let sandbox = small().await;
    let path = referral_path(OFFICIAL_REFERRAL_ID);
    sandbox.faults().push(
        Fault::Unavailable {
            retry_after: Some(Duration::from_secs(30)),
        },
        1,
    );
    sandbox
        .faults()
        .push(Fault::Unavailable { retry_after: None }, 1);

    let first = get(sandbox.base_url(), &path).await;
    let second = get(sandbox.base_url(), &path).await;
    assert_eq!(first.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(first.headers(), "retry-after"), Some("30"));
    assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(second.headers(), "retry-after"), None);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"]["code"], "serviceNotAvailable");
    assert_eq!(
        get(sandbox.base_url(), &path).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn malformed_json_is_the_normal_answer_cut_short() {
    let sandbox = small().await;
    let path = referral_path(OFFICIAL_REFERRAL_ID);
    let whole = get(sandbox.base_url(), &path).await.text().await.unwrap();
    sandbox.faults().push(Fault::MalformedJson, 1);

    let response = get(sandbox.base_url(), &path).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(response.headers(), "content-type"),
        Some("application/json")
    );
    let cut = response.text().await.unwrap();
    assert!(!cut.is_empty() && cut.len() < whole.len());
    assert!(whole.starts_with(&cut));
    assert!(serde_json::from_str::<Value>(&cut).is_err());

    assert_eq!(
        get(sandbox.base_url(), &path).await.text().await.unwrap(),
        whole
    );
}

#[tokio::test]
async fn a_delay_holds_the_answer_back() {
    let sandbox = small().await;
    let url = format!(
        "{}{}",
        sandbox.base_url(),
        referral_path(OFFICIAL_REFERRAL_ID)
    );
    let impatient = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();

    // Longer than the client waits: the client times out.
    sandbox
        .faults()
        .push(Fault::Delay(Duration::from_secs(30)), 1);
    let started = Instant::now();
    let err = impatient
        .get(&url)
        .bearer_auth("t")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));

    // Shorter: the normal answer, late.
    sandbox
        .faults()
        .push(Fault::Delay(Duration::from_millis(150)), 1);
    let started = Instant::now();
    let response = Client::new()
        .get(&url)
        .bearer_auth("t")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(sandbox.faults().pending(), 0);
}

#[tokio::test]
async fn the_admin_route_queues_and_clears_faults_without_a_token() {
    let sandbox = small().await;
    let base = sandbox.base_url();
    let admin = format!("{base}/_sandbox/faults");
    let path = referral_path(OFFICIAL_REFERRAL_ID);

    let response = Client::new()
        .post(&admin)
        .body(r#"{"fault":"throttle","retryAfterSeconds":3,"times":2}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"pending": 2})
    );
    assert_eq!(sandbox.faults().pending(), 2);

    let throttled = get(base, &path).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(throttled.headers(), "retry-after"), Some("3"));

    let response = Client::new().delete(&admin).send().await.unwrap();
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"pending": 0})
    );
    assert_eq!(get(base, &path).await.status(), StatusCode::OK);

    let response = Client::new()
        .post(&admin)
        .body(r#"{"fault":"meteor"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalidRequest");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("meteor"),
        "{body}"
    );

    let response = Client::new().get(&admin).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        sandbox.faults().pending(),
        0,
        "admin requests take no fault"
    );
}

#[tokio::test]
async fn the_admin_route_counts_api_requests_only() {
    let sandbox = small().await;
    let base = sandbox.base_url();
    let count = || async {
        let response = Client::new()
            .get(format!("{base}/_sandbox/requests"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()
    };
    assert_eq!(count().await, json!({"requests": 0}));

    // Answered, refused or faulted: each API request counts; admin requests do not.
    get(base, &referral_path(OFFICIAL_REFERRAL_ID)).await;
    send(base, Method::GET, "/v1.0/engagements/referrals", None).await;
    sandbox
        .faults()
        .push(Fault::Unavailable { retry_after: None }, 1);
    get(base, "/v1.0/engagements/referrals").await;
    Client::new()
        .delete(format!("{base}/_sandbox/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(count().await, json!({"requests": 3}));
}

#[tokio::test]
async fn faults_hit_the_gateway_before_authentication() {
    let sandbox = small().await;
    sandbox
        .faults()
        .push(Fault::Unavailable { retry_after: None }, 1);
    let response = send(sandbox.base_url(), Method::GET, "/anything", None).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn shutdown_cuts_a_delay_short_and_closes_the_port() {
    let sandbox = small().await;
    let url = format!(
        "{}{}",
        sandbox.base_url(),
        referral_path(OFFICIAL_REFERRAL_ID)
    );
    sandbox
        .faults()
        .push(Fault::Delay(Duration::from_secs(600)), 1);

    let client = Client::new();
    let in_flight = tokio::spawn({
        let (client, url) = (client.clone(), url.clone());
        async move { client.get(url).bearer_auth("t").send().await }
    });
    // The fault is taken when the request reaches the server: then it is in flight.
    tokio::time::timeout(Duration::from_secs(10), async {
        while sandbox.faults().pending() > 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the request reaches the sandbox");

    tokio::time::timeout(Duration::from_secs(10), sandbox.shutdown())
        .await
        .expect("shutdown does not wait for the delay")
        .unwrap();
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let err = client.get(&url).bearer_auth("t").send().await.unwrap_err();
    assert!(err.is_connect(), "{err}");
}

#[tokio::test]
async fn dropping_the_sandbox_stops_it() {
    let sandbox = small().await;
    let url = format!(
        "{}{}",
        sandbox.base_url(),
        referral_path(OFFICIAL_REFERRAL_ID)
    );
    drop(sandbox);

    // Drop only signals the server task: it closes the port the next time it runs.
    let client = Client::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while client.get(&url).bearer_auth("t").send().await.is_ok() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the port closes");
}

#[test]
fn dropping_the_sandbox_outside_the_runtime_is_harmless() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sandbox = runtime.block_on(Sandbox::start()).unwrap();
    drop(runtime);
    drop(sandbox);
}

#[tokio::test]
async fn a_chosen_port_is_used_and_a_taken_one_is_an_error() {
    let first = small().await;
    let port = first.addr().port();
    let err = Sandbox::builder().port(port).start().await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);

    first.shutdown().await.unwrap();
    let second = Sandbox::builder().port(port).start().await.unwrap();
    assert_eq!(second.base_url(), format!("http://127.0.0.1:{port}"));
    assert_eq!(
        get(second.base_url(), &referral_path(OFFICIAL_REFERRAL_ID))
            .await
            .status(),
        200
    );
}
