//! The request headers the policy owns: the call's ids, the application name and the bearer
//! token.

use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::ExposeSecret;

use crate::auth::{AccessToken, AuthError};
use crate::error::Error;

const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");
const MS_REQUEST_ID: HeaderName = HeaderName::from_static("ms-requestid");
const MS_CORRELATION_ID: HeaderName = HeaderName::from_static("ms-correlationid");
const MS_APPLICATION: HeaderName = HeaderName::from_static("ms-partnercenter-application");
/// progenitor sends `api-version: <info.version>` on every request; Partner Center has no use
/// for it, so it is not sent.
const API_VERSION: HeaderName = HeaderName::from_static("api-version");
/// The answer's id in the service's logs.
pub(super) const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");

/// The ids of one call, the same on every attempt.
#[derive(Debug)]
pub(super) struct Ids {
    /// Sent as `client-request-id` and `MS-RequestId`.
    pub(super) client_request_id: HeaderValue,
    pub(super) correlation_id: HeaderValue,
}

impl Ids {
    /// Fresh ids; `correlation_id` when the client has one.
    pub(super) fn new(correlation_id: Option<HeaderValue>) -> Self {
        Self {
            client_request_id: guid_header(),
            correlation_id: correlation_id.unwrap_or_else(guid_header),
        }
    }

    /// Sets the ids and `application` on `headers`, over whatever the operation was given.
    pub(super) fn set(&self, headers: &mut HeaderMap, application: Option<&HeaderValue>) {
        headers.remove(API_VERSION);
        headers.insert(CLIENT_REQUEST_ID, self.client_request_id.clone());
        headers.insert(MS_REQUEST_ID, self.client_request_id.clone());
        headers.insert(MS_CORRELATION_ID, self.correlation_id.clone());
        if let Some(application) = application {
            headers.insert(MS_APPLICATION, application.clone());
        }
    }
}

/// The last token's `Authorization` value: a token sent on many calls is formatted and checked
/// once, and its calls share the value.
#[derive(Default)]
pub(crate) struct Bearer(Mutex<Option<(AccessToken, HeaderValue)>>);

impl Bearer {
    /// `Bearer <token>` as a sensitive header value; a token that cannot be a header value is
    /// an error that does not show it.
    pub(super) fn value(&self, token: &AccessToken) -> Result<HeaderValue, Error> {
        let mut last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((sent, value)) = &*last
            && sent.same_secret(token)
        {
            return Ok(value.clone());
        }
        let mut value = HeaderValue::try_from(format!("Bearer {}", token.secret().expose_secret()))
            .map_err(|_| {
                Error::Auth(AuthError::Missing(
                    "the token has characters that cannot be sent in a header".into(),
                ))
            })?;
        value.set_sensitive(true);
        *last = Some((token.clone(), value.clone()));
        Ok(value)
    }
}

/// A random (v4) GUID as a header value. Request ids need to be unique, not unpredictable: a
/// fast generator spares a system call per id.
fn guid_header() -> HeaderValue {
    let random = fastrand::u128(..).to_le_bytes();
    let guid = uuid::Builder::from_random_bytes(random).into_uuid();
    let mut text = [0; uuid::fmt::Hyphenated::LENGTH];
    guid.hyphenated().encode_lower(&mut text);
    // The bytes own themselves: the headers that send the id share them, uncopied.
    HeaderValue::from_maybe_shared(Bytes::from_owner(text))
        .expect("a hyphenated GUID is a valid header value")
}

pub(super) fn header_str(value: &HeaderValue) -> String {
    value.to_str().unwrap_or_default().to_owned()
}

/// A header's value as text; `None` when absent or not text.
pub(super) fn header_text(value: Option<&HeaderValue>) -> Option<String> {
    value.and_then(|v| v.to_str().ok()).map(str::to_owned)
}
