//! [`Timestamp`]: a date-time that keeps the service's text.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A date-time as the service wrote it (e.g. `2020-10-30T21:03:00.0000000Z`), with its instant.
///
/// The text is kept so that a decoded referral serializes back to exactly what was received
/// (chrono would write `2020-10-30T21:03:00Z`). Text that is not a date-time the client can read
/// is kept too, with no instant, rather than failing the whole response.
///
/// ```
/// use partner_center_api::Timestamp;
///
/// let t: Timestamp = serde_json::from_str(r#""2020-10-30T21:03:00.0000000Z""#).unwrap();
/// assert_eq!(t.instant().unwrap().to_rfc3339(), "2020-10-30T21:03:00+00:00");
/// assert_eq!(serde_json::to_string(&t).unwrap(), r#""2020-10-30T21:03:00.0000000Z""#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Timestamp {
    text: String,
    instant: Option<DateTime<Utc>>,
}

impl Timestamp {
    /// Reads `text` as RFC 3339, or as a date-time without offset (taken as UTC, as .NET
    /// services write them); anything else is kept with no instant.
    pub fn parse(text: impl Into<String>) -> Self {
        let text = text.into();
        let instant = utc_z(&text).or_else(|| {
            DateTime::parse_from_rfc3339(&text)
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| {
                    NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f")
                        .map(|t| t.and_utc())
                })
                .ok()
        });
        Self { text, instant }
    }

    /// The instant, or `None` when the text is not a date-time.
    pub fn instant(&self) -> Option<DateTime<Utc>> {
        self.instant
    }

    /// The text exactly as received.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// The service's own shape, `2020-10-30T21:03:00.0000000Z` (0 to 9 fractional digits, `Z`),
/// read without chrono's general parser, which costs several times more on every decode.
/// Anything else (offsets, leap seconds, odd text) is `None` and left to chrono.
fn utc_z(text: &str) -> Option<DateTime<Utc>> {
    // `2020-10-30T21:03:00`, then `Z` or `.`, 1 to 9 digits and `Z`.
    let (&b'Z', head) = text.as_bytes().split_last()? else {
        return None;
    };
    let fraction = match head.get(19..)? {
        [] => &[][..],
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => digits,
        _ => return None,
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, c)| head[at] != c) {
        return None;
    }
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let field = |at: usize, len: usize| number(&head[at..at + len]);
    let nanos = number(fraction)? * 10u32.pow(9 - fraction.len() as u32);
    let date = NaiveDate::from_ymd_opt(field(0, 4)? as i32, field(5, 2)?, field(8, 2)?)?;
    let time = date.and_hms_nano_opt(field(11, 2)?, field(14, 2)?, field(17, 2)?, nanos)?;
    Some(time.and_utc())
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(instant: DateTime<Utc>) -> Self {
        Self {
            text: instant.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            instant: Some(instant),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DateTimeText;

        impl Visitor<'_> for DateTimeText {
            type Value = Timestamp;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date-time string")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Timestamp, E> {
                Ok(Timestamp::parse(value))
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<Timestamp, E> {
                Ok(Timestamp::parse(value))
            }
        }

        deserializer.deserialize_str(DateTimeText)
    }
}

crate::lenient::leaf!(Timestamp, "a date-time string", from_string => |text| Ok(Timestamp::parse(text)));

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn seven_fractional_digits_keep_text_and_instant() {
        let t = Timestamp::parse("2020-10-30T21:03:00.1234567Z");
        let expected = Utc.with_ymd_and_hms(2020, 10, 30, 21, 3, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_700);
        assert_eq!(t.instant(), Some(expected));
        assert_eq!(t.as_str(), "2020-10-30T21:03:00.1234567Z");
    }

    #[test]
    fn the_fast_path_reads_as_chrono_does() {
        for text in [
            "2020-10-30T21:03:00Z",
            "2020-10-30T21:03:00.0000000Z",
            "2020-10-30T21:03:00.1Z",
            "2020-10-30T21:03:00.123456789Z",
            "2020-12-01T00:00:00Z",
            "2016-12-31T23:59:60Z",
            "2020-02-30T00:00:00Z",
            "2020-10-30T21:03:00.Z",
            "2020-10-30T21:03:00.1234567890Z",
            "2020-10-30 21:03:00Z",
            "2020-10-30T21:03:00z",
            "+020-10-30T21:03:00Z",
        ] {
            // What `parse` did before it had a fast path.
            let chrono = DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| {
                    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
                })
                .ok();
            assert_eq!(Timestamp::parse(text).instant(), chrono, "{text}");
            if let Some(fast) = utc_z(text) {
                assert_eq!(Some(fast), chrono, "{text}");
            }
        }
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let t = Timestamp::parse("2020-12-01T02:00:00+02:00");
        assert_eq!(
            t.instant(),
            Some(Utc.with_ymd_and_hms(2020, 12, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(t.to_string(), "2020-12-01T02:00:00+02:00");
    }

    #[test]
    fn offsetless_text_is_taken_as_utc() {
        let t = Timestamp::parse("0001-01-01T00:00:00");
        assert_eq!(
            t.instant(),
            Some(Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap())
        );
    }

    #[test]
    fn unreadable_text_is_kept_without_an_instant() {
        for text in ["", "yesterday", "2020-13-45T99:00:00Z"] {
            let json = serde_json::to_string(text).unwrap();
            let t: Timestamp = serde_json::from_str(&json).unwrap();
            assert_eq!(t.instant(), None, "{text}");
            assert_eq!(serde_json::to_string(&t).unwrap(), json);
        }
    }

    #[test]
    fn a_number_is_a_decode_error() {
        let err = serde_json::from_str::<Timestamp>("1604091780").unwrap_err();
        assert!(err.to_string().contains("a date-time string"), "{err}");
    }

    #[test]
    fn from_an_instant_writes_rfc3339_utc() {
        let t = Timestamp::from(Utc.with_ymd_and_hms(2020, 12, 1, 0, 0, 0).unwrap());
        assert_eq!(t.as_str(), "2020-12-01T00:00:00Z");
    }
}
