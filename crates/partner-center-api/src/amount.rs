//! [`Amount`]: a decimal kept exactly as the service sent it.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A decimal amount (a deal value, a price) as the service sent it.
///
/// The service sends a JSON number; update examples send a string. Both are kept as they came,
/// digit for digit (a number keeps its text, however many digits it has), so a decoded referral
/// serializes back to the same JSON. [`Amount::to_f64`] reads the value.
///
/// ```
/// use partner_center_api::Amount;
///
/// let deal: Amount = serde_json::from_str("123456789012345678901234567890").unwrap();
/// assert_eq!(deal.to_f64(), Some(1.2345678901234568e29));
/// assert_eq!(serde_json::to_string(&deal).unwrap(), "123456789012345678901234567890");
/// assert_eq!("2500.50".parse::<Amount>().unwrap().to_string(), "2500.50");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Amount(Wire);

/// Decoded by hand, not as `#[serde(untagged)]`: serde buffers an untagged value first, and its
/// buffer cannot hold the 128-bit integers `serde_json::from_value` hands over for numbers
/// past 64 bits.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
enum Wire {
    Number(serde_json::Number),
    Text(String),
}

impl<'de> Deserialize<'de> for Wire {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(WireVisitor)
    }
}

struct WireVisitor;

impl<'de> Visitor<'de> for WireVisitor {
    type Value = Wire;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number or a string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Wire, E> {
        Ok(Wire::Text(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Wire, E> {
        Ok(Wire::Text(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Wire, E> {
        Ok(Wire::Number(value.into()))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Wire, E> {
        Ok(Wire::Number(value.into()))
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<Wire, E> {
        serde_json::Number::deserialize(de::value::U128Deserializer::new(value)).map(Wire::Number)
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<Wire, E> {
        serde_json::Number::deserialize(de::value::I128Deserializer::new(value)).map(Wire::Number)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Wire, E> {
        serde_json::Number::from_f64(value)
            .map(Wire::Number)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Float(value), &self))
    }

    /// A number with its exact text, as serde_json's `arbitrary_precision` hands it over.
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Wire, A::Error> {
        serde_json::Number::deserialize(de::value::MapAccessDeserializer::new(map))
            .map(Wire::Number)
    }
}

crate::lenient::leaf!(
    Amount,
    "a number or a numeric string",
    from_number => |n| Ok(Amount(Wire::Number(n))),
    from_string => |text| Ok(Amount(Wire::Text(text))),
);

impl Amount {
    /// The value as a float, or `None` for text that is not a number.
    pub fn to_f64(&self) -> Option<f64> {
        match &self.0 {
            Wire::Number(n) => n.as_f64(),
            Wire::Text(t) => t.trim().parse().ok().filter(|v: &f64| v.is_finite()),
        }
    }

    /// The JSON number, when the service sent one.
    pub fn as_number(&self) -> Option<&serde_json::Number> {
        match &self.0 {
            Wire::Number(n) => Some(n),
            Wire::Text(_) => None,
        }
    }
}

/// The error of parsing an [`Amount`] from text that is not a finite decimal number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidAmount(String);

impl fmt::Display for InvalidAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a decimal number", self.0)
    }
}

impl std::error::Error for InvalidAmount {}

impl FromStr for Amount {
    type Err = InvalidAmount;

    /// Parses a decimal number such as `10000` or `2500.50`, sent as a JSON number with the
    /// same text; other notations (`+5`, `.5`) are sent as the number they read as.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidAmount(text.to_owned());
        if let Ok(n) = text.parse::<serde_json::Number>() {
            return Ok(Self(Wire::Number(n)));
        }
        if let Ok(n) = text.parse::<i64>() {
            return Ok(n.into());
        }
        let value: f64 = text.parse().map_err(|_| invalid())?;
        Self::try_from(value).map_err(|_| invalid())
    }
}

impl From<i64> for Amount {
    fn from(value: i64) -> Self {
        Self(Wire::Number(value.into()))
    }
}

impl From<u64> for Amount {
    fn from(value: u64) -> Self {
        Self(Wire::Number(value.into()))
    }
}

impl TryFrom<f64> for Amount {
    type Error = InvalidAmount;

    /// Fails for NaN and infinities, which JSON cannot carry.
    fn try_from(value: f64) -> Result<Self, Self::Error> {
        serde_json::Number::from_f64(value)
            .map(|n| Self(Wire::Number(n)))
            .ok_or_else(|| InvalidAmount(value.to_string()))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Wire::Number(n) => n.fmt(f),
            Wire::Text(t) => f.write_str(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_as_numbers() {
        for json in [
            "10000",
            "-3",
            "2500.5",
            "2500.50",
            "0.1",
            "18446744073709551615",
            "123456789012345678901234567890",
            "123456789012345678901234567890.000000000000000001",
        ] {
            let amount: Amount = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&amount).unwrap(), json);
            assert!(amount.as_number().is_some());
        }
    }

    #[test]
    fn strings_round_trip_as_strings() {
        for json in [r#""10000.00""#, r#""""#, r#""n/a""#] {
            let amount: Amount = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&amount).unwrap(), json);
            assert!(amount.as_number().is_none());
        }
        let amount: Amount = serde_json::from_str(r#""10000.50""#).unwrap();
        assert_eq!(amount.to_f64(), Some(10000.5));
        let amount: Amount = serde_json::from_str(r#""n/a""#).unwrap();
        assert_eq!(amount.to_f64(), None);
    }

    #[test]
    fn numbers_past_64_bits_decode_from_a_value_too() {
        // `from_value` hands such numbers over as 128-bit integers, `from_str` as text.
        for json in [
            "123456789012345678901234567890",
            "-123456789012345678901234567890",
            "1.10",
        ] {
            let value: serde_json::Value = serde_json::from_str(json).unwrap();
            let amount: Amount = serde_json::from_value(value).unwrap();
            assert_eq!(amount.to_string(), json);
        }
    }

    #[test]
    fn other_json_is_a_decode_error() {
        for json in ["true", "null", "[1]", "{}", r#"{"value": 1}"#] {
            assert!(serde_json::from_str::<Amount>(json).is_err(), "{json}");
        }
        let err = serde_json::from_str::<Amount>("true").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a decimal number or a string"),
            "{err}"
        );
    }

    #[test]
    fn parsing_accepts_decimals_only() {
        assert_eq!("10000".parse::<Amount>().unwrap(), Amount::from(10000_i64));
        assert_eq!("2500.50".parse::<Amount>().unwrap().to_f64(), Some(2500.5));
        let big = "123456789012345678901234567890.000000000000000001";
        assert_eq!(big.parse::<Amount>().unwrap().to_string(), big);
        assert_eq!("+5".parse::<Amount>().unwrap().to_string(), "5");
        assert_eq!(".5".parse::<Amount>().unwrap().to_string(), "0.5");
        assert!("ten".parse::<Amount>().is_err());
        assert!("NaN".parse::<Amount>().is_err());
        assert!("inf".parse::<Amount>().is_err());
        assert!(Amount::try_from(f64::NAN).is_err());
    }
}
