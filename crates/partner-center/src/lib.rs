//! A client for the Microsoft Partner Center **Referrals API**: leads and co-sell
//! opportunities.
//!
//! ```
//! use partner_center::PartnerCenter;
//! use partner_center::models::ReferralStatus;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let sandbox = partner_center_sandbox::Sandbox::start().await?;
//! // Against Partner Center: drop base_url, and pass an App+User token.
//! let client = PartnerCenter::builder()
//!     .base_url(sandbox.base_url())
//!     .token("sandbox")
//!     .build()?;
//! let referral = client.referrals().get("c5fbb3b6-be74-4795-9fb5-4324c73fed37").await?;
//! assert_eq!(referral.status, Some(ReferralStatus::New));
//! # Ok(())
//! # }
//! ```
//!
//! - [`PartnerCenter`] is built once ([`PartnerCenter::builder`]) and cloned freely.
//! - Each resource has a handler: [`PartnerCenter::referrals`] ([`referrals`]: the handler,
//!   its queries, filters and updates).
//! - Every failure is an [`Error`]: match on its variant, read [`error::ServiceError`] for the
//!   service's `code`, `message` and `Request-ID` ([`error`]).
//! - [`models`] holds the data types, every type of the spec; they are lossless (unknown
//!   fields and enum values are kept) so that nothing the service sends is lost.
//! - [`paging`]: pages, continuations and page streams, for any list operation.
//! - [`auth`]: where tokens come from (a fixed token, device-code sign-in, a cache).
//! - An operation of the spec the handlers do not wrap is called through the same policy with
//!   [`PartnerCenter::call`]; [`Response`] carries an answer's status and headers when asked
//!   for ([`PartnerCenter::call_response`]). [`operations`] calls any of them by its id with
//!   parameters given as text ([`PartnerCenter::execute`]): what the CLI's `api` command does.
//! - [`webhooks`]: receiving Partner Center's callbacks when a referral changes, verified
//!   (feature `webhooks`).
//!
//! Every request carries `Authorization: Bearer <token>`, `Accept: application/json` and fresh
//! `client-request-id`, `MS-RequestId` and `MS-CorrelationId` GUIDs. The token never appears in
//! `Debug`, `Display` or errors.

#![deny(missing_docs, missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
mod client;
pub mod error;
pub mod models;
pub mod operations;
pub mod paging;
mod policy;
mod redact;
pub mod referrals;
mod response;
pub mod retry;
pub mod text;
mod transport;
pub mod webhooks;

pub use client::{
    DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_PAGES,
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, PartnerCenter, PartnerCenterBuilder,
};
pub use error::{Error, Result};
pub use response::Response;
pub use retry::RetryPolicy;

/// What the fuzz targets of `fuzz/` reach that is not public: built only by `cargo fuzz`
/// (`--cfg fuzzing`), never part of the API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use std::time::Duration;

    use reqwest::StatusCode;

    use crate::error::{CallInfo, DecodeError, Error, ServiceError};
    use crate::redact::Secrets;

    /// The error a call sending `token` reports for an answer with `status` (100 to 999),
    /// these headers and `body`, made as the call makes it: `None` for a success whose body
    /// decodes as a referral, or a status out of range.
    pub fn answer_error(
        status: u16,
        body: &[u8],
        token: &str,
        request_id: Option<String>,
        retry_after: Option<Duration>,
        www_authenticate: Option<String>,
    ) -> Option<Error> {
        let status = StatusCode::from_u16(status).ok()?;
        let call = CallInfo {
            client_request_id: "00000000-0000-0000-0000-000000000000".into(),
            request_id,
            ..CallInfo::default()
        };
        let secrets = Secrets::new(token.into());
        if status.is_success() {
            let source = serde_json::from_slice::<crate::models::Referral>(body).err()?;
            let error = DecodeError::new(status, source, body, call, &secrets);
            return Some(Error::Decode(Box::new(error)));
        }
        let error = ServiceError::from_body(status, body, call)
            .with_headers(retry_after, www_authenticate)
            .masked(&secrets);
        Some(Error::from_service(error))
    }
}
