//! The binary against a service that misbehaves: links that loop, text that would drive the
//! terminal or flood stderr, pages that reflect the token, and answers that never come.

mod support;

use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::{Value, json};
use support::*;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const LIST_PATH: &str = "/v1.0/engagements/referrals";
const TOKEN: &str = "cli-hostile-token-5d1e";

/// `partner-center --base-url <server> --token TOKEN <args>`, with nothing from the caller's
/// environment.
fn run(base_url: &str, args: &[&str]) -> Output {
    Command::cargo_bin("partner-center")
        .unwrap()
        .env_remove("PARTNER_CENTER_TOKEN")
        .env_remove("PARTNER_CENTER_BASE_URL")
        .args(["--base-url", base_url, "--token", TOKEN])
        .args(args)
        .output()
        .unwrap()
}

/// Asserts the command failed with exactly one error line free of control characters and
/// of the token; returns the line.
fn one_safe_error_line(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = stderr_of(output);
    let line = stderr
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("{stderr:?}"));
    assert!(line.starts_with("error: "), "{line}");
    assert!(
        !line
            .chars()
            .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
        "{line:?}"
    );
    assert!(!line.contains(TOKEN), "{line}");
    line.to_owned()
}

/// The official example with `id` as its id.
fn referral(id: &str) -> Value {
    let mut referral: Value = serde_json::from_str(OFFICIAL_EXAMPLE).unwrap();
    referral["id"] = json!(id);
    referral
}

/// A server whose listing's first page links to `?$skiptoken=a`, and whose page `a` links to
/// itself.
async fn looping_listing() -> MockServer {
    let server = MockServer::start().await;
    let page = |id: &str| {
        let link = format!("{}{LIST_PATH}?$skiptoken=a", server.uri());
        json!({"value": [referral(id)], "@odata.nextLink": link})
    };
    Mock::given(method("GET"))
        .and(path(LIST_PATH))
        .and(query_param_is_missing("$skiptoken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page("first")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(LIST_PATH))
        .and(query_param("$skiptoken", "a"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page("again")))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_next_link_that_loops_ends_the_listing_with_one_error() {
    let server = looping_listing().await;

    let output = run(
        &server.uri(),
        &["referrals", "list", "--all", "--output", "ndjson"],
    );

    let line = one_safe_error_line(&output);
    assert!(
        line.starts_with(
            "error: paging stopped: the next link of page 2 leads back to page 2, which was \
             already read ("
        ),
        "{line}"
    );
    let ids: Vec<String> = stdout_of(&output)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].to_string())
        .collect();
    assert_eq!(ids, [r#""first""#, r#""again""#]);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// Pages whose next links never end: `?$skiptoken=n` links to `n + 1`.
struct Endless(String);

impl Respond for Endless {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n: u64 = request
            .url
            .query_pairs()
            .find(|(name, _)| name == "$skiptoken")
            .map_or(0, |(_, value)| value.parse().unwrap());
        let link = format!("{}{LIST_PATH}?$skiptoken={}", self.0, n + 1);
        let body = json!({"value": [referral(&format!("r{n}"))], "@odata.nextLink": link});
        ResponseTemplate::new(200).set_body_json(body)
    }
}

#[tokio::test]
async fn endless_next_links_stop_at_max_pages() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(LIST_PATH))
        .respond_with(Endless(server.uri()))
        .mount(&server)
        .await;

    let output = run(
        &server.uri(),
        &[
            "referrals",
            "list",
            "--all",
            "--max-pages",
            "3",
            "--output",
            "ndjson",
        ],
    );

    let line = one_safe_error_line(&output);
    assert!(
        line.contains("paging stopped after 3 pages") && line.ends_with("; here: --max-pages"),
        "{line}"
    );
    assert_eq!(stdout_of(&output).lines().count(), 3);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

/// A server answering `GET` of the official id with `answer`.
async fn answering(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{LIST_PATH}/{OFFICIAL_ID}")))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn escape_sequences_and_newlines_from_the_service_reach_the_terminal_inert() {
    let message = r"first line\nsecond line \u001b[2J\u001b]0;owned\u0007 \u202eevil";
    let body = format!(r#"{{"error":{{"code":"badRequest","message":"{message}"}}}}"#);
    let server =
        answering(ResponseTemplate::new(400).set_body_raw(body.into_bytes(), "application/json"))
            .await;

    let output = run(&server.uri(), &["referrals", "get", OFFICIAL_ID]);

    let line = one_safe_error_line(&output);
    assert!(
        line.contains(
            r"badRequest: first line\nsecond line \u{1b}[2J\u{1b}]0;owned\u{7} \u{202e}evil"
        ),
        "{line}"
    );
}

#[tokio::test]
async fn a_table_shows_escapes_in_the_data_inert_and_json_stays_exact() {
    let mut hostile = referral(OFFICIAL_ID);
    hostile["customerProfile"]["name"] = json!("Fabrikam\u{1b}[2J\nInc\u{202e}");
    hostile["status"] = json!("New\u{7}");
    let server = answering(ResponseTemplate::new(200).set_body_json(&hostile)).await;

    let table = run(
        &server.uri(),
        &["referrals", "get", OFFICIAL_ID, "--output", "table"],
    );
    assert!(table.status.success(), "{table:?}");
    let shown = stdout_of(&table);
    assert!(
        !shown.chars().any(|c| c != '\n' && c.is_control()),
        "{shown:?}"
    );
    assert!(!shown.contains('\u{202e}'), "{shown:?}");
    assert!(shown.contains(r"Fabrikam\u{1b}[2J\nInc\u{202e}"), "{shown}");
    assert!(shown.contains(r"New\u{7}"), "{shown}");

    let exact = run(&server.uri(), &["referrals", "get", OFFICIAL_ID]);
    let printed: Value = serde_json::from_slice(&exact.stdout).unwrap();
    assert_eq!(printed, hostile);
    assert!(
        !stdout_of(&exact).contains('\u{1b}'),
        "JSON escapes it itself"
    );
}

#[tokio::test]
async fn a_5_mib_message_prints_a_bounded_line_saying_how_much_was_cut() {
    let message = "x".repeat(5 * 1024 * 1024);
    let body = json!({"error": {"code": "generalException", "message": message}});
    let server = answering(ResponseTemplate::new(500).set_body_json(body)).await;

    let output = run(
        &server.uri(),
        &["referrals", "get", OFFICIAL_ID, "--attempt-timeout", "5"],
    );

    let line = one_safe_error_line(&output);
    assert!(line.len() < 2048, "{} bytes", line.len());
    let cut = message.len() - partner_center::text::SHOWN_CHARS;
    assert!(
        line.contains(&format!("xxx... [{cut} more characters]")),
        "{line}"
    );
}

#[tokio::test]
async fn a_page_reflecting_the_request_headers_does_not_show_the_token() {
    struct Reflect;
    impl Respond for Reflect {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let headers: String = request
                .headers
                .iter()
                .map(|(name, value)| format!("{name}: {}\n", value.to_str().unwrap_or("?")))
                .collect();
            ResponseTemplate::new(400).set_body_raw(format!("<pre>{headers}</pre>"), "text/html")
        }
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(Reflect)
        .mount(&server)
        .await;

    let output = run(&server.uri(), &["referrals", "get", OFFICIAL_ID]);

    let line = one_safe_error_line(&output);
    assert!(
        line.contains(r"authorization: Bearer [redacted]\n"),
        "{line}"
    );
}

#[test]
fn a_transport_error_does_not_show_filter_values() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);

    let output = run(
        &base_url,
        &[
            "referrals",
            "list",
            "--team-email",
            "jane.doe@fabrikam.example",
            "--top",
            "5",
        ],
    );

    let line = one_safe_error_line(&output);
    assert!(!line.contains("jane.doe"), "{line}");
    assert!(
        line.contains(&format!("{base_url}{LIST_PATH}?$filter=[redacted]&$top=5")),
        "{line}"
    );
}

#[tokio::test]
async fn a_long_throttle_says_how_long_to_wait() {
    let server = answering(
        ResponseTemplate::new(429)
            .set_body_raw(
                r#"{"statusCode":429,"message":"Rate limit is exceeded."}"#,
                "application/json",
            )
            .insert_header("Retry-After", "120"),
    )
    .await;

    let output = run(&server.uri(), &["referrals", "get", OFFICIAL_ID]);

    let line = one_safe_error_line(&output);
    assert!(
        line.contains("Rate limit is exceeded.; the service asked to wait 120 s (request id"),
        "{line}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_401_says_why_the_token_was_refused() {
    let challenge = r#"Bearer error="invalid_token", error_description="The token is expired""#;
    let server = answering(
        ResponseTemplate::new(401)
            .set_body_raw(
                r#"{"error":{"code":"unauthenticated","message":"Unauthorized"}}"#,
                "application/json",
            )
            .insert_header("WWW-Authenticate", challenge),
    )
    .await;

    let output = run(&server.uri(), &["referrals", "get", OFFICIAL_ID]);

    let line = one_safe_error_line(&output);
    assert!(
        line.contains(&format!("; WWW-Authenticate: {challenge} (request id")),
        "{line}"
    );
}

/// A server that answers the official id after `delay`.
async fn slow(delay: Duration) -> MockServer {
    answering(
        ResponseTemplate::new(200)
            .set_body_raw(OFFICIAL_EXAMPLE, "application/json")
            .set_delay(delay),
    )
    .await
}

const NOTICE: &str = "waiting for Partner Center: no answer after 5 s; a slow or failed attempt \
                      is retried (each attempt may take 30 s, the whole call 120 s: \
                      --attempt-timeout and --timeout change these, -v shows each attempt)";

#[tokio::test]
async fn a_slow_answer_is_announced_once_on_a_terminal() {
    let server = slow(Duration::from_secs(7)).await;
    let binary = assert_cmd::cargo::cargo_bin("partner-center");
    let command = format!(
        "{} --base-url {} --token {TOKEN} --attempt-timeout 30 --timeout 120 referrals get \
         {OFFICIAL_ID} --output ndjson",
        binary.display(),
        server.uri()
    );

    // `script` runs the command on a pseudo-terminal: stdout and stderr both end up here.
    let output = std::process::Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .env_remove("PARTNER_CENTER_TOKEN")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script (util-linux) runs the binary on a terminal");

    assert!(output.status.success(), "{output:?}");
    let screen = String::from_utf8(output.stdout).unwrap();
    assert_eq!(screen.matches(NOTICE).count(), 1, "{screen:?}");
    assert!(screen.contains(OFFICIAL_ID), "the answer came: {screen:?}");
}

#[tokio::test]
async fn a_slow_answer_is_not_announced_off_a_terminal() {
    let server = slow(Duration::from_secs(7)).await;

    let output = run(&server.uri(), &["referrals", "get", OFFICIAL_ID]);

    assert!(output.status.success(), "{output:?}");
    assert_eq!(stderr_of(&output), "");
}

#[tokio::test]
async fn drifted_json_is_printed_as_sent_and_warned_of_only_with_v() {
    let mut drifted = referral(OFFICIAL_ID);
    drifted["customerProfile"]["ids"] = json!("D-U-N-S 123456789");
    drifted["status"] = json!(3);
    drifted["createdDateTime"] = json!(1606780800);
    let server = answering(ResponseTemplate::new(200).set_body_json(&drifted)).await;

    for format in ["json", "ndjson"] {
        let output = run(
            &server.uri(),
            &["referrals", "get", OFFICIAL_ID, "--output", format],
        );
        assert!(output.status.success(), "{output:?}");
        let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(printed, drifted, "{format}");
        assert_eq!(stderr_of(&output), "", "no warning without -v");
    }

    let verbose = run(&server.uri(), &["-v", "referrals", "get", OFFICIAL_ID]);
    assert!(verbose.status.success(), "{verbose:?}");
    let stderr = stderr_of(&verbose);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    for field in ["/createdDateTime", "/customerProfile/ids", "/status"] {
        assert!(warnings[0].contains(field), "{field}: {}", warnings[0]);
    }
}
