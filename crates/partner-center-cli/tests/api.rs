//! `partner-center api`: any operation of the spec by its id, against the sandbox over real
//! HTTP and against a mock service that records what was sent.

mod support;

use std::io::Write;
use std::process::{Output, Stdio};

use assert_cmd::Command;
use partner_center_api::spec::DOCUMENTS;
use serde_json::{Value, json};
use support::*;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// `partner-center` pointed at a service that is not there, without a token: a test passes
/// only if `--sandbox` or `--base-url` really decide where the call goes.
fn partner_center() -> Command {
    let mut command = Command::cargo_bin("partner-center").unwrap();
    command
        .env("PARTNER_CENTER_BASE_URL", "http://127.0.0.1:9")
        .env_remove("PARTNER_CENTER_TOKEN")
        .env(
            "PARTNER_CENTER_TOKEN_CACHE",
            "/nonexistent/partner-center/token.json",
        );
    command
}

fn run(args: &[&str]) -> Output {
    partner_center().args(args).output().unwrap()
}

fn run_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("partner-center"))
        .args(args)
        .env_remove("PARTNER_CENTER_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn lines(output: &Output) -> Vec<Value> {
    stdout_of(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// One line on stderr, nothing on stdout, exit code 1.
fn failed_with(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(output));
    assert!(output.stdout.is_empty(), "{}", stdout_of(output));
    let stderr = stderr_of(output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

#[test]
fn without_an_operation_it_lists_every_operation_of_the_spec() {
    let output = run(&["api", "--output", "ndjson"]);

    assert!(output.status.success(), "{}", stderr_of(&output));
    let listed: Vec<(String, String, String)> = lines(&output)
        .iter()
        .map(|row| {
            let field = |name: &str| row[name].as_str().unwrap().to_owned();
            (field("id"), field("method"), field("path"))
        })
        .collect();
    let spec: Vec<(String, String, String)> = DOCUMENTS
        .iter()
        .flat_map(|document| document.operations)
        .map(|o| (o.id.to_owned(), o.method.to_owned(), o.path.to_owned()))
        .collect();
    assert_eq!(listed, spec);
}

#[test]
fn an_operation_prints_the_body_exactly_as_sent() {
    let output = run(&[
        "--sandbox",
        "api",
        "getReferral",
        "--param",
        &format!("id={OFFICIAL_ID}"),
    ]);

    assert!(output.status.success(), "{}", stderr_of(&output));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let official: Value = serde_json::from_str(OFFICIAL_EXAMPLE).unwrap();
    assert_eq!(printed, official);
}

#[test]
fn all_follows_the_next_links_of_a_list_operation() {
    let every = run(&["sandbox", "ids", "--limit", "0", "--output", "ndjson"]);
    let ids = lines(&every);

    let output = run(&[
        "--sandbox",
        "api",
        "listReferrals",
        "-p",
        "$top=100",
        "--all",
        "--output",
        "ndjson",
    ]);

    assert!(output.status.success(), "{}", stderr_of(&output));
    let listed: Vec<Value> = lines(&output).iter().map(|r| r["id"].clone()).collect();
    assert!(ids.len() > 100, "more than one page: {}", ids.len());
    assert_eq!(listed, ids);
}

#[test]
fn all_is_refused_for_an_operation_that_does_not_page() {
    let output = run(&[
        "--sandbox",
        "api",
        "getReferral",
        "-p",
        &format!("id={OFFICIAL_ID}"),
        "--all",
    ]);

    let stderr = failed_with(&output);
    assert!(
        stderr.contains("getReferral is not a list operation"),
        "{stderr}"
    );
}

#[test]
fn parameters_that_do_not_fit_are_refused_before_any_token_is_needed() {
    for (args, expected) in [
        (
            vec!["getReferral"],
            "getReferral: the path parameter id is required",
        ),
        (
            vec!["listReferrals", "-p", "$top=0"],
            "listReferrals: $top: invalid value \"0\"",
        ),
        (
            vec!["listReferrals", "-p", "$count=maybe"],
            "listReferrals: $count: invalid value",
        ),
        (
            vec!["getReferral", "-p", "id=x", "-p", "$top=1"],
            "getReferral: no parameter $top",
        ),
        (
            vec!["getReferal"],
            "getReferal: no such operation (the spec has listReferrals",
        ),
    ] {
        let output = run(&[&["api"], args.as_slice()].concat());
        let stderr = failed_with(&output);
        // No token and no service: the arguments were refused first.
        assert!(
            stderr.starts_with(&format!("error: {expected}")),
            "{stderr}"
        );
    }
}

#[test]
fn a_body_is_read_from_stdin_and_checked_against_the_request_schema() {
    let patch = r#"[{"op": "replace", "path": "/details/notes", "value": "Call back on Monday"}]"#;
    let id = format!("id={OFFICIAL_ID}");
    let args = [
        "--sandbox",
        "api",
        "updateReferral",
        "-p",
        &id,
        "-p",
        "Prefer=return=representation",
        "--body",
        "-",
    ];

    let output = run_with_stdin(&args, patch);

    assert!(output.status.success(), "{}", stderr_of(&output));
    let updated: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(updated["details"]["notes"], "Call back on Monday");

    let output = run_with_stdin(&args, r#"{"details": {"notes": "not a patch"}}"#);
    let stderr = failed_with(&output);
    assert!(
        stderr.starts_with("error: updateReferral: the request body: "),
        "{stderr}"
    );
}

#[tokio::test]
async fn parameters_go_where_the_spec_puts_them_and_logs_show_only_loggable_values() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/engagements/referrals"))
        .and(query_param("$top", "3"))
        .and(query_param(
            "$filter",
            "customerProfile/team/any(t:t/email eq 'a@b.com')",
        ))
        .and(header("X-Locale", "fr-FR"))
        .and(header("authorization", "Bearer api-test-token-5f1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": "r1"}]})))
        .expect(1)
        .mount(&server)
        .await;

    let output = partner_center()
        .args(["api", "listReferrals", "-v", "--output", "ndjson"])
        .args(["-p", "$top=3", "-p", "x-locale=fr-FR"])
        .args([
            "-p",
            "$filter=customerProfile/team/any(t:t/email eq 'a@b.com')",
        ])
        .args(["--base-url", &server.uri(), "--token", "api-test-token-5f1"])
        .output()
        .unwrap();

    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output).trim(), r#"{"value":[{"id":"r1"}]}"#);
    let log = stderr_of(&output);
    assert!(log.contains("$top=3"), "{log}");
    assert!(
        log.contains("$filter=[redacted]") && !log.contains("a@b.com"),
        "{log}"
    );
    assert!(!log.contains("api-test-token-5f1"), "{log}");
}
