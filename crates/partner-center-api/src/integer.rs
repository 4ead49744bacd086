//! [`Integer`]: a whole number kept exactly as the service sent it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A whole number (a count, a quantity, a status code) as the service sent it.
///
/// An `i64` field would fail the whole response on a number past 64 bits (with serde_json's
/// `arbitrary_precision`, which this crate enables, such a number reaches it as a map inside
/// the untagged error bodies). `Integer` keeps the number's text instead, so a decoded response
/// serializes back to the same JSON; [`Integer::as_i64`] and [`Integer::as_u64`] read the value
/// when it fits. A number with a fraction or an exponent, which the spec does not allow here,
/// is kept too (and reads as `None`) rather than failing the whole response.
///
/// ```
/// use partner_center_api::Integer;
///
/// let count: Integer = serde_json::from_str("123456789012345678901234567890").unwrap();
/// assert_eq!(count.as_i64(), None);
/// assert_eq!(serde_json::to_string(&count).unwrap(), "123456789012345678901234567890");
/// assert_eq!("42".parse::<Integer>().unwrap().as_i64(), Some(42));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Integer(serde_json::Number);

impl Integer {
    /// The value, when it is a whole number within `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.as_i64()
    }

    /// The value, when it is a whole number within `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        self.0.as_u64()
    }
}

/// The error of parsing an [`Integer`] from text that is not a whole number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidInteger(String);

impl fmt::Display for InvalidInteger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a whole number", self.0)
    }
}

impl std::error::Error for InvalidInteger {}

impl FromStr for Integer {
    type Err = InvalidInteger;

    /// Parses a whole number of any size, such as `42` or `-18446744073709551616`, keeping its
    /// text (JSON's syntax: no `+`, no leading zeros).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let number: serde_json::Number =
            text.parse().map_err(|_| InvalidInteger(text.to_owned()))?;
        if number.as_str().contains(['.', 'e']) {
            return Err(InvalidInteger(text.to_owned()));
        }
        Ok(Self(number))
    }
}

crate::lenient::leaf!(Integer, "an integer", from_number => |n| Ok(Integer(n)));

impl From<i64> for Integer {
    fn from(value: i64) -> Self {
        Self(value.into())
    }
}

impl From<u64> for Integer {
    fn from(value: u64) -> Self {
        Self(value.into())
    }
}

impl fmt::Display for Integer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_of_any_size_round_trip_exactly() {
        for json in [
            "5",
            "-3",
            "0",
            "18446744073709551616",
            "123456789012345678901234567890",
            "-123456789012345678901234567890",
        ] {
            let integer: Integer = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&integer).unwrap(), json);
            assert_eq!(integer.to_string(), json);
            let value: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::from_value::<Integer>(value).unwrap(), integer);
        }
    }

    #[test]
    fn values_are_read_when_they_fit() {
        let read = |json| serde_json::from_str::<Integer>(json).unwrap();
        assert_eq!(read("5").as_i64(), Some(5));
        assert_eq!(read("-3").as_i64(), Some(-3));
        assert_eq!(read("-3").as_u64(), None);
        assert_eq!(read("9223372036854775807").as_i64(), Some(i64::MAX));
        assert_eq!(read("9223372036854775808").as_i64(), None);
        assert_eq!(read("18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(read("18446744073709551616").as_u64(), None);
        assert_eq!(read("123456789012345678901234567890").as_i64(), None);
    }

    #[test]
    fn a_number_with_a_fraction_is_kept_but_not_read() {
        for json in ["1.10", "1e+5"] {
            let integer: Integer = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&integer).unwrap(), json);
            assert_eq!(integer.as_i64(), None);
        }
    }

    #[test]
    fn other_json_is_a_decode_error() {
        for json in [r#""5""#, "true", "null", "[1]", "{}"] {
            assert!(serde_json::from_str::<Integer>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn parsing_keeps_the_text_of_whole_numbers_only() {
        let big = "123456789012345678901234567890";
        assert_eq!(big.parse::<Integer>().unwrap().to_string(), big);
        assert_eq!("-7".parse::<Integer>().unwrap(), Integer::from(-7_i64));
        assert_eq!(
            "18446744073709551615".parse::<Integer>().unwrap(),
            Integer::from(u64::MAX)
        );
        for text in [
            "", "ten", "1.5", "1e5", "1E5", "+5", "007", " 5", "5 ", "NaN",
        ] {
            assert_eq!(
                text.parse::<Integer>(),
                Err(InvalidInteger(text.to_owned())),
                "{text:?}"
            );
        }
    }
}
