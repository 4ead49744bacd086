//! Partner Center webhooks: the tenant's registration ([`Webhooks`], through
//! [`crate::PartnerCenter::webhooks`]).

mod registration;

pub use partner_center_api::webhooks::enums::WebhookEvent;
pub use partner_center_api::webhooks::types::{
    TestEventResult, TestEventStatus, WebhookRegistration,
};
pub use registration::{Register, Webhooks};
