//! [`Response`]: a call's value with the metadata of its answer.

use std::ops::Deref;

use partner_center_api::Etag;
use reqwest::StatusCode;
use reqwest::header::{ETAG, HeaderMap};

/// What a call returned, with its answer's status and headers: the service's `Request-ID`
/// (quote it when asking Microsoft for help), the `ETag`, and any other header.
///
/// [`crate::PartnerCenter::call_response`] and [`crate::referrals::Referrals::get_response`]
/// return one; the other calls return the value alone. It derefs to the value.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sandbox = partner_center_sandbox::Sandbox::start().await?;
/// # let client = partner_center::PartnerCenter::builder().base_url(sandbox.base_url()).token("t").build()?;
/// let response = client.referrals().get_response("c5fbb3b6-be74-4795-9fb5-4324c73fed37").await?;
/// assert_eq!(response.status(), 200);
/// assert!(response.request_id().is_some());
/// assert_eq!(response.etag(), response.e_tag.clone()); // the header and the field agree
/// let referral = response.into_inner();
/// # let _ = referral;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Response<T> {
    value: T,
    status: StatusCode,
    headers: HeaderMap,
    /// The URL the request went to (a page's, for the next link it carries).
    pub(crate) url: Option<reqwest::Url>,
    /// The generated operation's id, for the requests that follow from this one.
    pub(crate) operation_id: &'static str,
}

impl<T> Response<T> {
    pub(crate) fn new(
        value: T,
        status: StatusCode,
        headers: HeaderMap,
        url: Option<reqwest::Url>,
        operation_id: &'static str,
    ) -> Self {
        Self {
            value,
            status,
            headers,
            url,
            operation_id,
        }
    }

    /// The answer's status (a success: a failure is an [`crate::Error`]).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The answer's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The service's id of the request (`Request-ID`), when it sent one.
    pub fn request_id(&self) -> Option<&str> {
        header(&self.headers, "request-id")
    }

    /// The version of what the answer is about (`ETag`), when it sent one.
    pub fn etag(&self) -> Option<Etag> {
        header(&self.headers, ETAG.as_str()).map(Etag::from)
    }

    /// The value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The value, without the metadata.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The value, the status and the headers.
    pub fn into_parts(self) -> (T, StatusCode, HeaderMap) {
        (self.value, self.status, self.headers)
    }

    /// The same answer with the value `f` makes of this one.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Response<U> {
        Response {
            value: f(self.value),
            status: self.status,
            headers: self.headers,
            url: self.url,
            operation_id: self.operation_id,
        }
    }
}

impl<T> Deref for Response<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}
