//! The sandbox against the spec: every operation of `spec/partner-center.openapi.yaml` is
//! served, and every response (referrals of many seeds, the official example, the error
//! bodies) validates against the spec's schemas, so the two cannot drift apart silently.
//!
//! The spec's OpenAPI 3.0 schemas become JSON Schema (2020-12) here: `#/components/schemas/X`
//! references point at `$defs`, and `nullable: true` admits `null`. A strict variant also
//! refuses fields the spec does not name, so the sandbox cannot send one by mistake.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use jsonschema::Validator;
use partner_center_sandbox::{Fault, OFFICIAL_REFERRAL_ID, Sandbox};
use reqwest::{Method, Response};
use serde_json::{Map, Value, json};
use support::*;

const SPEC: &str = include_str!("../../../spec/partner-center.openapi.yaml");

fn spec() -> Value {
    serde_yaml::from_str(SPEC).expect("the spec is YAML")
}

/// Whether unknown fields are allowed (as the spec says) or refused (to catch typos).
#[derive(Clone, Copy, PartialEq)]
enum Fields {
    AsSpecified,
    OnlyKnown,
}

/// OpenAPI 3.0 schema -> JSON Schema.
fn convert(schema: &Value, fields: Fields) -> Value {
    match schema {
        Value::Object(object) => {
            let mut out = Map::new();
            for (key, value) in object {
                match key.as_str() {
                    "nullable" => {}
                    "$ref" => {
                        let name = value
                            .as_str()
                            .and_then(|r| r.strip_prefix("#/components/schemas/"))
                            .expect("only schema references inside schemas");
                        out.insert(key.clone(), json!(format!("#/$defs/{name}")));
                    }
                    "additionalProperties"
                        if fields == Fields::OnlyKnown && object.contains_key("properties") =>
                    {
                        out.insert(key.clone(), json!(false));
                    }
                    _ => {
                        out.insert(key.clone(), convert(value, fields));
                    }
                }
            }
            if object.get("nullable") == Some(&json!(true)) {
                return nullable(out);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| convert(v, fields)).collect()),
        other => other.clone(),
    }
}

fn nullable(mut schema: Map<String, Value>) -> Value {
    if let Some(Value::String(kind)) = schema.get("type") {
        let kinds = json!([kind, "null"]);
        schema.insert("type".into(), kinds);
        if let Some(Value::Array(values)) = schema.get_mut("enum") {
            values.push(Value::Null);
        }
        Value::Object(schema)
    } else {
        json!({ "anyOf": [schema, { "type": "null" }] })
    }
}

/// A validator of `schema` (an OpenAPI schema of the spec), with every component schema in
/// `$defs` and date-time formats checked.
fn validator(spec: &Value, schema: &Value, fields: Fields) -> Validator {
    let mut root = convert(schema, fields);
    let defs = convert(&spec["components"]["schemas"], fields);
    root.as_object_mut()
        .expect("a schema is an object")
        .insert("$defs".into(), defs);
    jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("the converted schema compiles: {e}"))
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
    match response["$ref"].as_str() {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/components/responses/")
                .expect("a response reference");
            &spec["components"]["responses"][name]
        }
        None => response,
    }
}

/// The spec, and the validators made from it so far (compiling one takes a while).
struct Checker {
    spec: Value,
    validators: HashMap<String, [Validator; 2]>,
}

impl Checker {
    fn new() -> Self {
        Self {
            spec: spec(),
            validators: HashMap::new(),
        }
    }

    /// Checks one answer of the sandbox against the spec: a documented status, the JSON media
    /// type, every documented header that the service always sends, and the body's schema (both
    /// as specified and with only known fields). Returns the body.
    async fn check(&mut self, path: &str, method: &str, response: Response) -> Value {
        let spec = &self.spec;
        let status = response.status().as_u16();
        let documented = documented_response(spec, path, method, status);
        let headers = response.headers().clone();
        assert_eq!(header(&headers, "content-type"), Some("application/json"));
        for name in documented["headers"]
            .as_object()
            .into_iter()
            .flat_map(Map::keys)
        {
            // Retry-After is "may carry": only checked where a fault sets it.
            if name != "Retry-After" {
                assert!(headers.contains_key(name.as_str()), "{status} lacks {name}");
            }
        }
        let body: Value = response.json().await.expect("a JSON body");
        let schema = &documented["content"]["application/json"]["schema"];
        let validators = self
            .validators
            .entry(schema.to_string())
            .or_insert_with(|| {
                [Fields::AsSpecified, Fields::OnlyKnown]
                    .map(|fields| validator(spec, schema, fields))
            });
        for validator in validators.iter() {
            let errors: Vec<String> = validator
                .iter_errors(&body)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{method} {path} {status}: {errors:#?}\n{body:#}"
            );
        }
        body
    }
}

const REFERRAL: &str = "/v1.0/engagements/referrals/{id}";

#[tokio::test]
async fn every_operation_of_the_spec_is_served() {
    let mut checker = Checker::new();
    let spec = spec();
    let sandbox = Sandbox::start().await.unwrap();
    let mut operations = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if method == "parameters" {
                continue;
            }
            operations += 1;
            let concrete = path.replace("{id}", OFFICIAL_REFERRAL_ID);
            let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = send(sandbox.base_url(), http_method, &concrete, Some("t")).await;
            assert_ne!(response.status(), 405, "{method} {path} is not served");
            let body = checker.check(path, method, response).await;
            assert_ne!(
                body["error"]["target"], "path",
                "{method} {path} is not served"
            );
        }
    }
    assert!(operations >= 1);
}

#[tokio::test]
async fn referrals_of_many_seeds_conform_to_the_spec() {
    let mut checker = Checker::new();
    // One client for all: making one per request would dominate the test's time.
    let client = reqwest::Client::new();
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
    let sandbox = Sandbox::start().await.unwrap();
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
    let sandbox = Sandbox::start().await.unwrap();
    let base = sandbox.base_url();
    let official = referral_path(OFFICIAL_REFERRAL_ID);

    let cases = [
        (401, send(base, Method::GET, &official, None).await),
        (404, get(base, &referral_path("no-such-referral")).await),
        (400, get(base, &referral_path("%C3%28")).await),
    ];
    for (status, response) in cases {
        assert_eq!(response.status(), status);
        let body = checker.check(REFERRAL, "get", response).await;
        assert!(body["error"]["code"].is_string());
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

/// The gateway's throttling body, as Partner Center sends it (shared/reference/referrals-api.md).
fn throttling_schema() -> Value {
    json!({
        "type": "object",
        "required": ["statusCode", "message"],
        "properties": {
            "statusCode": { "const": 429 },
            "message": { "type": "string" }
        },
        "additionalProperties": false
    })
}

/// Known divergence: the spec describes a 429 body as an `ErrorResponse`, but the gateway in
/// front of Partner Center answers `{"statusCode", "message"}`, which the sandbox plays (and
/// the SDK decodes). progenitor allows one error type per operation, so the spec cannot say
/// "either" without changing every error type. This test fails when either side changes.
#[tokio::test]
async fn throttling_follows_the_gateway() {
    let spec = spec();
    let documented = documented_response(&spec, REFERRAL, "get", 429);
    assert_eq!(
        documented["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorResponse"
    );
    assert!(documented["headers"]["Retry-After"].is_object());

    let sandbox = Sandbox::start().await.unwrap();
    sandbox.faults().push(
        Fault::Throttle {
            retry_after: Duration::from_secs(57),
        },
        1,
    );
    let response = get(sandbox.base_url(), &referral_path(OFFICIAL_REFERRAL_ID)).await;
    assert_eq!(response.status(), 429);
    assert_eq!(header(response.headers(), "retry-after"), Some("57"));
    assert!(response.headers().contains_key("request-id"));
    let body: Value = response.json().await.unwrap();
    let validator = jsonschema::validator_for(&throttling_schema()).unwrap();
    assert!(validator.is_valid(&body), "{body}");
    assert_eq!(
        body["message"],
        "Rate limit is exceeded. Try again in 57 seconds."
    );
}

/// The checks above can fail: wrong data is refused, and only what the spec allows passes.
#[test]
fn the_converted_schemas_refuse_what_the_spec_does() {
    let spec = spec();
    let referral = json!({ "$ref": "#/components/schemas/Referral" });
    let lenient = validator(&spec, &referral, Fields::AsSpecified);
    let strict = validator(&spec, &referral, Fields::OnlyKnown);
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
    ] {
        assert!(
            !lenient.is_valid(&with(pointer, value.clone())),
            "{pointer} = {value}"
        );
    }
    assert!(!strict.is_valid(&with("/customerProfile/newField", json!(1))));

    let error = json!({ "$ref": "#/components/schemas/ErrorResponse" });
    let error = validator(&spec, &error, Fields::AsSpecified);
    assert!(error.is_valid(&json!({"error": {"code": "itemNotFound", "message": null}})));
    assert!(!error.is_valid(&json!({"error": {"message": "no code"}})));
    assert!(!error.is_valid(&json!({"statusCode": 429, "message": "throttled"})));
}
