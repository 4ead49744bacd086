//! The sandbox against the spec: every operation of every document of
//! `partner_center_api::spec::DOCUMENTS` is served (by a hand-written handler or from the
//! spec), and every response (pages of referrals, referrals of many seeds, the official
//! example, created and updated referrals, the error bodies) validates against the spec's
//! schemas, so the two cannot drift apart silently.
//!
//! Each body is checked twice: as the spec says (unknown fields allowed), and refusing fields
//! the spec does not name, so that the sandbox cannot send one by mistake.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use partner_center_api::lenient::strict;
use partner_center_api::types::{ErrorBody, Referral, ReferralPage};
use partner_center_sandbox::spec::{self, ExampleCall, Schema, UnknownFields};
use partner_center_sandbox::{Fault, OFFICIAL_REFERRAL_ID, Sandbox};
use reqwest::{Client, Method, Response};
use serde_json::{Value, json};
use support::*;

fn spec() -> Value {
    spec_document().clone()
}

fn spec_document() -> &'static Value {
    spec::document().expect("the spec parses")
}

fn schema(schema: &Value, fields: UnknownFields) -> Schema {
    schema_in(&spec(), schema, fields)
}

fn schema_in(document: &Value, schema: &Value, fields: UnknownFields) -> Schema {
    Schema::in_document(document, schema, fields)
        .unwrap_or_else(|e| panic!("the schema compiles: {e}"))
}

/// `value`, or what its `$ref` points at.
fn resolve<'d>(document: &'d Value, value: &'d Value) -> &'d Value {
    spec::resolve(document, value).unwrap_or_else(|e| panic!("{e}"))
}

/// The spec's description of the `status` answer of `method path` (following `$ref`s to
/// `components/responses`).
fn documented_response<'s>(spec: &'s Value, path: &str, method: &str, status: u16) -> &'s Value {
    let operation = &spec["paths"][path][method];
    let response = &operation["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{method} {path} does not document {status}"
    );
    resolve(spec, response)
}

/// The spec, and the schemas made from it so far (compiling one takes a while).
struct Checker {
    spec: Value,
    schemas: HashMap<String, [Schema; 2]>,
}

impl Checker {
    fn new() -> Self {
        Self::of(spec())
    }

    /// A checker of the answers of another document's operations.
    fn of(spec: Value) -> Self {
        Self {
            spec,
            schemas: HashMap::new(),
        }
    }

    /// Checks one answer of the sandbox against the spec: a documented status, the JSON media
    /// type (no body for a 204), the documented headers (each `required` one there, each one
    /// there of its schema, `client-request-id` the one sent), and the body's schema (both as
    /// specified and with only known fields). Returns the body.
    async fn check(&mut self, path: &str, method: &str, response: Response) -> Value {
        let spec = &self.spec;
        let status = response.status().as_u16();
        let documented = documented_response(spec, path, method, status);
        let headers = response.headers().clone();
        for (name, declared) in documented["headers"].as_object().into_iter().flatten() {
            let declared = resolve(spec, declared);
            let Some(value) = header(&headers, name) else {
                assert_ne!(
                    declared["required"], true,
                    "{method} {path} {status} lacks {name}"
                );
                continue;
            };
            let value = match declared["schema"]["type"].as_str() {
                Some("integer") => json!(value.parse::<i64>().expect("an integer header")),
                _ => json!(value),
            };
            let errors = schema_in(spec, &declared["schema"], UnknownFields::Kept).errors(&value);
            assert!(errors.is_empty(), "{status} {name}: {errors:?}");
            if name == "client-request-id" {
                assert_eq!(value, CLIENT_REQUEST_ID, "{status}: not the one sent");
            }
        }
        if documented.get("content").is_none() {
            assert_eq!(header(&headers, "content-type"), None, "{status}");
            assert!(response.bytes().await.unwrap().is_empty(), "{status}");
            return Value::Null;
        }
        assert_eq!(header(&headers, "content-type"), Some("application/json"));
        let bytes = response.bytes().await.expect("a body");
        let body: Value = serde_json::from_slice(&bytes).expect("a JSON body");
        let documented_schema = &documented["content"]["application/json"]["schema"];
        // The models read it without drift: every field has the type the spec gives it.
        let strict = match documented_schema["$ref"].as_str() {
            Some("#/components/schemas/Referral") => {
                strict::from_slice::<Referral>(&bytes).map(drop)
            }
            Some("#/components/schemas/ReferralPage") => {
                strict::from_slice::<ReferralPage>(&bytes).map(drop)
            }
            Some("#/components/schemas/ErrorBody") => {
                strict::from_slice::<ErrorBody>(&bytes).map(drop)
            }
            _ => Ok(()),
        };
        if let Err(e) = strict {
            panic!("{method} {path} {status}: {e}\n{body:#}");
        }
        let schemas = self
            .schemas
            .entry(documented_schema.to_string())
            .or_insert_with(|| {
                [UnknownFields::Kept, UnknownFields::Refused]
                    .map(|fields| schema_in(spec, documented_schema, fields))
            });
        for schema in schemas.iter() {
            let errors = schema.errors(&body);
            assert!(
                errors.is_empty(),
                "{method} {path} {status}: {errors:#?}\n{body:#}"
            );
        }
        body
    }
}

/// The `client-request-id` of the requests below; the sandbox echoes it.
const CLIENT_REQUEST_ID: &str = "0d9e4c2a-7b1f-4c3e-9a5d-2f6b8e1c4a70";

const REFERRALS: &str = "/v1.0/engagements/referrals";
const REFERRAL: &str = "/v1.0/engagements/referrals/{id}";

async fn request(
    method: Method,
    url: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Response {
    let mut request = Client::new()
        .request(method, url)
        .bearer_auth("t")
        .header("client-request-id", CLIENT_REQUEST_ID);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.expect("the sandbox answers")
}

/// The methods a path item of OpenAPI 3.0 has operations for.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Calls every operation of `document` on `sandbox` with a valid request, and checks each
/// answer (a success) against the spec. Returns how many operations were called.
///
/// The calls go as a client's would for stateful operations: those that make something
/// first (`POST`, then `PUT` and `PATCH`), then the others; and a path parameter takes the
/// value of the field of its name in the latest answer that had one (the created referral's
/// `id`, the test event's `correlationId`), else the spec's example.
async fn call_every_operation(sandbox: &Sandbox, name: &str, document: Value) -> usize {
    let mut checker = Checker::of(document.clone());
    let mut operations: Vec<(&String, &str)> = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            operations.push((path, method));
        }
    }
    let rank = |method: &str| ["post", "put", "patch"].iter().position(|m| *m == method);
    operations.sort_by_key(|(_, method)| rank(method).unwrap_or(3));
    let mut answered: HashMap<String, String> = HashMap::new();
    let mut called = 0;
    for (path, method) in operations {
        let mut call = ExampleCall::of(&document, path, method).unwrap_or_else(|e| panic!("{e}"));
        for (location, parameter, value) in &mut call.parameters {
            if let Some(earlier) = answered
                .get(parameter.as_str())
                .filter(|_| location == "path")
            {
                value.clone_from(earlier);
            }
        }
        let concrete = call.target(path);
        let body = call.body;
        let headers: Vec<(&str, &str)> = call
            .parameters
            .iter()
            .filter(|(location, _, _)| location == "header")
            .map(|(_, n, v)| (n.as_str(), v.as_str()))
            .collect();
        let url = format!("{}{concrete}", sandbox.base_url());
        let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = request(http_method, &url, body.as_ref(), &headers).await;
        let status = response.status();
        let answer = checker.check(path, method, response).await;
        assert!(
            status.is_success(),
            "{name}: {method} {concrete} answers {status}: {answer}"
        );
        for (field, value) in answer.as_object().into_iter().flatten() {
            if let Some(text) = value.as_str() {
                answered.insert(field.clone(), text.to_owned());
            }
        }
        called += 1;
    }
    called
}

/// Every document of the api crate, parsed.
fn documents() -> Vec<(&'static str, Value)> {
    let documents = partner_center_api::spec::DOCUMENTS.iter();
    let parsed = documents.map(|d| (d.name, serde_yaml::from_str(d.yaml).expect("YAML")));
    parsed.collect()
}

#[tokio::test]
async fn every_operation_of_every_document_is_served() {
    let sandbox = sandbox(3).await;
    for (name, document) in documents() {
        let declared = operation_count(&document);
        assert_eq!(
            call_every_operation(&sandbox, name, document).await,
            declared,
            "{name}"
        );
    }
}

/// How many operations `document` has.
fn operation_count(document: &Value) -> usize {
    let items = document["paths"].as_object().unwrap().values();
    items
        .map(|item| METHODS.iter().filter(|m| item.get(**m).is_some()).count())
        .sum()
}

/// The same walk on a spec with operations that have no hand-written handler: what is served
/// from the spec conforms to it too.
#[tokio::test]
async fn every_operation_of_an_edited_spec_is_served() {
    let spec = extended_spec();
    let sandbox = serving(&spec).await;
    let document: Value = serde_yaml::from_str(&spec).unwrap();
    let called = call_every_operation(&sandbox, "partner-center", document).await;
    // The edit's three operations besides the built-in ones.
    assert_eq!(called, operation_count(spec_document()) + 3);
}

#[tokio::test]
async fn every_page_of_a_listing_conforms_to_the_spec() {
    let mut checker = Checker::new();
    let sandbox = sandbox(250).await;
    let client = Client::new();
    for query in [
        "?$count=true",
        "?$top=7&$orderby=updatedDateTime%20desc&$filter=status%20ne%20%27Closed%27",
        "?$select=status,customerProfile&$top=100",
        "?$filter=id%20eq%20%27none%27&$count=true",
    ] {
        let mut next = Some(format!("{}{REFERRALS}{query}", sandbox.base_url()));
        let mut seen = 0;
        while let Some(url) = next.take() {
            let response = client.get(&url).bearer_auth("t").send().await.unwrap();
            assert_eq!(response.status(), 200, "{url}");
            let page = checker.check(REFERRALS, "get", response).await;
            seen += page["value"].as_array().unwrap().len();
            next = page["@odata.nextLink"].as_str().map(str::to_owned);
        }
        assert!(seen <= 251, "{query}");
    }
}

#[tokio::test]
async fn created_and_updated_referrals_conform_to_the_spec() {
    let mut checker = Checker::new();
    let sandbox = sandbox(3).await;
    let collection = format!("{}{REFERRALS}", sandbox.base_url());

    let response = request(Method::POST, &collection, Some(&new_referral()), &[]).await;
    assert_eq!(response.status(), 201);
    let created = checker.check(REFERRALS, "post", response).await;
    let id = created["id"].as_str().unwrap();
    let url = format!("{collection}/{id}");

    let accept = json!([
        {"op": "replace", "path": "/status", "value": "Active"},
        {"op": "replace", "path": "/substatus", "value": "Accepted"}
    ]);
    let prefer = [("Prefer", "return=representation")];
    let response = request(Method::PATCH, &url, Some(&accept), &prefer).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(response.headers(), "preference-applied"),
        Some("return=representation")
    );
    assert_eq!(
        header(response.headers(), "client-request-id"),
        Some(CLIENT_REQUEST_ID)
    );
    let accepted = checker.check(REFERRAL, "patch", response).await;
    assert_eq!(accepted["substatus"], "Accepted");

    let notes = json!([{"op": "replace", "path": "/details/notes", "value": "Kick-off booked"}]);
    let response = request(Method::PATCH, &url, Some(&notes), &[]).await;
    assert_eq!(response.status(), 204);
    assert_eq!(header(response.headers(), "preference-applied"), None);
    checker.check(REFERRAL, "patch", response).await;

    let response = request(Method::GET, &url, None, &[]).await;
    let read = checker.check(REFERRAL, "get", response).await;
    assert_eq!(read["details"]["notes"], "Kick-off booked");
}

#[tokio::test]
async fn referrals_of_many_seeds_conform_to_the_spec() {
    let mut checker = Checker::new();
    // One client for all: making one per request would dominate the test's time.
    let client = Client::new();
    let mut checked = 0;
    for seed in 0..16 {
        let sandbox = Sandbox::builder()
            .seed(seed)
            .referral_count(40)
            .start()
            .await
            .unwrap();
        for id in sandbox.referral_ids() {
            let url = format!("{}{}", sandbox.base_url(), referral_path(&id));
            let response = client.get(url).bearer_auth("t").send().await.unwrap();
            assert_eq!(response.status(), 200);
            let etag = header(response.headers(), "etag").map(str::to_owned);
            let body = checker.check(REFERRAL, "get", response).await;
            assert_eq!(etag.as_deref(), body["eTag"].as_str());
            checked += 1;
        }
    }
    assert_eq!(checked, 16 * 41);
}

#[tokio::test]
async fn the_spec_example_is_what_the_sandbox_serves() {
    let mut checker = Checker::new();
    let sandbox = sandbox(0).await;
    let response = get(sandbox.base_url(), &referral_path(OFFICIAL_REFERRAL_ID)).await;
    let body = checker.check(REFERRAL, "get", response).await;
    assert_eq!(
        body,
        checker.spec["components"]["examples"]["OfficialReferral"]["value"]
    );
}

#[tokio::test]
async fn error_responses_conform_to_the_spec() {
    let mut checker = Checker::new();
    let sandbox = sandbox(3).await;
    let base = sandbox.base_url();
    let official = referral_path(OFFICIAL_REFERRAL_ID);
    let collection = format!("{base}{REFERRALS}");
    let item = format!("{base}{official}");
    let stale = [("If-Match", "\"stale\"")];
    let close = json!([{"op": "replace", "path": "/status", "value": "Closed"}]);
    let reopen = json!([
        {"op": "replace", "path": "/status", "value": "Closed"},
        {"op": "replace", "path": "/substatus", "value": "Won"}
    ]);
    let missing_parent = json!([{"op": "add", "path": "/inviteContext/notes", "value": "x"}]);
    let mut missing_type = new_referral();
    missing_type.as_object_mut().unwrap().remove("type");

    let cases = [
        (
            REFERRAL,
            "get",
            401,
            send(base, Method::GET, &official, None).await,
        ),
        (
            REFERRAL,
            "get",
            404,
            get(base, &referral_path("no-such-referral")).await,
        ),
        (
            REFERRAL,
            "get",
            400,
            get(base, &referral_path("%C3%28")).await,
        ),
        (
            REFERRALS,
            "get",
            400,
            get(base, &format!("{REFERRALS}?$filter=status%20eq")).await,
        ),
        (
            REFERRALS,
            "get",
            400,
            get(base, &format!("{REFERRALS}?$top=101")).await,
        ),
        (
            REFERRALS,
            "get",
            401,
            send(base, Method::GET, REFERRALS, None).await,
        ),
        (
            REFERRALS,
            "post",
            400,
            request(Method::POST, &collection, Some(&missing_type), &[]).await,
        ),
        (
            REFERRALS,
            "post",
            400,
            request(Method::POST, &collection, Some(&json!([])), &[]).await,
        ),
        (
            REFERRAL,
            "patch",
            404,
            request(
                Method::PATCH,
                &format!("{collection}/nope"),
                Some(&close),
                &[],
            )
            .await,
        ),
        (
            REFERRAL,
            "patch",
            400,
            request(Method::PATCH, &item, Some(&json!([])), &[]).await,
        ),
        (
            REFERRAL,
            "patch",
            409,
            request(Method::PATCH, &item, Some(&missing_parent), &[]).await,
        ),
        (
            REFERRAL,
            "patch",
            422,
            request(Method::PATCH, &item, Some(&close), &[]).await,
        ),
        (
            REFERRAL,
            "patch",
            412,
            request(Method::PATCH, &item, Some(&reopen), &stale).await,
        ),
    ];
    for (path, method, status, response) in cases {
        assert_eq!(response.status(), status, "{method} {path}");
        let body = checker.check(path, method, response).await;
        assert!(body["error"]["code"].is_string(), "{body}");
    }

    sandbox.faults().push(
        Fault::Unavailable {
            retry_after: Some(Duration::from_secs(4)),
        },
        1,
    );
    let response = get(base, &official).await;
    assert_eq!(response.status(), 503);
    assert_eq!(header(response.headers(), "retry-after"), Some("4"));
    checker.check(REFERRAL, "get", response).await;
}

/// The webhook registration API, which the sandbox serves with state: each answer of a
/// registration's life (none yet, made, made again, replaced, refused bodies, test events up to
/// the rate limit and past it, a test event that does not exist) conforms to
/// `spec/webhooks.openapi.yaml`, in its error shape (`{"code", "description"}`).
#[tokio::test]
async fn webhook_answers_conform_to_the_spec() {
    const EVENTS: &str = "/webhooks/v1/registration/events";
    const REGISTRATION: &str = "/webhooks/v1/registration";
    const TESTS: &str = "/webhooks/v1/registration/validationEvents";
    const TEST: &str = "/webhooks/v1/registration/validationEvents/{correlationId}";
    let (_, document) = documents()
        .into_iter()
        .find(|(name, _)| *name == "webhooks")
        .expect("the webhooks document");
    let mut checker = Checker::of(document);
    let sandbox = sandbox(0).await;
    let base = sandbox.base_url();
    let url = |path: &str| format!("{base}{path}");
    let registration = json!({
        "WebhookUrl": "http://127.0.0.1:9/events",
        "WebhookEvents": ["referral-updated"],
        "SignatureTokenToMsSignatureHeader": true
    });
    let replacement =
        json!({"webhookUrl": "https://localhost/events", "webhookEvents": ["referral-created"]});
    let not_a_url = json!({"WebhookUrl": "events", "WebhookEvents": ["referral-created"]});

    let mut expect = async |path: &str, method: &str, status: u16, response: Response| {
        assert_eq!(response.status(), status, "{method} {path}");
        checker.check(path, method, response).await
    };
    let none = request(Method::GET, &url(REGISTRATION), None, &[]).await;
    let error = expect(REGISTRATION, "get", 404, none).await;
    assert_eq!(
        error,
        json!({"code": 404, "description": "No registration was found."})
    );
    let made = request(Method::POST, &url(REGISTRATION), Some(&registration), &[]).await;
    let made = expect(REGISTRATION, "post", 200, made).await;
    assert_eq!(made["webhookUrl"], "http://127.0.0.1:9/events");
    let again = request(Method::POST, &url(REGISTRATION), Some(&registration), &[]).await;
    assert_eq!(expect(REGISTRATION, "post", 409, again).await["code"], 409);
    let refused = request(Method::POST, &url(REGISTRATION), Some(&not_a_url), &[]).await;
    assert_eq!(
        expect(REGISTRATION, "post", 400, refused).await["code"],
        2000
    );
    let refused = request(Method::PUT, &url(REGISTRATION), Some(&json!([])), &[]).await;
    expect(REGISTRATION, "put", 400, refused).await;
    let replaced = request(Method::PUT, &url(REGISTRATION), Some(&replacement), &[]).await;
    let replaced = expect(REGISTRATION, "put", 200, replaced).await;
    assert_eq!(replaced["subscriberId"], made["subscriberId"]);
    let view = request(Method::GET, &url(REGISTRATION), None, &[]).await;
    assert_eq!(expect(REGISTRATION, "get", 200, view).await, replaced);
    let events = request(Method::GET, &url(EVENTS), None, &[]).await;
    expect(EVENTS, "get", 200, events).await;
    let anonymous = send(base, Method::GET, EVENTS, None).await;
    expect(EVENTS, "get", 401, anonymous).await;

    let first = request(Method::POST, &url(TESTS), None, &[]).await;
    let first = expect(TESTS, "post", 200, first).await;
    let second = request(Method::POST, &url(TESTS), None, &[]).await;
    expect(TESTS, "post", 200, second).await;
    let third = request(Method::POST, &url(TESTS), None, &[]).await;
    let retry_after: u64 = header(third.headers(), "retry-after")
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(expect(TESTS, "post", 429, third).await["statusCode"], 429);
    let id = first["correlationId"].as_str().unwrap();
    let status = request(Method::GET, &url(&format!("{TESTS}/{id}")), None, &[]).await;
    let status = expect(TEST, "get", 200, status).await;
    assert_eq!(status["status"], "notSubscribed", "{status}");
    let unknown = request(Method::GET, &url(&format!("{TESTS}/nope")), None, &[]).await;
    assert_eq!(expect(TEST, "get", 404, unknown).await["code"], 404);
}

/// The gateway in front of Partner Center answers a throttled tenant with its own body
/// (`{"statusCode", "message"}`, shared/reference/referrals-api.md): the spec documents it as
/// one of the shapes of `ErrorBody`, and the sandbox plays it, on every operation.
#[tokio::test]
async fn throttling_follows_the_gateway() {
    let mut checker = Checker::new();
    let spec = spec();
    let throttling = schema(
        &json!({"$ref": "#/components/schemas/ThrottlingError"}),
        UnknownFields::Refused,
    );
    let referrals_shape = schema(
        &json!({"$ref": "#/components/schemas/ErrorResponse"}),
        UnknownFields::Kept,
    );
    let sandbox = sandbox(3).await;
    for (path, method) in [
        (REFERRAL, "get"),
        (REFERRALS, "get"),
        (REFERRALS, "post"),
        (REFERRAL, "patch"),
    ] {
        let documented = documented_response(&spec, path, method, 429);
        assert_eq!(
            documented["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
        assert!(documented["headers"]["Retry-After"].is_object());

        sandbox.faults().push(
            Fault::Throttle {
                retry_after: Duration::from_secs(57),
            },
            1,
        );
        let concrete = path.replace("{id}", OFFICIAL_REFERRAL_ID);
        let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = send(sandbox.base_url(), http_method, &concrete, Some("t")).await;
        assert_eq!(response.status(), 429);
        assert_eq!(header(response.headers(), "retry-after"), Some("57"));
        let body = checker.check(path, method, response).await;
        assert!(throttling.is_valid(&body), "{body}");
        assert!(!referrals_shape.is_valid(&body), "{body}");
        assert_eq!(
            body,
            json!({"statusCode": 429, "message": "Rate limit is exceeded. Try again in 57 seconds."})
        );
    }
}

/// The checks above can fail: wrong data is refused, and only what the spec allows passes.
#[test]
fn the_converted_schemas_refuse_what_the_spec_does() {
    let lenient = Schema::component("Referral", UnknownFields::Kept).unwrap();
    let strict = Schema::component("Referral", UnknownFields::Refused).unwrap();
    let official: Value = serde_json::from_str(OFFICIAL_EXAMPLE).unwrap();
    assert!(strict.is_valid(&official));

    let with = |pointer: &str, value: Value| {
        let mut referral = official.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let parent = referral
            .pointer_mut(parent)
            .unwrap()
            .as_object_mut()
            .unwrap();
        parent.insert(key.to_owned(), value);
        referral
    };
    // Allowed: null where the spec says nullable, unknown fields where it keeps them.
    assert!(strict.is_valid(&with("/organizationName", Value::Null)));
    assert!(strict.is_valid(&with("/details/dealValue", Value::Null)));
    assert!(lenient.is_valid(&with("/customerProfile/newField", json!(1))));
    // `customerProfile.ids`: a list or an object.
    assert!(strict.is_valid(&with("/customerProfile/ids", json!({}))));
    assert!(strict.is_valid(&with(
        "/customerProfile/ids",
        json!([{"profileType": "Duns", "id": "1"}])
    )));
    // Refused.
    for (pointer, value) in [
        ("/status", json!("Open")),
        ("/status", Value::Null),
        ("/createdDateTime", json!("yesterday")),
        ("/details/dealValue", json!(true)),
        ("/customerProfile/address/city", json!(7)),
        (
            "/details/requirements/solutions",
            json!([{ "type": "Vendor" }]),
        ),
        ("/customerProfile/ids", json!("970002754")),
        (
            "/registrations",
            json!([{"solutionDetails": [{"isDeployedOnAzure": "yes"}]}]),
        ),
    ] {
        assert!(
            !lenient.is_valid(&with(pointer, value.clone())),
            "{pointer} = {value}"
        );
    }
    assert!(!strict.is_valid(&with("/customerProfile/newField", json!(1))));

    let error = Schema::component("ErrorBody", UnknownFields::Kept).unwrap();
    assert!(error.is_valid(&json!({"error": {"code": "itemNotFound", "message": null}})));
    assert!(error.is_valid(&json!({"statusCode": 429, "message": "throttled"})));
    assert!(error.is_valid(&json!({"code": 2001, "description": "Partner Center"})));
    // The shapes overlap: a body may fit two of them (`anyOf`, not `oneOf`).
    assert!(
        error.is_valid(&json!({"statusCode": 429, "message": "slow down", "code": "throttled"}))
    );
    assert!(
        !error
            .is_valid(&json!({"code": {"n": 1}, "description": "a code is a string or a number"}))
    );
    assert!(!error.is_valid(&json!({"error": {"message": "no code"}})));
    assert!(!error.is_valid(&json!({"message": "neither shape"})));

    let patch = Schema::component("JsonPatch", UnknownFields::Kept).unwrap();
    assert!(patch.is_valid(&json!([{"op": "replace", "path": "/details/notes", "value": null}])));
    for refused in [
        json!([{"op": "replace", "path": "/details/notes"}]),
        json!([{"op": "replace", "path": "details/notes", "value": "x"}]),
        json!([{"op": "remove", "path": "/details/notes", "value": null}]),
        json!([]),
    ] {
        assert!(!patch.is_valid(&refused), "{refused}");
    }

    let page = Schema::component("ReferralPage", UnknownFields::Refused).unwrap();
    assert!(page.is_valid(&json!({"value": [official], "@odata.count": 1})));
    assert!(!page.is_valid(&json!({"@odata.count": 1})));
    assert!(!page.is_valid(&json!({"value": [{"status": "Open"}]})));
    assert!(!page.is_valid(&json!({"value": [], "@odata.nextLink": "page two"})));
    // The spec's examples of a listing page, as a mock serves them: a first page that links to
    // the next, and a last page.
    let examples = &spec()["components"]["examples"];
    let first = &examples["ReferralPage"]["value"];
    assert!(page.is_valid(first), "{first}");
    assert!(
        first["@odata.nextLink"]
            .as_str()
            .unwrap()
            .contains("$skiptoken=")
    );
    assert_eq!(first["value"][0], official);
    let last = &examples["LastReferralPage"]["value"];
    assert!(
        page.is_valid(last) && last.get("@odata.nextLink").is_none(),
        "{last}"
    );
}
