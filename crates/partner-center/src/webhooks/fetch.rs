//! Fetching certificates from URLs a request names: the allow-list ([`UrlRule`]), bounded
//! downloads without redirects, and a cache by URL.
//!
//! The certificate URL comes with the request, so it is the sender's choice: fetched without
//! checks it would let anyone make this process send requests anywhere (server-side request
//! forgery) and read what comes back. A URL is checked against the rules before any request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::Url;
use rustls::pki_types::CertificateDer;
use tokio::sync::{OnceCell, Semaphore};

use super::rejection::kept;
use super::{Rejection, UrlRefusal, certificate};

/// The longest URL checked (longer ones are refused unparsed).
const MAX_URL_LEN: usize = 2048;

/// The longest file name a URL may end with.
const MAX_FILE_NAME_LEN: usize = 255;

/// How many downloads run at once, for all requests together: a flood of requests naming
/// allowed URLs cannot open more connections than this.
const CONCURRENT_FETCHES: usize = 8;

/// A URL the verifier may fetch certificates from: https on one host, its default port, a
/// path under a prefix, ending in one file name.
///
/// The file name (what follows the prefix) is one path segment of ASCII letters, digits,
/// `-`, `_`, `.`, `~` and percent-escapes of printable characters other than `/`, `\` and `%`.
/// No user name or password, query or fragment is allowed.
///
/// ```
/// use partner_center::webhooks::UrlRule;
///
/// // What the verifier allows by default.
/// let partner_center = UrlRule::https("3psostorageacct.blob.core.windows.net")
///     .path_prefix("/cert/")
///     .file_suffix(".cer");
/// assert_eq!(partner_center, UrlRule::partner_center());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub struct UrlRule {
    host: String,
    port: Option<u16>,
    http: bool,
    path_prefix: String,
    file_suffix: String,
}

impl UrlRule {
    /// https URLs on `host` (a DNS name, compared without case, or an IP address), its
    /// default port, any path.
    pub fn https(host: impl Into<String>) -> Self {
        Self {
            host: host.into().to_ascii_lowercase(),
            port: None,
            http: false,
            path_prefix: "/".to_owned(),
            file_suffix: String::new(),
        }
    }

    /// Where Partner Center's certificates are: `https://3psostorageacct.blob.core.windows.net/cert/*.cer`.
    pub fn partner_center() -> Self {
        Self::https("3psostorageacct.blob.core.windows.net")
            .path_prefix("/cert/")
            .file_suffix(".cer")
    }

    /// Where Microsoft's and DigiCert's CA certificates are published (the caIssuers URLs of
    /// their certificates): `http(s)://www.microsoft.com/pkiops/certs/*` and
    /// `http(s)://cacerts.digicert.com/*`. Plain http is allowed there because what is fetched
    /// is only used once it chains to a trusted root.
    pub fn ca_issuers() -> Vec<Self> {
        vec![
            Self::https("www.microsoft.com")
                .path_prefix("/pkiops/certs/")
                .allow_http(),
            Self::https("cacerts.digicert.com").allow_http(),
        ]
    }

    /// The same rule on `port` instead of the scheme's default one.
    pub fn port(self, port: u16) -> Self {
        Self {
            port: Some(port),
            ..self
        }
    }

    /// The same rule allowing plain http as well: only for a sandbox, or for what is
    /// authenticated otherwise (a CA certificate, checked by the chain).
    pub fn allow_http(self) -> Self {
        Self { http: true, ..self }
    }

    /// The same rule for paths under `prefix` only (`/cert/`; a `/` is added at either end
    /// when missing): the file name follows it directly.
    pub fn path_prefix(self, prefix: &str) -> Self {
        let mut path_prefix = prefix.to_owned();
        if !path_prefix.starts_with('/') {
            path_prefix.insert(0, '/');
        }
        if !path_prefix.ends_with('/') {
            path_prefix.push('/');
        }
        Self {
            path_prefix,
            ..self
        }
    }

    /// The same rule for file names ending with `suffix` only (`.cer`, compared without case).
    pub fn file_suffix(self, suffix: &str) -> Self {
        Self {
            file_suffix: suffix.to_owned(),
            ..self
        }
    }

    /// A rule for `origin` (`http://127.0.0.1:8080`): its scheme (http allowed only if it
    /// is http), host and port, any path.
    pub(crate) fn origin(origin: &str) -> Result<Self, String> {
        let url = Url::parse(origin).map_err(|e| format!("{origin:?} is not a URL: {e}"))?;
        let host = url
            .host_str()
            .ok_or_else(|| format!("{origin:?} has no host"))?;
        let mut rule = Self::https(host);
        rule.port = url.port();
        match url.scheme() {
            "https" => Ok(rule),
            "http" => Ok(rule.allow_http()),
            other => Err(format!("{origin:?}: {other} is not http(s)")),
        }
    }

    /// Whether `url` (parsed, on this rule's host) is allowed, and why not.
    fn check(&self, url: &Url) -> Result<(), UrlRefusal> {
        if url.scheme() == "http" && !self.http {
            return Err(UrlRefusal::Scheme);
        }
        if url.port() != self.port {
            return Err(UrlRefusal::Port);
        }
        let name = url
            .path()
            .strip_prefix(&self.path_prefix)
            .ok_or(UrlRefusal::Path)?;
        let suffixed = name.len() > self.file_suffix.len()
            && name
                .get(name.len() - self.file_suffix.len()..)
                .is_some_and(|end| end.eq_ignore_ascii_case(&self.file_suffix));
        if !suffixed || !plain_file_name(name) {
            return Err(UrlRefusal::Path);
        }
        Ok(())
    }
}

/// Whether `name` is one path segment a server cannot take for another path.
fn plain_file_name(name: &str) -> bool {
    if name.is_empty() || name.len() > MAX_FILE_NAME_LEN || name == "." || name == ".." {
        return false;
    }
    let bytes = name.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let decoded = bytes
                .get(i + 1..i + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok());
            match decoded {
                Some(d) if (0x20..0x7f).contains(&d) && !matches!(d, b'/' | b'\\' | b'%') => i += 3,
                _ => return false,
            }
        } else if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// `text` parsed, if one of `rules` allows it; else why not. No request is made.
pub(crate) fn check_url(rules: &[UrlRule], text: &str) -> Result<Url, UrlRefusal> {
    if text.len() > MAX_URL_LEN {
        return Err(UrlRefusal::TooLong);
    }
    let url = Url::parse(text).map_err(|_| UrlRefusal::NotAUrl)?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(UrlRefusal::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlRefusal::Credentials);
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(UrlRefusal::QueryOrFragment);
    }
    let host = url.host_str().ok_or(UrlRefusal::NotAUrl)?;
    // The first refusal of a rule for this host says why (off every host: `Host`).
    let mut refusal = UrlRefusal::Host;
    for rule in rules.iter().filter(|rule| rule.host == host) {
        match rule.check(&url) {
            Ok(()) => return Ok(url),
            Err(why) if refusal == UrlRefusal::Host => refusal = why,
            Err(_) => {}
        }
    }
    Err(refusal)
}

/// The certificates of one URL, the leaf (or the CA certificate) first.
pub(crate) type Certificates = Arc<[CertificateDer<'static>]>;

/// How downloads are bounded and how long their results are kept.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    pub(crate) max_bytes: usize,
    pub(crate) timeout: Duration,
    pub(crate) cache_capacity: usize,
    pub(crate) cache_ttl: Duration,
    pub(crate) failure_ttl: Duration,
}

/// Downloads certificates (bounded) and keeps them by URL.
pub(crate) struct Fetcher {
    client: reqwest::Client,
    limits: Limits,
    downloads: Semaphore,
    cache: Mutex<HashMap<String, Slot>>,
}

/// One URL's download, shared by the requests waiting for it, once done or under way.
struct Slot {
    created: Instant,
    fetched: Arc<OnceCell<Fetched>>,
}

struct Fetched {
    at: Instant,
    certificates: Result<Certificates, Rejection>,
}

impl Fetcher {
    /// A fetcher trusting, for https, the platform's roots and `extra_roots` (PEM).
    pub(crate) fn new(mut limits: Limits, extra_roots: &[Vec<u8>]) -> Result<Self, String> {
        limits.cache_capacity = limits.cache_capacity.max(1);
        let mut builder = reqwest::Client::builder()
            // A redirect could lead off the allow-list: it is refused, not followed.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(limits.timeout)
            .user_agent(concat!(
                "partner-center-rs/",
                env!("CARGO_PKG_VERSION"),
                " (webhooks)"
            ));
        for pem in extra_roots {
            let roots = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| format!("a TLS root certificate is invalid: {e}"))?;
            builder = builder.tls_certs_merge(roots);
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot set up HTTPS: {e}"))?;
        Ok(Self {
            client,
            limits,
            downloads: Semaphore::new(CONCURRENT_FETCHES),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The certificates at `url` (allowed by the caller), from the cache if they were fetched
    /// lately: for the cache's TTL after a success, for its failure TTL after a failure.
    pub(crate) async fn certificates(&self, url: &Url) -> Result<Certificates, Rejection> {
        let fetched = self.slot(url.as_str(), Instant::now());
        let fetched = fetched
            .get_or_init(|| async {
                let certificates = self
                    .download(url)
                    .await
                    .and_then(|bytes| certificate::decode(&bytes).map(Certificates::from));
                Fetched {
                    at: Instant::now(),
                    certificates,
                }
            })
            .await;
        fetched.certificates.clone()
    }

    /// The download of `url` to wait for: the cached one if still fresh (or under way), else
    /// a new one, evicting what has expired, then the oldest, to stay within the capacity.
    fn slot(&self, url: &str, now: Instant) -> Arc<OnceCell<Fetched>> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = cache.get(url)
            && slot.fetched.get().is_none_or(|f| !self.expired(f, now))
        {
            return slot.fetched.clone();
        }
        if !cache.contains_key(url) && cache.len() >= self.limits.cache_capacity {
            cache.retain(|_, slot| slot.fetched.get().is_none_or(|f| !self.expired(f, now)));
            while cache.len() >= self.limits.cache_capacity {
                let Some(oldest) = cache
                    .iter()
                    .min_by_key(|(_, slot)| slot.created)
                    .map(|(url, _)| url.clone())
                else {
                    break;
                };
                cache.remove(&oldest);
            }
        }
        let fetched = Arc::new(OnceCell::new());
        cache.insert(
            url.to_owned(),
            Slot {
                created: now,
                fetched: fetched.clone(),
            },
        );
        fetched
    }

    fn expired(&self, fetched: &Fetched, now: Instant) -> bool {
        let ttl = match fetched.certificates {
            Ok(_) => self.limits.cache_ttl,
            Err(_) => self.limits.failure_ttl,
        };
        now.duration_since(fetched.at) >= ttl
    }

    /// The body at `url`: a 2xx answer, at most `max_bytes` (refused as soon as it says or
    /// sends more), all within `timeout` (waiting for a download slot included).
    pub(crate) async fn download(&self, url: &Url) -> Result<Vec<u8>, Rejection> {
        let limit = self.limits.max_bytes;
        let shown = || kept(url.as_str());
        let download = async {
            // The semaphore is never closed, the one case where acquiring fails.
            let _permit = self
                .downloads
                .acquire()
                .await
                .map_err(|_| fetch_failed(url, None, "no download slot"))?;
            let mut response =
                self.client.get(url.clone()).send().await.map_err(|e| {
                    fetch_failed(url, None, &crate::error::Report::new(&e).to_string())
                })?;
            let status = response.status();
            if status.is_redirection() {
                return Err(Rejection::CertificateRedirected {
                    url: shown(),
                    status: status.as_u16(),
                });
            }
            if !status.is_success() {
                return Err(fetch_failed(
                    url,
                    Some(status.as_u16()),
                    &status.to_string(),
                ));
            }
            let too_large = || Rejection::CertificateTooLarge {
                url: shown(),
                limit,
            };
            if response.content_length().is_some_and(|n| n > limit as u64) {
                return Err(too_large());
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| {
                fetch_failed(
                    url,
                    Some(status.as_u16()),
                    &crate::error::Report::new(&e).to_string(),
                )
            })? {
                if body.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        };
        tokio::time::timeout(self.limits.timeout, download)
            .await
            .unwrap_or_else(|_| {
                Err(Rejection::CertificateTooSlow {
                    url: shown(),
                    limit: self.limits.timeout,
                })
            })
    }
}

fn fetch_failed(url: &Url, status: Option<u16>, reason: &str) -> Rejection {
    Rejection::CertificateFetchFailed {
        url: kept(url.as_str()),
        status,
        reason: kept(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partner_center(url: &str) -> Result<Url, UrlRefusal> {
        check_url(&[UrlRule::partner_center()], url)
    }

    #[test]
    fn partner_centers_certificate_urls_are_allowed() {
        for url in [
            "https://3psostorageacct.blob.core.windows.net/cert/pcnotifications-dispatch.microsoft.com.cer",
            "https://3PSOSTORAGEACCT.blob.core.windows.net/cert/a.CER",
            "https://3psostorageacct.blob.core.windows.net:443/cert/a.cer",
            "https://3psostorageacct.blob.core.windows.net/cert/a%20b.cer",
            "https://3psostorageacct.blob.core.windows.net/other/../cert/a.cer",
        ] {
            assert!(partner_center(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn everything_else_is_refused_with_its_reason() {
        use UrlRefusal::*;
        let long = format!(
            "https://3psostorageacct.blob.core.windows.net/cert/{}.cer",
            "a".repeat(3000)
        );
        for (url, why) in [
            (
                "http://3psostorageacct.blob.core.windows.net/cert/a.cer",
                Scheme,
            ),
            (
                "ftp://3psostorageacct.blob.core.windows.net/cert/a.cer",
                Scheme,
            ),
            ("file:///etc/passwd", Scheme),
            ("/cert/a.cer", NotAUrl),
            ("", NotAUrl),
            (
                "https://user:pw@3psostorageacct.blob.core.windows.net/cert/a.cer",
                Credentials,
            ),
            (
                "https://user@3psostorageacct.blob.core.windows.net/cert/a.cer",
                Credentials,
            ),
            (
                "https://3psostorageacct.blob.core.windows.net.evil.example/cert/a.cer",
                Host,
            ),
            ("https://evil.example/cert/a.cer", Host),
            ("https://169.254.169.254/cert/a.cer", Host),
            (
                "https://evil.example#@3psostorageacct.blob.core.windows.net/cert/a.cer",
                QueryOrFragment,
            ),
            (
                "https://3psostorageacct.blob.core.windows.net:8443/cert/a.cer",
                Port,
            ),
            (
                "https://3psostorageacct.blob.core.windows.net/cert/a.cer?x=1",
                QueryOrFragment,
            ),
            (
                "https://3psostorageacct.blob.core.windows.net/cert/a.cer#f",
                QueryOrFragment,
            ),
            (
                "https://3psostorageacct.blob.core.windows.net/cert/a.pem",
                Path,
            ),
            (
                "https://3psostorageacct.blob.core.windows.net/cert/.cer",
                Path,
            ),
            (
                "https://3psostorageacct.blob.core.windows.net/cert/sub/a.cer",
                Path,
            ),
            (
                "https://3psostorageacct.blob.core.windows.net/cert/..%2Fa.cer",
                Path,
            ),
            (
                "https://3psostorageacct.blob.core.windows.net/cert/a%5c.cer",
                Path,
            ),
            (
                "https://3psostorageacct.blob.core.windows.net/cert/a%00.cer",
                Path,
            ),
            (
                "https://3psostorageacct.blob.core.windows.net/cert/a%252f.cer",
                Path,
            ),
            (
                "https://3psostorageacct.blob.core.windows.net/cert/a%zz.cer",
                Path,
            ),
            (
                "https://3psostorageacct.blob.core.windows.net/cert/a;b.cer",
                Path,
            ),
            (
                "https://3psostorageacct.blob.core.windows.net/certs/a.cer",
                Path,
            ),
            ("https://3psostorageacct.blob.core.windows.net/a.cer", Path),
            (&long, TooLong),
        ] {
            assert_eq!(partner_center(url).unwrap_err(), why, "{url}");
        }
    }

    #[test]
    fn http_and_ports_only_where_a_rule_allows_them() {
        let rules = [UrlRule::origin("http://127.0.0.1:8080")
            .unwrap()
            .path_prefix("cert")
            .file_suffix(".cer")];
        assert!(check_url(&rules, "http://127.0.0.1:8080/cert/sandbox.cer").is_ok());
        assert!(check_url(&rules, "https://127.0.0.1:8080/cert/sandbox.cer").is_ok());
        assert_eq!(
            check_url(&rules, "http://127.0.0.1:8081/cert/sandbox.cer").unwrap_err(),
            UrlRefusal::Port
        );
        assert_eq!(
            check_url(&rules, "http://127.0.0.1/cert/sandbox.cer").unwrap_err(),
            UrlRefusal::Port
        );
        assert_eq!(
            check_url(&rules, "http://localhost:8080/cert/sandbox.cer").unwrap_err(),
            UrlRefusal::Host
        );
        let issuers = UrlRule::ca_issuers();
        assert!(check_url(&issuers, "http://www.microsoft.com/pkiops/certs/Microsoft%20Azure%20RSA%20TLS%20Issuing%20CA%2004%20-%20xsign.crt").is_ok());
        assert!(
            check_url(
                &issuers,
                "http://cacerts.digicert.com/DigiCertGlobalRootG2.crt"
            )
            .is_ok()
        );
        assert_eq!(
            check_url(&issuers, "http://www.microsoft.com/other/x.crt").unwrap_err(),
            UrlRefusal::Path
        );
        assert!(UrlRule::origin("ftp://h").is_err());
        assert!(UrlRule::origin("not a url").is_err());
    }

    fn fetcher(capacity: usize) -> Fetcher {
        let limits = Limits {
            max_bytes: 1024,
            timeout: Duration::from_secs(1),
            cache_capacity: capacity,
            cache_ttl: Duration::from_secs(60),
            failure_ttl: Duration::from_secs(5),
        };
        Fetcher::new(limits, &[]).unwrap()
    }

    fn fill(fetched: &OnceCell<Fetched>, at: Instant, ok: bool) {
        let certificates = match ok {
            true => Ok(Certificates::from(Vec::new())),
            false => Err(Rejection::SignatureMismatch),
        };
        assert!(fetched.set(Fetched { at, certificates }).is_ok());
    }

    #[test]
    fn the_cache_keeps_successes_for_its_ttl_and_failures_for_less() {
        let fetcher = fetcher(4);
        let t0 = Instant::now();
        let ok = fetcher.slot("https://h/ok", t0);
        fill(&ok, t0, true);
        let failed = fetcher.slot("https://h/failed", t0);
        fill(&failed, t0, false);
        let later = t0 + Duration::from_secs(10);
        assert!(Arc::ptr_eq(&fetcher.slot("https://h/ok", later), &ok));
        assert!(!Arc::ptr_eq(
            &fetcher.slot("https://h/failed", later),
            &failed
        ));
        let much_later = t0 + Duration::from_secs(61);
        assert!(!Arc::ptr_eq(&fetcher.slot("https://h/ok", much_later), &ok));
        // A download under way is shared, not started again.
        let pending = fetcher.slot("https://h/pending", t0);
        assert!(Arc::ptr_eq(
            &fetcher.slot("https://h/pending", much_later),
            &pending
        ));
    }

    #[test]
    fn the_cache_stays_within_its_capacity_evicting_the_oldest() {
        let fetcher = fetcher(3);
        let t0 = Instant::now();
        let first = fetcher.slot("https://h/0", t0);
        for i in 1..100 {
            let at = t0 + Duration::from_millis(i);
            fill(&fetcher.slot(&format!("https://h/{i}"), at), at, true);
            assert!(fetcher.cache.lock().unwrap().len() <= 3);
        }
        assert!(!Arc::ptr_eq(&fetcher.slot("https://h/0", t0), &first));
        let cache = fetcher.cache.lock().unwrap();
        assert!(cache.contains_key("https://h/99") && cache.contains_key("https://h/0"));
    }
}
