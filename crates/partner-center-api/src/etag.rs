//! [`Etag`]: a referral's version, as the service wrote it.

use std::convert::Infallible;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A referral's version: its `eTag` field, the `ETag` header of an answer, and what an update
/// sends in `If-Match` to apply only to the version it read.
///
/// It is opaque text, quotes included (`"2500ec5a-0000-0000-0000-5bf4967d0000"`): the service
/// compares it byte for byte, so it is kept and sent back exactly as received.
///
/// ```
/// use partner_center_api::Etag;
///
/// let etag: Etag = serde_json::from_str(r#""\"2500ec5a-0000-0000-0000-5bf4967d0000\"""#).unwrap();
/// assert_eq!(etag.as_str(), r#""2500ec5a-0000-0000-0000-5bf4967d0000""#);
/// assert_eq!(etag, Etag::from(r#""2500ec5a-0000-0000-0000-5bf4967d0000""#));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Etag(String);

impl Etag {
    /// The version's text, as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The text, as the generated string types deref to theirs.
impl Deref for Etag {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Etag {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl From<&str> for Etag {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

impl From<&Etag> for Etag {
    fn from(etag: &Etag) -> Self {
        etag.clone()
    }
}

impl From<Etag> for String {
    fn from(etag: Etag) -> Self {
        etag.0
    }
}

impl FromStr for Etag {
    type Err = Infallible;

    fn from_str(text: &str) -> Result<Self, Infallible> {
        Ok(Self::from(text))
    }
}

impl fmt::Display for Etag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

crate::lenient::leaf!(Etag, "a string", from_string => |text| Ok(Etag(text)));
