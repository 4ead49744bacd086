//! [`UpdateReferral`]: a typed JSON Patch of one referral.

use chrono::{DateTime, SecondsFormat, Utc};
use partner_center_api::lifecycle;
use partner_center_api::types::{JsonPatch, JsonPointer, PatchOperation, ReferralId};
use reqwest::StatusCode;
use serde_json::Value;

use super::id::checked_id;
use crate::client::PartnerCenter;
use crate::error::{Error, Result};
use crate::models::{
    Amount, CurrencyCode, Etag, Member, PatchOp, Prefer, Referral, ReferralStatus,
    ReferralSubstatus,
};

/// An update of one referral, sent as one JSON Patch (`PATCH .../referrals/{id}`).
///
/// [`super::Referrals::update`] starts one from a referral as read: its `eTag` goes in
/// `If-Match` (a 412 then means it changed since: [`Error::PreconditionFailed`]) and a status
/// change is checked against the lifecycle before anything is sent.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sandbox = partner_center_sandbox::Sandbox::start().await?;
/// # let client = partner_center::PartnerCenter::builder().base_url(sandbox.base_url()).token("t").build()?;
/// use partner_center::Error;
/// use partner_center::models::{Amount, ReferralStatus, ReferralSubstatus};
///
/// let referral = client.referrals().get("c5fbb3b6-be74-4795-9fb5-4324c73fed37").await?;
/// let updated = client
///     .referrals()
///     .update(&referral)
///     .status(ReferralStatus::Active, ReferralSubstatus::Accepted)
///     .deal_value(Amount::from(25_000_i64))
///     .notes("Kick-off call booked")
///     .return_representation()
///     .send()
///     .await?;
/// assert_eq!(updated.referral.and_then(|r| r.status), Some(ReferralStatus::Active));
///
/// // The first update changed the eTag: a second one from the same read is refused.
/// let stale = client.referrals().update(&referral).notes("again").send().await;
/// assert!(matches!(stale, Err(Error::PreconditionFailed(_))));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "an update does nothing until sent"]
pub struct UpdateReferral<'c> {
    client: &'c PartnerCenter,
    id: String,
    current_status: Option<ReferralStatus>,
    if_match: Option<Etag>,
    return_representation: bool,
    operations: Vec<PatchOperation>,
    /// The first mistake made while building; reported by `send`.
    problem: Option<String>,
}

impl<'c> UpdateReferral<'c> {
    pub(crate) fn new(client: &'c PartnerCenter, id: &str) -> Self {
        Self {
            client,
            id: id.to_owned(),
            current_status: None,
            if_match: None,
            return_representation: false,
            operations: Vec::new(),
            problem: None,
        }
    }

    /// Starts from `referral` as read: its id, its `eTag` as `If-Match`, its status for the
    /// lifecycle check.
    pub(crate) fn of(client: &'c PartnerCenter, referral: &Referral) -> Self {
        let mut update = Self::new(client, referral.id.as_deref().unwrap_or_default());
        update.current_status = referral.status.clone();
        update.if_match = referral.e_tag.clone();
        update
    }

    /// Moves the referral to `status` with `substatus`. The pair must go together (e.g.
    /// `Closed` with `Won`), and, when the update started from a referral, the move must be
    /// one the service allows (`New` -> `Active` -> `Closed`).
    pub fn status(mut self, status: ReferralStatus, substatus: ReferralSubstatus) -> Self {
        if let Some(refusal) = lifecycle::refusal(self.current_status.as_ref(), &status, &substatus)
        {
            self.problem.get_or_insert(refusal);
        }
        self = self.replace("/status", Value::String(status.to_string()));
        self.replace("/substatus", Value::String(substatus.to_string()))
    }

    /// Why the referral has its status (e.g. why it was lost).
    pub fn status_reason(self, reason: impl Into<String>) -> Self {
        self.replace("/statusReason", Value::String(reason.into()))
    }

    /// The deal's value.
    pub fn deal_value(self, value: Amount) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.replace("/details/dealValue", value)
    }

    /// The ISO 4217 currency of the deal value, e.g. `USD`.
    pub fn currency(mut self, currency: &str) -> Self {
        if let Err(e) = currency.parse::<CurrencyCode>() {
            self.problem.get_or_insert(format!(
                "{currency:?} is not an ISO 4217 currency code: {e}"
            ));
        }
        self.replace("/details/currency", Value::String(currency.to_owned()))
    }

    /// The deal's notes.
    pub fn notes(self, notes: impl Into<String>) -> Self {
        self.replace("/details/notes", Value::String(notes.into()))
    }

    /// The expected closing date.
    pub fn closing_date(self, when: DateTime<Utc>) -> Self {
        let text = when.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        self.replace("/details/closingDateTime", Value::String(text))
    }

    /// Adds a member to the partner team.
    pub fn add_team_member(mut self, member: Member) -> Self {
        if !member.email.as_deref().is_some_and(|e| e.contains('@')) {
            self.problem
                .get_or_insert("a team member needs an email address".into());
        }
        let value = serde_json::to_value(member).unwrap_or(Value::Null);
        self.add("/team/-", value)
    }

    /// A raw `replace` of the value at `path` (a JSON Pointer such as `/details/notes`);
    /// `Value::Null` clears the field.
    pub fn replace(self, path: &str, value: Value) -> Self {
        self.operation(PatchOp::Replace, path, value)
    }

    /// A raw `add` of `value` at `path` (`/team/-` appends to the team).
    pub fn add(self, path: &str, value: Value) -> Self {
        self.operation(PatchOp::Add, path, value)
    }

    /// Updates only if the referral's `eTag` is still `etag` (as read, quotes included: a
    /// referral's [`Referral::e_tag`], an [`Updated::etag`], or text kept from either);
    /// otherwise the service answers 412 ([`Error::PreconditionFailed`]).
    pub fn if_match(mut self, etag: impl Into<Etag>) -> Self {
        self.if_match = Some(etag.into());
        self
    }

    /// Asks the service for the updated referral (`Prefer: return=representation`).
    pub fn return_representation(mut self) -> Self {
        self.return_representation = true;
        self
    }

    /// The JSON Patch that `send` would send.
    pub fn patch(&self) -> &[PatchOperation] {
        &self.operations
    }

    /// Sends the update. The answer has the referral's new `eTag` (for a next `If-Match`),
    /// and the updated referral when [`Self::return_representation`] asked for it.
    pub async fn send(self) -> Result<Updated> {
        if let Some(problem) = self.problem {
            return Err(Error::InvalidInput(problem));
        }
        if self.operations.is_empty() {
            return Err(Error::InvalidInput("the update changes nothing".into()));
        }
        let id: ReferralId = checked_id(&self.id)?
            .parse()
            .map_err(|e| Error::InvalidInput(format!("referral id {:?}: {e}", self.id)))?;
        let patch = JsonPatch(self.operations);
        let if_match = self.if_match;
        let prefer = self
            .return_representation
            .then_some(Prefer::ReturnRepresentation);
        let response = self
            .client
            .call_response(|api| async move {
                // The request ids and application are the policy's (`Call`): not given here.
                let updated = api.update_referral(
                    &id,
                    if_match.as_ref(),
                    None,
                    None,
                    None,
                    prefer.as_ref(),
                    None,
                    None,
                    &patch,
                );
                match updated.await {
                    Ok(updated) => updated.map(|referral| Box::new(Some(*referral))),
                    // The spec's 204 is not in the generated code (see xtask's codegen).
                    Err(partner_center_api::Error::UnexpectedResponse(mut response))
                        if response.status() == StatusCode::NO_CONTENT =>
                    {
                        let headers = std::mem::take(response.headers_mut());
                        let status = response.status();
                        Ok(partner_center_api::ResponseValue::new(
                            Box::new(None),
                            status,
                            headers,
                        ))
                    }
                    Err(e) => Err(e),
                }
            })
            .await?;
        let etag = response.etag();
        let referral: Option<Referral> = response.into_inner();
        Ok(Updated {
            etag: etag.or_else(|| referral.as_ref().and_then(|r| r.e_tag.clone())),
            referral,
        })
    }

    /// One operation, its path checked as the spec's `JsonPointer`.
    fn operation(mut self, op: PatchOp, path: &str, value: Value) -> Self {
        match path.parse::<JsonPointer>() {
            Ok(path) => self.operations.push(PatchOperation { op, path, value }),
            Err(e) => {
                self.problem
                    .get_or_insert(format!("patch path {path:?} is not a JSON Pointer: {e}"));
            }
        }
        self
    }
}

/// What an update answered.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Updated {
    /// The updated referral, when [`UpdateReferral::return_representation`] asked for it.
    pub referral: Option<Referral>,
    /// The referral's new `eTag` (the `ETag` header, or the returned referral's), to send in
    /// `If-Match` with a next update without reading the referral again.
    pub etag: Option<Etag>,
}
