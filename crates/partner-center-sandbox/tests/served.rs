//! Operations without a hand-written handler, served from the spec: a copy of the spec with
//! three more operations (see `support::extended_spec`), as someone trying a spec edit
//! before codegen would run it.

mod support;

use std::time::Duration;

use partner_center_sandbox::spec::{Schema, UnknownFields};
use partner_center_sandbox::{Fault, OFFICIAL_REFERRAL_ID, Sandbox};
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use support::*;

const ETAG: &str = "\"2500ec5a-0000-0000-0000-5bf4967d0000\"";

fn official() -> Value {
    serde_json::from_str(OFFICIAL_EXAMPLE).unwrap()
}

fn put(sandbox: &Sandbox) -> RequestBuilder {
    let url = format!(
        "{}{}",
        sandbox.base_url(),
        referral_path(OFFICIAL_REFERRAL_ID)
    );
    Client::new().put(url).bearer_auth("t")
}

fn summary(sandbox: &Sandbox, query: &str) -> RequestBuilder {
    let url = format!(
        "{}/v1.0/engagements/referrals/summary{query}",
        sandbox.base_url()
    );
    Client::new().get(url).bearer_auth("t")
}

/// The error of a refused request, after checking its status and that it has the referrals
/// error shape, exactly (no field the spec does not name).
async fn error_of(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        header(response.headers(), "content-type"),
        Some("application/json")
    );
    let body: Value = response.json().await.unwrap();
    let shape = Schema::component("ErrorResponse", UnknownFields::Refused).unwrap();
    assert!(shape.is_valid(&body), "{body}");
    body["error"].clone()
}

#[tokio::test]
async fn a_spec_served_operation_answers_its_example() {
    let sandbox = serving(&extended_spec()).await;
    let response = put(&sandbox)
        .header("If-Match", ETAG)
        .header("client-request-id", "0d9e4c2a-7b1f-4c3e-9a5d-2f6b8e1c4a70")
        .json(&official())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(header(headers, "content-type"), Some("application/json"));
    // The header's example, and the service's own headers.
    assert_eq!(
        header(headers, "etag"),
        Some("\"3f00ec5a-0000-0000-0000-5bf4967d0000\"")
    );
    assert!(is_guid(header(headers, "request-id").unwrap()));
    assert_eq!(
        header(headers, "client-request-id"),
        Some("0d9e4c2a-7b1f-4c3e-9a5d-2f6b8e1c4a70")
    );
    // The first example as written (`replaced`), not the first by name (`official`).
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "id": OFFICIAL_REFERRAL_ID,
            "status": "Active",
            "substatus": "Accepted",
            "type": "Independent",
            "customerProfile": {"name": "Fabrikam Customer Inc"},
            "eTag": "\"3f00ec5a-0000-0000-0000-5bf4967d0000\""
        })
    );
    // Nothing was stored: the sandbox serves the example, it does not replace the referral.
    let read: Value = get(sandbox.base_url(), &referral_path(OFFICIAL_REFERRAL_ID))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, official());
}

#[tokio::test]
async fn an_answer_without_an_example_is_made_from_its_schema() {
    let sandbox = serving(&extended_spec()).await;
    for query in ["?top=5", "?top=1&status=Closed&includeClosed=true"] {
        let response = summary(&sandbox, query).send().await.unwrap();
        assert_eq!(response.status(), 200, "{query}");
        let body: Value = response.json().await.unwrap();
        // The required fields, then the optional one with an example (`currency`); an enum's
        // first value, the lowest number allowed, one item of an array.
        assert_eq!(
            body,
            json!({
                "total": 0,
                "status": "None",
                "asOf": "2020-10-30T21:03:00Z",
                "byStatus": [{"status": "New", "count": 1}],
                "currency": "USD"
            })
        );
    }
    let acknowledged = Client::new()
        .post(format!(
            "{}{}/acknowledge",
            sandbox.base_url(),
            referral_path(OFFICIAL_REFERRAL_ID)
        ))
        .bearer_auth("t")
        .send()
        .await
        .unwrap();
    assert_eq!(acknowledged.status(), 204);
    assert_eq!(header(acknowledged.headers(), "content-type"), None);
    assert!(acknowledged.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_request_that_breaks_the_operation_is_refused_naming_what_is_wrong() {
    let sandbox = serving(&extended_spec()).await;
    let mut open = official();
    open["status"] = json!("Open");
    let cases = [
        (
            put(&sandbox).json(&official()),
            "If-Match",
            "the If-Match header is required",
        ),
        (
            put(&sandbox).header("If-Match", ETAG),
            "body",
            "the body is required",
        ),
        (
            put(&sandbox)
                .header("If-Match", ETAG)
                .header("content-type", "application/json")
                .body("{\"status\":"),
            "body",
            "the body is not JSON: EOF while parsing a value at line 1 column 10",
        ),
        (
            put(&sandbox).header("If-Match", ETAG).json(&open),
            "status",
            r#""Open" is not one of "None", "New" or 2 other candidates at /status"#,
        ),
        (
            put(&sandbox)
                .header("If-Match", ETAG)
                .json(&json!([official()])),
            "body",
            r#"is not of type "object""#,
        ),
        (
            summary(&sandbox, ""),
            "top",
            "the query parameter top is required",
        ),
        (
            summary(&sandbox, "?top=ten"),
            "top",
            r#"the query parameter top is not valid: "ten" is not of type "integer""#,
        ),
        (
            summary(&sandbox, "?top=11"),
            "top",
            "the query parameter top is not valid: 11 is greater than the maximum of 10",
        ),
        (
            summary(&sandbox, "?top=2&top=3"),
            "top",
            "the query parameter top is given more than once",
        ),
        (
            summary(&sandbox, "?top=5&status=Open"),
            "status",
            r#"the query parameter status is not valid: "Open" is not one of "None", "New" or 2 other candidates"#,
        ),
        (
            summary(&sandbox, "?top=5&includeClosed=yes"),
            "includeClosed",
            r#"the query parameter includeClosed is not valid: "yes" is not of type "boolean""#,
        ),
        (
            // The path's parameters are the operation's too.
            put(&sandbox)
                .header("If-Match", ETAG)
                .header("X-Locale", "English (US)")
                .json(&official()),
            "X-Locale",
            "the X-Locale header is not valid: ",
        ),
    ];
    for (request, target, message) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 400, "{message}");
        let error = error_of(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(error["code"], "invalidRequest", "{error}");
        assert_eq!(error["target"], target, "{error}");
        let text = error["message"].as_str().unwrap();
        assert!(text.contains(message), "{text:?} does not say {message:?}");
    }
}

#[tokio::test]
async fn spec_served_operations_need_a_token_and_take_faults() {
    let sandbox = serving(&extended_spec()).await;
    let base = sandbox.base_url();
    for (method, path) in [
        (Method::PUT, referral_path(OFFICIAL_REFERRAL_ID)),
        (
            Method::GET,
            "/v1.0/engagements/referrals/summary?top=5".to_owned(),
        ),
    ] {
        let response = send(base, method.clone(), &path, None).await;
        assert!(response.headers().contains_key("www-authenticate"));
        let error = error_of(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(error["code"], "unauthenticated", "{method} {path}");
    }
    sandbox.faults().push(
        Fault::Throttle {
            retry_after: Duration::from_secs(3),
        },
        1,
    );
    let throttled = summary(&sandbox, "?top=5").send().await.unwrap();
    assert_eq!(throttled.status(), 429);
    assert_eq!(header(throttled.headers(), "retry-after"), Some("3"));
    sandbox.faults().push(Fault::MalformedJson, 1);
    let broken = summary(&sandbox, "?top=5").send().await.unwrap();
    assert_eq!(broken.status(), 200);
    assert!(serde_json::from_slice::<Value>(&broken.bytes().await.unwrap()).is_err());
}

#[tokio::test]
async fn an_example_that_breaks_its_schema_is_a_sandbox_error() {
    let broken = edited(
        &extended_spec(),
        "                    status: Active\n",
        "                    status: Open\n",
    );
    let sandbox = serving(&broken).await;
    // The request is still held to the operation first.
    let refused = put(&sandbox).json(&official()).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let response = put(&sandbox)
        .header("If-Match", ETAG)
        .json(&official())
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": {
            "code": "generalException",
            "message": "The sandbox cannot serve this operation: replaceReferral (PUT \
                /v1.0/engagements/referrals/{id}) of partner-center: the example of the 200 \
                answer does not conform to its schema: \"Open\" is not one of \"None\", \"New\" \
                or 2 other candidates at /status"
        }})
    );
    // The other operations are served as before.
    assert_eq!(
        summary(&sandbox, "?top=5").send().await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn the_documents_decide_the_methods_of_a_path_and_hand_written_handlers_win() {
    let sandbox = serving(&extended_spec()).await;
    let base = sandbox.base_url();
    let official_path = referral_path(OFFICIAL_REFERRAL_ID);
    for (method, path, allow) in [
        (
            Method::DELETE,
            official_path.clone(),
            "GET, HEAD, PATCH, PUT",
        ),
        (Method::DELETE, REFERRALS.to_owned(), "GET, HEAD, POST"),
        (
            Method::PUT,
            "/v1.0/engagements/referrals/summary".to_owned(),
            "GET, HEAD",
        ),
        (Method::GET, format!("{official_path}/acknowledge"), "POST"),
    ] {
        let response = send(base, method.clone(), &path, Some("t")).await;
        assert_eq!(
            header(response.headers(), "allow"),
            Some(allow),
            "{method} {path}"
        );
        error_of(response, StatusCode::METHOD_NOT_ALLOWED).await;
    }
    // The hand-written GET answers the referral, not the spec's example of it.
    let referral: Value = get(base, &official_path).await.json().await.unwrap();
    assert_eq!(referral, official());
    let unknown = get(base, &referral_path("no-such-referral")).await;
    assert_eq!(
        error_of(unknown, StatusCode::NOT_FOUND).await["target"],
        "id"
    );
    // A literal segment wins over the `{id}` beside it; HEAD is GET without the body.
    let head = send(
        base,
        Method::HEAD,
        "/v1.0/engagements/referrals/summary?top=5",
        Some("t"),
    )
    .await;
    assert_eq!(head.status(), 200);
    let nowhere = get(base, "/v1.0/engagements/referrals/summary/more").await;
    assert_eq!(
        error_of(nowhere, StatusCode::NOT_FOUND).await["target"],
        "path"
    );
}

const REFERRALS: &str = "/v1.0/engagements/referrals";

/// A second document on the same origin, as the webhook registration API is (whose operations
/// have handlers of their own: this one's are served from it).
#[tokio::test]
async fn documents_are_served_side_by_side_and_a_bad_one_stops_the_start() {
    let webhooks = r#"
openapi: 3.0.3
info: {title: Webhooks, version: "1"}
paths:
  /notifications/v1/registration:
    get:
      operationId: getRegistration
      responses:
        "200":
          description: The registration.
          content:
            application/json:
              schema:
                type: object
                required: [webhookUrl, eventName]
                properties:
                  webhookUrl: {type: string, format: uri}
                  eventName: {type: string, enum: [referral-created, referral-updated]}
"#;
    let sandbox = Sandbox::builder()
        .referral_count(0)
        .document("webhooks", webhooks)
        .start()
        .await
        .unwrap();
    let registration: Value = get(sandbox.base_url(), "/notifications/v1/registration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        registration,
        json!({"webhookUrl": "https://contoso.example/", "eventName": "referral-created"})
    );
    let referral = get(sandbox.base_url(), &referral_path(OFFICIAL_REFERRAL_ID)).await;
    assert_eq!(referral.status(), 200);

    for (yaml, says) in [
        ("paths: [", "webhooks is not an OpenAPI document: "),
        (
            "openapi: 3.0.3",
            "webhooks is not an OpenAPI document: it has no paths",
        ),
        (
            "paths:\n  /webhooks/{a}{b}:\n    get: {responses: {}}",
            "the path /webhooks/{a}{b} is not supported",
        ),
    ] {
        let error = Sandbox::builder()
            .documents([("webhooks", yaml)])
            .start()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert!(error.to_string().contains(says), "{error}");
    }
}
