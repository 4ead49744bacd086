//! How the requests reach the service: [`Transport`], chosen once by the builder.
//!
//! The generated operations build `reqwest::Request`s. Most clients send them with hyper-util's
//! pooled client directly: reqwest's own layers (redirects, proxy matching, default headers, a
//! URL parsed again per request) cost about a fifth of a call's CPU, for nothing this crate
//! uses. reqwest sends them when it is needed: a client of the caller's own, a proxy (configured
//! or from the environment), more root certificates. Both give the same answers and the same
//! [`Failure`]s: TLS as reqwest's `rustls` feature does it (aws-lc-rs, the platform's
//! verifier), HTTP/1.1, the same connect timeout, TCP settings and pool.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};
use reqwest::{Request, Response, ResponseBuilderExt, Url};
use tokio::net::TcpStream;

type BoxError = Box<dyn StdError + Send + Sync>;

/// What sends a client's requests.
pub(crate) enum Transport {
    /// reqwest; `own` when the caller gave the client, whose own timeout is not the attempt's.
    Reqwest { client: reqwest::Client, own: bool },
    /// hyper-util's pooled client.
    Hyper(Box<Hyper>),
}

/// How one attempt went wrong before a complete answer came back.
pub(crate) enum AttemptError {
    Transport(Failure),
    /// The body is over the limit: the answer's status and headers, without it.
    TooLarge(Response),
}

impl Transport {
    /// Sends one attempt of `request` with `authorization`, and reads its whole body, refusing
    /// more than `limit` bytes, all by `deadline` (the attempt timeout's, or the call's when it
    /// is nearer).
    pub(crate) async fn send(
        &self,
        request: &Replayable<'_>,
        authorization: HeaderValue,
        limit: usize,
        deadline: Instant,
        attempt_timeout: Duration,
    ) -> Result<Response, AttemptError> {
        match self {
            Transport::Reqwest { client, own } => {
                let mut attempt = request.to_reqwest(authorization);
                // reqwest's client applies the attempt timeout; a request-level one (which costs
                // allocations and a timer) only when the call's deadline is nearer.
                let budget = deadline.saturating_duration_since(Instant::now());
                if *own || budget < attempt_timeout {
                    *attempt.timeout_mut() = Some(budget);
                }
                send_reqwest(client, attempt, limit).await
            }
            Transport::Hyper(hyper) => hyper.send(request, authorization, limit, deadline).await,
        }
    }
}

/// The request the generated code built, kept for every attempt: each attempt is built from it
/// into what its transport sends, copying only the headers.
pub(crate) struct Replayable<'r> {
    request: &'r Request,
    body: Option<Bytes>,
}

impl<'r> Replayable<'r> {
    /// `None` for a streaming body, which cannot be sent twice (the generated operations never
    /// send one).
    pub(crate) fn new(request: &'r Request) -> Option<Self> {
        let body = match request.body() {
            Some(body) => Some(Bytes::copy_from_slice(body.as_bytes()?)),
            None => None,
        };
        Some(Self { request, body })
    }

    fn headers(&self, authorization: HeaderValue) -> HeaderMap {
        let mut headers = self.request.headers().clone();
        headers.insert(AUTHORIZATION, authorization);
        headers
    }

    /// The attempt as reqwest sends it. Built by hand: `Request::try_clone` would also give it
    /// extensions, a map allocated on every attempt only to say that it has no timeout of its
    /// own.
    fn to_reqwest(&self, authorization: HeaderValue) -> Request {
        let mut attempt = Request::new(self.request.method().clone(), self.request.url().clone());
        *attempt.headers_mut() = self.headers(authorization);
        *attempt.version_mut() = self.request.version();
        *attempt.body_mut() = self.body.clone().map(reqwest::Body::from);
        attempt
    }

    /// The attempt as hyper sends it, as reqwest would convert it.
    fn to_http(
        &self,
        authorization: HeaderValue,
    ) -> Result<http::Request<reqwest::Body>, http::uri::InvalidUri> {
        let uri = self.request.url().as_str().parse()?;
        let mut attempt =
            http::Request::new(reqwest::Body::from(self.body.clone().unwrap_or_default()));
        *attempt.method_mut() = self.request.method().clone();
        *attempt.uri_mut() = uri;
        *attempt.version_mut() = self.request.version();
        *attempt.headers_mut() = self.headers(authorization);
        Ok(attempt)
    }

    fn url(&self) -> &Url {
        self.request.url()
    }

    pub(crate) fn method(&self) -> &reqwest::Method {
        self.request.method()
    }
}

/// The settings of this crate's own client, whichever transport sends.
pub(crate) struct Settings {
    pub(crate) connect_timeout: Duration,
    pub(crate) attempt_timeout: Duration,
    pub(crate) user_agent: String,
    pub(crate) proxies: Vec<reqwest::Proxy>,
    pub(crate) root_certificates: Vec<reqwest::Certificate>,
}

impl Settings {
    /// The client that builds the generated requests, and the transport that sends them:
    /// hyper unless `base_url` goes through a proxy or extra roots are trusted.
    pub(crate) fn build(self, base_url: &str) -> Result<(reqwest::Client, Transport), String> {
        let use_reqwest = !self.proxies.is_empty()
            || !self.root_certificates.is_empty()
            || environment_proxy(base_url);
        let mut builder = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.attempt_timeout)
            // The API does not redirect; following one could carry the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(&self.user_agent);
        if use_reqwest {
            for proxy in self.proxies {
                builder = builder.proxy(proxy);
            }
            for certificate in self.root_certificates {
                builder = builder.add_root_certificate(certificate);
            }
            let client = builder.build().map_err(|e| e.to_string())?;
            let transport = Transport::Reqwest {
                client: client.clone(),
                own: false,
            };
            return Ok((client, transport));
        }
        // One TLS configuration for both: the platform's roots are loaded once.
        let tls = tls_config().map_err(|e| format!("cannot set up TLS: {e}"))?;
        let client = builder
            .tls_backend_preconfigured(tls.clone())
            .build()
            .map_err(|e| e.to_string())?;
        let user_agent = HeaderValue::try_from(self.user_agent).ok();
        let hyper = Hyper::new(tls, self.connect_timeout, user_agent);
        Ok((client, Transport::Hyper(Box::new(hyper))))
    }
}

/// Whether the environment's proxy settings (`HTTPS_PROXY`, `NO_PROXY`...) send `base_url`
/// through a proxy, read as reqwest reads them.
pub(crate) fn environment_proxy(base_url: &str) -> bool {
    proxied(&Matcher::from_system(), base_url)
}

/// Whether `proxies` send `base_url` through a proxy (a URL hyper cannot take: to reqwest).
fn proxied(proxies: &Matcher, base_url: &str) -> bool {
    base_url
        .parse::<http::Uri>()
        .map_or(true, |uri| proxies.intercept(&uri).is_some())
}

/// TLS as reqwest's `rustls` feature sets it up: the default crypto provider if the
/// application installed one, else aws-lc-rs; TLS 1.2 and 1.3; the platform's verifier;
/// HTTP/1.1 over ALPN.
fn tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// hyper-util's client, set up as reqwest sets up its own.
pub(crate) struct Hyper {
    client: Client<Connector, reqwest::Body>,
    user_agent: Option<HeaderValue>,
}

impl Hyper {
    fn new(
        tls: rustls::ClientConfig,
        connect_timeout: Duration,
        user_agent: Option<HeaderValue>,
    ) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_keepalive(Some(Duration::from_secs(15)));
        http.set_keepalive_interval(Some(Duration::from_secs(15)));
        http.set_keepalive_retries(Some(3));
        #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
        http.set_tcp_user_timeout(Some(Duration::from_secs(30)));
        // http and https URLs; the TLS configuration as it is (its ALPN too), as reqwest does.
        let connector = Connector {
            inner: HttpsConnector::from((http, tls)),
            timeout: connect_timeout,
        };
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector);
        Self { client, user_agent }
    }

    /// Sends an attempt of `request` and reads its whole body, as [`Transport::send`].
    async fn send(
        &self,
        request: &Replayable<'_>,
        authorization: HeaderValue,
        limit: usize,
        deadline: Instant,
    ) -> Result<Response, AttemptError> {
        let url = request.url();
        let failed =
            |what, e: BoxError| AttemptError::Transport(Failure::hyper(what, url.clone(), e));
        let mut attempt = request
            .to_http(authorization)
            .map_err(|e| failed("the URL cannot be sent", e.into()))?;
        // reqwest's default headers, where the operation set none.
        let headers = attempt.headers_mut();
        if let Some(user_agent) = &self.user_agent {
            headers
                .entry(USER_AGENT)
                .or_insert_with(|| user_agent.clone());
        }
        headers
            .entry(ACCEPT)
            .or_insert_with(|| HeaderValue::from_static("*/*"));
        // One timer bounds connecting, sending and the whole body, as reqwest's does.
        let exchange = self.exchange(attempt, limit);
        let exchanged = tokio::time::timeout_at(deadline.into(), exchange).await;
        match exchanged {
            Ok(Ok((parts, body))) => Ok(answer(parts, url.clone(), body)),
            Ok(Err(Exchange::TooLarge(parts))) => Err(AttemptError::TooLarge(answer(
                parts,
                url.clone(),
                Bytes::new(),
            ))),
            Ok(Err(Exchange::Failed(what, e))) => Err(failed(what, e)),
            Err(_) => {
                let e = io::Error::new(io::ErrorKind::TimedOut, "operation timed out");
                Err(failed("the attempt timed out", e.into()))
            }
        }
    }

    /// The answer to `request`, its body read whole up to `limit` bytes.
    async fn exchange(
        &self,
        request: http::Request<reqwest::Body>,
        limit: usize,
    ) -> Result<(http::response::Parts, Bytes), Exchange> {
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| Exchange::Failed("error sending request", e.into()))?;
        let (parts, mut body) = response.into_parts();
        if hyper::body::Body::size_hint(&body)
            .exact()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(Exchange::TooLarge(parts));
        }
        let mut read = Bounded::new(limit);
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|e| Exchange::Failed("error reading the response body", e.into()))?;
            if let Ok(chunk) = frame.into_data()
                && read.push(chunk).is_err()
            {
                return Err(Exchange::TooLarge(parts));
            }
        }
        Ok((parts, read.finish()))
    }
}

/// How an exchange with hyper went wrong.
enum Exchange {
    Failed(&'static str, BoxError),
    /// Over the limit: the answer without its body.
    TooLarge(http::response::Parts),
}

/// Sends one attempt through reqwest and reads its whole body, refusing more than `limit`
/// bytes.
async fn send_reqwest(
    client: &reqwest::Client,
    request: Request,
    limit: usize,
) -> Result<Response, AttemptError> {
    let failed = |e| AttemptError::Transport(Failure::Reqwest(e));
    let mut response = client.execute(request).await.map_err(failed)?;
    let too_large =
        |mut response: Response| AttemptError::TooLarge(rebuilt(&mut response, Bytes::new()));
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(too_large(response));
    }
    let mut read = Bounded::new(limit);
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if read.push(chunk).is_err() {
            return Err(too_large(response));
        }
    }
    Ok(rebuilt(&mut response, read.finish()))
}

/// A body read up to a limit. Most bodies come in one chunk: it is kept as it is, and copied
/// only to join several.
struct Bounded {
    limit: usize,
    body: Bytes,
    joined: Option<BytesMut>,
}

impl Bounded {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            body: Bytes::new(),
            joined: None,
        }
    }

    /// Adds `chunk`; an error once the body would be over the limit.
    fn push(&mut self, chunk: Bytes) -> Result<(), ()> {
        let read = self.joined.as_ref().map_or(self.body.len(), BytesMut::len);
        if read + chunk.len() > self.limit {
            return Err(());
        }
        match &mut self.joined {
            Some(buffer) => buffer.extend_from_slice(&chunk),
            None if self.body.is_empty() => self.body = chunk,
            None => {
                let mut buffer = BytesMut::from(&self.body[..]);
                buffer.extend_from_slice(&chunk);
                self.joined = Some(buffer);
            }
        }
        Ok(())
    }

    fn finish(self) -> Bytes {
        self.joined.map_or(self.body, BytesMut::freeze)
    }
}

/// `response` with `body` as its whole body.
fn rebuilt(response: &mut Response, body: Bytes) -> Response {
    let mut parts = http::Response::new(()).into_parts().0;
    parts.status = response.status();
    parts.version = response.version();
    parts.headers = std::mem::take(response.headers_mut());
    parts.extensions = std::mem::take(response.extensions_mut());
    answer(parts, response.url().clone(), body)
}

/// A reqwest answer of `parts`, from `url`, with `body` as its whole body. The URL is handed
/// on: without it reqwest parses a placeholder URL for every answer made this way.
fn answer(parts: http::response::Parts, url: Url, body: Bytes) -> Response {
    let mut answer = http::Response::builder();
    if let Some(extensions) = answer.extensions_mut() {
        *extensions = parts.extensions;
    }
    let mut answer = answer
        .status(parts.status)
        .version(parts.version)
        .url(url)
        .body(reqwest::Body::from(body))
        .expect("a received answer's status and version make an answer");
    *answer.headers_mut() = parts.headers;
    Response::from(answer)
}

/// Why an attempt got no complete answer, whichever transport sent it. It never holds the
/// request's headers (the token).
#[derive(Debug)]
pub(crate) enum Failure {
    /// reqwest's error, which says it all.
    Reqwest(reqwest::Error),
    /// hyper's, with what failed and where.
    Hyper(Box<HyperFailure>),
}

pub(crate) struct HyperFailure {
    what: &'static str,
    url: Url,
    connect: bool,
    timeout: bool,
    source: BoxError,
}

impl fmt::Debug for HyperFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL as text, as reqwest shows its own.
        f.debug_struct("HyperFailure")
            .field("what", &self.what)
            .field("url", &self.url.as_str())
            .field("connect", &self.connect)
            .field("timeout", &self.timeout)
            .field("source", &self.source)
            .finish()
    }
}

impl Failure {
    fn hyper(what: &'static str, url: Url, source: impl Into<BoxError>) -> Self {
        let source = source.into();
        let connect = source
            .downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(hyper_util::client::legacy::Error::is_connect);
        let timeout = sources(&*source).any(|e| {
            e.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::TimedOut)
        });
        Self::Hyper(Box::new(HyperFailure {
            what,
            url,
            connect,
            timeout,
            source,
        }))
    }

    /// Whether the connection could not be made (in time).
    pub(crate) fn is_connect(&self) -> bool {
        match self {
            Failure::Reqwest(e) => e.is_connect(),
            Failure::Hyper(e) => e.connect,
        }
    }

    /// Whether the attempt ran out of time.
    pub(crate) fn is_timeout(&self) -> bool {
        match self {
            Failure::Reqwest(e) => e.is_timeout(),
            Failure::Hyper(e) => e.timeout,
        }
    }

    /// The URL the request went to, to redact.
    pub(crate) fn url_mut(&mut self) -> Option<&mut Url> {
        match self {
            Failure::Reqwest(e) => e.url_mut(),
            Failure::Hyper(e) => Some(&mut e.url),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Reqwest(e) => e.fmt(f),
            Failure::Hyper(e) => write!(f, "{} for url ({})", e.what, e.url),
        }
    }
}

impl StdError for Failure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Failure::Reqwest(e) => e.source(),
            Failure::Hyper(e) => Some(&*e.source),
        }
    }
}

/// `error` and its sources.
fn sources<'e>(
    error: &'e (dyn StdError + 'static),
) -> impl Iterator<Item = &'e (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |&e| e.source())
}

/// hyper-rustls' connector, bounded as reqwest bounds its own: resolving, connecting and the
/// TLS handshake within the connect timeout (hyper's own timeout covers the TCP connect).
#[derive(Clone)]
struct Connector {
    inner: HttpsConnector<HttpConnector>,
    timeout: Duration,
}

type Connecting =
    Pin<Box<dyn Future<Output = Result<MaybeHttpsStream<TokioIo<TcpStream>>, BoxError>> + Send>>;

impl tower_service::Service<http::Uri> for Connector {
    type Response = MaybeHttpsStream<TokioIo<TcpStream>>;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: http::Uri) -> Connecting {
        let connecting = self.inner.call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(connected) => connected,
                Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out").into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_proxies_send_through_reqwest_the_urls_they_apply_to() {
        let http = Matcher::builder().http("http://proxy.example:3128").build();
        assert!(proxied(&http, "http://127.0.0.1:8080"));
        assert!(!proxied(&http, "https://api.partner.microsoft.com"));
        let all = || Matcher::builder().all("http://proxy.example:3128");
        assert!(proxied(&all().build(), "https://api.partner.microsoft.com"));
        let bypassed = all().no("api.partner.microsoft.com").build();
        assert!(!proxied(&bypassed, "https://api.partner.microsoft.com"));
        assert!(!proxied(
            &Matcher::builder().build(),
            "http://127.0.0.1:8080"
        ));
    }

    #[test]
    fn bodies_are_kept_whole_up_to_the_limit() {
        let mut read = Bounded::new(6);
        read.push(Bytes::from_static(b"abc")).unwrap();
        read.push(Bytes::from_static(b"def")).unwrap();
        assert!(read.push(Bytes::from_static(b"g")).is_err());
        assert_eq!(read.finish(), "abcdef");
    }
}
