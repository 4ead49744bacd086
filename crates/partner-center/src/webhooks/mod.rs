//! Partner Center webhooks: the tenant's registration, and the callbacks Partner Center sends
//! when a referral changes.
//!
//! [`crate::PartnerCenter::webhooks`] manages the registration ([`Webhooks`]): which events
//! are sent, and where. With the `webhooks` feature:
//! - [`Verifier`] checks that a callback comes from Partner Center (its RSA signature, made
//!   with the key of a certificate fetched from an allow-listed URL and chained to a public
//!   root, issued by Microsoft) and decodes its [`Event`]; a refused one is a [`Rejection`],
//!   which says what to answer.
//! - [`Receiver`] is an axum router doing that for each `POST`, answering quickly and
//!   handing the events to a bounded channel ([`Events`]).
//! - [`Deduplicator`] tells a repeated delivery from a new event (Partner Center delivers
//!   at least once, up to 10 attempts).
//!
//! An event carries no referral data: read the referral ([`Event::referral_id`]) after each
//! one. Push alone can miss events (after 10 failed attempts an event is dropped): sweep the
//! referrals now and then too.
//!
//! For the sandbox (partner-center-sandbox), which signs its callbacks with a CA of its own,
//! set the verifier up with [`VerifierBuilder::trust_sandbox`]; a default verifier never
//! trusts it.

mod registration;

pub use partner_center_api::webhooks::enums::WebhookEvent;
pub use partner_center_api::webhooks::types::{
    TestEventResult, TestEventStatus, WebhookRegistration,
};
pub use registration::{Register, Webhooks};

#[cfg(feature = "webhooks")]
mod certificate;
#[cfg(feature = "webhooks")]
mod dedupe;
#[cfg(feature = "webhooks")]
mod event;
#[cfg(feature = "webhooks")]
mod fetch;
#[cfg(feature = "webhooks")]
mod receiver;
#[cfg(feature = "webhooks")]
mod rejection;
#[cfg(feature = "webhooks")]
mod verify;

#[cfg(feature = "webhooks")]
pub use dedupe::Deduplicator;
#[cfg(feature = "webhooks")]
pub use event::{Event, EventError};
#[cfg(feature = "webhooks")]
pub use fetch::UrlRule;
#[cfg(feature = "webhooks")]
pub use receiver::{Events, Receiver};
#[cfg(feature = "webhooks")]
pub use rejection::{Rejection, UrlRefusal};
#[cfg(feature = "webhooks")]
pub use verify::{Verifier, VerifierBuilder};
