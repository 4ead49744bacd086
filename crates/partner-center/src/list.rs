//! Listing referrals: [`ListReferrals`] (the query), [`Page`] and paging as a stream.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::str::FromStr;

use futures_util::stream::{self, Stream, TryStreamExt};
use partner_center_api::types::error::ConversionError;
use partner_center_api::types::{ODataFilter, ODataOrderBy, ODataSelect, ReferralPage};

use crate::client::PartnerCenter;
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::models::Referral;
use crate::redact;
use crate::text::{self, SHOWN_CHARS};

/// The most referrals the service returns in one page.
pub const MAX_PAGE_SIZE: u32 = 100;

/// A query for referrals; [`crate::Referrals::list`] starts one.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sandbox = partner_center_sandbox::Sandbox::start().await?;
/// # let client = partner_center::PartnerCenter::builder().base_url(sandbox.base_url()).token("t").build()?;
/// use futures_util::TryStreamExt;
/// use partner_center::{Direction, Filter};
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
pub struct ListReferrals<'c> {
    client: &'c PartnerCenter,
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

impl<'c> ListReferrals<'c> {
    pub(crate) fn new(client: &'c PartnerCenter) -> Self {
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

    /// Asks for the number of matching referrals ([`Page::count`]).
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
        let (page, url) = self
            .client
            .send_at(|api| async move {
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
            })
            .await?;
        Ok(Page::new(page, url.as_ref()))
    }

    /// Every page, following `@odata.nextLink` until the last; one page in memory at a time.
    ///
    /// A next link that leads back to a page already read ends the pages with
    /// [`Error::PagingLoop`], and one past the page limit ([`Self::max_pages`]) with
    /// [`Error::PageLimit`]: a service whose links go round in circles cannot keep a listing
    /// going.
    pub fn pages(self) -> Pages<'c> {
        let (client, max_pages) = (self.client, self.max_pages);
        paginate(
            client,
            Start::Query(self),
            max_pages.unwrap_or(client.max_pages()),
        )
    }

    /// Every matching referral, page after page.
    pub fn stream(self) -> Items<'c> {
        Box::pin(
            self.pages()
                .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
                .try_flatten(),
        )
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

/// One page of referrals.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// The referrals of this page.
    pub items: Vec<Referral>,
    /// How many referrals match in all, when [`ListReferrals::count`] asked.
    pub count: Option<i64>,
    next: Option<Continuation>,
}

impl Page {
    /// The page `page`, read from `url` (when known): its next link is resolved against it.
    fn new(page: ReferralPage, url: Option<&reqwest::Url>) -> Self {
        Self {
            items: page.value,
            count: page.odata_count.and_then(|count| count.as_i64()),
            next: page
                .odata_next_link
                .map(|link| Continuation::on_page(link, url)),
        }
    }

    /// Where the next page is, or `None` on the last: keep it to resume later with
    /// [`crate::Referrals::resume`].
    pub fn next(&self) -> Option<&Continuation> {
        self.next.as_ref()
    }
}

/// The referrals of the page, in order: `for referral in page { ... }`.
impl IntoIterator for Page {
    type Item = Referral;
    type IntoIter = std::vec::IntoIter<Referral>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'p> IntoIterator for &'p Page {
    type Item = &'p Referral;
    type IntoIter = std::slice::Iter<'p, Referral>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// Where the next page of a listing is: the service's `@odata.nextLink`, as given when it is
/// absolute, or resolved against the URL of the page that carried it (RFC 3986) when it is
/// relative.
///
/// It is plain text: store it, and resume later with [`crate::Referrals::resume`]. It is
/// followed only to the client's own host, port and scheme.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Continuation(String);

impl Continuation {
    /// A continuation saved earlier (see [`Continuation::as_str`]); a relative one is
    /// resolved against the client's base URL.
    pub fn new(link: impl Into<String>) -> Self {
        Self(link.into())
    }

    /// The next link `link` of the page read from `page`: a relative link resolves against
    /// the page's URL, not the base URL (`?$skiptoken=2` on `/v1.0/engagements/referrals`
    /// is `/v1.0/engagements/referrals?$skiptoken=2`). What is no URL either way is kept as
    /// given, for following it to say so.
    fn on_page(link: String, page: Option<&reqwest::Url>) -> Self {
        let relative = reqwest::Url::parse(&link).is_err();
        match page.filter(|_| relative).map(|page| page.join(&link)) {
            Some(Ok(resolved)) => Self(resolved.into()),
            _ => Self(link),
        }
    }

    /// The link, to store.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Continuation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a listing starts.
pub(crate) enum Start<'c> {
    Query(ListReferrals<'c>),
    Link(Continuation),
}

/// The pages of a listing ([`ListReferrals::pages`], [`crate::Referrals::resume`]).
pub type Pages<'c> = Pin<Box<dyn Stream<Item = Result<Page>> + Send + 'c>>;

/// The referrals of a listing ([`ListReferrals::stream`]).
pub type Items<'c> = Pin<Box<dyn Stream<Item = Result<Referral>> + Send + 'c>>;

/// The pages from `start` on: each step fetches one page and keeps only its continuation,
/// and the links followed so far (each page's link and number), to stop on one that loops.
pub(crate) fn paginate<'c>(
    client: &'c PartnerCenter,
    start: Start<'c>,
    max_pages: usize,
) -> Pages<'c> {
    let paging = Paging {
        next: Some(start),
        read: 0,
        followed: HashMap::new(),
        max_pages,
    };
    Box::pin(stream::try_unfold(paging, move |mut paging| async move {
        let page = match paging.next.take() {
            None => return Ok(None),
            Some(Start::Query(query)) => query.send().await?,
            Some(Start::Link(link)) => {
                let url = paging.follow(client, &link)?;
                let page = client.get_page(url.clone()).await?;
                Page::new(page, Some(&url))
            }
        };
        paging.read += 1;
        paging.next = page.next.clone().map(Start::Link);
        Ok(Some((page, paging)))
    }))
}

/// Where a listing is: what to read next, and what it has read.
struct Paging<'c> {
    next: Option<Start<'c>>,
    /// How many pages have been read.
    read: usize,
    /// Each link followed (resolved), and the number of the page read from it.
    followed: HashMap<String, usize>,
    max_pages: usize,
}

impl Paging<'_> {
    /// The URL of `link`, the next link of the last page read, if it may be followed: on the
    /// client's host, not one followed before, not past the page limit.
    fn follow(&mut self, client: &PartnerCenter, link: &Continuation) -> Result<reqwest::Url> {
        if self.read >= self.max_pages {
            return Err(Error::PageLimit {
                limit: self.max_pages,
            });
        }
        let url = client.checked_link(link.as_str())?;
        let page = self.read + 1;
        if let Some(&earlier) = self.followed.get(url.as_str()) {
            return Err(Error::PagingLoop {
                link: text::excerpt(&redact::link(url.as_str()), SHOWN_CHARS).to_string(),
                page: self.read,
                earlier,
            });
        }
        self.followed.insert(url.as_str().to_owned(), page);
        Ok(url)
    }
}
