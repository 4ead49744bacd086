//! How the sandbox signs its webhook events, as Partner Center does: RSA PKCS#1 v1.5 with
//! SHA-256 over the exact body bytes, with the key of a certificate the receiver downloads from
//! `X-MS-Certificate-Url`. Here the certificate is a leaf of a test CA made for the process.

use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{Datelike, Days, NaiveDate};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_RSA_SHA256,
};

/// The test CA's subject common name.
pub(crate) const CA_COMMON_NAME: &str = "Partner Center Sandbox Webhook CA";
/// The leaf's subject common name (and DNS name): `.invalid`, so that it names no real host.
pub(crate) const LEAF_COMMON_NAME: &str = "webhooks.sandbox.invalid";
/// The organisation of both subjects.
pub(crate) const ORGANIZATION: &str = "Partner Center Sandbox";

/// The test CA, its leaf, and the leaf's key.
pub(crate) struct Signer {
    key: RsaKeyPair,
    leaf_der: Vec<u8>,
    ca_pem: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Signer").finish_non_exhaustive()
    }
}

/// The process's signer, made on first use: two RSA 2048 keys take a while to generate (see
/// [`Signer::new`]), and most sandboxes never send an event.
pub(crate) fn signer() -> Result<&'static Signer, String> {
    static SIGNER: OnceLock<Result<Signer, String>> = OnceLock::new();
    SIGNER
        .get_or_init(Signer::new)
        .as_ref()
        .map_err(Clone::clone)
}

/// [`signer`] from async code: the first call generates the keys on a blocking thread rather
/// than stall the runtime.
pub(crate) async fn signer_async() -> Result<&'static Signer, String> {
    tokio::task::spawn_blocking(signer)
        .await
        .map_err(|e| format!("the signing keys could not be made: {e}"))?
}

impl Signer {
    /// A CA (`CN=Partner Center Sandbox Webhook CA, O=Partner Center Sandbox`, self-signed,
    /// for signing certificates) and a leaf it issues (`CN=webhooks.sandbox.invalid,
    /// O=Partner Center Sandbox`, for digital signatures), both valid from yesterday to a year
    /// from now, with RSA 2048 keys.
    fn new() -> Result<Self, String> {
        let failed = |e: rcgen::Error| format!("the webhook certificates could not be made: {e}");
        let today = crate::server::now().date_naive();
        // Midnight yesterday: a receiver whose clock is a little behind still accepts it.
        let not_before = today - Days::new(1);
        let not_after = today + Days::new(366);

        let ca_key = KeyPair::generate_for(&PKCS_RSA_SHA256).map_err(failed)?;
        let mut ca = params(CA_COMMON_NAME, not_before, not_after);
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let ca_cert = ca.self_signed(&ca_key).map_err(failed)?;
        let issuer = Issuer::new(ca, ca_key);

        let leaf_key = KeyPair::generate_for(&PKCS_RSA_SHA256).map_err(failed)?;
        let mut leaf = params(LEAF_COMMON_NAME, not_before, not_after);
        leaf.subject_alt_names = vec![rcgen::SanType::DnsName(
            LEAF_COMMON_NAME.try_into().map_err(failed)?,
        )];
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.use_authority_key_identifier_extension = true;
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(failed)?;

        let key = RsaKeyPair::from_pkcs8(&leaf_key.serialize_der())
            .map_err(|e| format!("the webhook signing key could not be read: {e}"))?;
        Ok(Self {
            key,
            leaf_der: leaf_cert.der().to_vec(),
            ca_pem: ca_cert.pem(),
        })
    }

    /// The base64 RSA PKCS#1 v1.5 SHA-256 signature of `body`.
    pub(crate) fn sign(&self, body: &[u8]) -> Result<String, String> {
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                body,
                &mut signature,
            )
            .map_err(|e| format!("the event could not be signed: {e}"))?;
        Ok(STANDARD.encode(signature))
    }

    /// The leaf certificate, DER: what `X-MS-Certificate-Url` serves.
    pub(crate) fn leaf_der(&self) -> &[u8] {
        &self.leaf_der
    }

    /// The CA certificate, PEM: what a receiver trusts.
    pub(crate) fn ca_pem(&self) -> &str {
        &self.ca_pem
    }
}

/// The parameters of a certificate for `common_name` of the sandbox's organisation, valid
/// from midnight (UTC) `not_before` to midnight `not_after`.
fn params(common_name: &str, not_before: NaiveDate, not_after: NaiveDate) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name.push(DnType::OrganizationName, ORGANIZATION);
    params.distinguished_name = name;
    // A chrono date is a valid calendar date, which is all rcgen asks (months and days fit u8).
    let midnight =
        |date: NaiveDate| rcgen::date_time_ymd(date.year(), date.month() as u8, date.day() as u8);
    params.not_before = midnight(not_before);
    params.not_after = midnight(not_after);
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    #[test]
    fn a_signature_verifies_with_the_leaf_key_and_only_for_its_body() {
        let signer = signer().unwrap();
        let body = br#"{"EventName":"referral-updated"}"#;
        let signature = STANDARD.decode(signer.sign(body).unwrap()).unwrap();
        assert_eq!(signature.len(), 256, "RSA 2048");
        let public = UnparsedPublicKey::new(
            &RSA_PKCS1_2048_8192_SHA256,
            signer.key.public_key().as_ref().to_vec(),
        );
        assert!(public.verify(body, &signature).is_ok());
        assert!(public.verify(b"{}", &signature).is_err());
        // PKCS#1 v1.5 is deterministic: the same body, the same signature.
        assert_eq!(
            STANDARD.decode(signer.sign(body).unwrap()).unwrap(),
            signature
        );
        assert!(signer.ca_pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert_eq!(signer.leaf_der().first(), Some(&0x30), "a DER SEQUENCE");
    }
}
