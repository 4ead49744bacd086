//! What the sandbox's tests share.

#![allow(dead_code)] // Each test file uses its own part.

use partner_center_sandbox::Sandbox;
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, Response};

/// The official example response, as the api crate carries it.
pub const OFFICIAL_EXAMPLE: &str = partner_center_api::spec::OFFICIAL_EXAMPLE;

/// The path of a referral whose id is already percent-encoded (or needs no encoding).
pub fn referral_path(encoded_id: &str) -> String {
    format!("/v1.0/engagements/referrals/{encoded_id}")
}

/// Sends `method path` to the sandbox at `base_url`, with `Authorization: Bearer sandbox`
/// unless `token` is `None`.
pub async fn send(base_url: &str, method: Method, path: &str, token: Option<&str>) -> Response {
    let mut request = Client::new().request(method, format!("{base_url}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("the sandbox answers")
}

/// `GET path` with a token.
pub async fn get(base_url: &str, path: &str) -> Response {
    send(base_url, Method::GET, path, Some("sandbox")).await
}

/// `value` as the JSON text of a snapshot (`insta::assert_snapshot!`), written by serde_json so
/// that numbers show their exact digits: under serde_json's `arbitrary_precision`, which the
/// models enable, insta's own serializer sees a number as a
/// `{"$serde_json::private::Number": "..."}` struct.
pub fn snapshot_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).expect("a JSON value")
}

/// A header as text.
pub fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .map(|v| v.to_str().expect("an ASCII header"))
}

/// Whether `text` is a lowercase hyphenated GUID.
pub fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| {
            g.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
}

/// A sandbox with 25 generated referrals: quicker to start than the default, for tests that
/// do not page.
pub async fn small() -> Sandbox {
    sandbox(25).await
}

/// A sandbox with `count` generated referrals (besides the official example).
pub async fn sandbox(count: usize) -> Sandbox {
    Sandbox::builder()
        .referral_count(count)
        .start()
        .await
        .expect("the sandbox starts")
}
