//! Open enumerations: the service adds values over time, and one value this version does not
//! know must not fail a whole response. `cargo xtask codegen` declares every string enum of the
//! spec with [`open_enum!`]; the generated client refers to them through `with_replacement`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};

/// What the serde code below needs to know of an enum declared with [`open_enum!`].
pub(crate) trait OpenEnum: Sized {
    /// The variant whose wire value is `value`, if the spec lists it.
    fn known(value: &str) -> Option<Self>;
    /// The catch-all variant for a value the spec does not list.
    fn other(value: String) -> Self;
}

/// Deserializes a wire string into a known variant, or `Other` holding the string verbatim.
pub(crate) fn deserialize<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: OpenEnum,
{
    struct WireString<T>(PhantomData<T>);

    impl<T: OpenEnum> Visitor<'_> for WireString<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
            Ok(T::known(value).unwrap_or_else(|| T::other(value.to_owned())))
        }

        fn visit_string<E: de::Error>(self, value: String) -> Result<T, E> {
            Ok(match T::known(&value) {
                Some(known) => known,
                None => T::other(value),
            })
        }
    }

    deserializer.deserialize_str(WireString(PhantomData))
}

/// Declares an open string enum: the listed variants, plus `Other(String)` for any other value.
///
/// It derives nothing from serde: values are matched exactly (case-sensitive, as the service
/// spells them), and `Other` serializes back to the very string it was decoded from.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )+
            /// A value this version of the spec does not list, kept exactly as the service sent it.
            Other(::std::string::String),
        }

        impl $name {
            /// Every value the spec lists, in spec order.
            pub const KNOWN: &'static [Self] = &[$(Self::$variant),+];

            /// The value as the service spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Other(value) => value,
                }
            }

            /// Whether the spec lists this value (`false` for [`Self::Other`]).
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl $crate::open_enum::OpenEnum for $name {
            fn known(value: &str) -> ::std::option::Option<Self> {
                match value {
                    $( $wire => ::std::option::Option::Some(Self::$variant), )+
                    _ => ::std::option::Option::None,
                }
            }

            fn other(value: ::std::string::String) -> Self {
                Self::Other(value)
            }
        }

        // A known value is matched on the borrowed text: no allocation.
        $crate::lenient::leaf!(
            $name,
            "a string",
            from_text => <$name as $crate::open_enum::OpenEnum>::known,
            from_string => |text| Ok($name::Other(text)),
        );

        impl ::std::convert::From<&str> for $name {
            fn from(value: &str) -> Self {
                <Self as $crate::open_enum::OpenEnum>::known(value)
                    .unwrap_or_else(|| Self::Other(value.to_owned()))
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;

            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                $crate::open_enum::deserialize(deserializer)
            }
        }
    };
}

pub(crate) use open_enum;

#[cfg(test)]
mod tests {
    open_enum! {
        /// A test enum.
        Colour {
            /// `Red`
            Red = "Red",
            /// `DarkBlue`
            DarkBlue = "DarkBlue",
        }
    }

    #[test]
    fn known_values_decode_to_their_variant() {
        let colour: Colour = serde_json::from_str(r#""DarkBlue""#).unwrap();
        assert_eq!(colour, Colour::DarkBlue);
        assert!(colour.is_known());
        assert_eq!(serde_json::to_string(&colour).unwrap(), r#""DarkBlue""#);
    }

    #[test]
    fn unknown_values_are_kept_verbatim() {
        for wire in ["Frozen", "red", "", "Dark Blue \u{e9}"] {
            let json = serde_json::to_string(wire).unwrap();
            let colour: Colour = serde_json::from_str(&json).unwrap();
            assert_eq!(colour, Colour::Other(wire.to_owned()));
            assert!(!colour.is_known());
            assert_eq!(serde_json::to_string(&colour).unwrap(), json);
        }
    }

    #[test]
    fn escaped_strings_decode_like_plain_ones() {
        let colour: Colour = serde_json::from_str(r#""R\u0065d""#).unwrap();
        assert_eq!(colour, Colour::Red);
    }

    #[test]
    fn non_strings_are_a_decode_error_not_a_panic() {
        let err = serde_json::from_str::<Colour>("42").unwrap_err();
        assert!(err.to_string().contains("expected a string"), "{err}");
    }

    #[test]
    fn strings_parse_and_display_as_on_the_wire() {
        assert_eq!("Red".parse::<Colour>(), Ok(Colour::Red));
        assert_eq!(Colour::from("Green").to_string(), "Green");
        assert_eq!(Colour::KNOWN, &[Colour::Red, Colour::DarkBlue]);
    }
}
