//! [`PartnerCenter`] and its builder.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use partner_center_api as api;
use reqwest::header::HeaderValue;

use crate::auth::{StaticToken, TokenProvider};
use crate::error::{Error, Result};
use crate::policy::{Bearer, Call, Headers, Shared};
use crate::response::Response;
use crate::retry::RetryPolicy;
use crate::transport::{Settings, Transport};

/// The Partner Center host.
pub const DEFAULT_BASE_URL: &str = "https://api.partner.microsoft.com";
/// How long connecting may take, by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one attempt may take, from connecting to the end of the body, by default.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a whole call may take, retries and their waits included, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The largest response body accepted, by default (a full page of referrals is far smaller).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
/// How many pages a listing reads at most, by default: a million referrals at 100 a page.
/// A service whose next links never end cannot keep a listing going past it.
pub const DEFAULT_MAX_PAGES: usize = 10_000;

/// A Partner Center client. Cheap to clone: clones share one connection pool.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sandbox = partner_center_sandbox::Sandbox::start().await?;
/// let client = partner_center::PartnerCenter::builder()
///     .base_url(sandbox.base_url()) // the real service by default
///     .token(std::env::var("PARTNER_CENTER_TOKEN").unwrap_or("sandbox".into()))
///     .application_name("contoso-crm-sync")
///     .build()?;
/// let referral = client.referrals().get("c5fbb3b6-be74-4795-9fb5-4324c73fed37").await?;
/// println!("{} is {:?}", referral.id.unwrap_or_default(), referral.status);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PartnerCenter {
    shared: Arc<Shared>,
    correlation_id: Option<HeaderValue>,
}

impl PartnerCenter {
    /// Starts configuring a client.
    pub fn builder() -> PartnerCenterBuilder {
        PartnerCenterBuilder::default()
    }

    /// The base URL calls go to.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// A client (sharing this one's connections) whose calls all send `correlation_id` as
    /// `MS-CorrelationId`, to tie the calls of one workflow together in the service's logs.
    /// Without it, every call gets a fresh one.
    pub fn with_correlation_id(&self, correlation_id: uuid::Uuid) -> Self {
        let mut buffer = uuid::Uuid::encode_buffer();
        let text = correlation_id.hyphenated().encode_lower(&mut buffer);
        Self {
            shared: Arc::clone(&self.shared),
            correlation_id: HeaderValue::from_str(text).ok(),
        }
    }

    /// Calls any operation of the spec through this client's whole policy: the token, the
    /// Partner Center ids and headers, retries, timeouts, tracing, and errors as [`Error`].
    ///
    /// `operation` gets the generated client (`partner_center_api::Client`) and calls one of
    /// its methods; the handlers of this crate are built on this. An operation added to the
    /// spec can be called this way as soon as `cargo xtask codegen` has run:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = partner_center_sandbox::Sandbox::start().await?;
    /// # let client = partner_center::PartnerCenter::builder().base_url(sandbox.base_url()).token("t").build()?;
    /// use partner_center_api::types::ReferralPage;
    ///
    /// // GET /v1.0/engagements/referrals?$top=5, as the generated operation takes it.
    /// let top = std::num::NonZeroU32::new(5);
    /// let page: ReferralPage = client
    ///     .call(|api| async move {
    ///         // The query parameters, then the request headers, which the policy sets.
    ///         let headers = (None, None, None, None, None);
    ///         api.list_referrals(None, None, None, None, None, None, top,
    ///             headers.0, headers.1, headers.2, headers.3, headers.4).await
    ///     })
    ///     .await?;
    /// assert_eq!(page.value.len(), 5);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn call<T, F, Fut>(&self, operation: F) -> Result<T>
    where
        T: api::lenient::Drifted,
        F: FnOnce(api::Client) -> Fut,
        Fut: Future<Output = api::GeneratedResult<T>>,
    {
        let response = self.send(operation, Headers::Dropped).await?;
        Ok(*response.into_inner())
    }

    /// [`Self::call`], with the answer's status and headers (its `Request-ID`, `ETag`...).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = partner_center_sandbox::Sandbox::start().await?;
    /// # let client = partner_center::PartnerCenter::builder().base_url(sandbox.base_url()).token("t").build()?;
    /// use partner_center_api::types::ReferralId;
    ///
    /// let id: ReferralId = "c5fbb3b6-be74-4795-9fb5-4324c73fed37".parse()?;
    /// let response = client
    ///     .call_response(|api| async move {
    ///         api.get_referral(&id, None, None, None, None, None).await
    ///     })
    ///     .await?;
    /// println!("Request-ID {:?}, version {:?}", response.request_id(), response.etag());
    /// assert_eq!(response.id.as_deref(), Some("c5fbb3b6-be74-4795-9fb5-4324c73fed37"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn call_response<T, F, Fut>(&self, operation: F) -> Result<Response<T>>
    where
        T: api::lenient::Drifted,
        F: FnOnce(api::Client) -> Fut,
        Fut: Future<Output = api::GeneratedResult<T>>,
    {
        let response = self.send(operation, Headers::Kept).await?;
        Ok(response.map(|value| *value))
    }

    /// Sends one call of the main document through the policy. The answer's headers are
    /// copied only when `headers` asks: most calls do not want them, and a copy costs.
    pub(crate) async fn send<T, F, Fut>(
        &self,
        operation: F,
        headers: Headers,
    ) -> Result<Response<Box<T>>>
    where
        T: api::lenient::Drifted,
        F: FnOnce(api::Client) -> Fut,
        Fut: Future<Output = api::GeneratedResult<T>>,
    {
        let base_url = &self.shared.base_url;
        let client = |http, policy| api::Client::new_with_client(base_url, http, policy);
        self.send_with(api::TOKEN_SCOPE, client, operation, headers)
            .await
    }

    /// [`Self::send`] for a call of any spec document, with a token of its `scope`, and the
    /// generated client `client` makes (from this client's HTTP client and the call's
    /// policy), whatever its error body `B`.
    pub(crate) async fn send_with<C, T, B, F, Fut>(
        &self,
        scope: &'static str,
        client: impl FnOnce(reqwest::Client, Arc<dyn api::CallPolicy>) -> C,
        operation: F,
        headers: Headers,
    ) -> Result<Response<T>>
    where
        T: api::lenient::Drifted,
        B: serde::Serialize,
        F: FnOnce(C) -> Fut,
        Fut: Future<Output = std::result::Result<api::ResponseValue<T>, api::Error<B>>>,
    {
        let call = self.start_call(scope, headers).await?;
        let policy: Arc<dyn api::CallPolicy> = call.clone();
        let generated = client(self.shared.http.clone(), policy);
        // The answer is large (a referral is over 2 KB): it is moved as few times as possible.
        // The generated operation's future (1.7 KB for a get) is boxed where it is made: each
        // async layer above would otherwise copy it, and the caller's future stays small.
        let answer = match (Box::pin(operation(generated)).await, call.take_failure()) {
            (_, Some(failure)) => return Err(failure),
            (Ok(answer), None) => answer,
            // Boxed so that only a failed call pays for the mapping's future (its size).
            (Err(error), None) => return Err(Box::pin(call.map_error(error)).await),
        };
        let status = answer.status();
        let headers = match headers {
            Headers::Kept => answer.headers().clone(),
            Headers::Dropped => reqwest::header::HeaderMap::new(),
        };
        let value = answer.into_inner();
        call.warn_of_drift(&value);
        Ok(Response::new(
            value,
            status,
            headers,
            call.take_url(),
            call.operation_id(),
        ))
    }

    /// Where the requests of the spec document `document` go.
    pub(crate) fn document_base_url(&self, document: &str) -> &str {
        let other = self.shared.document_base_urls.iter();
        match other.into_iter().find(|(name, _)| *name == document) {
            Some((_, url)) => url,
            None => &self.shared.base_url,
        }
    }

    /// How many pages a listing reads at most, unless it sets its own limit.
    pub(crate) fn max_pages(&self) -> usize {
        self.shared.max_pages
    }

    /// Starts one logical call: its token (of `scope`), ids and policy.
    async fn start_call(&self, scope: &'static str, headers: Headers) -> Result<Arc<Call>> {
        let token = self.shared.auth.token(scope).await?;
        Ok(Arc::new(Call::new(
            Arc::clone(&self.shared),
            self.correlation_id.clone(),
            (scope, token),
            headers,
        )?))
    }
}

impl fmt::Debug for PartnerCenter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartnerCenter")
            .field("base_url", &self.shared.base_url)
            .field("auth", &self.shared.auth)
            .field("retry", &self.shared.retry)
            .finish_non_exhaustive()
    }
}

/// Configures a [`PartnerCenter`]; [`PartnerCenter::builder`] makes one.
#[derive(Default)]
pub struct PartnerCenterBuilder {
    auth: Option<Box<dyn TokenProvider>>,
    base_url: Option<String>,
    document_base_urls: Vec<(String, String)>,
    application_name: Option<String>,
    retry: Option<RetryPolicy>,
    connect_timeout: Option<Duration>,
    attempt_timeout: Option<Duration>,
    timeout: Option<Duration>,
    max_response_bytes: Option<usize>,
    max_pages: Option<usize>,
    http: Option<reqwest::Client>,
    proxies: Vec<reqwest::Proxy>,
    root_certificates: Vec<reqwest::Certificate>,
    #[cfg(feature = "rate-limit")]
    rate_limit: Option<(u32, Duration)>,
}

impl PartnerCenterBuilder {
    /// A fixed App+User bearer token for the Referrals API, `https://api.partner.microsoft.com`
    /// (shorthand for [`Self::token_provider`] with [`StaticToken::new`]). It is sent to that
    /// API only: the webhook registration API needs a token of its own audience
    /// ([`StaticToken::with`] [`crate::auth::WEBHOOKS_SCOPE`], or a [`crate::auth::CachedToken`]).
    pub fn token(self, token: impl Into<String>) -> Self {
        self.token_provider(StaticToken::new(token))
    }

    /// Where tokens come from (required, or [`Self::token`]): e.g. a
    /// [`crate::auth::CachedToken`] that refreshes them, and gets each API the token of its
    /// own audience.
    pub fn token_provider(mut self, provider: impl TokenProvider + 'static) -> Self {
        self.auth = Some(Box::new(provider));
        self
    }

    /// Where to send requests (default [`DEFAULT_BASE_URL`]); e.g. a local sandbox or mock.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Where to send the requests of the spec document `document` (e.g. `webhooks`), when not
    /// where the rest goes. By default a document's requests go to [`Self::base_url`] when it
    /// is set to another than [`DEFAULT_BASE_URL`] (a sandbox or a mock serves every document
    /// on one origin), and to the document's own server otherwise.
    pub fn document_base_url(mut self, document: &str, base_url: impl Into<String>) -> Self {
        self.document_base_urls
            .push((document.to_owned(), base_url.into()));
        self
    }

    /// The calling application's name, sent as `MS-PartnerCenter-Application` and at the
    /// start of `User-Agent`.
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = Some(name.into());
        self
    }

    /// When and how calls are retried (default [`RetryPolicy::default`]; [`RetryPolicy::none`]
    /// turns retries off).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// How long connecting may take (default [`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long one attempt may take, body included (default [`DEFAULT_ATTEMPT_TIMEOUT`]).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// How long a whole call may take, retries included (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The largest response body accepted (default [`DEFAULT_MAX_RESPONSE_BYTES`]); a larger
    /// one is [`Error::ResponseTooLarge`], read no further than the limit.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = Some(limit);
        self
    }

    /// How many pages a listing reads at most (default [`DEFAULT_MAX_PAGES`]; at least 1): one
    /// more is [`Error::PageLimit`]. [`crate::referrals::ListReferrals::max_pages`] sets it for one
    /// listing.
    pub fn max_pages(mut self, pages: usize) -> Self {
        self.max_pages = Some(pages.max(1));
        self
    }

    /// Sends at most `requests` requests (retries included) per `period`, spaced evenly,
    /// waiting as needed, so that bulk work stays under the service's per-tenant limits:
    /// `rate_limit(300, Duration::from_secs(60))` sends one every 200 ms. Zero requests or a
    /// zero period is a [`Error::Config`] from [`Self::build`].
    #[cfg(feature = "rate-limit")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rate-limit")))]
    pub fn rate_limit(mut self, requests: u32, period: Duration) -> Self {
        self.rate_limit = Some((requests, period));
        self
    }

    /// Sends through `http`, a client of your own (a corporate proxy, more root certificates,
    /// HTTP/2 settings...). The policy still applies: the token, ids, retries and the
    /// timeouts of this builder (the attempt timeout is set on each request). Its redirect
    /// policy and `User-Agent` are yours: build it with `redirect(Policy::none())`, as this
    /// crate's own client is (reqwest drops the token on a redirect to another host anyway).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Sends through `proxy` (with this crate's own HTTP client). Without one, the
    /// environment's `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` (or lower case) are
    /// read when the client is built, as reqwest reads them.
    pub fn proxy(mut self, proxy: reqwest::Proxy) -> Self {
        self.proxies.push(proxy);
        self
    }

    /// Trusts `certificate` as a root too (a TLS-inspecting proxy's, say), beside the
    /// built-in roots (with this crate's own HTTP client).
    pub fn add_root_certificate(mut self, certificate: reqwest::Certificate) -> Self {
        self.root_certificates.push(certificate);
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<PartnerCenter> {
        let auth = self.auth.ok_or_else(|| {
            Error::Config("no token: set one with .token(...) or .token_provider(...)".into())
        })?;
        let base_url = normalize_base_url(self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        // The Referrals API's own host is no base URL for the other documents' APIs.
        let shared = Some(base_url.as_str()).filter(|url| *url != DEFAULT_BASE_URL);
        let document_base_urls = document_base_urls(shared, &self.document_base_urls)?;
        let application = self
            .application_name
            .map(|name| {
                HeaderValue::try_from(name.as_str()).map_err(|_| {
                    Error::Config(format!(
                        "application name {name:?} cannot be sent in a header"
                    ))
                })
            })
            .transpose()?;
        let user_agent = match &application {
            Some(name) => format!("{} {USER_AGENT}", name.to_str().unwrap_or_default()),
            None => USER_AGENT.to_owned(),
        };
        let attempt_timeout = self.attempt_timeout.unwrap_or(DEFAULT_ATTEMPT_TIMEOUT);
        let (http, transport) = match self.http {
            Some(http) if self.proxies.is_empty() && self.root_certificates.is_empty() => {
                let transport = Transport::Reqwest {
                    client: http.clone(),
                    own: true,
                };
                (http, transport)
            }
            Some(_) => {
                return Err(Error::Config(
                    "proxy and add_root_certificate configure this crate's HTTP client, not one \
                     given with http_client: configure yours"
                        .into(),
                ));
            }
            None => Settings {
                connect_timeout: self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
                attempt_timeout,
                user_agent,
                proxies: self.proxies,
                root_certificates: self.root_certificates,
            }
            .build(&base_url)
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?,
        };
        #[cfg(feature = "rate-limit")]
        let rate_limiter = self.rate_limit.map(rate_limiter).transpose()?;
        Ok(PartnerCenter {
            shared: Arc::new(Shared {
                http,
                transport,
                base_url,
                document_base_urls,
                auth,
                application,
                bearer: Bearer::default(),
                retry: self.retry.unwrap_or_default(),
                attempt_timeout,
                timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
                max_response_bytes: self
                    .max_response_bytes
                    .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
                max_pages: self.max_pages.unwrap_or(DEFAULT_MAX_PAGES),
                #[cfg(feature = "rate-limit")]
                rate_limiter,
            }),
            correlation_id: None,
        })
    }
}

impl fmt::Debug for PartnerCenterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartnerCenterBuilder")
            .field("auth", &self.auth)
            .field("base_url", &self.base_url)
            .field("application_name", &self.application_name)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

const USER_AGENT: &str = concat!("partner-center-rs/", env!("CARGO_PKG_VERSION"));

/// A limiter letting `requests` through per `period`, one at a time, evenly spaced.
#[cfg(feature = "rate-limit")]
fn rate_limiter((requests, period): (u32, Duration)) -> Result<governor::DefaultDirectRateLimiter> {
    let spacing = std::num::NonZeroU32::new(requests)
        .map(|requests| period / requests.get())
        .and_then(governor::Quota::with_period)
        .ok_or_else(|| {
            Error::Config(format!(
                "rate limit of {requests} requests per {period:?}: both must be more than zero"
            ))
        })?;
    Ok(governor::RateLimiter::direct(spacing))
}

/// An http(s) URL without query or fragment, without a trailing slash (the generated
/// operations append `/v1.0/...`).
/// The base URL of each spec document but the main one: as `given`, else `shared` (the base
/// URL the builder was given, if any), else the document's own server.
fn document_base_urls(
    shared: Option<&str>,
    given: &[(String, String)],
) -> Result<Vec<(&'static str, String)>> {
    let documents = &api::spec::DOCUMENTS;
    for (name, _) in given {
        if !documents[1..].iter().any(|d| d.name == name) {
            let names: Vec<&str> = documents[1..].iter().map(|d| d.name).collect();
            return Err(Error::Config(format!(
                "no spec document {name:?} besides the main one (there are {})",
                names.join(", ")
            )));
        }
    }
    documents[1..]
        .iter()
        .map(|document| {
            let own = given.iter().rev().find(|(name, _)| name == document.name);
            let url = match (own, shared) {
                (Some((_, url)), _) => url.as_str(),
                (None, Some(shared)) => shared,
                (None, None) => document.base_url,
            };
            Ok((document.name, normalize_base_url(url)?))
        })
        .collect()
}

fn normalize_base_url(raw: &str) -> Result<String> {
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|e| Error::Config(format!("base URL {raw:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::Config(format!(
            "base URL {raw:?} must be an http or https URL with a host"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "base URL {raw:?} must not have a query or fragment"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalized() {
        assert_eq!(
            normalize_base_url("https://api.partner.microsoft.com/").unwrap(),
            "https://api.partner.microsoft.com"
        );
        assert_eq!(
            normalize_base_url(" http://127.0.0.1:8080/prefix/ ").unwrap(),
            "http://127.0.0.1:8080/prefix"
        );
    }

    #[test]
    fn each_document_goes_to_its_own_server_unless_one_base_url_is_given() {
        let webhooks = |builder: PartnerCenterBuilder| {
            let client = builder.token("t").build().unwrap();
            client.document_base_url("webhooks").to_owned()
        };
        let own = "https://api.partnercenter.microsoft.com";
        assert_eq!(webhooks(PartnerCenter::builder()), own);
        // Naming the Referrals API's host is no reason to send the others' requests there.
        assert_eq!(
            webhooks(PartnerCenter::builder().base_url(DEFAULT_BASE_URL)),
            own
        );
        // A sandbox or a mock serves every document.
        let local = PartnerCenter::builder().base_url("http://127.0.0.1:8080/");
        assert_eq!(webhooks(local), "http://127.0.0.1:8080");
        let both = PartnerCenter::builder()
            .base_url("http://127.0.0.1:8080")
            .document_base_url("webhooks", "http://127.0.0.1:9090");
        assert_eq!(webhooks(both), "http://127.0.0.1:9090");
        let unknown = PartnerCenter::builder()
            .token("t")
            .document_base_url("hooks", own);
        let err = unknown.build().unwrap_err().to_string();
        assert!(err.contains("no spec document \"hooks\""), "{err}");
    }

    #[test]
    fn bad_base_urls_are_config_errors() {
        for raw in [
            "",
            "not a url",
            "ftp://host",
            "https://host/?a=b",
            "https://host/#x",
        ] {
            assert!(
                matches!(normalize_base_url(raw), Err(Error::Config(_))),
                "{raw}"
            );
        }
    }

    #[test]
    fn a_token_is_required_and_never_shown() {
        let err = PartnerCenter::builder().build().unwrap_err();
        assert!(matches!(err, Error::Config(_)));

        let builder = PartnerCenter::builder().token("very-secret-token");
        assert!(!format!("{builder:?}").contains("very-secret"));
        let client = builder.build().unwrap();
        assert!(!format!("{client:?}").contains("very-secret"));
        assert_eq!(client.base_url(), DEFAULT_BASE_URL);
    }

    #[test]
    fn next_links_must_stay_on_the_host_over_the_same_scheme() {
        let client = PartnerCenter::builder().token("t").build().unwrap();
        let ok = client.checked_link(
            "https://api.partner.microsoft.com/v1.0/engagements/referrals?$skiptoken=abc",
        );
        assert_eq!(ok.unwrap().query(), Some("$skiptoken=abc"));
        let relative = client.checked_link("/v1.0/engagements/referrals?$skiptoken=abc");
        assert_eq!(
            relative.unwrap().host_str(),
            Some("api.partner.microsoft.com")
        );
        // Each refusal says what differs: the scheme, the host or the port.
        for (link, differs) in [
            // The documented example link: http, so a downgrade.
            (
                "http://api.partner.microsoft.com/v1.0/engagements/referrals?$skiptoken=abc",
                "has the scheme http, not https",
            ),
            (
                "https://api.partner.microsoft.com.evil.example/v1.0/engagements/referrals",
                "has the host api.partner.microsoft.com.evil.example, not api.partner.microsoft.com",
            ),
            (
                "https://api.partner.microsoft.com:8443/v1.0/engagements/referrals",
                "has the port 8443, not 443",
            ),
            (
                "https://user@evil.example/",
                "has the host evil.example, not api.partner.microsoft.com",
            ),
            (
                "//evil.example/v1.0/engagements/referrals",
                "has the host evil.example, not api.partner.microsoft.com",
            ),
            (
                "ftp://api.partner.microsoft.com/x",
                "has the scheme ftp, not https",
            ),
        ] {
            let err = client.checked_link(link).unwrap_err();
            assert!(
                matches!(&err, Error::UntrustedLink(m) if m.ends_with(differs)),
                "{link}: {err}"
            );
        }
    }

    /// The generated operations take the request headers as arguments: whatever they are given,
    /// the policy's values are the ones sent, once each.
    #[tokio::test]
    async fn the_policy_sets_the_request_headers_whatever_the_operation_was_given() {
        use api::types::{ApplicationName, ReferralId};
        use wiremock::matchers::any;
        use wiremock::{Mock, MockServer, ResponseTemplate};

        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_body_raw("{}", "application/json"))
            .mount(&server)
            .await;
        let correlation = uuid::Uuid::from_u128(1);
        let client = PartnerCenter::builder()
            .base_url(server.uri())
            .token("t")
            .application_name("policy-app")
            .build()
            .unwrap()
            .with_correlation_id(correlation);
        let given = uuid::Uuid::from_u128(2);
        let application: ApplicationName = "given-app".parse().unwrap();
        let id: ReferralId = "x".parse().unwrap();
        client
            .call(|api| async move {
                let (g, a) = (Some(&given), Some(&application));
                api.get_referral(&id, g, a, g, None, g).await
            })
            .await
            .unwrap();

        let request = &server.received_requests().await.unwrap()[0];
        let values = |name: &str| {
            let values = request.headers.get_all(name).iter();
            values
                .map(|v| v.to_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(values("ms-correlationid"), [correlation.to_string()]);
        assert_eq!(values("ms-partnercenter-application"), ["policy-app"]);
        let [request_id] = &values("client-request-id")[..] else {
            panic!("{:?}", values("client-request-id"))
        };
        assert_ne!(request_id, &given.to_string());
        assert_eq!(values("ms-requestid"), std::slice::from_ref(request_id));
    }

    #[tokio::test]
    async fn a_token_that_cannot_be_a_header_is_refused_without_showing_it() {
        let client = PartnerCenter::builder()
            .base_url("http://127.0.0.1:9")
            .token("very-secret\nvalue")
            .build()
            .unwrap();
        let err = client.referrals().get("abc").await.unwrap_err();
        assert!(matches!(err, Error::Auth(_)), "{err:?}");
        assert!(!format!("{err} {err:?}").contains("very-secret"));
    }

    /// hyper sends, unless reqwest is needed: a client of the caller's, a proxy, more roots.
    #[test]
    fn the_transport_is_chosen_once_by_the_builder() {
        use crate::transport::environment_proxy;

        let url = "http://127.0.0.1:9";
        let transport = |builder: PartnerCenterBuilder| {
            let client = builder.token("t").base_url(url).build();
            match client.unwrap().shared.transport {
                Transport::Hyper(_) => "hyper",
                Transport::Reqwest { own: false, .. } => "reqwest",
                Transport::Reqwest { own: true, .. } => "own reqwest",
            }
        };
        // Unless the environment sends that URL through a proxy.
        let expected = if environment_proxy(url) {
            "reqwest"
        } else {
            "hyper"
        };
        assert_eq!(transport(PartnerCenter::builder()), expected);
        let proxy = reqwest::Proxy::all("http://proxy.example:3128").unwrap();
        assert_eq!(transport(PartnerCenter::builder().proxy(proxy)), "reqwest");
        let own = PartnerCenter::builder().http_client(reqwest::Client::new());
        assert_eq!(transport(own), "own reqwest");
    }

    #[test]
    fn application_names_must_fit_in_a_header() {
        let err = PartnerCenter::builder()
            .token("t")
            .application_name("a\nb")
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
    }
}
