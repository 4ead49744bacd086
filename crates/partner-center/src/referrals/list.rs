//! [`ListReferrals`]: a query for referrals, sent for its first page, every page, or every
//! referral (paging itself is [`crate::paging`]'s).

use std::num::NonZeroU32;
use std::str::FromStr;

use partner_center_api::types::error::ConversionError;
use partner_center_api::types::{ODataFilter, ODataOrderBy, ODataSelect, ReferralPage};

use super::filter::Filter;
use crate::client::PartnerCenter;
use crate::error::{Error, Result};
use crate::paging::{self, Items, Page, Pages, Start};
use crate::policy::Headers;
use crate::response::Response;

/// The most referrals the service returns in one page.
pub const MAX_PAGE_SIZE: u32 = 100;

/// A query for referrals; [`super::Referrals::list`] starts one.
///
/// It owns what it needs (a clone of the client): its [`Self::pages`] and [`Self::stream`]
/// can be stored, returned or spawned.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sandbox = partner_center_sandbox::Sandbox::start().await?;
/// # let client = partner_center::PartnerCenter::builder().base_url(sandbox.base_url()).token("t").build()?;
/// use futures_util::TryStreamExt;
/// use partner_center::referrals::{Direction, Filter};
/// use partner_center::models::{ReferralDirection, ReferralStatus};
///
/// let mut new_leads = client
///     .referrals()
///     .list()
///     .filter(Filter::status(ReferralStatus::New).and(Filter::direction(ReferralDirection::Incoming)))
///     .order_by("createdDateTime", Direction::Descending)
///     .stream();
/// while let Some(referral) = new_leads.try_next().await? {
///     println!("{:?}", referral.id);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a query does nothing until sent"]
pub struct ListReferrals {
    client: PartnerCenter,
    filter: Option<Filter>,
    order_by: Option<String>,
    top: Option<u32>,
    skip: Option<u32>,
    select: Option<String>,
    count: bool,
    max_pages: Option<usize>,
}

/// A sort direction for [`ListReferrals::order_by`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Smallest (oldest) first.
    Ascending,
    /// Largest (newest) first.
    Descending,
}

impl ListReferrals {
    pub(crate) fn new(client: PartnerCenter) -> Self {
        Self {
            client,
            filter: None,
            order_by: None,
            top: None,
            skip: None,
            select: None,
            count: false,
            max_pages: None,
        }
    }

    /// Only the referrals matching `filter` (a second call adds to the first with `and`).
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(match self.filter.take() {
            Some(earlier) => earlier.and(filter),
            None => filter,
        });
        self
    }

    /// Sorts by `field` (e.g. `createdDateTime`, `updatedDateTime`); a second call adds a
    /// secondary key.
    pub fn order_by(mut self, field: &str, direction: Direction) -> Self {
        let key = match direction {
            Direction::Ascending => format!("{field} asc"),
            Direction::Descending => format!("{field} desc"),
        };
        self.order_by = Some(match self.order_by.take() {
            Some(earlier) => format!("{earlier},{key}"),
            None => key,
        });
        self
    }

    /// At most `n` referrals a page (1 to [`MAX_PAGE_SIZE`]).
    pub fn top(mut self, n: u32) -> Self {
        self.top = Some(n);
        self
    }

    /// Skips the first `n` matching referrals.
    pub fn skip(mut self, n: u32) -> Self {
        self.skip = Some(n);
        self
    }

    /// Only these fields of each referral (e.g. `["id", "status", "customerProfile"]`).
    pub fn select<'s>(mut self, fields: impl IntoIterator<Item = &'s str>) -> Self {
        self.select = Some(fields.into_iter().collect::<Vec<_>>().join(","));
        self
    }

    /// Asks for the number of matching referrals ([`Page::count`](crate::paging::Page::count)).
    pub fn count(mut self, count: bool) -> Self {
        self.count = count;
        self
    }

    /// Reads at most `pages` pages (at least 1) with [`Self::pages`] and [`Self::stream`];
    /// one more is [`Error::PageLimit`]. The default is the client's
    /// ([`crate::PartnerCenterBuilder::max_pages`]).
    pub fn max_pages(mut self, pages: usize) -> Self {
        self.max_pages = Some(pages.max(1));
        self
    }

    /// The first page.
    pub async fn send(self) -> Result<Page> {
        let split = paging::split::<ReferralPage>();
        self.first()
            .await
            .map(|first| Page::from_response(first, &split))
    }

    /// Every page, following `@odata.nextLink` until the last; one page in memory at a time.
    ///
    /// A next link that leads back to a page already read ends the pages with
    /// [`Error::PagingLoop`], and one past the page limit ([`Self::max_pages`]) with
    /// [`Error::PageLimit`]: a service whose links go round in circles cannot keep a listing
    /// going.
    pub fn pages(self) -> Pages {
        let client = self.client.clone();
        let max_pages = self.max_pages.unwrap_or(client.max_pages());
        paging::paginate(
            client,
            Start::First(Box::pin(self.first())),
            max_pages,
            None,
            paging::split::<ReferralPage>(),
        )
    }

    /// Every matching referral, page after page.
    pub fn stream(self) -> Items {
        paging::items(self.pages())
    }

    /// The first page's call, its parameters checked first.
    async fn first(self) -> Result<Response<Box<ReferralPage>>> {
        let top = self
            .top
            .map(|n| {
                NonZeroU32::new(n)
                    .filter(|n| n.get() <= MAX_PAGE_SIZE)
                    .ok_or_else(|| {
                        Error::InvalidInput(format!("top must be 1 to {MAX_PAGE_SIZE}, not {n}"))
                    })
            })
            .transpose()?;
        let skip = self
            .skip
            .map(i32::try_from)
            .transpose()
            .map_err(|_| Error::InvalidInput("skip is too large".into()))?;
        let filter: Option<ODataFilter> =
            odata("$filter", self.filter.as_ref().map(Filter::as_str))?;
        let order_by: Option<ODataOrderBy> = odata("$orderby", self.order_by.as_deref())?;
        let select: Option<ODataSelect> = odata("$select", self.select.as_deref())?;
        let count = self.count.then_some(true);
        let page = |api: partner_center_api::Client| async move {
            // The request headers are the policy's (`Call`): none is given here.
            api.list_referrals(
                count,
                filter.as_ref(),
                order_by.as_ref(),
                select.as_ref(),
                skip,
                None,
                top,
                None,
                None,
                None,
                None,
                None,
            )
            .await
        };
        self.client.send(page, Headers::Dropped).await
    }
}

/// `value` as the spec's type of the query parameter `name` (`$filter`, ...: not empty).
fn odata<T>(name: &str, value: Option<&str>) -> Result<Option<T>>
where
    T: FromStr<Err = ConversionError>,
{
    value
        .map(|text| {
            text.parse()
                .map_err(|e| Error::InvalidInput(format!("{name} {text:?}: {e}")))
        })
        .transpose()
}
