//! Paging, for any list operation of the spec: a [`Page`] of items, its [`Continuation`],
//! and [`Pages`], which follows `@odata.nextLink` through the client's policy, only to the
//! client's own host, and stops on a link that loops or past a page limit.
//!
//! The referral listings are built on it ([`crate::referrals::ListReferrals::pages`]); an
//! operation added to the spec pages the same way with [`PartnerCenter::pages`].

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::stream::{self, Stream, TryStreamExt};
use partner_center_api as api;
use partner_center_api::lenient::Drifted;
use serde::de::DeserializeOwned;

use crate::client::PartnerCenter;
use crate::error::{Error, Result};
use crate::models::Referral;
use crate::policy::Headers;
use crate::redact;
use crate::response::Response;
use crate::text::{self, SHOWN_CHARS};

/// A page type of the spec: a list of items (`value`), how many match in all
/// (`@odata.count`, when asked), and where the next page is (`@odata.nextLink`).
///
/// Implemented for the referral listings' `ReferralPage`; implement it for the page type of
/// an operation added to the spec to page it with [`PartnerCenter::pages`].
pub trait ListPage: Drifted + DeserializeOwned + Send + 'static {
    /// What the page lists.
    type Item: Send + 'static;

    /// The page's items, its count and its next link, in that order.
    fn into_parts(self) -> (Vec<Self::Item>, Option<i64>, Option<String>);
}

impl ListPage for api::types::ReferralPage {
    type Item = Referral;

    fn into_parts(self) -> (Vec<Referral>, Option<i64>, Option<String>) {
        let count = self.odata_count.and_then(|count| count.as_i64());
        (self.value, count, self.odata_next_link)
    }
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T = Referral> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items match in all, when the listing asked for the count.
    pub count: Option<i64>,
    next: Option<Continuation>,
}

/// What a page splits into: its items, its count and its next link.
pub(crate) type Parts<T> = (Vec<T>, Option<i64>, Option<String>);

/// How a page answer splits into its [`Parts`]: [`ListPage::into_parts`] for a typed page.
pub(crate) type Split<P, T> = Arc<dyn Fn(P) -> Parts<T> + Send + Sync>;

impl<T> Page<T> {
    /// The page an answer carried: its next link is resolved against the URL it came from.
    pub(crate) fn from_response<P>(mut response: Response<Box<P>>, split: &Split<P, T>) -> Self {
        let url = response.url.take();
        let (items, count, next) = split(*response.into_inner());
        Self {
            items,
            count,
            next: next.map(|link| Continuation::on_page(link, url.as_ref())),
        }
    }

    /// Where the next page is, or `None` on the last: keep it to resume later
    /// ([`crate::referrals::Referrals::resume`], [`PartnerCenter::resume`]).
    pub fn next(&self) -> Option<&Continuation> {
        self.next.as_ref()
    }
}

/// The items of the page, in order: `for referral in page { ... }`.
impl<T> IntoIterator for Page<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'p, T> IntoIterator for &'p Page<T> {
    type Item = &'p T;
    type IntoIter = std::slice::Iter<'p, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// Where the next page of a listing is: the service's `@odata.nextLink`, as given when it is
/// absolute, or resolved against the URL of the page that carried it (RFC 3986) when it is
/// relative.
///
/// It is plain text: store it, and resume later ([`crate::referrals::Referrals::resume`]). It
/// is followed only to the client's own host, port and scheme.
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

/// The pages of a listing, as a stream; it owns what it needs (a clone of the client), so it
/// can be stored or spawned.
pub type Pages<T = Referral> = Pin<Box<dyn Stream<Item = Result<Page<T>>> + Send>>;

/// The items of a listing, page after page, as a stream.
pub type Items<T = Referral> = Pin<Box<dyn Stream<Item = Result<T>> + Send>>;

/// The first page's answer, still to be fetched.
type FirstPage<P> = Pin<Box<dyn Future<Output = Result<Response<Box<P>>>> + Send>>;

/// Where a listing starts.
pub(crate) enum Start<P> {
    /// The list operation's own call.
    First(FirstPage<P>),
    /// A next link.
    Link(Continuation),
}

impl PartnerCenter {
    /// Every page of a list operation of the spec, called through this client's policy like
    /// [`Self::call`]: `first` calls the operation for the first page, and each
    /// `@odata.nextLink` after it is followed as the rest of this module says, at most
    /// [`crate::PartnerCenterBuilder::max_pages`] pages.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = partner_center_sandbox::Sandbox::start().await?;
    /// # let client = partner_center::PartnerCenter::builder().base_url(sandbox.base_url()).token("t").build()?;
    /// use futures_util::TryStreamExt;
    /// use partner_center_api::types::ReferralPage;
    ///
    /// // Every referral, 50 a page, with the generated operation: what the SDK does not wrap
    /// // pages the same way.
    /// let top = std::num::NonZeroU32::new(50);
    /// let pages = client.pages(move |api| async move {
    ///     let headers = (None, None, None, None, None);
    ///     api.list_referrals(None, None, None, None, None, None, top,
    ///         headers.0, headers.1, headers.2, headers.3, headers.4).await
    /// });
    /// let pages: Vec<_> = pages.try_collect().await?;
    /// assert!(pages.iter().all(|page| page.items.len() <= 50));
    /// # let _: &[partner_center::paging::Page] = &pages;
    /// # let _ = std::marker::PhantomData::<ReferralPage>;
    /// # Ok(())
    /// # }
    /// ```
    pub fn pages<P, F, Fut>(&self, first: F) -> Pages<P::Item>
    where
        P: ListPage,
        F: FnOnce(api::Client) -> Fut + Send + 'static,
        Fut: Future<Output = api::GeneratedResult<P>> + Send + 'static,
    {
        let client = self.clone();
        let first = Box::pin(async move { client.send(first, Headers::Dropped).await });
        paginate(
            self.clone(),
            Start::First(first),
            self.max_pages(),
            None,
            split::<P>(),
        )
    }

    /// The pages of a listing of `P` from a [`Continuation`] kept earlier on, at most
    /// [`crate::PartnerCenterBuilder::max_pages`] of them. `operation_id` is the generated id
    /// of the list operation (e.g. `list_referrals`), for the traces.
    pub fn resume<P: ListPage>(
        &self,
        continuation: Continuation,
        operation_id: &'static str,
    ) -> Pages<P::Item> {
        let start = Start::<P>::Link(continuation);
        paginate(
            self.clone(),
            start,
            self.max_pages(),
            Some(operation_id),
            split::<P>(),
        )
    }

    /// Gets the page at `url` (an `@odata.nextLink` that `checked_link` let through)
    /// through the same policy as the generated operations, as the operation `operation_id`.
    pub(crate) async fn get_page<P: Drifted + DeserializeOwned>(
        &self,
        url: reqwest::Url,
        operation_id: &'static str,
    ) -> Result<Response<Box<P>>> {
        use api::ClientInfo;
        let page = |api: api::Client| async move {
            let request = api
                .client()
                .get(url)
                .header(reqwest::header::ACCEPT, "application/json")
                .build()
                .map_err(api::Error::from)?;
            let sent =
                api::CallPolicy::execute(&**api.inner(), api.client(), request, operation_id);
            match sent.await {
                Ok(response) if response.status().is_success() => {
                    api::ResponseValue::from_response(response).await
                }
                Ok(response) => Err(api::Error::UnexpectedResponse(response)),
                Err(e) => Err(api::Error::CommunicationError(e)),
            }
        };
        self.send(page, Headers::Dropped).await
    }

    /// `link` (a [`Continuation`], resolved against the page that carried it) as a URL, if
    /// it keeps the base URL's scheme, host and port: the token must never be sent anywhere
    /// else, nor over a downgraded scheme. The error says which of them differs. A link still
    /// relative (a continuation made by hand) is resolved against the base URL.
    pub(crate) fn checked_link(&self, link: &str) -> Result<reqwest::Url> {
        let untrusted = |reason: &str| {
            let shown = redact::link(link);
            Error::UntrustedLink(format!("{} {reason}", text::excerpt(&shown, SHOWN_CHARS)))
        };
        let base = reqwest::Url::parse(self.base_url())
            .map_err(|_| untrusted("cannot be checked against the base URL"))?;
        let url = base.join(link).map_err(|_| untrusted("is not a URL"))?;
        if url.scheme() != base.scheme() {
            return Err(untrusted(&format!(
                "has the scheme {}, not {}",
                url.scheme(),
                base.scheme()
            )));
        }
        // Both are http(s) URLs now: they have a host and a port.
        let host = |url: &reqwest::Url| url.host_str().unwrap_or_default().to_owned();
        if host(&url) != host(&base) {
            let (link, base) = (host(&url), host(&base));
            return Err(untrusted(&format!("has the host {link}, not {base}")));
        }
        let port = |url: &reqwest::Url| url.port_or_known_default().unwrap_or_default();
        if port(&url) != port(&base) {
            let (link, base) = (port(&url), port(&base));
            return Err(untrusted(&format!("has the port {link}, not {base}")));
        }
        Ok(url)
    }
}

/// The items of `pages`, page after page.
pub(crate) fn items<T: Send + 'static>(pages: Pages<T>) -> Items<T> {
    Box::pin(
        pages
            .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
            .try_flatten(),
    )
}

/// How a typed page splits.
pub(crate) fn split<P: ListPage>() -> Split<P, P::Item> {
    Arc::new(P::into_parts)
}

/// The pages from `start` on: each step fetches one page and keeps only its continuation,
/// and the URLs read so far (each with its page's number), to stop on a link that loops.
/// `operation_id` names the list operation in the traces of the next pages (the first page's
/// call tells it when not given).
pub(crate) fn paginate<P, T>(
    client: PartnerCenter,
    start: Start<P>,
    max_pages: usize,
    operation_id: Option<&'static str>,
    split: Split<P, T>,
) -> Pages<T>
where
    P: Drifted + DeserializeOwned + Send + 'static,
    T: Send + 'static,
{
    let paging = Paging {
        client,
        split,
        next: Some(start),
        read: 0,
        seen: HashMap::new(),
        max_pages,
        operation_id,
    };
    Box::pin(stream::try_unfold(paging, |mut paging| async move {
        let response = match paging.next.take() {
            None => return Ok(None),
            Some(Start::First(first)) => first.await?,
            Some(Start::Link(link)) => {
                let url = paging.follow(&link)?;
                let operation_id = paging.operation_id.unwrap_or("nextLink");
                paging.client.get_page::<P>(url, operation_id).await?
            }
        };
        paging.read += 1;
        paging.operation_id.get_or_insert(response.operation_id);
        if let Some(url) = &response.url {
            paging
                .seen
                .entry(url.as_str().to_owned())
                .or_insert(paging.read);
        }
        let page = Page::from_response(response, &paging.split);
        paging.next = page.next.clone().map(Start::Link);
        Ok(Some((page, paging)))
    }))
}

/// Where a listing is: what to read next, and what it has read.
struct Paging<P, T> {
    client: PartnerCenter,
    split: Split<P, T>,
    next: Option<Start<P>>,
    /// How many pages have been read.
    read: usize,
    /// The URL of each page read, and its page's number.
    seen: HashMap<String, usize>,
    max_pages: usize,
    operation_id: Option<&'static str>,
}

impl<P, T> Paging<P, T> {
    /// The URL of `link`, the next link of the last page read, if it may be followed: on the
    /// client's host, not a page read before, not past the page limit.
    fn follow(&self, link: &Continuation) -> Result<reqwest::Url> {
        if self.read >= self.max_pages {
            return Err(Error::PageLimit {
                limit: self.max_pages,
            });
        }
        let url = self.client.checked_link(link.as_str())?;
        if let Some(&earlier) = self.seen.get(url.as_str()) {
            return Err(Error::PagingLoop {
                link: text::excerpt(&redact::link(url.as_str()), SHOWN_CHARS).to_string(),
                page: self.read,
                earlier,
            });
        }
        Ok(url)
    }
}
