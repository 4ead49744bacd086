//! What makes a signing certificate trusted: DER or PEM decoding, the chain to a root
//! (rustls-webpki), the issuer's organization and the caIssuers URL of its AIA (x509-parser).

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, KeyPurposeIdIter};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS;
use x509_parser::prelude::FromDer;

use super::Rejection;
use super::rejection::kept;

/// The most certificates one PEM file may hold (a leaf and its intermediates).
const MAX_PEM_CERTIFICATES: usize = 8;

/// The certificates of one file: DER (one certificate) or PEM (one or more, the leaf first).
pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, Rejection> {
    let invalid = |why: &str| Rejection::CertificateInvalid(why.to_owned());
    if !bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        // The DER is checked when the chain is built.
        return Ok(vec![CertificateDer::from(bytes.to_vec())]);
    }
    let mut certificates = Vec::new();
    for certificate in CertificateDer::pem_slice_iter(bytes) {
        if certificates.len() == MAX_PEM_CERTIFICATES {
            return Err(invalid("the PEM file holds too many certificates"));
        }
        certificates.push(certificate.map_err(|_| invalid("the PEM file is malformed"))?);
    }
    if certificates.is_empty() {
        return Err(invalid("the PEM file holds no certificate"));
    }
    Ok(certificates)
}

/// The trust anchors, as a chain check takes them, of PEM root certificates.
pub(crate) fn anchors_of_pem(pem: &[u8]) -> Result<Vec<TrustAnchor<'static>>, String> {
    let roots = decode(pem).map_err(|e| e.to_string())?;
    roots.iter().map(anchor).collect()
}

/// The public roots (Mozilla's, from webpki-root-certs): the ones a TLS client trusts.
pub(crate) fn public_anchors() -> Vec<TrustAnchor<'static>> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|root| webpki::anchor_from_trusted_cert(root).ok())
        .collect()
}

fn anchor(root: &CertificateDer<'_>) -> Result<TrustAnchor<'static>, String> {
    webpki::anchor_from_trusted_cert(root)
        .map(|anchor| anchor.to_owned())
        .map_err(|e| format!("a root certificate is invalid: {e}"))
}

/// The roots, extra intermediates and issuer organization a verifier trusts.
pub(crate) struct Trust {
    pub(crate) anchors: Vec<TrustAnchor<'static>>,
    pub(crate) intermediates: Vec<CertificateDer<'static>>,
    pub(crate) organization: String,
}

/// How a chain check of a leaf failed.
pub(crate) enum ChainError {
    /// No issuer of the last certificate of the chain is known: fetching it (AIA) may help.
    UnknownIssuer,
    /// Anything else: final.
    Rejected(Rejection),
}

impl Trust {
    /// Checks that `leaf` chains to a root, now, through `fetched` (what came with it or from
    /// AIA) and the configured intermediates.
    pub(crate) fn chain(
        &self,
        leaf: &CertificateDer<'_>,
        fetched: &[CertificateDer<'_>],
    ) -> Result<(), ChainError> {
        let end_entity = end_entity(leaf).map_err(ChainError::Rejected)?;
        let intermediates: Vec<CertificateDer<'_>> = fetched
            .iter()
            .chain(&self.intermediates)
            .map(|c| CertificateDer::from(c.as_ref()))
            .collect();
        let verified = end_entity.verify_for_usage(
            // A chain's signatures: any algorithm rustls-webpki has with aws-lc-rs.
            webpki::ALL_VERIFICATION_ALGS,
            &self.anchors,
            &intermediates,
            UnixTime::now(),
            AnyUsage,
            None,
            None,
        );
        match verified {
            Ok(_) => Ok(()),
            Err(webpki::Error::UnknownIssuer) => Err(ChainError::UnknownIssuer),
            Err(e) => Err(ChainError::Rejected(chain_rejection(e))),
        }
    }

    /// Checks that the issuer of `leaf` (a chained certificate: its issuer's name is the one
    /// that signed it) has the expected organization.
    pub(crate) fn check_issuer(&self, leaf: &CertificateDer<'_>) -> Result<(), Rejection> {
        let certificate = parse(leaf)?;
        let found: Vec<String> = certificate
            .issuer()
            .iter_organization()
            .map(|o| o.as_str().map_or_else(|_| "(not text)".to_owned(), kept))
            .collect();
        if found.contains(&self.organization) {
            return Ok(());
        }
        Err(Rejection::WrongIssuer {
            expected: self.organization.clone(),
            found,
        })
    }
}

/// `certificate` as rustls-webpki reads an end-entity certificate.
pub(crate) fn end_entity<'c>(
    certificate: &'c CertificateDer<'c>,
) -> Result<EndEntityCert<'c>, Rejection> {
    EndEntityCert::try_from(certificate)
        .map_err(|e| Rejection::CertificateInvalid(format!("not an X.509 certificate ({e})")))
}

fn parse<'c>(certificate: &'c CertificateDer<'_>) -> Result<X509Certificate<'c>, Rejection> {
    X509Certificate::from_der(certificate)
        .map(|(_, certificate)| certificate)
        .map_err(|_| Rejection::CertificateInvalid("not an X.509 certificate".to_owned()))
}

/// The caIssuers URLs of `certificate`'s Authority Information Access: where its issuer's
/// certificate is published.
pub(crate) fn ca_issuers(certificate: &CertificateDer<'_>) -> Vec<String> {
    let Ok(certificate) = parse(certificate) else {
        return Vec::new();
    };
    certificate
        .extensions()
        .iter()
        .filter_map(|extension| match extension.parsed_extension() {
            ParsedExtension::AuthorityInfoAccess(access) => Some(access),
            _ => None,
        })
        .flat_map(|access| access.iter())
        .filter(|description| description.access_method == OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS)
        .filter_map(|description| match description.access_location {
            GeneralName::URI(uri) => Some(uri.to_owned()),
            _ => None,
        })
        .collect()
}

/// What a failed chain says to the sender.
fn chain_rejection(error: webpki::Error) -> Rejection {
    use webpki::Error as E;
    match error {
        E::CertExpired { .. } | E::CertNotValidYet { .. } => Rejection::CertificateExpired,
        E::CaUsedAsEndEntity => {
            Rejection::CertificateInvalid("it is a CA certificate, not a signing one".to_owned())
        }
        E::BadDer | E::BadDerTime | E::TrailingData(_) | E::UnsupportedCertVersion => {
            Rejection::CertificateInvalid(format!("malformed ({error})"))
        }
        other => Rejection::CertificateNotTrusted(other.to_string()),
    }
}

/// Any extended key usage: the purpose of Partner Center's signing certificate is not
/// documented, and Microsoft's own check (`X509Certificate2.Verify`) requires none. The
/// extension is still read whole, as rustls-webpki requires.
struct AnyUsage;

impl webpki::ExtendedKeyUsageValidator for AnyUsage {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        for purpose in iter {
            purpose?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_files_are_bounded_and_must_hold_a_certificate() {
        let block = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
        assert_eq!(decode(block.as_bytes()).unwrap().len(), 1);
        let many = block.repeat(MAX_PEM_CERTIFICATES + 1);
        assert!(matches!(
            decode(many.as_bytes()),
            Err(Rejection::CertificateInvalid(_))
        ));
        let key = "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n";
        assert!(matches!(
            decode(key.as_bytes()),
            Err(Rejection::CertificateInvalid(_))
        ));
        let broken = "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            decode(broken.as_bytes()),
            Err(Rejection::CertificateInvalid(_))
        ));
    }

    #[test]
    fn the_public_roots_load() {
        assert!(public_anchors().len() > 100);
    }

    #[test]
    fn garbage_is_an_invalid_certificate_not_a_panic() {
        let trust = Trust {
            anchors: public_anchors(),
            intermediates: Vec::new(),
            organization: "Microsoft Corporation".into(),
        };
        for bytes in [&b""[..], b"\x30\x82\xff\xff", b"not a certificate"] {
            let der = CertificateDer::from(bytes);
            assert!(matches!(
                trust.chain(&der, &[]),
                Err(ChainError::Rejected(Rejection::CertificateInvalid(_)))
            ));
            assert!(matches!(
                trust.check_issuer(&der),
                Err(Rejection::CertificateInvalid(_))
            ));
            assert!(ca_issuers(&der).is_empty());
        }
    }
}
