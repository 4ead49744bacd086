//! Every way a call can fail becomes a typed [`Error`] that keeps what the service said.

use std::time::Duration;

use partner_center::{Error, PartnerCenter};
use partner_center_tests::*;
use wiremock::ResponseTemplate;

async fn get_with(response: ResponseTemplate) -> Error {
    let server = serve_referral(response).await;
    client(&server)
        .referrals()
        .get(OFFICIAL_ID)
        .await
        .unwrap_err()
}

fn referrals_error(code: &str, message: &str) -> String {
    format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}}}"#)
}

/// The error's Display, Debug and every line of it hold no token.
fn assert_no_token(err: &Error) {
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(TOKEN), "token leaked: {shown}");
}

#[tokio::test]
async fn unauthorized_keeps_code_and_request_id() {
    let err = get_with(
        json_response(
            401,
            &referrals_error("unauthenticated", "The caller is not authenticated."),
        )
        .insert_header("Request-ID", "req-401"),
    )
    .await;

    let Error::Unauthorized(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.status(), 401);
    assert_eq!(e.code(), Some("unauthenticated"));
    assert_eq!(e.request_id(), Some("req-401"));
    assert!(is_guid(e.client_request_id()));
    assert_no_token(&err);
}

#[tokio::test]
async fn forbidden() {
    let err = get_with(json_response(
        403,
        &referrals_error("accessDenied", "No referrals role."),
    ))
    .await;

    let Error::Forbidden(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.code(), Some("accessDenied"));
    assert_eq!(e.message(), Some("No referrals role."));
    assert_no_token(&err);
}

#[tokio::test]
async fn not_found_keeps_code_message_target_and_request_id() {
    let body = r#"{"error":{"code":"itemNotFound","message":"The referral was not found.","target":"id"}}"#;
    let err = get_with(json_response(404, body).insert_header("request-id", "req-404")).await;

    let Error::NotFound(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.code(), Some("itemNotFound"));
    assert_eq!(e.message(), Some("The referral was not found."));
    assert_eq!(e.target(), Some("id"));
    assert_eq!(e.request_id(), Some("req-404"));
    // The error says its own level; the service's answer is its cause, and the report shows both.
    assert_eq!(err.to_string(), "not found");
    let cause = std::error::Error::source(&err).expect("the service's answer");
    assert!(
        cause.to_string().starts_with("404 Not Found itemNotFound"),
        "{cause}"
    );
    let line = report(&err);
    assert!(
        line.starts_with("not found: 404 Not Found itemNotFound: The referral was not found. (request id req-404, client-request-id "),
        "{line}"
    );
    assert!(!line.contains('\n'));
}

#[tokio::test]
async fn server_error_with_an_html_body_keeps_status_and_an_excerpt() {
    let html = "<html>\n<head><title>500 Internal Server Error</title></head>\n</html>\n";
    let err = get_with(ResponseTemplate::new(500).set_body_raw(html, "text/html")).await;

    let Error::Service(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.status(), 500);
    assert_eq!(e.code(), None);
    assert_eq!(e.body_excerpt(), Some(html));
    assert!(!report(&err).contains('\n'), "{err}");
}

#[tokio::test]
async fn undocumented_error_statuses_decode_every_error_shape() {
    let err = get_with(json_response(
        502,
        r#"{"statusCode":502,"message":"Bad gateway upstream."}"#,
    ))
    .await;
    let Error::Service(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (e.status().as_u16(), e.code(), e.message()),
        (502, Some("502"), Some("Bad gateway upstream."))
    );

    let err = get_with(json_response(
        409,
        r#"{"code":"600","description":"Conflict.","data":[],"source":"PartnerFD"}"#,
    ))
    .await;
    let Error::Service(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (e.status().as_u16(), e.code(), e.message()),
        (409, Some("600"), Some("Conflict."))
    );
}

#[tokio::test]
async fn throttling_keeps_the_message() {
    let err = get_with(
        json_response(
            429,
            r#"{"statusCode":429,"message":"Rate limit is exceeded. Try again in 57 seconds."}"#,
        )
        .insert_header("Retry-After", "57"),
    )
    .await;

    let Error::Service(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.status(), 429);
    assert_eq!(
        e.message(),
        Some("Rate limit is exceeded. Try again in 57 seconds.")
    );
}

#[tokio::test]
async fn malformed_json_on_success_is_a_decode_error_with_an_excerpt() {
    for body in [
        r#"{"id": "c5fb", "status": "New""#,
        "",
        "[]",
        "5",
        "<html></html>",
    ] {
        let err = get_with(json_response(200, body)).await;

        let Error::Decode(e) = &err else {
            panic!("{body:?}: {err:?}")
        };
        assert_eq!(e.status(), 200);
        assert_eq!(e.body_excerpt(), body);
        assert!(is_guid(&e.call().client_request_id));
        assert_no_token(&err);
    }
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let server =
        serve_referral(json_response(200, OFFICIAL_EXAMPLE).set_delay(Duration::from_secs(5)))
            .await;
    let client = PartnerCenter::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();

    let err = client.referrals().get(OFFICIAL_ID).await.unwrap_err();

    let Error::Transport(e) = &err else {
        panic!("{err:?}")
    };
    assert!(e.is_timeout(), "{err}");
    assert_no_token(&err);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let target = serve_referral(json_response(200, OFFICIAL_EXAMPLE)).await;
    let location = format!("{}{}", target.uri(), referral_path(OFFICIAL_ID));
    let err =
        get_with(ResponseTemplate::new(302).insert_header("Location", location.as_str())).await;

    assert_eq!(err.status().map(|s| s.as_u16()), Some(302), "{err:?}");
    assert!(
        target.received_requests().await.unwrap().is_empty(),
        "the redirect was followed"
    );
}
