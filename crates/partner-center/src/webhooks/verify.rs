//! [`Verifier`]: checks that a callback was signed by Partner Center, and decodes its event.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use http::{HeaderMap, HeaderValue};
use reqwest::Url;
use rustls::pki_types::CertificateDer;

use super::certificate::{self, ChainError, Trust};
use super::fetch::{self, Fetcher, Limits};
use super::rejection::kept;
use super::{Event, Rejection, UrlRefusal, UrlRule};
use crate::error::Error;
use crate::text;

/// Standard base64, padded or not.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The longest signature read, in base64: an RSA-8192 signature takes 1368 characters.
const MAX_SIGNATURE_BASE64: usize = 2048;

/// How many issuer certificates are fetched from caIssuers URLs for one chain, at most (a
/// leaf, two intermediates and the root is as deep as public chains go).
const MAX_ISSUER_FETCHES: usize = 3;

/// The organization of Partner Center's certificate issuers.
const MICROSOFT: &str = "Microsoft Corporation";

/// The organization of the sandbox's webhook CA.
const SANDBOX: &str = "Partner Center Sandbox";

/// Checks that a webhook callback comes from Partner Center, and decodes its [`Event`].
///
/// A callback is signed: `Authorization: Signature <base64>` (or `x-ms-signature`, as the
/// registration chose) holds an RSA PKCS#1 v1.5 SHA-256 signature of the body's exact bytes,
/// made with the key of the certificate at `x-ms-certificate-url`;
/// `x-ms-signature-algorithm` is `rsa-sha256`. [`Verifier::verify`] checks, in order:
///
/// 1. the body's size (64 KiB at most by default; an event is about 300 bytes);
/// 2. the headers;
/// 3. the certificate URL, against an allow-list ([`UrlRule`]; by default only
///    `https://3psostorageacct.blob.core.windows.net/cert/*.cer`): a URL off the list is refused
///    without any request;
/// 4. the certificate, fetched (https, no redirects, 64 KiB and 10 s at most, cached by URL):
///    it must chain to a root of the public store (Mozilla's, as TLS clients trust), be
///    within its validity period, and its issuer must be of `O=Microsoft Corporation`.
///    Microsoft's certificate comes without its intermediates: they are fetched from its
///    caIssuers URL, on an allow-list of their own ([`UrlRule::ca_issuers`]);
/// 5. the signature, over the body as it came;
/// 6. the body, decoded as an [`Event`] (only once it is authenticated).
///
/// Nothing in the scheme protects against replays (no timestamp is signed) and deliveries
/// repeat anyway: see [`crate::webhooks::Deduplicator`].
///
/// It is cheap to clone (its state is shared: the certificate cache too).
///
/// ```no_run
/// use partner_center::webhooks::{Rejection, Verifier};
///
/// # async fn handle(headers: http::HeaderMap, body: bytes::Bytes) -> Result<(), partner_center::Error> {
/// let verifier = Verifier::new()?;
/// match verifier.verify(&headers, &body).await {
///     Ok(event) => println!("{}: read referral {:?} again", event.name(), event.referral_id()),
///     // Answer its status (401, 400, 413 or 503), and say why.
///     Err(rejection) => eprintln!("{} {rejection}", rejection.status()),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    max_body_bytes: usize,
    certificate_urls: Vec<UrlRule>,
    ca_issuer_urls: Vec<UrlRule>,
    trust: Trust,
    fetcher: Fetcher,
}

impl Verifier {
    /// The largest body verified by default.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
    /// The largest certificate file read by default.
    pub const DEFAULT_MAX_CERTIFICATE_BYTES: usize = 64 * 1024;
    /// How long one certificate download may take by default, from the request to the last byte.
    pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(10);

    /// A verifier for Partner Center's callbacks, with the defaults ([`Verifier::builder`]).
    /// It fails only if HTTPS cannot be set up.
    pub fn new() -> Result<Self, Error> {
        Self::builder().build()
    }

    /// A builder, with the defaults for Partner Center.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }

    /// The largest body this verifier accepts: a receiver refuses larger ones before reading
    /// them whole.
    pub fn max_body_bytes(&self) -> usize {
        self.inner.max_body_bytes
    }

    /// The event of a callback, once its signature and certificate are checked; else why not.
    /// `body` is the request's body exactly as it came.
    pub async fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<Event, Rejection> {
        let inner = &*self.inner;
        if body.len() > inner.max_body_bytes {
            return Err(Rejection::BodyTooLarge {
                limit: inner.max_body_bytes,
            });
        }
        let signed = Signed::from_headers(headers)?;
        let url = fetch::check_url(&inner.certificate_urls, signed.certificate_url)
            .map_err(|reason| Rejection::url_refused(signed.certificate_url, reason))?;
        let leaf = self.trusted(&url).await?;
        certificate::end_entity(&leaf)?
            .verify_signature(
                webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
                body,
                &signed.signature,
            )
            .map_err(|e| match e {
                webpki::Error::InvalidSignatureForPublicKey => Rejection::SignatureMismatch,
                other => Rejection::CertificateInvalid(format!(
                    "its key is not RSA of 2048 to 8192 bits ({other})"
                )),
            })?;
        Event::from_slice(body).map_err(Rejection::BodyNotAnEvent)
    }

    /// The leaf certificate at `url`, once trusted: chained to a root,
    /// through what came with it, the configured intermediates and those fetched from
    /// caIssuers URLs, and issued by the expected organization.
    async fn trusted(&self, url: &Url) -> Result<CertificateDer<'static>, Rejection> {
        let inner = &*self.inner;
        let fetched = inner.fetcher.certificates(url).await?;
        let Some((leaf, with_it)) = fetched.split_first() else {
            return Err(Rejection::CertificateInvalid("no certificate".to_owned()));
        };
        let mut intermediates: Vec<CertificateDer<'static>> = with_it.to_vec();
        // The certificate whose issuer is missing: the leaf, then each one fetched.
        let mut orphan = leaf.clone();
        for fetches in 0..=MAX_ISSUER_FETCHES {
            match inner.trust.chain(leaf, &intermediates) {
                Ok(()) => {
                    inner.trust.check_issuer(leaf)?;
                    return Ok(leaf.clone());
                }
                Err(ChainError::Rejected(rejection)) => return Err(rejection),
                Err(ChainError::UnknownIssuer) if fetches == MAX_ISSUER_FETCHES => break,
                Err(ChainError::UnknownIssuer) => {}
            }
            let Some(issuer_url) = self.issuer_url(&orphan)? else {
                break;
            };
            let issuer = inner.fetcher.certificates(&issuer_url).await?;
            let Some(first) = issuer.first() else { break };
            orphan = first.clone();
            intermediates.extend(issuer.iter().cloned());
        }
        Err(Rejection::CertificateNotTrusted(
            "no issuer leads to a trusted root".to_owned(),
        ))
    }

    /// Where the issuer of `certificate` is published, if it says and that is allowed.
    fn issuer_url(&self, certificate: &CertificateDer<'_>) -> Result<Option<Url>, Rejection> {
        let rules = &self.inner.ca_issuer_urls;
        if rules.is_empty() {
            return Ok(None);
        }
        let urls = certificate::ca_issuers(certificate);
        if let Some(url) = urls
            .iter()
            .find_map(|url| fetch::check_url(rules, url).ok())
        {
            return Ok(Some(url));
        }
        match urls.first() {
            Some(refused) => Err(Rejection::CertificateNotTrusted(format!(
                "its issuer is unknown, and its caIssuers URL {} is not allowed",
                text::excerpt(refused, 256)
            ))),
            None => Ok(None),
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Verifier")
            .field("max_body_bytes", &inner.max_body_bytes)
            .field("certificate_urls", &inner.certificate_urls)
            .field("ca_issuer_urls", &inner.ca_issuer_urls)
            .field("roots", &inner.trust.anchors.len())
            .field("intermediates", &inner.trust.intermediates.len())
            .field("issuer_organization", &inner.trust.organization)
            .finish_non_exhaustive()
    }
}

/// What the headers of a callback say: its signature and where its certificate is.
struct Signed<'h> {
    signature: Vec<u8>,
    certificate_url: &'h str,
}

impl<'h> Signed<'h> {
    fn from_headers(headers: &'h HeaderMap) -> Result<Self, Rejection> {
        let algorithm = one(headers, "x-ms-signature-algorithm")?
            .ok_or(Rejection::MissingHeader("x-ms-signature-algorithm"))?;
        let algorithm = String::from_utf8_lossy(algorithm.as_bytes());
        if !algorithm.trim().eq_ignore_ascii_case("rsa-sha256") {
            return Err(Rejection::UnsupportedAlgorithm(kept(&algorithm)));
        }
        let signature = match one(headers, "x-ms-signature")? {
            Some(value) => value,
            None => one(headers, "authorization")?.ok_or(Rejection::MissingHeader(
                "Authorization (or x-ms-signature)",
            ))?,
        };
        let certificate_url = one(headers, "x-ms-certificate-url")?
            .ok_or(Rejection::MissingHeader("x-ms-certificate-url"))?;
        let certificate_url = certificate_url.to_str().map_err(|_| {
            let shown = String::from_utf8_lossy(certificate_url.as_bytes());
            Rejection::url_refused(&shown, UrlRefusal::NotAUrl)
        })?;
        Ok(Self {
            signature: decode_signature(signature)?,
            certificate_url,
        })
    }
}

/// The value of the header `name`, if it came, once at most.
fn one<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> Result<Option<&'h HeaderValue>, Rejection> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    match values.next() {
        Some(_) => Err(Rejection::RepeatedHeader(name)),
        None => Ok(first),
    }
}

/// The bytes of `Signature <base64>`.
fn decode_signature(value: &HeaderValue) -> Result<Vec<u8>, Rejection> {
    let bad = Rejection::BadSignatureEncoding;
    let text = value.to_str().map_err(|_| bad("not ASCII text"))?;
    let (scheme, encoded) = text
        .trim()
        .split_once(' ')
        .ok_or(bad("no `Signature` scheme"))?;
    if !scheme.eq_ignore_ascii_case("Signature") {
        return Err(bad("its scheme is not `Signature`"));
    }
    let encoded = encoded.trim();
    if encoded.len() > MAX_SIGNATURE_BASE64 {
        return Err(bad("too long"));
    }
    match BASE64.decode(encoded) {
        Ok(signature) if !signature.is_empty() => Ok(signature),
        Ok(_) => Err(bad("empty")),
        Err(_) => Err(bad("not base64")),
    }
}

/// How a [`Verifier`] is set up: limits, allow-lists and what it trusts.
///
/// The defaults are Partner Center's: certificates from
/// `https://3psostorageacct.blob.core.windows.net/cert/*.cer` ([`UrlRule::partner_center`]),
/// their issuers from [`UrlRule::ca_issuers`], chained to the public roots, issued by
/// `O=Microsoft Corporation`.
///
/// ```
/// use std::time::Duration;
/// use partner_center::webhooks::Verifier;
///
/// let verifier = Verifier::builder()
///     .max_body_bytes(16 * 1024)
///     .fetch_timeout(Duration::from_secs(5))
///     .build()?;
/// assert_eq!(verifier.max_body_bytes(), 16 * 1024);
/// # Ok::<(), partner_center::Error>(())
/// ```
#[derive(Clone)]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub struct VerifierBuilder {
    max_body_bytes: usize,
    limits: Limits,
    certificate_urls: Vec<UrlRule>,
    ca_issuer_urls: Vec<UrlRule>,
    roots_pem: Option<Vec<u8>>,
    intermediates_pem: Vec<Vec<u8>>,
    organization: String,
    tls_roots_pem: Vec<Vec<u8>>,
    /// A setting that cannot be used (a sandbox URL that is not one), reported by `build`.
    invalid: Option<String>,
}

impl Default for VerifierBuilder {
    fn default() -> Self {
        Self {
            max_body_bytes: Verifier::DEFAULT_MAX_BODY_BYTES,
            limits: Limits {
                max_bytes: Verifier::DEFAULT_MAX_CERTIFICATE_BYTES,
                timeout: Verifier::DEFAULT_FETCH_TIMEOUT,
                cache_capacity: 32,
                cache_ttl: Duration::from_secs(60 * 60),
                failure_ttl: Duration::from_secs(30),
            },
            certificate_urls: vec![UrlRule::partner_center()],
            ca_issuer_urls: UrlRule::ca_issuers(),
            roots_pem: None,
            intermediates_pem: Vec::new(),
            organization: MICROSOFT.to_owned(),
            tls_roots_pem: Vec::new(),
            invalid: None,
        }
    }
}

impl VerifierBuilder {
    /// The largest body verified (64 KiB by default); larger ones are refused unread
    /// ([`Rejection::BodyTooLarge`]).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The largest certificate file read (64 KiB by default): the download stops there
    /// ([`Rejection::CertificateTooLarge`]).
    pub fn max_certificate_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_bytes = bytes;
        self
    }

    /// How long one download may take, from the request to the last byte (10 s by default;
    /// [`Rejection::CertificateTooSlow`]).
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.limits.timeout = timeout;
        self
    }

    /// How many URLs' certificates are kept (32 by default, at least 1; the oldest go first),
    /// and how long (1 hour by default). Each callback still checks the chain and validity
    /// dates of what is kept.
    pub fn cache(mut self, capacity: usize, ttl: Duration) -> Self {
        self.limits.cache_capacity = capacity;
        self.limits.cache_ttl = ttl;
        self
    }

    /// How long a failed download is remembered before the URL is fetched again (30 s by
    /// default): a burst of callbacks naming a failing URL makes one request, not one each.
    pub fn failure_ttl(mut self, ttl: Duration) -> Self {
        self.limits.failure_ttl = ttl;
        self
    }

    /// The URLs certificates may be fetched from, instead of [`UrlRule::partner_center`].
    pub fn certificate_urls(mut self, rules: impl IntoIterator<Item = UrlRule>) -> Self {
        self.certificate_urls = rules.into_iter().collect();
        self
    }

    /// The URLs issuer certificates may be fetched from (the caIssuers URLs of the
    /// certificates), instead of [`UrlRule::ca_issuers`]. None: they are never fetched, and
    /// a chain must be completed by the file itself or by [`VerifierBuilder::intermediates_pem`].
    pub fn ca_issuer_urls(mut self, rules: impl IntoIterator<Item = UrlRule>) -> Self {
        self.ca_issuer_urls = rules.into_iter().collect();
        self
    }

    /// Intermediate certificates (PEM) to build chains with, besides those fetched.
    pub fn intermediates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.intermediates_pem.push(pem.into());
        self
    }

    /// Trusts exactly these root certificates (PEM) for the chain, instead of the public ones.
    pub fn roots_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots_pem = Some(pem.into());
        self
    }

    /// The organization (`O=`) the certificate's issuer must have, instead of
    /// `Microsoft Corporation`.
    pub fn issuer_organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = organization.into();
        self
    }

    /// Trusts these roots (PEM) too, for the HTTPS connections that fetch certificates (a
    /// certificate host behind a TLS-inspecting proxy; a test server). The platform's roots
    /// stay trusted.
    pub fn fetch_tls_roots_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_roots_pem.push(pem.into());
        self
    }

    /// Verifies callbacks from the sandbox at `base_url` (partner-center-sandbox) instead of
    /// Partner Center: certificates are fetched only from `{base_url}/cert/*.cer` (over http
    /// if `base_url` is http), must chain to `ca_pem` (the sandbox's webhook CA, served at
    /// `{base_url}/_sandbox/webhooks/ca.pem`) and nothing else, and be issued by
    /// `O=Partner Center Sandbox`. No caIssuers URL is followed.
    ///
    /// Only what is set here is trusted: the sandbox's CA and keys are public, so a verifier
    /// of real callbacks must never be set up so.
    pub fn trust_sandbox(mut self, base_url: &str, ca_pem: impl Into<Vec<u8>>) -> Self {
        match UrlRule::origin(base_url.trim_end_matches('/')) {
            Ok(origin) => {
                self.certificate_urls = vec![origin.path_prefix("/cert/").file_suffix(".cer")];
            }
            Err(why) => self.invalid = Some(format!("trust_sandbox: {why}")),
        }
        self.ca_issuer_urls.clear();
        self.roots_pem = Some(ca_pem.into());
        self.organization = SANDBOX.to_owned();
        self
    }

    /// [`Self::trust_sandbox`] with the CA the sandbox at `base_url` serves (a sandbox in
    /// another process, e.g. `partner-center sandbox serve`), read as certificates are: no
    /// redirect, within the size and time limits.
    pub async fn trust_sandbox_at(self, base_url: &str) -> Result<Self, Error> {
        let base_url = base_url.trim_end_matches('/');
        let url = Url::parse(&format!("{base_url}/_sandbox/webhooks/ca.pem"))
            .map_err(|e| Error::Config(format!("trust_sandbox_at: {base_url:?}: {e}")))?;
        let fetcher =
            Fetcher::new(self.limits.clone(), &self.tls_roots_pem).map_err(Error::Config)?;
        let ca_pem = fetcher
            .download(&url)
            .await
            .map_err(|e| Error::Config(format!("the sandbox's webhook CA: {e}")))?;
        Ok(self.trust_sandbox(base_url, ca_pem))
    }

    /// The verifier. Fails ([`Error::Config`]) on a certificate that does not decode, a
    /// sandbox URL that is not http(s), or if HTTPS cannot be set up.
    pub fn build(self) -> Result<Verifier, Error> {
        if let Some(invalid) = self.invalid {
            return Err(Error::Config(invalid));
        }
        let anchors = match &self.roots_pem {
            Some(pem) => certificate::anchors_of_pem(pem).map_err(Error::Config)?,
            None => certificate::public_anchors(),
        };
        let mut intermediates = Vec::new();
        for pem in &self.intermediates_pem {
            let decoded = certificate::decode(pem).map_err(|e| Error::Config(e.to_string()))?;
            intermediates.extend(decoded);
        }
        let fetcher = Fetcher::new(self.limits, &self.tls_roots_pem).map_err(Error::Config)?;
        Ok(Verifier {
            inner: Arc::new(Inner {
                max_body_bytes: self.max_body_bytes,
                certificate_urls: self.certificate_urls,
                ca_issuer_urls: self.ca_issuer_urls,
                trust: Trust {
                    anchors,
                    intermediates,
                    organization: self.organization,
                },
                fetcher,
            }),
        })
    }
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("limits", &self.limits)
            .field("certificate_urls", &self.certificate_urls)
            .field("ca_issuer_urls", &self.ca_issuer_urls)
            .field("roots_pem", &self.roots_pem.is_some())
            .field("intermediates_pem", &self.intermediates_pem.len())
            .field("issuer_organization", &self.organization)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    const URL: &str = "https://3psostorageacct.blob.core.windows.net/cert/x.cer";

    #[test]
    fn each_missing_or_bad_header_is_its_own_rejection() {
        let algorithm = ("x-ms-signature-algorithm", "rsa-sha256");
        let url = ("x-ms-certificate-url", URL);
        let signature = ("authorization", "Signature AAEC");
        let long = format!("Signature {}", "A".repeat(4000));
        let cases: Vec<(Vec<(&'static str, &str)>, Rejection)> = vec![
            (
                vec![url, signature],
                Rejection::MissingHeader("x-ms-signature-algorithm"),
            ),
            (
                vec![algorithm, url],
                Rejection::MissingHeader("Authorization (or x-ms-signature)"),
            ),
            (
                vec![algorithm, signature],
                Rejection::MissingHeader("x-ms-certificate-url"),
            ),
            (
                vec![("x-ms-signature-algorithm", "rsa-sha1"), url, signature],
                Rejection::UnsupportedAlgorithm("rsa-sha1".into()),
            ),
            (
                vec![algorithm, url, signature, signature],
                Rejection::RepeatedHeader("authorization"),
            ),
            (
                vec![algorithm, url, url, signature],
                Rejection::RepeatedHeader("x-ms-certificate-url"),
            ),
            (
                vec![algorithm, url, ("authorization", "Bearer AAEC")],
                Rejection::BadSignatureEncoding("its scheme is not `Signature`"),
            ),
            (
                vec![algorithm, url, ("authorization", "AAEC")],
                Rejection::BadSignatureEncoding("no `Signature` scheme"),
            ),
            (
                vec![algorithm, url, ("authorization", "Signature !!!")],
                Rejection::BadSignatureEncoding("not base64"),
            ),
            (
                vec![algorithm, url, ("authorization", "Signature  ")],
                Rejection::BadSignatureEncoding("no `Signature` scheme"),
            ),
            (
                vec![algorithm, url, ("authorization", long.as_str())],
                Rejection::BadSignatureEncoding("too long"),
            ),
        ];
        for (pairs, expected) in cases {
            let result = Signed::from_headers(&headers(&pairs)).map(|s| s.signature);
            assert_eq!(result.unwrap_err(), expected, "{pairs:?}");
        }
    }

    #[test]
    fn both_signature_headers_and_any_case_are_read() {
        for pairs in [
            [
                ("X-MS-Signature-Algorithm", "RSA-SHA256"),
                ("x-ms-certificate-url", URL),
                ("Authorization", "Signature AAEC"),
            ],
            [
                ("x-ms-signature-algorithm", " rsa-sha256 "),
                ("x-ms-certificate-url", URL),
                ("x-ms-signature", "signature AAEC"),
            ],
            [
                ("x-ms-signature-algorithm", "rsa-sha256"),
                ("x-ms-certificate-url", URL),
                ("x-ms-signature", "Signature AAE"),
            ],
        ] {
            let headers = headers(&pairs);
            let signed = Signed::from_headers(&headers).unwrap();
            assert_eq!(signed.signature[..2], [0, 1], "{pairs:?}");
            assert_eq!(signed.certificate_url, URL);
        }
        // x-ms-signature wins over an Authorization header meant for something else.
        let pairs = [
            ("x-ms-signature-algorithm", "rsa-sha256"),
            ("x-ms-certificate-url", URL),
            ("authorization", "Basic dXNlcjpwdw=="),
            ("x-ms-signature", "Signature AAEC"),
        ];
        assert_eq!(
            Signed::from_headers(&headers(&pairs)).unwrap().signature,
            [0, 1, 2]
        );
    }

    #[test]
    fn header_values_are_kept_cut() {
        let long = format!("rsa-{}", "x".repeat(10_000));
        let pairs = [("x-ms-signature-algorithm", long.as_str())];
        let Err(Rejection::UnsupportedAlgorithm(kept)) = Signed::from_headers(&headers(&pairs))
        else {
            panic!("not refused");
        };
        assert_eq!(kept.len(), 256);
    }

    #[tokio::test]
    async fn a_huge_body_is_refused_before_anything_else() {
        let verifier = Verifier::new().unwrap();
        let body = vec![b'{'; 10 * 1024 * 1024];
        let rejection = verifier.verify(&HeaderMap::new(), &body).await.unwrap_err();
        assert_eq!(rejection, Rejection::BodyTooLarge { limit: 64 * 1024 });
        assert_eq!(rejection.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn bad_settings_fail_the_build() {
        let error = Verifier::builder()
            .trust_sandbox("ftp://sandbox", "x")
            .build()
            .unwrap_err();
        assert!(error.to_string().contains("trust_sandbox"), "{error}");
        assert!(Verifier::builder().roots_pem("not pem").build().is_err());
        assert!(
            Verifier::builder()
                .intermediates_pem("-----BEGIN CERTIFICATE-----\n!\n-----END CERTIFICATE-----")
                .build()
                .is_err()
        );
        let verifier = Verifier::new().unwrap();
        let shown = format!("{verifier:?}");
        assert!(
            shown.contains("3psostorageacct.blob.core.windows.net"),
            "{shown}"
        );
        assert!(shown.contains("Microsoft Corporation"), "{shown}");
    }
}
