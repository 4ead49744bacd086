//! The contract this crate is generated from, as text: the OpenAPI document and the official
//! example response, exactly as this version of the crate was built with them.
//!
//! ```
//! use partner_center_api::spec::{OFFICIAL_EXAMPLE, OPENAPI_YAML};
//! use partner_center_api::types::Referral;
//!
//! assert!(OPENAPI_YAML.starts_with("openapi: 3.0.3"));
//! let referral: Referral = serde_json::from_str(OFFICIAL_EXAMPLE)?;
//! assert_eq!(referral.id.as_deref(), Some("c5fbb3b6-be74-4795-9fb5-4324c73fed37"));
//! // Lossless: the example re-serializes to its own text (but for whitespace).
//! let text: serde_json::Value = serde_json::from_str(OFFICIAL_EXAMPLE)?;
//! assert_eq!(serde_json::to_value(&referral)?, text);
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! Both files live in this crate (`spec/` beside its `Cargo.toml`), so that they are part of
//! the published package; the repository's top-level `spec/`, where they are edited, is a
//! symbolic link to that folder. The sandbox, the tests and the benchmarks read them from
//! here.

/// The OpenAPI 3.0 document of the Referrals API, `spec/partner-center.openapi.yaml`: the
/// source `generated.rs` was generated from (`cargo xtask codegen`), in YAML.
pub const OPENAPI_YAML: &str = include_str!("../spec/partner-center.openapi.yaml");

/// The official example response of "Get a lead or co-sell opportunity by ID" (Microsoft's
/// Referrals API documentation), byte for byte: `spec/examples/get-referral-by-id.response.json`.
/// Its referral's id is `c5fbb3b6-be74-4795-9fb5-4324c73fed37`.
pub const OFFICIAL_EXAMPLE: &str =
    include_str!("../spec/examples/get-referral-by-id.response.json");

/// One OpenAPI document of `spec/`: the API it describes, by name, and its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Document {
    /// The document's name: its file name without `.openapi.yaml` (`partner-center`).
    pub name: &'static str,
    /// The document, in YAML.
    pub yaml: &'static str,
}

/// Every OpenAPI document this crate was generated from, in `spec/`'s order.
pub const DOCUMENTS: &[Document] = &[Document {
    name: "partner-center",
    yaml: OPENAPI_YAML,
}];
