//! What the end-to-end tests share: the official example, a mock Partner Center, and the
//! request snapshot.

use partner_center::PartnerCenter;
use partner_center::auth::StaticToken;
use serde_json::{Map, Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The official example response of "Get a lead or co-sell opportunity by ID", byte for byte.
pub const OFFICIAL_EXAMPLE: &str = partner_center_api::spec::OFFICIAL_EXAMPLE;
/// The id of the official example.
pub const OFFICIAL_ID: &str = "c5fbb3b6-be74-4795-9fb5-4324c73fed37";
/// The token the tests' clients send, to every API: a mock serves them all on one origin.
pub const TOKEN: &str = "test-token-6f1c2a";

/// The path of a referral's resource.
pub fn referral_path(encoded_id: &str) -> String {
    format!("/v1.0/engagements/referrals/{encoded_id}")
}

/// A client of `server` with [`TOKEN`] and no retries (the fault matrix tests retrying).
pub fn client(server: &MockServer) -> PartnerCenter {
    PartnerCenter::builder()
        .base_url(server.uri())
        .token_provider(StaticToken::for_every_scope(TOKEN))
        .retry(partner_center::RetryPolicy::none())
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

/// The path of the referrals collection (list, create).
pub const LIST_PATH: &str = "/v1.0/engagements/referrals";

/// The official example as the `n`th referral of a listing (its id `referral-000n`).
pub fn listed_referral(n: usize) -> Value {
    let mut r = json(OFFICIAL_EXAMPLE);
    r["id"] = json!(format!("referral-{n:04}"));
    r
}

/// A page of a listing: `items`, and `next` as its `@odata.nextLink`.
pub fn referral_page(items: Vec<Value>, next: Option<String>) -> ResponseTemplate {
    let mut body = json!({
        "@odata.context": "https://api.partner.microsoft.com/v1.0/engagements/$metadata#referrals",
        "value": items,
    });
    if let Some(next) = next {
        body["@odata.nextLink"] = json!(next);
    }
    json_response(200, &body.to_string())
}

/// A JSON response with `body` as its exact bytes.
pub fn json_response(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

/// Parses JSON that a test wrote or served.
pub fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("test JSON")
}

/// `value` as the JSON text of a snapshot (`insta::assert_snapshot!`), written by serde_json so
/// that every number shows its exact digits. `insta::assert_json_snapshot!` suits values without
/// numbers only: under serde_json's `arbitrary_precision`, which the models enable, every
/// serializer but serde_json's own (insta's too) sees a number as a
/// `{"$serde_json::private::Number": "..."}` struct.
pub fn snapshot_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).expect("a JSON value")
}

/// The request headers worth a snapshot: the ones Partner Center reads, plus any that should
/// not be there (progenitor's `api-version`), sorted by name.
const SNAPSHOT_HEADERS: &[&str] = &[
    "accept",
    "api-version",
    "authorization",
    "client-request-id",
    "content-type",
    "if-match",
    "ms-correlationid",
    "ms-requestid",
    "prefer",
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
        // A JSON body as JSON, so that the snapshot shows its structure.
        "body": serde_json::from_slice::<Value>(&request.body)
            .unwrap_or_else(|_| json!(String::from_utf8_lossy(&request.body))),
    })
}

/// [`request_shape`] as a snapshot: its ids checked to be GUIDs and hidden with its token and
/// user agent. Hidden here, not by insta's redactions: the body's numbers need serde_json's
/// text (see [`snapshot_json`]).
pub fn request_snapshot(request: &Request) -> String {
    let mut shape = request_shape(request);
    if let Some(headers) = shape["headers"].as_object_mut() {
        for (header, value) in headers.iter_mut() {
            let hidden = match header.as_str() {
                "client-request-id" | "ms-requestid" | "ms-correlationid" => {
                    let id = value.as_str().unwrap_or_default();
                    assert!(is_guid(id), "{header} is not a GUID: {id:?}");
                    "[guid]"
                }
                "authorization" => "[token]",
                "user-agent" => "[user-agent]",
                _ => continue,
            };
            *value = json!(hidden);
        }
    }
    snapshot_json(&shape)
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

/// A fast retry policy for tests: the same decisions as the default, with millisecond waits.
pub fn fast_retries() -> partner_center::RetryPolicy {
    partner_center::RetryPolicy::default()
        .initial_backoff(std::time::Duration::from_millis(5))
        .max_backoff(std::time::Duration::from_millis(20))
}

/// A client of `base_url` with [`TOKEN`] and [`fast_retries`].
pub fn fast_client(base_url: &str) -> PartnerCenter {
    retrying_client(base_url, fast_retries())
}

/// A client of `base_url` with [`TOKEN`] and `policy`.
pub fn retrying_client(base_url: &str, policy: partner_center::RetryPolicy) -> PartnerCenter {
    PartnerCenter::builder()
        .base_url(base_url)
        .token_provider(StaticToken::for_every_scope(TOKEN))
        .retry(policy)
        .build()
        .expect("a valid test configuration")
}

/// What a raw TCP connection does with the request it gets, for failures wiremock cannot
/// fake: a body cut short, a reset, a body that trickles.
#[derive(Clone, Debug)]
pub enum RawAnswer {
    /// Write these bytes, then close the connection cleanly.
    Close(Vec<u8>),
    /// Write these bytes, then reset the connection (RST).
    Reset(Vec<u8>),
    /// Write these bytes, then the rest one byte every `pause`.
    Trickle(Vec<u8>, Vec<u8>, std::time::Duration),
}

/// An HTTP response head and body, as bytes, with the given `Content-Length`.
pub fn raw_response(status: &str, content_length: usize, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {content_length}\r\n\r\n"
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A loopback TCP server that answers its n-th connection with the n-th [`RawAnswer`] (the
/// last one repeats), and counts connections.
pub struct RawServer {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl RawServer {
    /// Starts the server on an ephemeral port.
    pub async fn start(answers: Vec<RawAnswer>) -> Self {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("address"));
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let answer = answers[n.min(answers.len() - 1)].clone();
                tokio::spawn(async move {
                    // Read the request head before answering (GET requests have no body).
                    let mut head = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(read) => head.extend_from_slice(&buffer[..read]),
                        }
                    }
                    match answer {
                        RawAnswer::Close(bytes) => {
                            let _ = stream.write_all(&bytes).await;
                            let _ = stream.shutdown().await;
                        }
                        RawAnswer::Reset(bytes) => {
                            let _ = stream.write_all(&bytes).await;
                            // A zero linger resets instead of closing, and does not block.
                            #[allow(deprecated)]
                            let _ = stream.set_linger(Some(std::time::Duration::ZERO));
                            drop(stream);
                        }
                        RawAnswer::Trickle(start, rest, pause) => {
                            let _ = stream.write_all(&start).await;
                            for byte in rest {
                                tokio::time::sleep(pause).await;
                                if stream.write_all(&[byte]).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        Self {
            base_url,
            connections,
            task,
        }
    }

    /// How many connections it accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What `tracing` logs while [`Captured::install`]'s guard lives, in memory: a test's own
/// thread only, which is where a `#[tokio::test]` runs.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// Logs everything (every level, no colours) here until the guard is dropped.
    ///
    /// `tracing` caches, process-wide, whether anyone listens at each log line, asking the
    /// thread that reaches it first: a test running beside this one, with no subscriber,
    /// would switch the line off for all. A do-nothing global subscriber makes every thread
    /// a listener, so the answer is always "yes" and this thread's subscriber sees it.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        static LISTENING: std::sync::Once = std::sync::Once::new();
        LISTENING.call_once(|| {
            // Fails only if another global subscriber exists, which listens as well.
            let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        });
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `err` and its causes on one line, as the CLI shows it.
pub fn report(err: &partner_center::Error) -> String {
    partner_center::error::Report::new(err).to_string()
}
