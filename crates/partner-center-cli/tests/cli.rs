//! The `partner-center` binary end to end, against a mock Partner Center.

mod support;

use assert_cmd::Command;
use serde_json::Value;
use support::*;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "cli-test-token-93be";

async fn serve(status: u16, body: &str, content_type: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/engagements/referrals/{OFFICIAL_ID}")))
        .and(header("authorization", format!("Bearer {TOKEN}")))
        .respond_with(
            ResponseTemplate::new(status)
                .set_body_raw(body.as_bytes().to_vec(), content_type)
                .insert_header("Request-ID", "req-cli-1"),
        )
        .mount(&server)
        .await;
    server
}

/// `partner-center` with a clean environment (no token or base URL from the caller's shell).
fn partner_center() -> Command {
    let mut command = Command::cargo_bin("partner-center").unwrap();
    command
        .env_remove("PARTNER_CENTER_TOKEN")
        .env_remove("PARTNER_CENTER_BASE_URL")
        .env("PARTNER_CENTER_TOKEN_CACHE", fresh_cache_path());
    command
}

/// A token cache path that does not exist yet, in a directory of its own.
fn fresh_cache_path() -> std::path::PathBuf {
    std::env::temp_dir()
        .join(format!("partner-center-cli-{}", uuid_like()))
        .join("token.json")
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{nanos}", std::process::id())
}

#[tokio::test]
async fn get_prints_exactly_what_the_service_sent() {
    let server = serve(200, OFFICIAL_EXAMPLE, "application/json").await;

    let output = partner_center()
        .args([
            "referrals",
            "get",
            OFFICIAL_ID,
            "--base-url",
            &server.uri(),
            "--token",
            TOKEN,
        ])
        .output()
        .unwrap();

    assert!(output.status.success(), "{}", stderr_of(&output));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let served: Value = serde_json::from_str(OFFICIAL_EXAMPLE).unwrap();
    assert_eq!(printed, served);
    assert!(output.stderr.is_empty());
}

#[tokio::test]
async fn token_and_base_url_come_from_the_environment() {
    let server = serve(200, OFFICIAL_EXAMPLE, "application/json").await;

    let output = partner_center()
        .env("PARTNER_CENTER_BASE_URL", server.uri())
        .env("PARTNER_CENTER_TOKEN", TOKEN)
        .args(["referrals", "get", OFFICIAL_ID])
        .output()
        .unwrap();

    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn requests_go_through_the_proxy_of_the_environment() {
    // The proxy answers for a host that does not exist: only the proxy can have answered.
    let proxy = serve(200, OFFICIAL_EXAMPLE, "application/json").await;

    let output = partner_center()
        .env("HTTP_PROXY", proxy.uri())
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .args(["referrals", "get", OFFICIAL_ID, "--token", TOKEN])
        .args(["--base-url", "http://partner-center.invalid"])
        .output()
        .unwrap();

    assert!(output.status.success(), "{}", stderr_of(&output));
    let requests = proxy.received_requests().await.unwrap();
    assert_eq!(requests[0].url.host_str(), Some("partner-center.invalid"));
}

#[tokio::test]
async fn a_service_error_is_one_line_with_status_code_message_and_request_id() {
    let body = r#"{"error":{"code":"itemNotFound","message":"The referral was not found."}}"#;
    let server = serve(404, body, "application/json").await;

    let output = partner_center()
        .env("PARTNER_CENTER_TOKEN", TOKEN)
        .args(["referrals", "get", OFFICIAL_ID, "--base-url", &server.uri()])
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = stderr_of(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for expected in [
        "404",
        "itemNotFound",
        "The referral was not found.",
        "req-cli-1",
    ] {
        assert!(
            stderr.contains(expected),
            "{expected} missing from {stderr}"
        );
    }
    assert!(!stderr.contains(TOKEN));
    let redacted = stderr.replace(
        stderr
            .split("client-request-id ")
            .nth(1)
            .unwrap()
            .trim_end_matches([')', '\n']),
        "[guid]",
    );
    insta::assert_snapshot!(redacted, @"error: not found: 404 Not Found itemNotFound: The referral was not found. (request id req-cli-1, client-request-id [guid])");
}

#[tokio::test]
async fn an_html_gateway_page_is_one_line_too() {
    let server = serve(
        502,
        "<html>\n<body>Bad Gateway</body>\n</html>",
        "text/html",
    )
    .await;

    let output = partner_center()
        .args([
            "referrals",
            "get",
            OFFICIAL_ID,
            "--base-url",
            &server.uri(),
            "--token",
            TOKEN,
        ])
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("502 Bad Gateway") && stderr.contains("Bad Gateway</body>"),
        "{stderr}"
    );
}

#[test]
fn no_token_is_a_clear_error() {
    let output = partner_center()
        .args(["referrals", "get", OFFICIAL_ID])
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr_of(&output),
        "error: no token: pass --token, set PARTNER_CENTER_TOKEN, or run `partner-center login`\n"
    );
}

#[test]
fn an_empty_id_is_refused_without_a_request() {
    // The base URL points nowhere: the id must be refused before any connection is tried.
    let output = partner_center()
        .args([
            "referrals",
            "get",
            "",
            "--base-url",
            "http://127.0.0.1:9",
            "--token",
            TOKEN,
        ])
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr_of(&output),
        "error: invalid input: referral id \"\" is empty\n"
    );
}

#[test]
fn the_token_is_not_shown_in_help() {
    let output = partner_center()
        .env("PARTNER_CENTER_TOKEN", TOKEN)
        .args(["--help"])
        .output()
        .unwrap();

    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("PARTNER_CENTER_TOKEN"), "{help}");
    assert!(!help.contains(TOKEN), "{help}");
}

const TENANT: &str = "contoso.onmicrosoft.com";
const CACHED_TOKEN: &str = "cached-access-token-5e1f";

/// Entra ID's device code endpoints, answering at once with tokens.
async fn mount_entra(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/devicecode")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "device_code": "dc-1",
            "user_code": "WXYZ-1234",
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900,
            "interval": 0,
            "message": "To sign in, open https://microsoft.com/devicelogin and enter WXYZ-1234."
        })))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer",
            "expires_in": 3600,
            "access_token": CACHED_TOKEN,
            "refresh_token": "cached-refresh-token-88aa"
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/engagements/referrals/{OFFICIAL_ID}")))
        .and(header("authorization", format!("Bearer {CACHED_TOKEN}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(OFFICIAL_EXAMPLE.as_bytes().to_vec(), "application/json"),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn login_caches_tokens_that_later_commands_use_until_logout() {
    let server = MockServer::start().await;
    mount_entra(&server).await;
    let cache = fresh_cache_path();
    let run = |args: &[&str]| {
        partner_center()
            .env("PARTNER_CENTER_TOKEN_CACHE", &cache)
            .env("PARTNER_CENTER_AUTHORITY", server.uri())
            .env("PARTNER_CENTER_BASE_URL", server.uri())
            .args(args)
            .output()
            .unwrap()
    };

    let login = run(&["login", "--tenant", TENANT, "--client-id", "app-1"]);
    assert!(login.status.success(), "{}", stderr_of(&login));
    assert!(
        stderr_of(&login).contains("WXYZ-1234"),
        "{}",
        stderr_of(&login)
    );
    assert!(String::from_utf8_lossy(&login.stdout).starts_with("Signed in"));

    let get = run(&["referrals", "get", OFFICIAL_ID]);
    assert!(get.status.success(), "{}", stderr_of(&get));
    let printed: Value = serde_json::from_slice(&get.stdout).unwrap();
    assert_eq!(printed["id"], OFFICIAL_ID);

    let logout = run(&["logout"]);
    assert!(logout.status.success());
    assert!(!cache.exists());
    let get = run(&["referrals", "get", OFFICIAL_ID]);
    assert_eq!(get.status.code(), Some(1));
    assert!(
        stderr_of(&get).contains("partner-center login"),
        "{}",
        stderr_of(&get)
    );
}

#[tokio::test]
async fn verbose_logs_the_call_on_stderr_without_the_token() {
    let server = serve(200, OFFICIAL_EXAMPLE, "application/json").await;

    let output = partner_center()
        .args([
            "-v",
            "referrals",
            "get",
            OFFICIAL_ID,
            "--base-url",
            &server.uri(),
            "--token",
            TOKEN,
        ])
        .output()
        .unwrap();

    assert!(output.status.success(), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("attempt finished") && stderr.contains("get_referral"),
        "{stderr}"
    );
    assert!(!stderr.contains(TOKEN), "{stderr}");
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["id"], OFFICIAL_ID);
}

/// A deal value past every integer and float type.
const BIG: &str = "123456789012345678901234567890";

/// The official example, as text, with [`BIG`] as its deal value.
fn with_a_big_deal_value() -> String {
    let body = OFFICIAL_EXAMPLE.replacen(
        r#""dealValue": 10000"#,
        &format!(r#""dealValue": {BIG}"#),
        1,
    );
    assert!(body.contains(BIG));
    body
}

#[tokio::test]
async fn get_prints_a_big_number_digit_for_digit_in_every_format() {
    let server = serve(200, &with_a_big_deal_value(), "application/json").await;

    for (format, expected) in [
        ("json", format!(r#""dealValue": {BIG}"#)),
        ("ndjson", format!(r#""dealValue":{BIG}"#)),
        // One cell, on one line.
        ("table", format!(" {BIG} ")),
    ] {
        let output = partner_center()
            .args(["referrals", "get", OFFICIAL_ID, "--output", format])
            .args(["--base-url", &server.uri(), "--token", TOKEN])
            .output()
            .unwrap();

        assert!(output.status.success(), "{}", stderr_of(&output));
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(stdout.contains(&expected), "{format}: {stdout}");
    }
}

#[tokio::test]
async fn update_sends_a_big_number_digit_for_digit() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(format!("/v1.0/engagements/referrals/{OFFICIAL_ID}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(with_a_big_deal_value().into_bytes(), "application/json"),
        )
        .mount(&server)
        .await;

    let set = format!("/details/dealValue={BIG}");
    let output = partner_center()
        .args([
            "referrals",
            "update",
            OFFICIAL_ID,
            "--set",
            &set,
            "--return",
        ])
        .args(["--base-url", &server.uri(), "--token", TOKEN])
        .output()
        .unwrap();

    assert!(output.status.success(), "{}", stderr_of(&output));
    let requests = server.received_requests().await.unwrap();
    let sent = std::str::from_utf8(&requests[0].body).unwrap();
    assert!(sent.contains(&format!(r#""value":{BIG}"#)), "{sent}");
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(
        printed.contains(&format!(r#""dealValue": {BIG}"#)),
        "{printed}"
    );
}
