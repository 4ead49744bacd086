//! The fault matrix: every way the network and the service fail, and what the client does.
//!
//! Each scenario asserts the outcome, the attempts made (what the client recorded and what the
//! server saw), that the waits asked for were respected (elapsed time is only ever checked from
//! below), and that nothing was lost or duplicated.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use partner_center::auth::{AccessToken, AuthError, TokenFuture, TokenProvider};
use partner_center::{Error, PartnerCenter, RetryPolicy, models::Referral, retry::AttemptOutcome};
use partner_center_tests::*;
use secrecy::ExposeSecret;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server answering the official id with `answers` in turn (the last one repeats).
async fn sequence(answers: Vec<ResponseTemplate>) -> MockServer {
    let server = MockServer::start().await;
    let count = answers.len();
    for (n, answer) in answers.into_iter().enumerate() {
        let mock = Mock::given(method("GET")).and(path(referral_path(OFFICIAL_ID)));
        let mock = if n + 1 < count {
            mock.respond_with(answer).up_to_n_times(1)
        } else {
            mock.respond_with(answer)
        };
        // Earlier answers take precedence until used up.
        mock.with_priority((n + 1) as u8).mount(&server).await;
    }
    server
}

fn ok() -> ResponseTemplate {
    json_response(200, OFFICIAL_EXAMPLE)
}

fn status(code: u16) -> ResponseTemplate {
    json_response(
        code,
        r#"{"error":{"code":"serviceNotAvailable","message":"Try later."}}"#,
    )
}

fn outcomes(err: &Error) -> Vec<AttemptOutcome> {
    err.call()
        .expect("a call was made")
        .attempts
        .iter()
        .map(|a| a.outcome)
        .collect()
}

fn statuses(codes: &[u16]) -> Vec<AttemptOutcome> {
    codes
        .iter()
        .map(|c| AttemptOutcome::Status(reqwest::StatusCode::from_u16(*c).unwrap()))
        .collect()
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

/// Gets the official referral and checks it arrived whole.
async fn get_ok(client: &PartnerCenter) -> Referral {
    let referral = client.referrals().get(OFFICIAL_ID).await.unwrap();
    assert_eq!(
        serde_json::to_value(&referral).unwrap(),
        json(OFFICIAL_EXAMPLE)
    );
    referral
}

/// Gets the official referral, which must fail.
async fn get_err(client: &PartnerCenter) -> Error {
    client.referrals().get(OFFICIAL_ID).await.unwrap_err()
}

async fn retried_then_ok(first: ResponseTemplate) -> MockServer {
    let server = sequence(vec![first, ok()]).await;
    get_ok(&fast_client(&server.uri())).await;
    assert_eq!(requests(&server).await, 2);
    server
}

#[tokio::test]
async fn s01_429_with_retry_after_seconds_is_honoured() {
    let started = Instant::now();
    retried_then_ok(status(429).insert_header("Retry-After", "1")).await;
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn s02_429_with_retry_after_as_an_http_date_is_honoured() {
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    let started = Instant::now();
    retried_then_ok(status(429).insert_header("Retry-After", at.as_str())).await;
    // The date has whole seconds: it lies between 1 and 2 seconds ahead.
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn s03_429_without_retry_after_backs_off_and_retries() {
    retried_then_ok(status(429)).await;
}

#[tokio::test]
async fn s04_retry_after_ms_is_honoured() {
    let started = Instant::now();
    retried_then_ok(status(429).insert_header("retry-after-ms", "300")).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn s05_503_with_retry_after_is_honoured() {
    let started = Instant::now();
    retried_then_ok(status(503).insert_header("retry-after-ms", "200")).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn s06_503_without_retry_after_is_retried() {
    retried_then_ok(status(503)).await;
}

#[tokio::test]
async fn s07_500_is_retried() {
    retried_then_ok(status(500)).await;
}

#[tokio::test]
async fn s08_502_is_retried() {
    retried_then_ok(status(502)).await;
}

#[tokio::test]
async fn s09_504_is_retried() {
    retried_then_ok(status(504)).await;
}

#[tokio::test]
async fn s10_408_is_retried() {
    retried_then_ok(status(408)).await;
}

#[tokio::test]
async fn s11_an_html_502_page_to_the_end_keeps_status_and_excerpt() {
    let html = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    let server = sequence(vec![
        ResponseTemplate::new(502).set_body_raw(html, "text/html"),
    ])
    .await;

    let err = get_err(&fast_client(&server.uri())).await;

    let Error::Service(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.body_excerpt(), Some(html));
    assert_eq!(outcomes(&err), statuses(&[502, 502, 502, 502]));
    assert_eq!(requests(&server).await, 4);
}

#[tokio::test]
async fn s12_an_exhausted_budget_carries_every_attempts_status_and_wait() {
    let server = sequence(vec![status(503), status(500), status(429), status(503)]).await;

    let err = get_err(&fast_client(&server.uri())).await;

    assert!(err.is_retryable());
    assert_eq!(outcomes(&err), statuses(&[503, 500, 429, 503]));
    let attempts = &err.call().unwrap().attempts;
    assert!(
        attempts[..3].iter().all(|a| a.wait.is_some()),
        "{attempts:?}"
    );
    assert_eq!(attempts[3].wait, None);
    assert!(
        report(&err).contains("4 attempts: 503 500 429 503"),
        "{err}"
    );
    assert_eq!(requests(&server).await, 4);
}

#[tokio::test]
async fn s13_a_retry_after_beyond_max_wait_is_returned_not_waited() {
    let server = sequence(vec![status(429).insert_header("Retry-After", "120")]).await;

    let err = get_err(&fast_client(&server.uri())).await;

    assert!(err.is_throttled());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(outcomes(&err), statuses(&[429]));
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn s14_a_wait_past_the_overall_timeout_ends_the_call() {
    let server = sequence(vec![status(503).insert_header("Retry-After", "5")]).await;
    let client = PartnerCenter::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .retry(fast_retries())
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();

    let started = Instant::now();
    let err = get_err(&client).await;

    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited past the overall timeout"
    );
    assert_eq!(err.retry_after(), Some(Duration::from_secs(5)));
    assert_eq!(outcomes(&err), statuses(&[503]));
}

#[tokio::test]
async fn s15_retries_can_be_turned_off() {
    let server = sequence(vec![status(503), ok()]).await;
    let client = retrying_client(&server.uri(), RetryPolicy::none());

    let err = get_err(&client).await;

    assert_eq!(outcomes(&err), statuses(&[503]));
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn s16_client_errors_are_not_retried() {
    for code in [400, 403, 404, 409, 412] {
        let server = sequence(vec![status(code), ok()]).await;
        let err = get_err(&fast_client(&server.uri())).await;
        assert_eq!(outcomes(&err), statuses(&[code]), "{code}");
        assert!(!err.is_retryable(), "{code}");
        assert_eq!(requests(&server).await, 1, "{code}");
    }
}

#[tokio::test]
async fn s17_a_refused_connection_is_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);

    let err = get_err(&fast_client(&format!("http://{address}"))).await;

    let Error::Transport(e) = &err else {
        panic!("{err:?}")
    };
    assert!(e.is_connect());
    assert_eq!(outcomes(&err), vec![AttemptOutcome::NotConnected; 4]);
}

#[tokio::test]
async fn s18_a_reset_mid_body_is_retried() {
    let body = OFFICIAL_EXAMPLE.as_bytes();
    let server = RawServer::start(vec![
        RawAnswer::Reset(raw_response("200 OK", body.len(), &body[..100])),
        RawAnswer::Close(raw_response("200 OK", body.len(), body)),
    ])
    .await;

    get_ok(&fast_client(&server.base_url)).await;

    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn s19_a_truncated_body_is_retried() {
    let body = OFFICIAL_EXAMPLE.as_bytes();
    let server = RawServer::start(vec![
        RawAnswer::Close(raw_response("200 OK", body.len(), &body[..body.len() / 2])),
        RawAnswer::Close(raw_response("200 OK", body.len(), body)),
    ])
    .await;

    get_ok(&fast_client(&server.base_url)).await;

    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn s20_a_truncated_body_to_the_end_is_a_transport_error() {
    let body = OFFICIAL_EXAMPLE.as_bytes();
    let server = RawServer::start(vec![RawAnswer::Close(raw_response(
        "200 OK",
        body.len(),
        &body[..10],
    ))])
    .await;

    let err = get_err(&fast_client(&server.base_url)).await;

    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(outcomes(&err), vec![AttemptOutcome::Failed; 4]);
    assert_eq!(server.connections(), 4);
}

#[tokio::test]
async fn s21_a_body_slower_than_the_attempt_timeout_is_retried() {
    let body = OFFICIAL_EXAMPLE.as_bytes();
    let head = raw_response("200 OK", body.len(), &body[..20]);
    let server = RawServer::start(vec![
        RawAnswer::Trickle(head, body[20..].to_vec(), Duration::from_millis(50)),
        RawAnswer::Close(raw_response("200 OK", body.len(), body)),
    ])
    .await;
    let client = PartnerCenter::builder()
        .base_url(&server.base_url)
        .token(TOKEN)
        .retry(fast_retries())
        .attempt_timeout(Duration::from_millis(300))
        .build()
        .unwrap();

    let started = Instant::now();
    get_ok(&client).await;

    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn s22_slow_answers_time_out_every_attempt() {
    let server = sequence(vec![ok().set_delay(Duration::from_secs(10))]).await;
    let client = PartnerCenter::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .retry(fast_retries().max_attempts(2))
        .attempt_timeout(Duration::from_millis(200))
        .build()
        .unwrap();

    let err = get_err(&client).await;

    let Error::Transport(e) = &err else {
        panic!("{err:?}")
    };
    assert!(e.is_timeout());
    assert_eq!(outcomes(&err), vec![AttemptOutcome::TimedOut; 2]);
}

#[tokio::test]
async fn s23_malformed_json_is_a_decode_error_and_not_retried() {
    let server = sequence(vec![json_response(200, r#"{"id": "x", "#), ok()]).await;

    let err = get_err(&fast_client(&server.uri())).await;

    assert!(
        matches!(&err, Error::Decode(e) if e.body_excerpt() == r#"{"id": "x", "#),
        "{err:?}"
    );
    assert_eq!(outcomes(&err), statuses(&[200]));
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn s24_a_json_body_with_a_wrong_content_type_still_decodes() {
    let server =
        sequence(vec![ResponseTemplate::new(200).set_body_raw(
            OFFICIAL_EXAMPLE.as_bytes().to_vec(),
            "text/plain",
        )])
        .await;

    get_ok(&fast_client(&server.uri())).await;
}

#[tokio::test]
async fn s25_an_html_page_labelled_json_is_a_decode_error() {
    let server = sequence(vec![json_response(200, "<html>maintenance</html>")]).await;

    let err = get_err(&fast_client(&server.uri())).await;

    assert!(matches!(&err, Error::Decode(e) if e.body_excerpt() == "<html>maintenance</html>"));
}

#[tokio::test]
async fn s26_an_empty_body_on_200_is_a_decode_error() {
    let server = sequence(vec![ResponseTemplate::new(200)]).await;

    let err = get_err(&fast_client(&server.uri())).await;

    let Error::Decode(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.body_excerpt(), "");
    assert!(e.source_error().is_eof());
}

#[tokio::test]
async fn s27_a_huge_body_with_a_length_is_refused_unread() {
    let huge = format!(r#"{{"notes": "{}"}}"#, "x".repeat(100_000));
    let server = sequence(vec![json_response(200, &huge)]).await;
    let client = PartnerCenter::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .max_response_bytes(10_000)
        .build()
        .unwrap();

    let err = get_err(&client).await;

    assert!(
        matches!(err, Error::ResponseTooLarge { limit: 10_000, .. }),
        "{err:?}"
    );
    assert!(report(&err).contains("larger than 10000 bytes"), "{err}");
}

#[tokio::test]
async fn s28_a_huge_body_without_a_length_is_cut_at_the_limit() {
    // Chunked encoding: no Content-Length, so the limit is enforced while reading.
    let mut answer =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_vec();
    for _ in 0..100 {
        answer.extend_from_slice(b"3e8\r\n");
        answer.extend_from_slice(&[b' '; 1000]);
        answer.extend_from_slice(b"\r\n");
    }
    answer.extend_from_slice(b"0\r\n\r\n");
    let server = RawServer::start(vec![RawAnswer::Close(answer)]).await;
    let client = PartnerCenter::builder()
        .base_url(&server.base_url)
        .token(TOKEN)
        .max_response_bytes(10_000)
        .build()
        .unwrap();

    let err = get_err(&client).await;

    assert!(matches!(err, Error::ResponseTooLarge { .. }), "{err:?}");
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn s29_unknown_enum_values_and_fields_are_kept() {
    let mut body = json(OFFICIAL_EXAMPLE);
    body["status"] = serde_json::json!("Frozen");
    body["newField"] = serde_json::json!({"nested": [1, 2]});
    let server = sequence(vec![json_response(200, &body.to_string())]).await;

    let referral = fast_client(&server.uri())
        .referrals()
        .get(OFFICIAL_ID)
        .await
        .unwrap();

    assert_eq!(serde_json::to_value(&referral).unwrap(), body);
}

/// A provider whose token is `old` until refreshed, then `new`; counts refreshes.
#[derive(Debug)]
struct Rotating {
    refreshes: AtomicUsize,
    refresh_fails: bool,
}

impl Rotating {
    fn current(&self) -> AccessToken {
        let refreshed = self.refreshes.load(Ordering::SeqCst) > 0;
        AccessToken::new(
            if refreshed {
                "new-token-b2"
            } else {
                "old-token-a1"
            },
            None,
        )
    }
}

impl TokenProvider for Rotating {
    fn token<'a>(&'a self, _scope: &'a str) -> TokenFuture<'a> {
        Box::pin(async move { Ok(self.current()) })
    }

    fn refresh<'a>(&'a self, _scope: &'a str, _rejected: &'a AccessToken) -> TokenFuture<'a> {
        Box::pin(async move {
            if self.refresh_fails {
                return Err(AuthError::Rejected(
                    "AADSTS70043: the refresh token has expired".into(),
                ));
            }
            self.refreshes.fetch_add(1, Ordering::SeqCst);
            Ok(self.current())
        })
    }
}

async fn auth_server(new_token_works: bool) -> MockServer {
    let server = MockServer::start().await;
    let unauthorized = json_response(
        401,
        r#"{"error":{"code":"unauthenticated","message":"Expired."}}"#,
    );
    Mock::given(header("authorization", "Bearer old-token-a1"))
        .respond_with(unauthorized.clone())
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer new-token-b2"))
        .respond_with(if new_token_works { ok() } else { unauthorized })
        .mount(&server)
        .await;
    server
}

fn rotating_client(server: &MockServer, refresh_fails: bool) -> PartnerCenter {
    PartnerCenter::builder()
        .base_url(server.uri())
        .token_provider(Rotating {
            refreshes: AtomicUsize::new(0),
            refresh_fails,
        })
        .retry(fast_retries())
        .build()
        .unwrap()
}

#[tokio::test]
async fn s30_a_401_refreshes_the_token_and_retries_once() {
    let server = auth_server(true).await;
    let client = rotating_client(&server, false);

    get_ok(&client).await;

    let seen: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, ["Bearer old-token-a1", "Bearer new-token-b2"]);
}

#[tokio::test]
async fn s31_a_second_401_is_the_error() {
    let server = auth_server(false).await;
    let client = rotating_client(&server, false);

    let err = get_err(&client).await;

    let Error::Unauthorized(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.code(), Some("unauthenticated"));
    assert_eq!(outcomes(&err), statuses(&[401, 401]));
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn s32_a_failed_refresh_is_an_auth_error() {
    let server = auth_server(true).await;
    let client = rotating_client(&server, true);

    let err = get_err(&client).await;

    assert!(
        matches!(&err, Error::Auth(AuthError::Rejected(m)) if m.contains("AADSTS70043")),
        "{err:?}"
    );
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn s33_a_static_token_rejected_is_unauthorized_after_one_attempt() {
    let server = sequence(vec![json_response(
        401,
        r#"{"error":{"code":"unauthenticated","message":"No."}}"#,
    )])
    .await;

    let err = get_err(&fast_client(&server.uri())).await;

    assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn s34_a_redirect_is_not_followed_and_the_token_stays_home() {
    let elsewhere = MockServer::start().await;
    let location = format!("{}/steal", elsewhere.uri());
    let server = sequence(vec![
        ResponseTemplate::new(307).insert_header("Location", location.as_str()),
    ])
    .await;

    let err = get_err(&fast_client(&server.uri())).await;

    assert_eq!(err.status().map(|s| s.as_u16()), Some(307));
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn s35_retries_keep_the_request_ids_and_calls_get_fresh_ones() {
    let server = sequence(vec![status(503), status(503), ok()]).await;
    let client = fast_client(&server.uri());
    let workflow = uuid::Uuid::new_v4();

    get_ok(&client.with_correlation_id(workflow)).await;
    get_ok(&client).await;

    let requests = server.received_requests().await.unwrap();
    let id = |n: usize, name: &str| requests[n].headers[name].to_str().unwrap().to_owned();
    assert_eq!(requests.len(), 4);
    assert!((0..3).all(|n| id(n, "client-request-id") == id(0, "client-request-id")));
    assert!((0..3).all(|n| id(n, "ms-requestid") == id(0, "client-request-id")));
    assert!((0..3).all(|n| id(n, "ms-correlationid") == workflow.to_string()));
    assert_ne!(id(3, "client-request-id"), id(0, "client-request-id"));
    assert_ne!(id(3, "ms-correlationid"), workflow.to_string());
}

#[tokio::test]
async fn s36_no_error_of_the_matrix_shows_the_token() {
    let server = sequence(vec![json_response(401, "<html>denied</html>")]).await;
    let err = get_err(&fast_client(&server.uri())).await;
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(TOKEN), "{shown}");

    let token = Rotating {
        refreshes: AtomicUsize::new(0),
        refresh_fails: false,
    }
    .current();
    assert_eq!(token.secret().expose_secret(), "old-token-a1");
    assert!(!format!("{token:?}").contains("old-token"));
}

#[tokio::test]
async fn s37_the_application_name_is_sent() {
    let server = sequence(vec![ok()]).await;
    let client = PartnerCenter::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .application_name("contoso-crm")
        .build()
        .unwrap();

    get_ok(&client).await;

    let request = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        request.headers["ms-partnercenter-application"],
        "contoso-crm"
    );
    let agent = request.headers["user-agent"].to_str().unwrap();
    assert!(
        agent.starts_with("contoso-crm partner-center-rs/"),
        "{agent}"
    );
}

#[tokio::test]
async fn s38_the_rate_limit_spaces_requests() {
    let server = sequence(vec![ok()]).await;
    let client = PartnerCenter::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .rate_limit(10, Duration::from_secs(1))
        .build()
        .unwrap();

    let started = Instant::now();
    for _ in 0..4 {
        get_ok(&client).await;
    }

    // 10 a second, evenly spaced: one request per 100 ms, no burst, so 3 waits of 100 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(requests(&server).await, 4);
}

#[tokio::test]
async fn s39_a_body_in_many_chunks_arrives_whole() {
    let mut answer =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_vec();
    for piece in OFFICIAL_EXAMPLE.as_bytes().chunks(100) {
        answer.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        answer.extend_from_slice(piece);
        answer.extend_from_slice(b"\r\n");
    }
    answer.extend_from_slice(b"0\r\n\r\n");
    let server = RawServer::start(vec![RawAnswer::Close(answer)]).await;

    get_ok(&fast_client(&server.base_url)).await;

    assert_eq!(server.connections(), 1);
}

// A hostile service: links that loop, text that would flood or drive a terminal, pages that
// reflect the token, URLs with customer data, and what the user needs to know.

/// A listing served at `LIST_PATH`, one referral a page: the first page links to
/// `?$skiptoken=<first>`, and the page at `?$skiptoken=<t>` to `?$skiptoken=<next(t)>` (to no
/// page when `None`).
async fn linked_pages(first: &'static str, next: fn(&str) -> Option<String>) -> MockServer {
    struct Linked {
        base: String,
        first: &'static str,
        next: fn(&str) -> Option<String>,
    }
    impl wiremock::Respond for Linked {
        fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
            let token = request
                .url
                .query_pairs()
                .find(|(name, _)| name == "$skiptoken")
                .map(|(_, value)| value.into_owned());
            let next = match token {
                None => Some(self.first.to_owned()),
                Some(t) => (self.next)(&t),
            };
            let link = next.map(|t| format!("{}{LIST_PATH}?$skiptoken={t}", self.base));
            referral_page(vec![listed_referral(1)], link)
        }
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(LIST_PATH))
        .respond_with(Linked {
            base: server.uri(),
            first,
            next,
        })
        .mount(&server)
        .await;
    server
}

/// The pages of a listing until it ends or fails: the pages read, and the error if any.
async fn read_pages(pages: partner_center::paging::Pages) -> (usize, Option<Error>) {
    let outcomes: Vec<_> = pages.collect().await;
    let read = outcomes.iter().filter(|page| page.is_ok()).count();
    (read, outcomes.into_iter().find_map(Result::err))
}

#[tokio::test]
async fn s40_a_next_link_to_the_same_page_ends_the_listing() {
    let server = linked_pages("a", |t| Some(t.to_owned())).await;

    let (read, err) = read_pages(client(&server).referrals().list().pages()).await;

    assert_eq!(read, 2, "{err:?}");
    let err = err.expect("the loop is an error");
    let Error::PagingLoop {
        page,
        earlier,
        link,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!((*page, *earlier), (2, 2));
    assert!(link.ends_with("?$skiptoken=a"), "{link}");
    assert_eq!(
        report(&err),
        format!(
            "paging stopped: the next link of page 2 leads back to page 2, which was already \
             read ({link})"
        )
    );
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn s40b_a_next_link_back_to_the_first_page_ends_the_listing() {
    let server = MockServer::start().await;
    let first = format!("{}{LIST_PATH}", server.uri());
    Mock::given(method("GET"))
        .and(path(LIST_PATH))
        .respond_with(referral_page(vec![listed_referral(1)], Some(first)))
        .mount(&server)
        .await;

    let (read, err) = read_pages(client(&server).referrals().list().pages()).await;

    assert_eq!(read, 1, "{err:?}");
    assert!(
        matches!(
            err,
            Some(Error::PagingLoop {
                page: 1,
                earlier: 1,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn s41_next_links_in_a_cycle_of_two_end_the_listing() {
    let server = linked_pages("a", |t| Some(if t == "a" { "b" } else { "a" }.to_owned())).await;

    let (read, err) = read_pages(client(&server).referrals().list().pages()).await;

    assert_eq!(read, 3, "{err:?}");
    assert!(
        matches!(
            err,
            Some(Error::PagingLoop {
                page: 3,
                earlier: 2,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test]
async fn s42_endless_new_links_stop_at_the_page_limit_which_can_be_raised() {
    let endless = |t: &str| Some((t.parse::<u64>().unwrap() + 1).to_string());
    let server = linked_pages("1", endless).await;

    let (read, err) = read_pages(client(&server).referrals().list().max_pages(5).pages()).await;
    assert_eq!(read, 5);
    let err = err.expect("the limit is an error");
    assert!(matches!(err, Error::PageLimit { limit: 5 }), "{err:?}");
    assert!(
        report(&err).contains("raise the limit with max_pages"),
        "{err}"
    );
    assert_eq!(requests(&server).await, 5);

    // The client's limit holds for every listing, resumed ones too; a listing can raise it.
    let limited = PartnerCenter::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .max_pages(3)
        .build()
        .unwrap();
    let link = format!("{}{LIST_PATH}?$skiptoken=100", server.uri());
    let resumed = limited
        .referrals()
        .resume(partner_center::paging::Continuation::new(link));
    let (read, err) = read_pages(resumed).await;
    assert_eq!(read, 3);
    assert!(
        matches!(err, Some(Error::PageLimit { limit: 3 })),
        "{err:?}"
    );
    let (read, err) = read_pages(limited.referrals().list().max_pages(8).pages()).await;
    assert!(
        matches!(err, Some(Error::PageLimit { limit: 8 })),
        "{err:?}"
    );
    assert_eq!(read, 8);
}

#[tokio::test]
async fn s43_a_5_mib_message_is_shown_cut_saying_how_much() {
    let message = "overloaded ".repeat(5 * 1024 * 1024 / 11);
    let body = serde_json::json!({"error": {"code": "generalException", "message": message}});
    let server = sequence(vec![json_response(500, &body.to_string())]).await;

    let err = get_err(&client(&server)).await;

    let shown = report(&err);
    assert!(shown.len() < 1024, "{} bytes shown", shown.len());
    let cut = message.chars().count() - partner_center::text::SHOWN_CHARS;
    assert!(
        shown.contains(&format!("... [{cut} more characters] (request id")),
        "{shown}"
    );
    // What the service said is still there whole, for a program to read.
    assert_eq!(
        err.service_error().unwrap().message(),
        Some(message.as_str())
    );
}

#[tokio::test]
async fn s44_newlines_and_escape_sequences_in_service_text_stay_on_one_inert_line() {
    let nasty = r"line 1\nline 2\r\u001b[2J\u001b]0;owned\u0007\u009b31m\u202edesrever";
    let json_body = format!(r#"{{"error":{{"code":"bad\ncode","message":"{nasty}"}}}}"#);
    let html_body = "<html>\r\n<h1>\u{1b}[2J502</h1>\n</html>";
    for answer in [
        json_response(400, &json_body),
        ResponseTemplate::new(502).set_body_raw(html_body, "text/html"),
        json_response(200, "{\"id\": \"\u{1b}]0;title\u{7}\n"),
    ] {
        let server = sequence(vec![answer]).await;
        let err = get_err(&client(&server)).await;
        let shown = report(&err);
        assert!(
            !shown
                .chars()
                .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "{shown:?}"
        );
        assert!(shown.contains("\\u{1b}"), "the escape shown inert: {shown}");
    }
}

#[tokio::test]
async fn s45_a_gateway_page_that_reflects_the_request_never_shows_the_token() {
    struct Reflect(u16);
    impl wiremock::Respond for Reflect {
        fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
            let headers: String = request
                .headers
                .iter()
                .map(|(name, value)| format!("{name}: {}\n", value.to_str().unwrap_or("?")))
                .collect();
            match self.0 {
                400 => {
                    let body = serde_json::json!({"error": {"code": "bad", "message": headers}});
                    json_response(400, &body.to_string())
                }
                code => {
                    ResponseTemplate::new(code).set_body_string(format!("<pre>{headers}</pre>"))
                }
            }
        }
    }
    for code in [400, 401, 502] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(Reflect(code))
            .mount(&server)
            .await;

        let err = get_err(&client(&server)).await;

        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(TOKEN), "{code}: {shown}");
        let service = err.service_error().unwrap();
        let text = service.message().or(service.body_excerpt()).unwrap();
        assert!(
            text.contains("authorization: Bearer [redacted]"),
            "{code}: {text}"
        );
    }
}

#[tokio::test]
async fn s46_transport_errors_show_the_url_without_customer_data() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = retrying_client(&format!("http://{address}"), RetryPolicy::none());

    let err = client
        .referrals()
        .list()
        .filter(partner_center::referrals::Filter::team_email(
            "jane.doe@fabrikam.example",
        ))
        .top(5)
        .send()
        .await
        .unwrap_err();

    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains("jane.doe") && !shown.contains("fabrikam"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "http://{address}{LIST_PATH}?$filter=[redacted]&$top=5"
        )),
        "{shown}"
    );
}

#[tokio::test]
async fn s47_a_next_link_off_the_host_is_shown_without_customer_data() {
    let server = MockServer::start().await;
    let off_host = "https://evil.example/v1.0/engagements/referrals?email=jane.doe@fabrikam.example&$skiptoken=2";
    Mock::given(method("GET"))
        .and(path(LIST_PATH))
        .respond_with(referral_page(
            vec![listed_referral(1)],
            Some(off_host.into()),
        ))
        .mount(&server)
        .await;

    let (read, err) = read_pages(client(&server).referrals().list().pages()).await;

    assert_eq!(read, 1);
    let err = err.unwrap();
    assert!(matches!(err, Error::UntrustedLink(_)), "{err:?}");
    let shown = report(&err);
    assert!(!shown.contains("jane.doe"), "{shown}");
    assert!(
        shown.contains(
            "https://evil.example/v1.0/engagements/referrals?email=[redacted]&$skiptoken=2"
        ),
        "{shown}"
    );
}

#[tokio::test]
async fn s48_a_throttle_longer_than_the_client_waits_says_how_long_to_wait() {
    let throttled = json_response(
        429,
        r#"{"statusCode":429,"message":"Rate limit is exceeded."}"#,
    )
    .insert_header("Retry-After", "120");
    let server = sequence(vec![throttled]).await;

    let err = get_err(&fast_client(&server.uri())).await;

    assert_eq!(outcomes(&err), statuses(&[429]));
    let shown = report(&err);
    assert!(
        shown.starts_with(
            "service error: 429 Too Many Requests 429: Rate limit is exceeded.; the service \
             asked to wait 120 s (request id"
        ),
        "{shown}"
    );
}

#[tokio::test]
async fn s49_a_401_shows_why_the_token_was_refused() {
    let challenge =
        r#"Bearer realm="", error="invalid_token", error_description="The token is expired""#;
    let refused = json_response(
        401,
        r#"{"error":{"code":"unauthenticated","message":"Unauthorized"}}"#,
    )
    .insert_header("WWW-Authenticate", challenge);
    let server = sequence(vec![refused]).await;

    let err = get_err(&client(&server)).await;

    let Error::Unauthorized(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.www_authenticate(), Some(challenge));
    assert!(
        report(&err).contains(&format!(
            "unauthenticated: Unauthorized; WWW-Authenticate: {challenge} (request id"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn s50_a_rate_limit_of_nothing_is_a_configuration_error() {
    for (requests, period) in [(0, Duration::from_secs(1)), (5, Duration::ZERO)] {
        let err = PartnerCenter::builder()
            .token(TOKEN)
            .rate_limit(requests, period)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
    }
}

#[tokio::test]
async fn s51_an_http_client_of_your_own_still_gets_the_whole_policy() {
    let server = sequence(vec![status(503), ok()]).await;
    let own = reqwest::Client::builder()
        .user_agent("contoso-proxy-client")
        .build()
        .unwrap();
    let client = PartnerCenter::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .http_client(own)
        .retry(fast_retries())
        .build()
        .unwrap();

    get_ok(&client).await;

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "retried through the client given");
    for request in &requests {
        assert_eq!(
            request.headers["authorization"],
            format!("Bearer {TOKEN}").as_str()
        );
        assert!(is_guid(
            request.headers["client-request-id"].to_str().unwrap()
        ));
        assert_eq!(request.headers["user-agent"], "contoso-proxy-client");
    }
}

#[tokio::test]
async fn s52_the_attempt_timeout_holds_for_an_http_client_of_your_own() {
    let server = sequence(vec![ok().set_delay(Duration::from_secs(10))]).await;
    let client = PartnerCenter::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .http_client(reqwest::Client::new())
        .retry(RetryPolicy::none())
        .attempt_timeout(Duration::from_millis(200))
        .build()
        .unwrap();

    let started = Instant::now();
    let err = get_err(&client).await;

    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(outcomes(&err), [AttemptOutcome::TimedOut]);
}

#[tokio::test]
async fn s53_requests_go_through_the_proxy_configured() {
    // The proxy answers for a host that does not exist: only the proxy can have answered.
    let proxy = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(referral_path(OFFICIAL_ID)))
        .respond_with(ok())
        .mount(&proxy)
        .await;
    let client = PartnerCenter::builder()
        .base_url("http://partner-center.invalid")
        .token(TOKEN)
        .proxy(reqwest::Proxy::http(proxy.uri()).unwrap())
        .build()
        .unwrap();

    get_ok(&client).await;

    let request = &proxy.received_requests().await.unwrap()[0];
    assert_eq!(request.url.host_str(), Some("partner-center.invalid"));

    let err = PartnerCenter::builder()
        .token(TOKEN)
        .http_client(reqwest::Client::new())
        .proxy(reqwest::Proxy::http(proxy.uri()).unwrap())
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}
