//! What the end-to-end tests share: the official example, a mock Partner Center, and the
//! request snapshot.

use partner_center::PartnerCenter;
use serde_json::{Map, Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The official example response of "Get a lead or co-sell opportunity by ID", byte for byte.
pub const OFFICIAL_EXAMPLE: &str = include_str!("fixtures/get-referral-by-id.response.json");
/// The id of the official example.
pub const OFFICIAL_ID: &str = "c5fbb3b6-be74-4795-9fb5-4324c73fed37";
/// The token the tests' clients send.
pub const TOKEN: &str = "test-token-6f1c2a";

/// The path of a referral's resource.
pub fn referral_path(encoded_id: &str) -> String {
    format!("/v1.0/engagements/referrals/{encoded_id}")
}

/// A client of `server` with [`TOKEN`].
pub fn client(server: &MockServer) -> PartnerCenter {
    PartnerCenter::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .build()
        .expect("a valid test configuration")
}

/// A mock server answering `GET` of the official example's id with `response`.
pub async fn serve_referral(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(referral_path(OFFICIAL_ID)))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

/// A JSON response with `body` as its exact bytes.
pub fn json_response(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

/// Parses JSON that a test wrote or served.
pub fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("test JSON")
}

/// The request headers worth a snapshot: the ones Partner Center reads, plus any that should
/// not be there (progenitor's `api-version`), sorted by name.
const SNAPSHOT_HEADERS: &[&str] = &[
    "accept",
    "api-version",
    "authorization",
    "client-request-id",
    "content-type",
    "ms-correlationid",
    "ms-requestid",
    "user-agent",
];

/// What a request looked like on the wire: method, path, query and the headers that matter.
pub fn request_shape(request: &Request) -> Value {
    let mut headers = Map::new();
    for name in SNAPSHOT_HEADERS {
        let values: Vec<&str> = request
            .headers
            .get_all(*name)
            .iter()
            .map(|v| v.to_str().expect("ASCII header"))
            .collect();
        if !values.is_empty() {
            headers.insert((*name).to_owned(), json!(values.join(", ")));
        }
    }
    let query: Map<String, Value> = request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), json!(v)))
        .collect();
    json!({
        "method": request.method.as_str(),
        "path": request.url.path(),
        "query": query,
        "headers": headers,
        "body": String::from_utf8_lossy(&request.body),
    })
}

/// Whether `text` is a lowercase hyphenated GUID, as the client sends them.
pub fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| {
            g.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
}

/// An insta redaction that checks a value is a GUID before hiding it.
pub fn guid_redaction() -> insta::internals::Redaction {
    insta::dynamic_redaction(|value, path| {
        let text = value.as_str().unwrap_or_default();
        assert!(is_guid(text), "{path} is not a GUID: {value:?}");
        "[guid]"
    })
}
