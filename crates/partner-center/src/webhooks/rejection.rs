//! [`Rejection`]: why a callback was not taken, and what to answer.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use super::EventError;
use crate::text;

/// How many characters of a URL or header value a rejection keeps (and shows).
const KEPT_CHARS: usize = 256;

/// Why a callback was refused. Each reason is its own variant; [`Rejection::status`] says what
/// a receiver answers.
///
/// Whatever the request carried (a header value, a URL) is kept cut at 256 characters and
/// shown escaped ([`text::excerpt`]): `Display` is one bounded line, fit for a log or for the
/// body of the answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub enum Rejection {
    /// The body is larger than the verifier accepts; it was not parsed.
    #[error("the body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit ([`crate::webhooks::VerifierBuilder::max_body_bytes`]).
        limit: usize,
    },
    /// A required header is missing: `x-ms-signature-algorithm`, `x-ms-certificate-url`, or
    /// the signature (`Authorization` or `x-ms-signature`).
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    /// A header that must come once came more than once.
    #[error("the {0} header came more than once")]
    RepeatedHeader(&'static str),
    /// `x-ms-signature-algorithm` is not `rsa-sha256` (its value, cut).
    #[error("the signature algorithm {} is not rsa-sha256", text::excerpt(.0, KEPT_CHARS))]
    UnsupportedAlgorithm(String),
    /// The signature header is not `Signature <base64>` (why).
    #[error("the signature is not `Signature <base64>`: {0}")]
    BadSignatureEncoding(&'static str),
    /// The signature was not made over this body with the certificate's key.
    #[error("the signature does not match the body")]
    SignatureMismatch,
    /// The certificate URL is not one the verifier fetches from; no request was made.
    #[error(
        "the certificate URL {} is refused: {reason}",
        text::excerpt(url, KEPT_CHARS)
    )]
    CertificateUrlRefused {
        /// The URL (cut).
        url: String,
        /// Why.
        reason: UrlRefusal,
    },
    /// The certificate could not be fetched: no answer (connection, TLS), or an error status.
    #[error("the certificate could not be fetched from {}: {}", text::excerpt(url, KEPT_CHARS), text::excerpt(reason, KEPT_CHARS * 2))]
    CertificateFetchFailed {
        /// The URL.
        url: String,
        /// The status answered, if any.
        status: Option<u16>,
        /// What went wrong.
        reason: String,
    },
    /// The certificate URL answered with more bytes than the verifier reads.
    #[error(
        "the certificate at {} is larger than {limit} bytes",
        text::excerpt(url, KEPT_CHARS)
    )]
    CertificateTooLarge {
        /// The URL.
        url: String,
        /// The limit ([`crate::webhooks::VerifierBuilder::max_certificate_bytes`]).
        limit: usize,
    },
    /// The certificate URL answered with a redirect, which is not followed.
    #[error(
        "the certificate URL {} redirects ({status}); redirects are not followed",
        text::excerpt(url, KEPT_CHARS)
    )]
    CertificateRedirected {
        /// The URL.
        url: String,
        /// The 3xx status.
        status: u16,
    },
    /// Fetching the certificate took longer than the verifier waits.
    #[error("fetching the certificate from {} took longer than {} ms", text::excerpt(url, KEPT_CHARS), limit.as_millis())]
    CertificateTooSlow {
        /// The URL.
        url: String,
        /// The limit ([`crate::webhooks::VerifierBuilder::fetch_timeout`]).
        limit: Duration,
    },
    /// What was fetched is not a usable certificate (not DER or PEM, a CA certificate, a key
    /// that is not RSA of 2048 to 8192 bits).
    #[error("the certificate is invalid: {0}")]
    CertificateInvalid(String),
    /// The certificate does not chain to a trusted root.
    #[error("the certificate does not chain to a trusted root: {0}")]
    CertificateNotTrusted(String),
    /// The certificate, or one of its chain, is outside its validity period (expired, or not
    /// valid yet).
    #[error("the certificate (or its chain) is expired or not yet valid")]
    CertificateExpired,
    /// The certificate's issuer is not of the expected organization (`O=Microsoft Corporation`).
    #[error(
        "the certificate's issuer is not O={expected} (its organizations: {})",
        Organizations(found)
    )]
    WrongIssuer {
        /// The organization expected.
        expected: String,
        /// The issuer's organizations (`O=` values), cut.
        found: Vec<String>,
    },
    /// The body was verified, but is not a Partner Center event.
    #[error("the body is not a Partner Center event: {0}")]
    BodyNotAnEvent(EventError),
}

impl Rejection {
    /// What a receiver answers: `413` for a body too large, `400` for a verified body that is
    /// not an event, `503` when the certificate could not be had for now (no answer, a 5xx,
    /// too slow: the sender retries later), and `401` for every other signature or
    /// certificate problem.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyNotAnEvent(_) => StatusCode::BAD_REQUEST,
            Self::CertificateTooSlow { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::CertificateFetchFailed { status, .. }
                if status.is_none_or(|s| (500..600).contains(&s)) =>
            {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// A refused certificate URL, `url` cut.
    pub(crate) fn url_refused(url: &str, reason: UrlRefusal) -> Self {
        Self::CertificateUrlRefused {
            url: kept(url),
            reason,
        }
    }
}

/// At most [`KEPT_CHARS`] characters of `text` (cut on a character boundary): what a rejection
/// keeps of the request.
pub(crate) fn kept(text: &str) -> String {
    match text.char_indices().nth(KEPT_CHARS) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

/// The issuer's organizations, escaped, `-` for none.
struct Organizations<'a>(&'a [String]);

impl fmt::Display for Organizations<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("-");
        }
        for (i, organization) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", text::excerpt(organization, KEPT_CHARS))?;
        }
        Ok(())
    }
}

/// Why a certificate URL is refused ([`Rejection::CertificateUrlRefused`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub enum UrlRefusal {
    /// Not an absolute URL.
    NotAUrl,
    /// Longer than 2048 bytes.
    TooLong,
    /// Not https (http only where a rule allows it).
    Scheme,
    /// It carries a user name or password.
    Credentials,
    /// Its host is not on the allow-list.
    Host,
    /// Its port is not the one allowed.
    Port,
    /// Its path is not one allowed (`/cert/<name>.cer` for Partner Center).
    Path,
    /// It has a query or a fragment.
    QueryOrFragment,
}

impl fmt::Display for UrlRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAUrl => "not an absolute URL",
            Self::TooLong => "too long",
            Self::Scheme => "not https",
            Self::Credentials => "it carries credentials",
            Self::Host => "its host is not allowed",
            Self::Port => "its port is not allowed",
            Self::Path => "its path is not allowed",
            Self::QueryOrFragment => "it has a query or a fragment",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_answers_its_status() {
        let url = || "https://h/cert/x.cer".to_owned();
        for (rejection, status) in [
            (Rejection::BodyTooLarge { limit: 1 }, 413),
            (Rejection::BodyNotAnEvent(EventError::NotAnObject), 400),
            (Rejection::SignatureMismatch, 401),
            (Rejection::MissingHeader("x-ms-certificate-url"), 401),
            (Rejection::url_refused("http://h", UrlRefusal::Scheme), 401),
            (Rejection::CertificateExpired, 401),
            (
                Rejection::CertificateTooSlow {
                    url: url(),
                    limit: Duration::from_secs(1),
                },
                503,
            ),
            (
                Rejection::CertificateFetchFailed {
                    url: url(),
                    status: None,
                    reason: "refused".into(),
                },
                503,
            ),
            (
                Rejection::CertificateFetchFailed {
                    url: url(),
                    status: Some(502),
                    reason: "502".into(),
                },
                503,
            ),
            (
                Rejection::CertificateFetchFailed {
                    url: url(),
                    status: Some(404),
                    reason: "404".into(),
                },
                401,
            ),
            (
                Rejection::CertificateRedirected {
                    url: url(),
                    status: 302,
                },
                401,
            ),
        ] {
            assert_eq!(rejection.status().as_u16(), status, "{rejection}");
        }
    }

    #[test]
    fn request_text_is_kept_cut_and_shown_escaped() {
        let url = format!("https://h/\n\u{1b}[2J{}", "x".repeat(100_000));
        let rejection = Rejection::url_refused(&url, UrlRefusal::Host);
        let shown = rejection.to_string();
        assert!(
            shown.starts_with("the certificate URL https://h/\\n\\u{1b}[2Jxxx"),
            "{shown}"
        );
        assert!(
            shown.ends_with("xxx is refused: its host is not allowed"),
            "{shown}"
        );
        assert!(shown.len() < 400, "{}", shown.len());
        let rejection = Rejection::WrongIssuer {
            expected: "Microsoft Corporation".into(),
            found: vec!["Evil\r\nCorp".into(), "Other".into()],
        };
        assert_eq!(
            rejection.to_string(),
            "the certificate's issuer is not O=Microsoft Corporation (its organizations: Evil\\r\\nCorp, Other)"
        );
    }
}
