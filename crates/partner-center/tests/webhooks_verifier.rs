//! The webhook verifier and receiver against real HTTPS (and http) servers on 127.0.0.1,
//! with certificates made here (rcgen): every way a callback can be forged or a certificate
//! URL abused, each a test that fails if the check is gone.

#![cfg(feature = "webhooks")]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use partner_center::webhooks::{
    Receiver, Rejection, UrlRefusal, UrlRule, Verifier, VerifierBuilder, WebhookEvent,
};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256, SigningKey,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;

// --- Certificates ----------------------------------------------------------------------------

/// Keys are slow to make (RSA): made once for all tests. Certificates are made per test.
struct Keys {
    root: KeyPair,
    stranger_root: KeyPair,
    issuing: KeyPair,
    leaf: KeyPair,
    other_rsa: KeyPair,
    ecdsa_leaf: KeyPair,
    tls: KeyPair,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let ecdsa = || KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let rsa = || KeyPair::generate_for(&PKCS_RSA_SHA256).unwrap();
    Keys {
        root: ecdsa(),
        stranger_root: ecdsa(),
        issuing: ecdsa(),
        leaf: rsa(),
        other_rsa: rsa(),
        ecdsa_leaf: ecdsa(),
        tls: ecdsa(),
    }
});

fn name(params: &mut CertificateParams, common: &str, organization: &str) {
    params.distinguished_name.push(DnType::CommonName, common);
    params
        .distinguished_name
        .push(DnType::OrganizationName, organization);
}

fn ca_params(common: &str, organization: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    name(&mut params, common, organization);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

/// The Authority Information Access extension naming `url` as the caIssuers location.
fn ca_issuers_extension(url: &str) -> CustomExtension {
    assert!(url.len() < 100, "short DER lengths only");
    let mut description = vec![0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];
    description.push(0x86);
    description.push(url.len() as u8);
    description.extend_from_slice(url.as_bytes());
    let mut access = vec![0x30, description.len() as u8];
    access.extend(description);
    let mut syntax = vec![0x30, access.len() as u8];
    syntax.extend(access);
    CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], syntax)
}

/// A certificate authority: its certificate and what signs with it.
struct Ca {
    der: CertificateDer<'static>,
    pem: String,
    issuer: Issuer<'static, &'static KeyPair>,
}

impl Ca {
    fn root(key: &'static KeyPair, common: &str, organization: &str) -> Self {
        let params = ca_params(common, organization);
        let certificate = params.self_signed(key).unwrap();
        Self {
            der: certificate.der().clone(),
            pem: certificate.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    fn intermediate(&self, key: &'static KeyPair, common: &str, organization: &str) -> Self {
        let params = ca_params(common, organization);
        let certificate = params.signed_by(key, &self.issuer).unwrap();
        Self {
            der: certificate.der().clone(),
            pem: certificate.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A signing certificate for `key`, as Partner Center's (`CN=pcnotifications-dispatch`).
    fn leaf(
        &self,
        key: &KeyPair,
        tweak: impl FnOnce(&mut CertificateParams),
    ) -> rcgen::Certificate {
        let mut params = CertificateParams::default();
        name(
            &mut params,
            "pcnotifications-dispatch.test",
            "Microsoft Corporation",
        );
        tweak(&mut params);
        params.signed_by(key, &self.issuer).unwrap()
    }
}

/// The test's public key infrastructure: a root the verifier trusts, a "Microsoft" issuing CA
/// under it, and the leaf Partner Center would sign with.
struct Pki {
    root: Ca,
    issuing: Ca,
}

fn pki() -> Pki {
    let root = Ca::root(&KEYS.root, "Test Root", "Test Roots");
    let issuing = root.intermediate(
        &KEYS.issuing,
        "Test Microsoft Issuing CA",
        "Microsoft Corporation",
    );
    Pki { root, issuing }
}

// --- Servers ---------------------------------------------------------------------------------

/// What a test server answers on a path.
#[derive(Clone)]
enum Reply {
    Body(Vec<u8>),
    Status(u16),
    Redirect(&'static str),
    /// Never answers.
    Never,
    /// 64 MiB, in chunks, without a Content-Length; counts the chunks it produced.
    Endless(Arc<AtomicUsize>),
    /// A body whose Content-Length says 10 MiB.
    Declared,
}

const CHUNK: usize = 16 * 1024;
const ENDLESS_CHUNKS: usize = 4 * 1024;

/// A server on 127.0.0.1, https (with a certificate of the test root) or http, counting the
/// requests that reach it.
struct Server {
    address: SocketAddr,
    tls: bool,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn https(pki: &Pki, routes: Vec<(&str, Reply)>) -> Self {
        let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let certificate = params.signed_by(&KEYS.tls, &pki.root.issuer).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(KEYS.tls.serialize_der()));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certificate.der().clone()], key)
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self::start(
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
            routes,
        )
        .await
    }

    async fn http(routes: Vec<(&str, Reply)>) -> Self {
        Self::start(None, routes).await
    }

    async fn start(tls: Option<tokio_rustls::TlsAcceptor>, routes: Vec<(&str, Reply)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let routes: Arc<HashMap<String, Reply>> =
            Arc::new(routes.into_iter().map(|(p, r)| (p.to_owned(), r)).collect());
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        let is_tls = tls.is_some();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (routes, counted, tls) = (routes.clone(), counted.clone(), tls.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        let reply = routes.get(request.uri().path()).cloned();
                        answer(reply)
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        Some(tls) => {
                            let Ok(stream) = tls.accept(stream).await else {
                                return;
                            };
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                        None => {
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                });
            }
        });
        Self {
            address,
            tls: is_tls,
            requests,
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.address)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// What a verifier needs to fetch from this server: its `/cert/*.cer` URLs, its
    /// `/issuers/` URLs as caIssuers ones, the test root for TLS.
    fn verifier(&self, pki: &Pki) -> VerifierBuilder {
        let rule = UrlRule::https("127.0.0.1").port(self.address.port());
        Verifier::builder()
            .certificate_urls([rule.clone().path_prefix("/cert/").file_suffix(".cer")])
            .ca_issuer_urls([rule.path_prefix("/issuers/")])
            .roots_pem(pki.root.pem.clone())
            .fetch_tls_roots_pem(pki.root.pem.clone())
            .fetch_timeout(Duration::from_secs(5))
    }
}

type Body = BoxBody<Bytes, Infallible>;

async fn answer(reply: Option<Reply>) -> Result<hyper::Response<Body>, Infallible> {
    let full = |bytes: Vec<u8>| Full::new(Bytes::from(bytes)).boxed();
    let response = hyper::Response::builder();
    Ok(match reply {
        None => response.status(404).body(full(Vec::new())),
        Some(Reply::Body(bytes)) => response.body(full(bytes)),
        Some(Reply::Status(status)) => response.status(status).body(full(Vec::new())),
        Some(Reply::Redirect(to)) => response
            .status(302)
            .header("location", to)
            .body(full(Vec::new())),
        Some(Reply::Never) => std::future::pending().await,
        Some(Reply::Endless(produced)) => {
            let chunks = futures_util::stream::iter(0..ENDLESS_CHUNKS).map(move |_| {
                produced.fetch_add(1, Ordering::SeqCst);
                Ok(Frame::data(Bytes::from(vec![b'A'; CHUNK])))
            });
            response.body(BodyExt::boxed(StreamBody::new(chunks)))
        }
        Some(Reply::Declared) => response.body(full(vec![b'A'; 10 * 1024 * 1024])),
    }
    .unwrap())
}

// --- Callbacks -------------------------------------------------------------------------------

fn event_body(name: &str) -> Vec<u8> {
    format!(
        r#"{{"EventName":"{name}","ResourceUri":"https://api.partnercenter.microsoft.com/engagements/v1/referrals/c5fbb3b6-be74-4795-9fb5-4324c73fed37","ResourceName":"referral","AuditUri":null,"ResourceChangeUtcDate":"2018-02-17T00:05:39.5485487+00:00"}}"#
    )
    .into_bytes()
}

fn sign(key: &KeyPair, body: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(key.sign(body).unwrap())
}

/// The headers Partner Center sends: the signature in `Authorization`.
fn signed(key: &KeyPair, body: &[u8], certificate_url: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let signature = format!("Signature {}", sign(key, body));
    headers.insert("authorization", HeaderValue::from_str(&signature).unwrap());
    headers.insert(
        "x-ms-certificate-url",
        HeaderValue::from_str(certificate_url).unwrap(),
    );
    headers.insert(
        "x-ms-signature-algorithm",
        HeaderValue::from_static("rsa-sha256"),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers
}

/// A server with the leaf (PEM, its issuing CA after it) at `/cert/leaf.cer`.
async fn serving_pem_chain(pki: &Pki) -> Server {
    let leaf = pki.issuing.leaf(&KEYS.leaf, |_| {});
    let pem = format!("{}{}", leaf.pem(), pki.issuing.pem);
    Server::https(pki, vec![("/cert/leaf.cer", Reply::Body(pem.into_bytes()))]).await
}

// --- Verifier: what is accepted --------------------------------------------------------------

#[tokio::test]
async fn a_signed_callback_is_verified_in_both_header_forms_and_key_cases() {
    let pki = pki();
    let server = serving_pem_chain(&pki).await;
    let verifier = server.verifier(&pki).build().unwrap();
    let url = server.url("/cert/leaf.cer");

    let body = event_body("referral-created");
    let event = verifier
        .verify(&signed(&KEYS.leaf, &body, &url), &body)
        .await
        .unwrap();
    assert_eq!(event.name(), &WebhookEvent::ReferralCreated);
    assert_eq!(
        event.referral_id(),
        Some("c5fbb3b6-be74-4795-9fb5-4324c73fed37")
    );

    // x-ms-signature instead of Authorization (SignatureTokenToMsSignatureHeader).
    let mut headers = signed(&KEYS.leaf, &body, &url);
    let signature = headers.remove("authorization").unwrap();
    headers.insert("x-ms-signature", signature);
    assert!(verifier.verify(&headers, &body).await.is_ok());

    // The swagger's camelCase keys.
    let camel = String::from_utf8(body.clone())
        .unwrap()
        .replace("\"EventName\"", "\"eventName\"")
        .replace("\"ResourceUri\"", "\"resourceUri\"");
    let event = verifier
        .verify(
            &signed(&KEYS.leaf, camel.as_bytes(), &url),
            camel.as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(
        event.referral_id(),
        Some("c5fbb3b6-be74-4795-9fb5-4324c73fed37")
    );

    // Fetched once: the cache served the others.
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn unknown_event_names_are_kept() {
    let pki = pki();
    let server = serving_pem_chain(&pki).await;
    let verifier = server.verifier(&pki).build().unwrap();
    let body = event_body("referral-archived");
    let event = verifier
        .verify(
            &signed(&KEYS.leaf, &body, &server.url("/cert/leaf.cer")),
            &body,
        )
        .await
        .unwrap();
    assert_eq!(
        event.name(),
        &WebhookEvent::Other("referral-archived".into())
    );
}

#[tokio::test]
async fn a_der_leaf_chains_through_configured_intermediates() {
    let pki = pki();
    let leaf = pki.issuing.leaf(&KEYS.leaf, |_| {});
    let server = Server::https(
        &pki,
        vec![("/cert/leaf.cer", Reply::Body(leaf.der().to_vec()))],
    )
    .await;
    let body = event_body("referral-updated");
    let headers = signed(&KEYS.leaf, &body, &server.url("/cert/leaf.cer"));

    let without = server.verifier(&pki).build().unwrap();
    let rejection = without.verify(&headers, &body).await.unwrap_err();
    assert!(
        matches!(rejection, Rejection::CertificateNotTrusted(_)),
        "{rejection}"
    );

    let with = server
        .verifier(&pki)
        .intermediates_pem(pki.issuing.pem.clone())
        .build()
        .unwrap();
    assert!(with.verify(&headers, &body).await.is_ok());
}

#[tokio::test]
async fn a_der_leaf_chains_through_its_ca_issuers_url_fetched_once() {
    let pki = pki();
    // The port is in the leaf's AIA: bind first, then make the leaf.
    let issuers = Server::https(
        &pki,
        vec![(
            "/issuers/issuing.crt",
            Reply::Body(pki.issuing.der.to_vec()),
        )],
    )
    .await;
    let aia = issuers.url("/issuers/issuing.crt");
    let leaf = pki.issuing.leaf(&KEYS.leaf, |p| {
        p.custom_extensions.push(ca_issuers_extension(&aia))
    });
    let certs = Server::https(
        &pki,
        vec![("/cert/leaf.cer", Reply::Body(leaf.der().to_vec()))],
    )
    .await;

    let rule = UrlRule::https("127.0.0.1");
    let verifier = certs
        .verifier(&pki)
        .ca_issuer_urls([rule.port(issuers.address.port()).path_prefix("/issuers/")])
        .build()
        .unwrap();
    let body = event_body("referral-updated");
    let headers = signed(&KEYS.leaf, &body, &certs.url("/cert/leaf.cer"));
    for _ in 0..3 {
        verifier.verify(&headers, &body).await.unwrap();
    }
    assert_eq!((certs.requests(), issuers.requests()), (1, 1));

    // Off the caIssuers allow-list, the issuer is not fetched.
    let strict = certs
        .verifier(&pki)
        .ca_issuer_urls([UrlRule::https("127.0.0.1").port(1).path_prefix("/issuers/")])
        .build()
        .unwrap();
    let rejection = strict.verify(&headers, &body).await.unwrap_err();
    assert!(
        matches!(&rejection, Rejection::CertificateNotTrusted(why) if why.contains("caIssuers URL")),
        "{rejection}"
    );
    let none = certs.verifier(&pki).ca_issuer_urls([]).build().unwrap();
    assert!(matches!(
        none.verify(&headers, &body).await,
        Err(Rejection::CertificateNotTrusted(_))
    ));
    assert_eq!(issuers.requests(), 1);
}

// --- Verifier: forged callbacks --------------------------------------------------------------

#[tokio::test]
async fn a_body_changed_by_one_byte_is_refused() {
    let pki = pki();
    let server = serving_pem_chain(&pki).await;
    let verifier = server.verifier(&pki).build().unwrap();
    let body = event_body("referral-created");
    let headers = signed(&KEYS.leaf, &body, &server.url("/cert/leaf.cer"));
    let mut changed = body.clone();
    let at = changed.iter().position(|&b| b == b'5').unwrap();
    changed[at] = b'6';
    let rejection = verifier.verify(&headers, &changed).await.unwrap_err();
    assert_eq!(rejection, Rejection::SignatureMismatch);
    assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_signature_of_another_body_or_by_another_key_is_refused() {
    let pki = pki();
    let server = serving_pem_chain(&pki).await;
    let verifier = server.verifier(&pki).build().unwrap();
    let url = server.url("/cert/leaf.cer");
    let body = event_body("referral-created");
    let other = event_body("referral-updated");
    let headers = signed(&KEYS.leaf, &other, &url);
    assert_eq!(
        verifier.verify(&headers, &body).await.unwrap_err(),
        Rejection::SignatureMismatch
    );
    let headers = signed(&KEYS.other_rsa, &body, &url);
    assert_eq!(
        verifier.verify(&headers, &body).await.unwrap_err(),
        Rejection::SignatureMismatch
    );
}

#[tokio::test]
async fn a_wrong_or_missing_algorithm_and_each_missing_header_are_refused_unfetched() {
    let pki = pki();
    let server = serving_pem_chain(&pki).await;
    let verifier = server.verifier(&pki).build().unwrap();
    let body = event_body("referral-created");
    let headers = signed(&KEYS.leaf, &body, &server.url("/cert/leaf.cer"));

    let mut sha1 = headers.clone();
    sha1.insert(
        "x-ms-signature-algorithm",
        HeaderValue::from_static("rsa-sha1"),
    );
    assert_eq!(
        verifier.verify(&sha1, &body).await.unwrap_err(),
        Rejection::UnsupportedAlgorithm("rsa-sha1".into())
    );
    for (header, missing) in [
        ("x-ms-signature-algorithm", "x-ms-signature-algorithm"),
        ("authorization", "Authorization (or x-ms-signature)"),
        ("x-ms-certificate-url", "x-ms-certificate-url"),
    ] {
        let mut without = headers.clone();
        without.remove(header);
        let rejection = verifier.verify(&without, &body).await.unwrap_err();
        assert_eq!(rejection, Rejection::MissingHeader(missing));
        assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
    }
    let mut garbled = headers.clone();
    garbled.insert(
        "authorization",
        HeaderValue::from_static("Signature not*base64"),
    );
    assert!(matches!(
        verifier.verify(&garbled, &body).await,
        Err(Rejection::BadSignatureEncoding(_))
    ));
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn certificate_urls_off_the_allow_list_are_refused_without_any_request() {
    let pki = pki();
    let server = serving_pem_chain(&pki).await;
    let plain = Server::http(vec![("/cert/leaf.cer", Reply::Body(b"x".to_vec()))]).await;
    let verifier = server.verifier(&pki).build().unwrap();
    let body = event_body("referral-created");
    let port = server.address.port();
    let cases = [
        (plain.url("/cert/leaf.cer"), UrlRefusal::Scheme),
        (
            format!("http://127.0.0.1:{port}/cert/leaf.cer"),
            UrlRefusal::Scheme,
        ),
        (
            format!("https://localhost:{port}/cert/leaf.cer"),
            UrlRefusal::Host,
        ),
        (
            format!("https://127.0.0.2:{port}/cert/leaf.cer"),
            UrlRefusal::Host,
        ),
        (
            format!("https://127.0.0.1:{}/cert/leaf.cer", plain.address.port()),
            UrlRefusal::Port,
        ),
        (
            format!("https://127.0.0.1:{port}/other/leaf.cer"),
            UrlRefusal::Path,
        ),
        (
            format!("https://127.0.0.1:{port}/cert/leaf.pem"),
            UrlRefusal::Path,
        ),
        (
            format!("https://127.0.0.1:{port}/cert/..%2Fleaf.cer"),
            UrlRefusal::Path,
        ),
        (
            format!("https://user:pw@127.0.0.1:{port}/cert/leaf.cer"),
            UrlRefusal::Credentials,
        ),
        (
            format!("https://127.0.0.1:{port}/cert/leaf.cer?sas=1"),
            UrlRefusal::QueryOrFragment,
        ),
        (
            "https://169.254.169.254/cert/leaf.cer".to_owned(),
            UrlRefusal::Host,
        ),
        ("file:///etc/passwd".to_owned(), UrlRefusal::Scheme),
        ("not a url".to_owned(), UrlRefusal::NotAUrl),
    ];
    for (url, reason) in cases {
        let rejection = verifier
            .verify(&signed(&KEYS.leaf, &body, &url), &body)
            .await
            .unwrap_err();
        assert!(
            matches!(&rejection, Rejection::CertificateUrlRefused { reason: r, .. } if *r == reason),
            "{url}: {rejection}"
        );
    }
    // And the default verifier only fetches from Partner Center's storage.
    let default = Verifier::new().unwrap();
    let rejection = default
        .verify(
            &signed(&KEYS.leaf, &body, &server.url("/cert/leaf.cer")),
            &body,
        )
        .await
        .unwrap_err();
    assert!(matches!(
        rejection,
        Rejection::CertificateUrlRefused {
            reason: UrlRefusal::Host,
            ..
        }
    ));
    assert_eq!((server.requests(), plain.requests()), (0, 0));
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let pki = pki();
    let leaf = pki.issuing.leaf(&KEYS.leaf, |_| {});
    let pem = format!("{}{}", leaf.pem(), pki.issuing.pem);
    let server = Server::https(
        &pki,
        vec![
            ("/cert/moved.cer", Reply::Redirect("/cert/leaf.cer")),
            ("/cert/leaf.cer", Reply::Body(pem.into_bytes())),
        ],
    )
    .await;
    let verifier = server.verifier(&pki).build().unwrap();
    let body = event_body("referral-created");
    let rejection = verifier
        .verify(
            &signed(&KEYS.leaf, &body, &server.url("/cert/moved.cer")),
            &body,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            rejection,
            Rejection::CertificateRedirected { status: 302, .. }
        ),
        "{rejection}"
    );
    assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        server.requests(),
        1,
        "the redirect's target was not fetched"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let pki = pki();
    let server = Server::https(&pki, vec![("/cert/slow.cer", Reply::Never)]).await;
    let limit = Duration::from_millis(300);
    let verifier = server.verifier(&pki).fetch_timeout(limit).build().unwrap();
    let body = event_body("referral-created");
    let started = Instant::now();
    let rejection = verifier
        .verify(
            &signed(&KEYS.leaf, &body, &server.url("/cert/slow.cer")),
            &body,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(rejection, Rejection::CertificateTooSlow { limit: l, .. } if l == limit),
        "{rejection}"
    );
    assert_eq!(rejection.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_huge_certificate_is_refused_after_reading_the_limit() {
    let pki = pki();
    let produced = Arc::new(AtomicUsize::new(0));
    let server = Server::https(
        &pki,
        vec![
            ("/cert/endless.cer", Reply::Endless(produced.clone())),
            ("/cert/declared.cer", Reply::Declared),
        ],
    )
    .await;
    let verifier = server.verifier(&pki).build().unwrap();
    let body = event_body("referral-created");
    let rejection = verifier
        .verify(
            &signed(&KEYS.leaf, &body, &server.url("/cert/endless.cer")),
            &body,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            rejection,
            Rejection::CertificateTooLarge { limit: 65536, .. }
        ),
        "{rejection}"
    );
    // Stopped early: far from the 64 MiB the server would send.
    let sent = produced.load(Ordering::SeqCst);
    assert!(sent < ENDLESS_CHUNKS / 2, "{sent} chunks sent");
    let rejection = verifier
        .verify(
            &signed(&KEYS.leaf, &body, &server.url("/cert/declared.cer")),
            &body,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(rejection, Rejection::CertificateTooLarge { .. }),
        "{rejection}"
    );
}

#[tokio::test]
async fn a_failed_fetch_is_refused_and_remembered_for_a_while_only() {
    let pki = pki();
    let server = Server::https(
        &pki,
        vec![
            ("/cert/gone.cer", Reply::Status(404)),
            ("/cert/down.cer", Reply::Status(503)),
        ],
    )
    .await;
    let verifier = server
        .verifier(&pki)
        .failure_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    let body = event_body("referral-created");
    let headers = signed(&KEYS.leaf, &body, &server.url("/cert/gone.cer"));
    for _ in 0..3 {
        let rejection = verifier.verify(&headers, &body).await.unwrap_err();
        assert!(
            matches!(
                rejection,
                Rejection::CertificateFetchFailed {
                    status: Some(404),
                    ..
                }
            ),
            "{rejection}"
        );
        assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(server.requests(), 1);
    let rejection = verifier
        .verify(
            &signed(&KEYS.leaf, &body, &server.url("/cert/down.cer")),
            &body,
        )
        .await
        .unwrap_err();
    assert_eq!(
        rejection.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "{rejection}"
    );

    let forgetful = server
        .verifier(&pki)
        .failure_ttl(Duration::ZERO)
        .build()
        .unwrap();
    for _ in 0..2 {
        assert!(forgetful.verify(&headers, &body).await.is_err());
    }
    assert_eq!(server.requests(), 4);
}

// --- Verifier: untrusted certificates --------------------------------------------------------

async fn verify_with_certificate(
    pki: &Pki,
    file: Vec<u8>,
    key: &KeyPair,
) -> Result<partner_center::webhooks::Event, Rejection> {
    let server = Server::https(pki, vec![("/cert/leaf.cer", Reply::Body(file))]).await;
    let verifier = server.verifier(pki).build().unwrap();
    let body = event_body("referral-created");
    verifier
        .verify(&signed(key, &body, &server.url("/cert/leaf.cer")), &body)
        .await
}

#[tokio::test]
async fn a_certificate_not_chained_to_the_trusted_root_is_refused() {
    let pki = pki();
    let stranger = Ca::root(&KEYS.stranger_root, "Test Root", "Test Roots");
    let issuing = stranger.intermediate(
        &KEYS.issuing,
        "Test Microsoft Issuing CA",
        "Microsoft Corporation",
    );
    let leaf = issuing.leaf(&KEYS.leaf, |_| {});
    let pem = format!("{}{}{}", leaf.pem(), issuing.pem, stranger.pem);
    let rejection = verify_with_certificate(&pki, pem.into_bytes(), &KEYS.leaf)
        .await
        .unwrap_err();
    assert!(
        matches!(rejection, Rejection::CertificateNotTrusted(_)),
        "{rejection}"
    );
    // Nor is a self-signed one.
    let mut params = CertificateParams::default();
    name(
        &mut params,
        "pcnotifications-dispatch.test",
        "Microsoft Corporation",
    );
    let alone = params.self_signed(&KEYS.leaf).unwrap();
    let rejection = verify_with_certificate(&pki, alone.der().to_vec(), &KEYS.leaf)
        .await
        .unwrap_err();
    assert!(
        matches!(rejection, Rejection::CertificateNotTrusted(_)),
        "{rejection}"
    );
}

#[tokio::test]
async fn a_certificate_from_another_issuer_organization_is_refused() {
    let pki = pki();
    let evil = pki
        .root
        .intermediate(&KEYS.issuing, "Test Issuing CA", "Evil Corp");
    let leaf = evil.leaf(&KEYS.leaf, |_| {});
    let pem = format!("{}{}", leaf.pem(), evil.pem);
    let rejection = verify_with_certificate(&pki, pem.into_bytes(), &KEYS.leaf)
        .await
        .unwrap_err();
    assert_eq!(
        rejection,
        Rejection::WrongIssuer {
            expected: "Microsoft Corporation".into(),
            found: vec!["Evil Corp".into()],
        }
    );
}

#[tokio::test]
async fn an_expired_certificate_is_refused() {
    let pki = pki();
    let leaf = pki.issuing.leaf(&KEYS.leaf, |p| {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    });
    let pem = format!("{}{}", leaf.pem(), pki.issuing.pem);
    let rejection = verify_with_certificate(&pki, pem.into_bytes(), &KEYS.leaf)
        .await
        .unwrap_err();
    assert_eq!(rejection, Rejection::CertificateExpired);
    let future = pki.issuing.leaf(&KEYS.leaf, |p| {
        p.not_before = rcgen::date_time_ymd(2999, 1, 1)
    });
    let pem = format!("{}{}", future.pem(), pki.issuing.pem);
    let rejection = verify_with_certificate(&pki, pem.into_bytes(), &KEYS.leaf)
        .await
        .unwrap_err();
    assert_eq!(rejection, Rejection::CertificateExpired);
}

#[tokio::test]
async fn what_is_not_an_rsa_signing_certificate_is_invalid() {
    let pki = pki();
    for file in [
        b"garbage".to_vec(),
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec(),
        Vec::new(),
    ] {
        let rejection = verify_with_certificate(&pki, file, &KEYS.leaf)
            .await
            .unwrap_err();
        assert!(
            matches!(rejection, Rejection::CertificateInvalid(_)),
            "{rejection}"
        );
    }
    // A CA certificate is no signing certificate.
    let pem = format!("{}{}", pki.issuing.pem, pki.root.pem);
    let rejection = verify_with_certificate(&pki, pem.into_bytes(), &KEYS.leaf)
        .await
        .unwrap_err();
    assert!(
        matches!(rejection, Rejection::CertificateInvalid(_)),
        "{rejection}"
    );
    // A chained ECDSA key cannot have made an RSA signature.
    let leaf = pki.issuing.leaf(&KEYS.ecdsa_leaf, |_| {});
    let pem = format!("{}{}", leaf.pem(), pki.issuing.pem);
    let rejection = verify_with_certificate(&pki, pem.into_bytes(), &KEYS.leaf)
        .await
        .unwrap_err();
    assert!(
        matches!(rejection, Rejection::CertificateInvalid(_)),
        "{rejection}"
    );
}

#[tokio::test]
async fn a_signed_body_that_is_not_an_event_is_a_bad_request() {
    let pki = pki();
    let server = serving_pem_chain(&pki).await;
    let verifier = server.verifier(&pki).build().unwrap();
    let body = br#"{"hello": "world"}"#;
    let rejection = verifier
        .verify(
            &signed(&KEYS.leaf, body, &server.url("/cert/leaf.cer")),
            body,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(rejection, Rejection::BodyNotAnEvent(_)),
        "{rejection}"
    );
    assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_ten_megabyte_body_is_refused_at_once() {
    let pki = pki();
    let server = serving_pem_chain(&pki).await;
    let verifier = server.verifier(&pki).build().unwrap();
    let body = vec![b' '; 10 * 1024 * 1024];
    let started = Instant::now();
    let rejection = verifier
        .verify(
            &signed(&KEYS.leaf, b"{}", &server.url("/cert/leaf.cer")),
            &body,
        )
        .await
        .unwrap_err();
    assert_eq!(
        rejection,
        Rejection::BodyTooLarge {
            limit: Verifier::DEFAULT_MAX_BODY_BYTES
        }
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(server.requests(), 0);
}

// --- The sandbox -----------------------------------------------------------------------------

#[tokio::test]
async fn the_sandbox_is_trusted_only_when_set_up_so() {
    // As partner-center-sandbox signs: its own CA, the leaf as DER at /cert/sandbox.cer, http.
    let mut ca = ca_params(
        "Partner Center Sandbox Webhook CA",
        "Partner Center Sandbox",
    );
    ca.key_usages.push(KeyUsagePurpose::DigitalSignature);
    let ca_certificate = ca.self_signed(&KEYS.other_rsa).unwrap();
    let issuer = Issuer::new(ca, &KEYS.other_rsa);
    let mut leaf = CertificateParams::default();
    name(
        &mut leaf,
        "webhooks.sandbox.invalid",
        "Partner Center Sandbox",
    );
    let leaf = leaf.signed_by(&KEYS.leaf, &issuer).unwrap();
    let sandbox = Server::http(vec![(
        "/cert/sandbox.cer",
        Reply::Body(leaf.der().to_vec()),
    )])
    .await;
    let base_url = sandbox.url("");
    let body = event_body("referral-created");
    let headers = signed(&KEYS.leaf, &body, &sandbox.url("/cert/sandbox.cer"));

    let verifier = Verifier::builder()
        .trust_sandbox(&base_url, ca_certificate.pem())
        .build()
        .unwrap();
    assert!(verifier.verify(&headers, &body).await.is_ok());
    assert_eq!(sandbox.requests(), 1);

    // Never by default: its URL is not Partner Center's.
    let rejection = Verifier::new()
        .unwrap()
        .verify(&headers, &body)
        .await
        .unwrap_err();
    assert!(
        matches!(rejection, Rejection::CertificateUrlRefused { .. }),
        "{rejection}"
    );
    // Nor with another CA, nor for the rest of the sandbox's origin.
    let pki = pki();
    let other = Verifier::builder()
        .trust_sandbox(&base_url, pki.root.pem.clone())
        .build()
        .unwrap();
    let rejection = other.verify(&headers, &body).await.unwrap_err();
    assert!(
        matches!(rejection, Rejection::CertificateNotTrusted(_)),
        "{rejection}"
    );
    let off_path = signed(&KEYS.leaf, &body, &sandbox.url("/_sandbox/webhooks/ca.pem"));
    let rejection = verifier.verify(&off_path, &body).await.unwrap_err();
    assert!(
        matches!(
            rejection,
            Rejection::CertificateUrlRefused {
                reason: UrlRefusal::Path,
                ..
            }
        ),
        "{rejection}"
    );
    assert_eq!(sandbox.requests(), 2);
}

// --- Receiver --------------------------------------------------------------------------------

/// The next event, waited for a few seconds at most (a lost event fails, not hangs, a test).
async fn next(events: &mut partner_center::webhooks::Events) -> partner_center::webhooks::Event {
    let next = tokio::time::timeout(Duration::from_secs(5), events.recv()).await;
    next.expect("no event came").expect("the channel closed")
}

/// Sends `request` through `router` as axum would.
async fn call(router: &axum::Router, request: Request<axum::body::Body>) -> (StatusCode, String) {
    use tower_service::Service;
    let mut service = router.clone();
    std::future::poll_fn(|cx| Service::<Request<axum::body::Body>>::poll_ready(&mut service, cx))
        .await
        .unwrap();
    let response = service.call(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn post(headers: &HeaderMap, body: impl Into<axum::body::Body>) -> Request<axum::body::Body> {
    let mut request = Request::post("/").body(body.into()).unwrap();
    *request.headers_mut() = headers.clone();
    request
}

#[tokio::test]
async fn the_receiver_queues_verified_events_once_and_refuses_the_rest() {
    let pki = pki();
    let server = serving_pem_chain(&pki).await;
    let verifier = server.verifier(&pki).build().unwrap();
    let (router, mut events) = Receiver::new(verifier)
        .dedupe(Duration::from_secs(3600), 100)
        .router();
    let url = server.url("/cert/leaf.cer");
    let body = event_body("referral-created");
    let headers = signed(&KEYS.leaf, &body, &url);

    assert_eq!(
        call(&router, post(&headers, body.clone())).await.0,
        StatusCode::OK
    );
    assert_eq!(
        events.try_recv().unwrap().name(),
        &WebhookEvent::ReferralCreated
    );
    // A replayed delivery: answered 200, not handed on again.
    assert_eq!(
        call(&router, post(&headers, body.clone())).await.0,
        StatusCode::OK
    );
    assert!(events.try_recv().is_err());

    let mut forged = body.clone();
    forged[2] ^= 1;
    let (status, reason) = call(&router, post(&headers, forged)).await;
    assert_eq!(
        (status, reason.as_str()),
        (
            StatusCode::UNAUTHORIZED,
            "the signature does not match the body"
        )
    );
    let junk = b"[1, 2]".to_vec();
    let (status, _) = call(&router, post(&signed(&KEYS.leaf, &junk, &url), junk)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let get = Request::get("/").body(axum::body::Body::empty()).unwrap();
    assert_eq!(call(&router, get).await.0, StatusCode::METHOD_NOT_ALLOWED);
    assert!(events.try_recv().is_err());
}

#[tokio::test]
async fn the_receiver_refuses_a_huge_body_without_reading_it() {
    let pki = pki();
    let server = serving_pem_chain(&pki).await;
    let (router, _events) = Receiver::new(server.verifier(&pki).build().unwrap()).router();
    let headers = signed(&KEYS.leaf, b"{}", &server.url("/cert/leaf.cer"));
    let huge = 10 * 1024 * 1024;

    for declared in [true, false] {
        let pulled = Arc::new(AtomicUsize::new(0));
        let counted = pulled.clone();
        let chunks = futures_util::stream::iter(0..huge / CHUNK).map(move |_| {
            counted.fetch_add(CHUNK, Ordering::SeqCst);
            Ok::<_, Infallible>(Bytes::from(vec![b' '; CHUNK]))
        });
        let mut headers = headers.clone();
        if declared {
            headers.insert("content-length", HeaderValue::from(huge));
        }
        let (status, _) = call(
            &router,
            post(&headers, axum::body::Body::from_stream(chunks)),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let read = pulled.load(Ordering::SeqCst);
        let most = if declared {
            0
        } else {
            Verifier::DEFAULT_MAX_BODY_BYTES + CHUNK
        };
        assert!(read <= most, "declared {declared}: {read} bytes read");
    }
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn a_full_channel_answers_503_and_the_retry_is_delivered() {
    let pki = pki();
    let server = serving_pem_chain(&pki).await;
    let verifier = server.verifier(&pki).build().unwrap();
    let (router, mut events) = Receiver::new(verifier)
        .dedupe(Duration::from_secs(3600), 100)
        .channel_capacity(1)
        .router();
    let url = server.url("/cert/leaf.cer");
    let first = event_body("referral-created");
    let second = event_body("referral-updated");
    assert_eq!(
        call(&router, post(&signed(&KEYS.leaf, &first, &url), first))
            .await
            .0,
        StatusCode::OK
    );
    let headers = signed(&KEYS.leaf, &second, &url);
    assert_eq!(
        call(&router, post(&headers, second.clone())).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        events.recv().await.unwrap().name(),
        &WebhookEvent::ReferralCreated
    );
    // Partner Center's retry is not taken for a repeat: the refused delivery was not marked.
    assert_eq!(
        call(&router, post(&headers, second)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        events.recv().await.unwrap().name(),
        &WebhookEvent::ReferralUpdated
    );
    drop(events);
    let third = event_body("referral-archived");
    let closed = call(&router, post(&signed(&KEYS.leaf, &third, &url), third)).await;
    assert_eq!(closed.0, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn the_receiver_serves_real_http_nested_under_a_path() {
    let pki = pki();
    let server = serving_pem_chain(&pki).await;
    let (router, mut events) = Receiver::new(server.verifier(&pki).build().unwrap()).router();
    let app = axum::Router::new().nest("/webhooks/partner-center", router);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let serving = tokio::spawn(async move { axum::serve(listener, app).await });

    let body = event_body("referral-created");
    let client = reqwest::Client::new();
    let response = client
        .post(format!("http://{address}/webhooks/partner-center"))
        .headers(signed(&KEYS.leaf, &body, &server.url("/cert/leaf.cer")))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let event = next(&mut events).await;
    assert_eq!(
        event.referral_id(),
        Some("c5fbb3b6-be74-4795-9fb5-4324c73fed37")
    );
    serving.abort();
}
