//! The contract, driven by the spec: for every operation of every document, the request the
//! SDK sends for the spec's example call, and what the SDK makes of every documented response
//! (each example the spec gives it), both as insta snapshots named after the operation.
//!
//! Nothing here names an operation: one added to the spec gets its snapshots on the next
//! `cargo test` (as `.snap.new` files to review with `cargo insta review`), and CI, where insta
//! writes none, fails until they are reviewed and committed.

use partner_center::Error;
use partner_center::operations::{Arguments, Call};
use partner_center_api::spec::DOCUMENTS;
use partner_center_sandbox::spec::{ExampleCall, example, given, resolve};
use partner_center_tests::*;
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The operations of `document`, as (path, method, operation) in the document's order.
fn operations(document: &Value) -> Vec<(&str, &str, &Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            if operation.get("operationId").is_some() {
                found.push((path.as_str(), method.as_str(), operation));
            }
        }
    }
    found
}

/// The spec's example call of the operation `id`, as the SDK takes it.
fn example_call(document: &Value, path: &str, method: &str, id: &str) -> Call {
    let example = ExampleCall::of(document, path, method).unwrap_or_else(|e| panic!("{id}: {e}"));
    let mut arguments = Arguments::new();
    for (_, name, value) in example.parameters {
        arguments = arguments.param(name, value);
    }
    if let Some(body) = example.body {
        arguments = arguments.body(body);
    }
    Call::new(id, arguments).unwrap_or_else(|e| panic!("the spec's example call of {e}"))
}

/// Every documented response of `operation` with the examples the spec gives it: (status,
/// example name, body); one made from its schema when it gives none, no body when it has no
/// content (a 204).
fn responses(document: &Value, operation: &Value) -> Vec<(u16, String, Option<Value>)> {
    let mut found = Vec::new();
    for (status, response) in operation["responses"].as_object().into_iter().flatten() {
        let Ok(status) = status.parse::<u16>() else {
            continue;
        };
        let response = resolve(document, response).expect("a response");
        let media = &response["content"]["application/json"];
        let examples = given(document, media).expect("examples");
        if examples.is_empty() {
            let body = media.get("schema").map(|schema| example(document, schema));
            let name = if body.is_some() { "generated" } else { "none" };
            found.push((status, name.to_owned(), body));
        }
        for (name, body) in examples {
            found.push((status, name, Some(body)));
        }
    }
    found
}

/// What the SDK makes of an answer: the JSON it returns, or the error it reports.
fn outcome(
    result: Result<partner_center::Response<partner_center::operations::Answer>, Error>,
) -> Value {
    match result {
        Ok(response) => {
            let status = response.status().as_u16();
            let answer = response.into_inner();
            assert!(
                answer.drift.is_empty(),
                "the spec's own example drifts: {:?}",
                answer.drift
            );
            json!({"status": status, "json": answer.json})
        }
        Err(error) => {
            let report = partner_center::error::Report::new(&error).to_string();
            json!({"error": without_guids(&report)})
        }
    }
}

#[tokio::test]
async fn every_operation_sends_the_documented_request_and_reads_every_documented_answer() {
    let mut covered = 0;
    for document in DOCUMENTS {
        let spec: Value = serde_yaml::from_str(document.yaml).expect("the spec is YAML");
        for (path, method, operation) in operations(&spec) {
            let id = operation["operationId"].as_str().expect("an operationId");
            if !document.operations.iter().any(|o| o.id == id) {
                panic!(
                    "{id} is in {} but not in its generated operations",
                    document.name
                );
            }
            let call = example_call(&spec, path, method, id);
            for (index, (status, example, body)) in
                responses(&spec, operation).into_iter().enumerate()
            {
                let server = MockServer::start().await;
                let answer = match &body {
                    Some(body) => ResponseTemplate::new(status).set_body_json(body),
                    None => ResponseTemplate::new(status),
                };
                Mock::given(any()).respond_with(answer).mount(&server).await;
                // No retries: every documented answer is seen once.
                let result = client(&server).execute(&call).await;
                if index == 0 {
                    let requests = server.received_requests().await.expect("recorded");
                    let request = requests.first().expect("one request");
                    insta::assert_snapshot!(format!("{id}.request"), request_snapshot(request));
                }
                insta::assert_snapshot!(
                    format!("{id}.{status}.{example}"),
                    snapshot_json(&outcome(result))
                );
            }
            covered += 1;
        }
    }
    assert_eq!(
        covered,
        DOCUMENTS.iter().map(|d| d.operations.len()).sum::<usize>()
    );
}

/// `text` with every GUID (the call's fresh ids) as `[guid]`.
fn without_guids(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some((at, _)) = rest
        .char_indices()
        .find(|(i, _)| rest.get(*i..*i + 36).is_some_and(is_guid))
    {
        out.push_str(&rest[..at]);
        out.push_str("[guid]");
        rest = &rest[at + 36..];
    }
    out.push_str(rest);
    out
}
