//! Referrals, leads and co-sell opportunities: the [`Referrals`] handler, and what its
//! operations take and give: a [`ListReferrals`] query with its [`Filter`], an
//! [`UpdateReferral`] and what it answers ([`Updated`]).

mod filter;
mod id;
mod list;
mod update;

use partner_center_api::types::{ReferralId, ReferralPage};

pub use self::filter::Filter;
use self::id::checked_id;
pub use self::list::{Direction, ListReferrals, MAX_PAGE_SIZE};
pub use self::update::{UpdateReferral, Updated};
use crate::client::PartnerCenter;
use crate::error::{Error, Result};
use crate::models::{NewReferral, Referral, ReferralStatus, ReferralSubstatus};
use crate::paging::{Continuation, Pages};
use crate::policy::Headers;
use crate::response::Response;

/// The generated operation id of the referral listing (progenitor's `OperationInfo`), which
/// names a resumed listing's pages in traces (a listing's first call names it itself).
const LIST_OPERATION: &str = "list_referrals";

impl PartnerCenter {
    /// Referrals: leads and co-sell opportunities.
    pub fn referrals(&self) -> Referrals<'_> {
        Referrals::new(self)
    }
}

/// Leads and co-sell opportunities; [`PartnerCenter::referrals`] makes one.
#[derive(Clone, Copy, Debug)]
pub struct Referrals<'c> {
    client: &'c PartnerCenter,
}

impl<'c> Referrals<'c> {
    pub(crate) fn new(client: &'c PartnerCenter) -> Self {
        Self { client }
    }

    /// Gets one referral by id (`GET /v1.0/engagements/referrals/{id}`).
    ///
    /// The id is sent as one percent-encoded path segment; an id that cannot be one (empty,
    /// blank, `.`/`..`, or holding a backslash or control character) is refused with
    /// [`Error::InvalidInput`] before anything is sent.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = partner_center_sandbox::Sandbox::start().await?;
    /// # let client = partner_center::PartnerCenter::builder().base_url(sandbox.base_url()).token("t").build()?;
    /// let referral = client.referrals().get("c5fbb3b6-be74-4795-9fb5-4324c73fed37").await?;
    /// let customer = referral.customer_profile.and_then(|c| c.name);
    /// assert_eq!(customer.as_deref(), Some("Fabrikam Customer Inc"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get(&self, id: &str) -> Result<Referral> {
        let response = self.fetch(id, Headers::Dropped).await;
        response.map(|response| *response.into_inner())
    }

    /// [`Self::get`], with the answer's status and headers (its `Request-ID`, `ETag`...).
    pub async fn get_response(&self, id: &str) -> Result<Response<Referral>> {
        Ok(self
            .fetch(id, Headers::Kept)
            .await?
            .map(|referral| *referral))
    }

    /// The referral as the generated operation answers it: boxed as soon as it is decoded (it
    /// is over 2 KB), so that the policy's layers move a pointer instead of copying it.
    async fn fetch(&self, id: &str, headers: Headers) -> Result<Response<Box<Referral>>> {
        let id: ReferralId = checked_id(id)?
            .parse()
            .map_err(|e| Error::InvalidInput(format!("referral id {id:?}: {e}")))?;
        // The request headers are the policy's (`Call`): none is given here.
        let get = |api: partner_center_api::Client| async move {
            api.get_referral(&id, None, None, None, None, None).await
        };
        self.client.send(get, headers).await
    }

    /// A query for referrals (`GET /v1.0/engagements/referrals`): filter, order, page size;
    /// then the first page, every page, or every referral as a stream.
    pub fn list(&self) -> ListReferrals {
        ListReferrals::new(self.client.clone())
    }

    /// The referrals of the same engagement as `referral` (its `links.relatedReferrals`).
    pub fn related(&self, referral: &Referral) -> Result<ListReferrals> {
        let engagement = referral.engagement_id.as_deref().ok_or_else(|| {
            Error::InvalidInput("the referral has no engagementId to find related ones by".into())
        })?;
        Ok(self.by_engagement(engagement))
    }

    /// A query for the referrals of one engagement (those of its `engagementId`).
    pub fn by_engagement(&self, engagement_id: &str) -> ListReferrals {
        self.list().filter(Filter::engagement_id(engagement_id))
    }

    /// The pages of a listing from a [`Continuation`] kept earlier
    /// ([`crate::paging::Page::next`]) on, at most the client's
    /// [`crate::PartnerCenterBuilder::max_pages`] of them.
    pub fn resume(&self, continuation: Continuation) -> Pages {
        self.client
            .resume::<ReferralPage>(continuation, LIST_OPERATION)
    }

    /// Creates a referral (`POST /v1.0/engagements/referrals`); returns it as created, with its
    /// id and `eTag`. What the service requires of it is in its type, the spec's
    /// [`NewReferral`] ([`NewReferral::new`]).
    pub async fn create(&self, referral: NewReferral) -> Result<Referral> {
        self.client
            .call(|api| async move {
                // The request headers are the policy's (`Call`): none is given here.
                api.create_referral(None, None, None, None, None, &referral)
                    .await
            })
            .await
    }

    /// An update of `referral` as read: only if it has not changed since (`If-Match` its
    /// `eTag`), with status moves checked against its current status.
    pub fn update(&self, referral: &Referral) -> UpdateReferral<'c> {
        UpdateReferral::of(self.client, referral)
    }

    /// An update of the referral `id`, not read first (a JSON Patch): nothing is checked
    /// against its current version unless [`UpdateReferral::if_match`] says so.
    pub fn update_by_id(&self, id: &str) -> UpdateReferral<'c> {
        UpdateReferral::new(self.client, id)
    }

    /// Accepts a new referral: `Active` / `Accepted`. Returns the updated referral and its eTag.
    pub async fn accept(&self, referral: &Referral) -> Result<Updated> {
        self.apply(referral, Verb::Accept).await
    }

    /// Closes a referral as won: `Closed` / `Won`.
    pub async fn win(&self, referral: &Referral) -> Result<Updated> {
        self.apply(referral, Verb::Win).await
    }

    /// Closes a referral as lost, saying why: `Closed` / `Lost`.
    pub async fn lose(&self, referral: &Referral, reason: &str) -> Result<Updated> {
        self.apply(referral, Verb::Lose(reason.to_owned())).await
    }

    /// Declines a referral, saying why: `Closed` / `Declined`.
    pub async fn decline(&self, referral: &Referral, reason: &str) -> Result<Updated> {
        self.apply(referral, Verb::Decline(reason.to_owned())).await
    }

    /// Moves `referral` as `verb` says, in one PATCH: the status move checked against its
    /// status, the reason if any, `If-Match` its eTag, the updated referral back.
    pub async fn apply(&self, referral: &Referral, verb: Verb) -> Result<Updated> {
        let (status, substatus) = verb.target();
        let mut update = self.update(referral).status(status, substatus);
        if let Verb::Lose(reason) | Verb::Decline(reason) = verb {
            update = update.status_reason(reason);
        }
        update.return_representation().send().await
    }
}

/// A step of the referral lifecycle ([`Referrals::apply`]): what a partner does with a
/// referral, and the status it moves it to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verb {
    /// Accept a new referral: `Active` / `Accepted`.
    Accept,
    /// Close it as won: `Closed` / `Won`.
    Win,
    /// Close it as lost, saying why: `Closed` / `Lost`.
    Lose(String),
    /// Decline it, saying why: `Closed` / `Declined`.
    Decline(String),
}

impl Verb {
    /// The status and substatus the verb moves a referral to.
    pub fn target(&self) -> (ReferralStatus, ReferralSubstatus) {
        use {ReferralStatus as S, ReferralSubstatus as Sub};
        match self {
            Self::Accept => (S::Active, Sub::Accepted),
            Self::Win => (S::Closed, Sub::Won),
            Self::Lose(_) => (S::Closed, Sub::Lost),
            Self::Decline(_) => (S::Closed, Sub::Declined),
        }
    }
}
