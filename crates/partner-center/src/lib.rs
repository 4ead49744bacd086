//! A client for the Microsoft Partner Center **Referrals API**: leads and co-sell
//! opportunities.
//!
//! ```no_run
//! use partner_center::PartnerCenter;
//!
//! # async fn demo() -> partner_center::Result<()> {
//! let client = PartnerCenter::builder()
//!     .token(std::env::var("PARTNER_CENTER_TOKEN").unwrap_or_default())
//!     .build()?;
//! let referral = client.referrals().get("c5fbb3b6-be74-4795-9fb5-4324c73fed37").await?;
//! println!("{:?} / {:?}", referral.status, referral.substatus);
//! # Ok(())
//! # }
//! ```
//!
//! - [`PartnerCenter`] is built once ([`PartnerCenter::builder`]) and cloned freely.
//! - Each resource has a handler: [`PartnerCenter::referrals`].
//! - Every failure is an [`Error`]: match on its variant, read [`ServiceError`] for the service's
//!   `code`, `message` and `Request-ID`.
//! - [`models`] holds the data types; they are lossless (unknown fields and enum values are
//!   kept) so that nothing the service sends is lost.
//!
//! Every request carries `Authorization: Bearer <token>`, `Accept: application/json` and fresh
//! `client-request-id`, `MS-RequestId` and `MS-CorrelationId` GUIDs. The token never appears in
//! `Debug`, `Display` or errors.

#![deny(missing_docs)]

mod call;
mod client;
mod error;
pub mod models;
mod referrals;

pub use client::{
    DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, PartnerCenter, PartnerCenterBuilder,
};
pub use error::{DecodeError, Error, RequestIds, Result, ServiceError, TransportError};
pub use models::Referral;
pub use referrals::Referrals;
