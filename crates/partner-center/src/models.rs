//! The API's data types: what the service sends ([`Referral`] and its parts) and what it takes
//! ([`NewReferral`] and its parts, whose types hold the spec's rules for a create).
//!
//! Every object type keeps the fields the spec does not know in its `extra` map, and every
//! enumeration keeps values it does not list in its `Other` variant: a referral decoded here
//! serializes back to the JSON the service sent, explicit `null`s included. A known field
//! whose JSON does not fit its type (an object where the spec has a list, a number where it has
//! a date) does not fail the referral: its value is kept in `extra` as sent, the typed field
//! is `None`, and [`drift`] lists where and what was expected (the client also logs it once
//! as a `tracing` warning). Numbers keep their exact text ([`Amount`], [`Integer`], `extra` maps): for that the
//! models enable serde_json's `arbitrary_precision` feature in the whole program, with the
//! consequences [`partner_center_api`'s docs](partner_center_api#numbers-keep-their-exact-text)
//! list.

pub use partner_center_api::enums::*;
pub use partner_center_api::lenient::{Drift, drift};
pub use partner_center_api::types::*;
pub use partner_center_api::{Amount, Etag, Integer, InvalidAmount, InvalidInteger, Timestamp};
