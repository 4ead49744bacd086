//! Drift-proof decoding: a known field whose JSON does not fit its type never fails the object
//! around it. The value is kept verbatim in the object's `extra` map (where unknown fields go),
//! the typed field stays empty, and [`drift`] lists every such field with what was expected.
//!
//! `cargo xtask codegen` declares every object of the spec with `lenient_object!`, which
//! writes its `Deserialize` and `Serialize`: one pass over the JSON, each known field read
//! through [`Lenient`], which takes any JSON and says whether it fit. A JSON `null` in an
//! optional field is kept as `null` in `extra` too, so that explicit `null` and absent stay
//! distinct: the object serializes back to the JSON it came from.
//!
//! [`strict`] decodes the same way and refuses any drift: for tests and conformance checks.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// How a JSON value met the type of its field.
#[derive(Debug)]
pub enum Outcome<T> {
    /// It fits.
    Fit(T),
    /// It was `null`.
    Null,
    /// It does not fit: the value as it came.
    Drift(Value),
}

/// A type that can be read from any JSON value, saying whether the value fits
/// ([`Outcome`]) instead of failing.
pub trait Lenient: Sized {
    /// What the type expects, for drift reports: `"a string"`, `"an array"`...
    const EXPECTED: &'static str;

    /// Reads one JSON value of any shape.
    fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Outcome<Self>, D::Error>;
}

/// A [`DeserializeSeed`] that reads a `T` leniently: `map.next_value_seed(Seed::<T>::new())`.
pub(crate) struct Seed<T>(PhantomData<T>);

impl<T> Seed<T> {
    /// A seed for one value.
    #[allow(clippy::new_without_default)]
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

impl<'de, T: Lenient> DeserializeSeed<'de> for Seed<T> {
    type Value = Outcome<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Outcome<T>, D::Error> {
        T::lenient(deserializer)
    }
}

/// serde_json's `arbitrary_precision` hands a number to `deserialize_any` as a map with this
/// one key (its text as the value). An object whose first key is this is a number.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// What an array or an object becomes for one container type (leaves are [`Leaf`]s): the
/// defaults keep it as drift, as [`read`] keeps any other JSON.
pub(crate) trait Handler<'de>: Sized {
    /// What is built.
    type Value;

    /// An array.
    fn array<A: SeqAccess<'de>>(self, items: A) -> Result<Outcome<Self::Value>, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(items)).map(Outcome::Drift)
    }
    /// An object (never a number: [`read`] takes those out).
    fn object<A: MapAccess<'de>>(self, fields: A) -> Result<Outcome<Self::Value>, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(fields)).map(Outcome::Drift)
    }
}

/// Reads one JSON value of any shape with `handler`.
pub(crate) fn read<'de, D: Deserializer<'de>, H: Handler<'de>>(
    deserializer: D,
    handler: H,
) -> Result<Outcome<H::Value>, D::Error> {
    deserializer.deserialize_any(Shape(handler))
}

/// The [`Visitor`] behind [`read`].
struct Shape<H>(H);

impl<'de, H: Handler<'de>> Visitor<'de> for Shape<H> {
    type Value = Outcome<H::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Outcome::Drift(Value::Bool(value)))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Outcome::Drift(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Outcome::Drift(value.into()))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<Self::Value, E> {
        number_text(&value.to_string()).map(|n| Outcome::Drift(Value::Number(n)))
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<Self::Value, E> {
        number_text(&value.to_string()).map(|n| Outcome::Drift(Value::Number(n)))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        // NaN or infinite (from a non-JSON deserializer): no JSON number, kept as `null`.
        Ok(Outcome::Drift(
            Number::from_f64(value).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Outcome::Drift(Value::String(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Outcome::Drift(Value::String(value)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Outcome::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Outcome::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, items: A) -> Result<Self::Value, A::Error> {
        self.0.array(items)
    }

    fn visit_map<A: MapAccess<'de>>(self, fields: A) -> Result<Self::Value, A::Error> {
        match number_or_object(fields)? {
            Ok(number) => Ok(Outcome::Drift(Value::Number(number))),
            Err(object) => self.0.object(object),
        }
    }
}

/// A map from `deserialize_any`: a number in disguise (`arbitrary_precision`), or an object,
/// handed back with the first key, which was read to tell them apart.
fn number_or_object<'de, A: MapAccess<'de>>(
    mut fields: A,
) -> Result<Result<Number, Prepended<'de, A>>, A::Error> {
    let first = fields.next_key::<Key<'de>>()?;
    if first
        .as_ref()
        .is_some_and(|key| key.as_str() == NUMBER_TOKEN)
    {
        return fields.next_value_seed(NumberText).map(Ok);
    }
    Ok(Err(Prepended {
        first,
        rest: fields,
    }))
}

/// The text of a number in disguise, parsed where it lies (no copy of the text first).
struct NumberText;

impl<'de> DeserializeSeed<'de> for NumberText {
    type Value = Number;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Number, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for NumberText {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the text of a JSON number")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Number, E> {
        number_text(text)
    }
}

fn number_text<E: de::Error>(text: &str) -> Result<Number, E> {
    text.parse()
        .map_err(|_| E::custom(format_args!("{text:?} is not a JSON number")))
}

/// An object's key, borrowed from the input when it can be.
pub(crate) enum Key<'de> {
    /// Borrowed from the input.
    Borrowed(&'de str),
    /// Unescaped, or from a buffered input.
    Owned(String),
}

impl Key<'_> {
    /// The key.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Borrowed(key) => key,
            Self::Owned(key) => key,
        }
    }

    /// The key, owned (for `extra`).
    pub(crate) fn into_string(self) -> String {
        match self {
            Self::Borrowed(key) => key.to_owned(),
            Self::Owned(key) => key,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }

            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(key))
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(key.to_owned()))
            }

            fn visit_string<E: de::Error>(self, key: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(key))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The fields of an object whose first key was already read (to tell it from a number).
struct Prepended<'de, A> {
    first: Option<Key<'de>>,
    rest: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Prepended<'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.first.take() {
            Some(Key::Borrowed(key)) => seed
                .deserialize(de::value::BorrowedStrDeserializer::new(key))
                .map(Some),
            Some(Key::Owned(key)) => seed
                .deserialize(de::value::StringDeserializer::new(key))
                .map(Some),
            None => self.rest.next_key_seed(seed),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.rest.next_value_seed(seed)
    }
}

/// One JSON value as a leaf type sees it. Every leaf type is read through this one visitor,
/// so that serde_json's parser is instantiated once for all of them (not once per type): the
/// decoder stays small enough for the instruction cache, and each type only converts.
pub(crate) enum Scalar<'de> {
    /// A string borrowed from the input.
    Str(&'de str),
    /// A string unescaped, or from a buffered input.
    String(String),
    Bool(bool),
    /// A number, with its exact text.
    Number(Number),
    Null,
    /// An array or an object: never a leaf.
    Other(Value),
}

/// A type made from one string, boolean or number (see [`leaf!`]): each method says whether
/// that JSON fits; the defaults refuse.
pub(crate) trait Leaf: Sized {
    /// From a string, without allocating, when the type can (an enum's known value).
    fn from_text(_text: &str) -> Option<Self> {
        None
    }
    /// From a string it may keep, or the string handed back.
    fn from_string(text: String) -> Result<Self, String> {
        Err(text)
    }
    fn from_bool(_value: bool) -> Option<Self> {
        None
    }
    /// From a number, or the number handed back.
    fn from_number(number: Number) -> Result<Self, Number> {
        Err(number)
    }
}

/// [`Lenient::lenient`] for a [`Leaf`].
#[inline]
pub(crate) fn read_leaf<'de, D: Deserializer<'de>, T: Leaf>(
    deserializer: D,
) -> Result<Outcome<T>, D::Error> {
    deserializer
        .deserialize_any(ScalarVisitor)
        .map(leaf_outcome)
}

fn leaf_outcome<T: Leaf>(scalar: Scalar<'_>) -> Outcome<T> {
    match scalar {
        Scalar::Str(text) => match T::from_text(text) {
            Some(fit) => Outcome::Fit(fit),
            None => fit_or_keep(text.to_owned(), T::from_string, Value::String),
        },
        Scalar::String(text) => match T::from_text(&text) {
            Some(fit) => Outcome::Fit(fit),
            None => fit_or_keep(text, T::from_string, Value::String),
        },
        Scalar::Bool(value) => match T::from_bool(value) {
            Some(fit) => Outcome::Fit(fit),
            None => Outcome::Drift(Value::Bool(value)),
        },
        Scalar::Number(number) => fit_or_keep(number, T::from_number, Value::Number),
        Scalar::Null => Outcome::Null,
        Scalar::Other(value) => Outcome::Drift(value),
    }
}

/// The [`Visitor`] behind [`read_leaf`].
struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Number(value.into()))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<Scalar<'de>, E> {
        number_text(&value.to_string()).map(Scalar::Number)
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<Scalar<'de>, E> {
        number_text(&value.to_string()).map(Scalar::Number)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Scalar<'de>, E> {
        Ok(match Number::from_f64(value) {
            Some(number) => Scalar::Number(number),
            None => Scalar::Other(Value::Null),
        })
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Scalar<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, items: A) -> Result<Scalar<'de>, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(items)).map(Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, fields: A) -> Result<Scalar<'de>, A::Error> {
        Ok(match number_or_object(fields)? {
            Ok(number) => Scalar::Number(number),
            Err(object) => Scalar::Other(Value::deserialize(MapAccessDeserializer::new(object))?),
        })
    }
}

/// Implements [`Leaf`], [`Lenient`] (through [`read_leaf`]) and [`Drifted`] (with nothing
/// inside to drift) for a type made from one kind of JSON value:
/// `leaf!(Type, "expected", method => |value| ..., ...)`, each method one of [`Leaf`]'s.
macro_rules! leaf {
    ($type:ty, $expected:literal, $($method:ident => $make:expr),+ $(,)?) => {
        impl $crate::lenient::Leaf for $type {
            $( $crate::lenient::leaf!(@$method $make); )+
        }

        impl $crate::lenient::Lenient for $type {
            const EXPECTED: &'static str = $expected;

            fn lenient<'de, D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<$crate::lenient::Outcome<Self>, D::Error> {
                $crate::lenient::read_leaf(deserializer)
            }
        }

        impl $crate::lenient::Drifted for $type {
            const NESTED: bool = false;
            fn drift_into(&self, _: &$crate::lenient::At<'_>, _: &mut ::std::vec::Vec<$crate::lenient::Drift>) {}
        }
    };
    (@from_text $make:expr) => {
        fn from_text(text: &str) -> ::std::option::Option<Self> {
            ($make)(text)
        }
    };
    (@from_string $make:expr) => {
        fn from_string(text: ::std::string::String) -> ::std::result::Result<Self, ::std::string::String> {
            ($make)(text)
        }
    };
    (@from_bool $make:expr) => {
        fn from_bool(value: bool) -> ::std::option::Option<Self> {
            ($make)(value)
        }
    };
    (@from_number $make:expr) => {
        fn from_number(number: ::serde_json::Number) -> ::std::result::Result<Self, ::serde_json::Number> {
            ($make)(number)
        }
    };
}
pub(crate) use leaf;

/// `make(value)`, or the value (handed back by `make`) kept as drift when it does not fit.
fn fit_or_keep<V, T>(
    value: V,
    make: impl FnOnce(V) -> Result<T, V>,
    keep: impl FnOnce(V) -> Value,
) -> Outcome<T> {
    match make(value) {
        Ok(fit) => Outcome::Fit(fit),
        Err(value) => Outcome::Drift(keep(value)),
    }
}

leaf!(String, "a string", from_string => Ok);
leaf!(bool, "a boolean", from_bool => Some);
leaf!(f64, "a number", from_number => |n: Number| n.as_f64().ok_or(n));
leaf!(i64, "an integer", from_number => |n: Number| n.as_i64().ok_or(n));

impl Lenient for Value {
    const EXPECTED: &'static str = "any JSON";

    fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Outcome<Self>, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::Null => Outcome::Null,
            value => Outcome::Fit(value),
        })
    }
}

impl Drifted for Value {
    const NESTED: bool = false;
    fn drift_into(&self, _: &At<'_>, _: &mut Vec<Drift>) {}
}

impl Lenient for Map<String, Value> {
    const EXPECTED: &'static str = "an object";

    fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Outcome<Self>, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::Object(fields) => Outcome::Fit(fields),
            Value::Null => Outcome::Null,
            other => Outcome::Drift(other),
        })
    }
}

impl Drifted for Map<String, Value> {
    const NESTED: bool = false;
    fn drift_into(&self, _: &At<'_>, _: &mut Vec<Drift>) {}
}

impl<T: Lenient> Lenient for Box<T> {
    const EXPECTED: &'static str = T::EXPECTED;

    fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Outcome<Self>, D::Error> {
        Ok(match T::lenient(deserializer)? {
            Outcome::Fit(value) => Outcome::Fit(Box::new(value)),
            Outcome::Null => Outcome::Null,
            Outcome::Drift(value) => Outcome::Drift(value),
        })
    }
}

impl<T: Drifted> Drifted for Box<T> {
    const NESTED: bool = T::NESTED;
    fn drift_into(&self, at: &At<'_>, out: &mut Vec<Drift>) {
        (**self).drift_into(at, out);
    }
}

impl<T: Drifted> Drifted for Option<T> {
    const NESTED: bool = T::NESTED;
    fn drift_into(&self, at: &At<'_>, out: &mut Vec<Drift>) {
        if let Some(value) = self {
            value.drift_into(at, out);
        }
    }
}

/// An array: each item read leniently. When one does not fit, the whole array is kept as it
/// came (the items that fit, re-serialized exactly, beside the ones that did not), so that
/// nothing moves.
impl<T: Lenient + Serialize> Lenient for Vec<T> {
    const EXPECTED: &'static str = "an array";

    fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Outcome<Self>, D::Error> {
        struct Items<T>(PhantomData<T>);

        impl<'de, T: Lenient + Serialize> Handler<'de> for Items<T> {
            type Value = Vec<T>;

            fn array<A: SeqAccess<'de>>(self, mut items: A) -> Result<Outcome<Vec<T>>, A::Error> {
                let mut fit = Vec::with_capacity(items.size_hint().unwrap_or(0).min(4096));
                let mut kept: Option<Vec<Value>> = None;
                while let Some(item) = items.next_element_seed(Seed::<T>::new())? {
                    match (item, &mut kept) {
                        (Outcome::Fit(value), None) => fit.push(value),
                        (item, kept) => {
                            let kept = kept.get_or_insert_with(|| {
                                fit.drain(..)
                                    .filter_map(|value| serde_json::to_value(value).ok())
                                    .collect()
                            });
                            kept.push(as_json(item)?);
                        }
                    }
                }
                Ok(match kept {
                    Some(kept) => Outcome::Drift(Value::Array(kept)),
                    None => Outcome::Fit(fit),
                })
            }
        }

        read(deserializer, Items(PhantomData))
    }
}

/// A member of a list or map kept as JSON, once one of them did not fit: as it came, or (one
/// that fit) re-serialized exactly.
fn as_json<T: Serialize, E: de::Error>(member: Outcome<T>) -> Result<Value, E> {
    match member {
        Outcome::Fit(value) => serde_json::to_value(value).map_err(E::custom),
        Outcome::Null => Ok(Value::Null),
        Outcome::Drift(value) => Ok(value),
    }
}

impl<T: Drifted> Drifted for Vec<T> {
    const NESTED: bool = T::NESTED;
    fn drift_into(&self, at: &At<'_>, out: &mut Vec<Drift>) {
        if !T::NESTED {
            return;
        }
        for (index, item) in self.iter().enumerate() {
            item.drift_into(&At::Item(at, index), out);
        }
    }
}

/// A map of names to values (`additionalProperties` with a schema): each value read
/// leniently. When one does not fit, the whole map is kept as it came, as for a list.
impl<T: Lenient + Serialize> Lenient for BTreeMap<String, T> {
    const EXPECTED: &'static str = "an object";

    fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Outcome<Self>, D::Error> {
        struct Entries<T>(PhantomData<T>);

        impl<'de, T: Lenient + Serialize> Handler<'de> for Entries<T> {
            type Value = BTreeMap<String, T>;

            fn object<A: MapAccess<'de>>(
                self,
                mut fields: A,
            ) -> Result<Outcome<Self::Value>, A::Error> {
                let mut fit = BTreeMap::new();
                let mut kept: Option<Map<String, Value>> = None;
                while let Some(key) = fields.next_key::<Key<'de>>()? {
                    let key = key.into_string();
                    match (fields.next_value_seed(Seed::<T>::new())?, &mut kept) {
                        (Outcome::Fit(value), None) => {
                            fit.insert(key, value);
                        }
                        (value, kept) => {
                            let kept = kept.get_or_insert_with(|| {
                                std::mem::take(&mut fit)
                                    .into_iter()
                                    .filter_map(|(k, v)| Some((k, serde_json::to_value(v).ok()?)))
                                    .collect()
                            });
                            kept.insert(key, as_json(value)?);
                        }
                    }
                }
                Ok(match kept {
                    Some(kept) => Outcome::Drift(Value::Object(kept)),
                    None => Outcome::Fit(fit),
                })
            }
        }

        read(deserializer, Entries(PhantomData))
    }
}

impl<T: Drifted> Drifted for BTreeMap<String, T> {
    const NESTED: bool = T::NESTED;
    fn drift_into(&self, at: &At<'_>, out: &mut Vec<Drift>) {
        if !T::NESTED {
            return;
        }
        for (key, value) in self {
            value.drift_into(&At::Field(at, key), out);
        }
    }
}

/// Implements [`Lenient`] and [`Drifted`] for types whose JSON shape serde's derive decides
/// (an untagged `oneOf`, a newtype with rules): the value is buffered, and kept as drift when
/// the type refuses it. These types are rare and small; their insides are not searched for
/// drift.
macro_rules! lenient_via_value {
    ($($type:ty),+ $(,)?) => {$(
        impl $crate::lenient::Lenient for $type {
            const EXPECTED: &'static str = concat!("a ", stringify!($type));

            fn lenient<'de, D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<$crate::lenient::Outcome<Self>, D::Error> {
                $crate::lenient::via_value(deserializer)
            }
        }

        impl $crate::lenient::Drifted for $type {
            const NESTED: bool = false;
            fn drift_into(&self, _: &$crate::lenient::At<'_>, _: &mut ::std::vec::Vec<$crate::lenient::Drift>) {}
        }
    )+};
}

pub(crate) use lenient_via_value;

/// The body of `lenient_via_value!`: buffer as JSON, then let `T` decide.
pub(crate) fn via_value<'de, D, T>(deserializer: D) -> Result<Outcome<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    if value.is_null() {
        return Ok(Outcome::Null);
    }
    Ok(match T::deserialize(&value) {
        Ok(fit) => Outcome::Fit(fit),
        Err(_) => Outcome::Drift(value),
    })
}

/// A field whose JSON did not fit its type: where it is and what was expected. Its value is
/// in the `extra` map of the object that holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drift {
    /// Where the value is, as a JSON Pointer (`/customerProfile/ids`).
    pub pointer: String,
    /// What the spec expects there (`"an array"`).
    pub expected: &'static str,
    /// What came instead (`"an object"`).
    pub found: &'static str,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, found {}",
            self.pointer, self.expected, self.found
        )
    }
}

/// What kind of JSON `value` is, as a drift report says it.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value that may hold fields that drifted from the spec (see [`drift`]).
pub trait Drifted {
    /// Whether the type can hold drift at all (an object, or a list or box of them): `false`
    /// for leaves, so that looking for drift skips them.
    const NESTED: bool = true;

    /// Adds the drift in `self` to `out`, `at` being where `self` is.
    fn drift_into(&self, at: &At<'_>, out: &mut Vec<Drift>);
}

/// Every field of `value` (nested ones included) whose JSON did not fit the spec, in order.
///
/// ```
/// use partner_center_api::lenient::drift;
/// use partner_center_api::types::Referral;
///
/// let referral: Referral = serde_json::from_str(
///     r#"{"id": "r1", "customerProfile": {"name": "Fabrikam", "team": {}}, "status": 3}"#,
/// ).unwrap();
/// assert_eq!(referral.id.as_deref(), Some("r1"));
/// let found: Vec<String> = drift(&referral).iter().map(ToString::to_string).collect();
/// assert_eq!(found, ["/customerProfile/team: expected an array, found an object", "/status: expected a string, found a number"]);
/// // Nothing is lost: the drifted values are written back as they came.
/// assert_eq!(
///     serde_json::to_value(&referral).unwrap(),
///     serde_json::json!({"id": "r1", "customerProfile": {"name": "Fabrikam", "team": {}}, "status": 3}),
/// );
/// ```
pub fn drift<T: Drifted>(value: &T) -> Vec<Drift> {
    let mut out = Vec::new();
    value.drift_into(&At::Root, &mut out);
    out
}

/// Where a value is in the document, kept on the stack while drift is looked for, and written
/// as a JSON Pointer only when some is found: looking costs no allocation.
#[derive(Clone, Copy, Debug)]
pub enum At<'a> {
    /// The document itself.
    Root,
    /// A field of the object at the first place.
    Field(&'a At<'a>, &'a str),
    /// An item of the array at the first place.
    Item(&'a At<'a>, usize),
}

impl fmt::Display for At<'_> {
    /// The JSON Pointer (RFC 6901): `/team/0/email`, `~` and `/` in names escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Root => Ok(()),
            Self::Field(parent, name) => {
                write!(f, "{parent}/")?;
                for c in name.chars() {
                    match c {
                        '~' => f.write_str("~0")?,
                        '/' => f.write_str("~1")?,
                        c => fmt::Write::write_char(f, c)?,
                    }
                }
                Ok(())
            }
            Self::Item(parent, index) => write!(f, "{parent}/{index}"),
        }
    }
}

/// Records the drift of one known field `wire` whose value sits in `extra` (for
/// `lenient_object!`): `null` is drift only where the field does not take it.
pub(crate) fn field_drift(
    extra: &Map<String, Value>,
    wire: &'static str,
    expected: &'static str,
    takes_null: bool,
    at: &At<'_>,
    out: &mut Vec<Drift>,
) {
    let Some(value) = extra.get(wire) else {
        return;
    };
    if value.is_null() && takes_null {
        return;
    }
    // A list or map of the right kind drifted through one of its members (it is kept whole).
    let found = match kind(value) {
        "an array" if expected == "an array" => "an array with an item that does not fit",
        "an object" if expected == "an object" => "an object with a value that does not fit",
        found => found,
    };
    out.push(Drift {
        pointer: At::Field(at, wire).to_string(),
        expected,
        found,
    });
}

/// Decoding where drift is an error: for tests and conformance checks, which must see the
/// service (or the sandbox) keep to the spec.
pub mod strict {
    use super::{Drift, Drifted, drift};

    /// Why a strict decode failed.
    #[derive(Debug)]
    pub enum StrictError {
        /// The JSON is not valid, or does not even have the type's shape.
        Json(serde_json::Error),
        /// It decoded, but these fields drifted from the spec.
        Drift(Vec<Drift>),
    }

    impl std::fmt::Display for StrictError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Self::Json(e) => write!(f, "{e}"),
                Self::Drift(drift) => {
                    f.write_str("drift from the spec:")?;
                    for d in drift {
                        write!(f, " {d};")?;
                    }
                    Ok(())
                }
            }
        }
    }

    impl std::error::Error for StrictError {}

    /// `T` from JSON text, refusing any field that drifted.
    pub fn from_slice<T: serde::de::DeserializeOwned + Drifted>(
        json: &[u8],
    ) -> Result<T, StrictError> {
        let value: T = serde_json::from_slice(json).map_err(StrictError::Json)?;
        checked(value)
    }

    /// `value`, if nothing in it drifted.
    pub fn checked<T: Drifted>(value: T) -> Result<T, StrictError> {
        let found = drift(&value);
        if found.is_empty() {
            Ok(value)
        } else {
            Err(StrictError::Drift(found))
        }
    }
}

/// Writes `Deserialize`, `Serialize`, [`Lenient`] and [`Drifted`] for a generated object
/// with an `extra` map: `lenient_object!(Name { opt field: Type = "wire", req other: Type =
/// "wire2", ... })`. `opt` fields are `Option<Type>` (absent, `null` or drifted: `None`, the
/// `null` or the value kept in `extra`); `req` fields are required (missing, `null` or
/// drifted: an error, which is what tells the branches of a `oneOf` apart).
macro_rules! lenient_object {
    ($name:ident { $( $mode:ident $field:ident : $type:ty = $wire:literal ),* $(,)? }) => {
        $crate::lenient::lenient_object!(@decode $name { $( $mode $field: $type = $wire ),* });

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(None)?;
                $( $crate::lenient::lenient_object!(@serialize $mode self, map, $field, $wire); )*
                for (key, value) in &self.extra {
                    let known = match key.as_str() {
                        $( $wire => true, )*
                        _ => false,
                    };
                    if !known {
                        map.serialize_entry(key, value)?;
                    }
                }
                map.end()
            }
        }

        impl $crate::lenient::Drifted for $name {
            fn drift_into(
                &self,
                at: &$crate::lenient::At<'_>,
                out: &mut ::std::vec::Vec<$crate::lenient::Drift>,
            ) {
                // Drifted fields are in `extra`, which is almost always empty: then only the
                // nested objects are searched (the other fields compile to nothing). Else each
                // field in turn, so that drift is listed in order.
                if self.extra.is_empty() {
                    $( $crate::lenient::lenient_object!(@nested $mode self, at, out, $field, $type, $wire); )*
                } else {
                    $( $crate::lenient::lenient_object!(@drift $mode self, at, out, $field, $type, $wire); )*
                }
            }
        }
    };

    // Every field optional: read in place, into an empty object, which is then moved once (not
    // assembled from a local per field, nor handed up through each layer of the decoder).
    (@decode $name:ident { $( opt $field:ident: $type:ty = $wire:literal ),* }) => {
        impl $crate::lenient::InPlace for $name {
            fn empty() -> Self {
                $name { $( $field: None, )* extra: ::serde_json::Map::new() }
            }

            fn read_fields<'de, A: ::serde::de::MapAccess<'de>>(
                &mut self,
                mut fields: A,
            ) -> ::std::result::Result<(), A::Error> {
                while let Some(key) = fields.next_key::<$crate::lenient::Key<'de>>()? {
                    match key.as_str() {
                        $( $wire => $crate::lenient::field(&mut fields, &mut self.$field, &mut self.extra, $wire)?, )*
                        _ => $crate::lenient::unknown_field(&mut fields, key, &mut self.extra)?,
                    }
                }
                Ok(())
            }
        }

        impl $crate::lenient::Lenient for $name {
            const EXPECTED: &'static str = "an object";

            fn lenient<'de, D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<$crate::lenient::Outcome<Self>, D::Error> {
                $crate::lenient::lenient_in_place(deserializer)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                $crate::lenient::deserialize_in_place(deserializer)
            }
        }
    };
    // Some field required: locals, checked once the object is read.
    (@decode $name:ident { $( $mode:ident $field:ident: $type:ty = $wire:literal ),* }) => {
        impl $crate::lenient::Lenient for $name {
            const EXPECTED: &'static str = "an object";

            fn lenient<'de, D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<$crate::lenient::Outcome<Self>, D::Error> {
                struct Fields;

                impl<'de> $crate::lenient::Handler<'de> for Fields {
                    type Value = $name;

                    fn object<A: ::serde::de::MapAccess<'de>>(
                        self,
                        mut fields: A,
                    ) -> ::std::result::Result<$crate::lenient::Outcome<$name>, A::Error> {
                        let mut extra = ::serde_json::Map::new();
                        $( let mut $field: ::std::option::Option<$type> = None; )*
                        while let Some(key) = fields.next_key::<$crate::lenient::Key<'de>>()? {
                            match key.as_str() {
                                $( $wire => $crate::lenient::field(&mut fields, &mut $field, &mut extra, $wire)?, )*
                                _ => $crate::lenient::unknown_field(&mut fields, key, &mut extra)?,
                            }
                        }
                        $( let $field = $crate::lenient::lenient_object!(@take $mode $field, $wire, $type, extra, A); )*
                        Ok($crate::lenient::Outcome::Fit($name { $( $field, )* extra }))
                    }
                }

                $crate::lenient::read(deserializer, Fields)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                $crate::lenient::object(<Self as $crate::lenient::Lenient>::lenient(deserializer)?)
            }
        }
    };

    (@take opt $field:ident, $wire:literal, $type:ty, $extra:ident, $A:ident) => { $field };
    (@take req $field:ident, $wire:literal, $type:ty, $extra:ident, $A:ident) => {
        match $field {
            Some(value) => value,
            None => match $extra.get($wire) {
                Some(found) => {
                    return Err(<$A::Error as ::serde::de::Error>::custom(format_args!(
                        "required field `{}`: expected {}, found {}",
                        $wire,
                        <$type as $crate::lenient::Lenient>::EXPECTED,
                        $crate::lenient::kind(found)
                    )))
                }
                None => return Err(<$A::Error as ::serde::de::Error>::missing_field($wire)),
            },
        }
    };

    (@serialize opt $self:ident, $map:ident, $field:ident, $wire:literal) => {
        match &$self.$field {
            Some(value) => $map.serialize_entry($wire, value)?,
            // Absent, or kept in `extra` (an explicit null, a drifted value).
            None => {
                if let Some(kept) = $self.extra.get($wire) {
                    $map.serialize_entry($wire, kept)?;
                }
            }
        }
    };
    (@serialize req $self:ident, $map:ident, $field:ident, $wire:literal) => {
        $map.serialize_entry($wire, &$self.$field)?
    };

    (@drift opt $self:ident, $at:ident, $out:ident, $field:ident, $type:ty, $wire:literal) => {
        match &$self.$field {
            Some(value) => {
                if <$type as $crate::lenient::Drifted>::NESTED {
                    let at = $crate::lenient::At::Field($at, $wire);
                    $crate::lenient::Drifted::drift_into(value, &at, $out);
                }
            }
            None => $crate::lenient::field_drift(
                &$self.extra,
                $wire,
                <$type as $crate::lenient::Lenient>::EXPECTED,
                true,
                $at,
                $out,
            ),
        }
    };
    // A required field is never in `extra` (it would not have decoded).
    (@drift req $($rest:tt)*) => {
        $crate::lenient::lenient_object!(@nested req $($rest)*)
    };

    (@nested opt $self:ident, $at:ident, $out:ident, $field:ident, $type:ty, $wire:literal) => {
        if <$type as $crate::lenient::Drifted>::NESTED {
            if let Some(value) = &$self.$field {
                let at = $crate::lenient::At::Field($at, $wire);
                $crate::lenient::Drifted::drift_into(value, &at, $out);
            }
        }
    };
    (@nested req $self:ident, $at:ident, $out:ident, $field:ident, $type:ty, $wire:literal) => {
        if <$type as $crate::lenient::Drifted>::NESTED {
            let at = $crate::lenient::At::Field($at, $wire);
            $crate::lenient::Drifted::drift_into(&$self.$field, &at, $out);
        }
    };
}

pub(crate) use lenient_object;

/// Reads the value of the known field `wire` into `slot`, or into `extra` when it is `null`
/// or does not fit (for `lenient_object!`). A function per field type rather than code per
/// field, with the rare paths out of line, keeps each object's decoder small enough to stay in
/// the instruction cache: it must not be inlined into every arm.
#[inline(never)]
pub(crate) fn field<'de, A: MapAccess<'de>, T: Lenient>(
    fields: &mut A,
    slot: &mut Option<T>,
    extra: &mut Map<String, Value>,
    wire: &'static str,
) -> Result<(), A::Error> {
    let kept = match fields.next_value_seed(Seed::<T>::new())? {
        Outcome::Fit(value) => {
            if let Some(repeated) = slot.replace(value) {
                drop_repeated(repeated);
            }
            // A repeated key: the last one wins, as in serde. (Most objects have no `extra`.)
            if !extra.is_empty() {
                extra.remove(wire);
            }
            return Ok(());
        }
        Outcome::Null => Value::Null,
        Outcome::Drift(value) => value,
    };
    if let Some(repeated) = slot.take() {
        drop_repeated(repeated);
    }
    keep(extra, wire, kept);
    Ok(())
}

/// Drops the value of a key seen before, out of line: it is rare, and a drop can be long.
#[cold]
#[inline(never)]
fn drop_repeated<T>(value: T) {
    drop(value);
}

/// Keeps the value of a known field that is `null` or does not fit, out of line (rare).
#[cold]
#[inline(never)]
fn keep(extra: &mut Map<String, Value>, wire: &'static str, value: Value) {
    extra.insert(wire.to_owned(), value);
}

/// Keeps the value of a field the spec does not know in `extra` (for `lenient_object!`).
pub(crate) fn unknown_field<'de, A: MapAccess<'de>>(
    fields: &mut A,
    key: Key<'de>,
    extra: &mut Map<String, Value>,
) -> Result<(), A::Error> {
    let value: Value = fields.next_value()?;
    extra.insert(key.into_string(), value);
    Ok(())
}

/// An object whose fields are all optional, decoded in place (for `lenient_object!`): a
/// referral is over 2 KB, and each layer of the decoder (serde_json's `deserialize_any`, the
/// [`Shape`] visitor, [`Outcome`]) would otherwise move it once more.
pub(crate) trait InPlace: Sized {
    /// The object with no field set.
    fn empty() -> Self;

    /// Reads the JSON object `fields` into `self`.
    fn read_fields<'de, A: MapAccess<'de>>(&mut self, fields: A) -> Result<(), A::Error>;
}

/// The [`Handler`] of an [`InPlace`] object: it fills the object it borrows.
struct Filling<'v, T>(&'v mut T);

impl<'de, T: InPlace> Handler<'de> for Filling<'_, T> {
    type Value = ();

    fn object<A: MapAccess<'de>>(self, fields: A) -> Result<Outcome<()>, A::Error> {
        self.0.read_fields(fields).map(Outcome::Fit)
    }
}

/// [`Lenient::lenient`] of an [`InPlace`] object.
pub(crate) fn lenient_in_place<'de, D: Deserializer<'de>, T: InPlace>(
    deserializer: D,
) -> Result<Outcome<T>, D::Error> {
    let mut value = T::empty();
    Ok(match read(deserializer, Filling(&mut value))? {
        Outcome::Fit(()) => Outcome::Fit(value),
        Outcome::Null => Outcome::Null,
        Outcome::Drift(other) => Outcome::Drift(other),
    })
}

/// `Deserialize::deserialize` of an [`InPlace`] object.
pub(crate) fn deserialize_in_place<'de, D: Deserializer<'de>, T: InPlace>(
    deserializer: D,
) -> Result<T, D::Error> {
    let mut value = T::empty();
    object(read(deserializer, Filling(&mut value))?)?;
    Ok(value)
}

/// What an object's `Deserialize` returns: the object, or an error for JSON that is not one.
pub(crate) fn object<T, E: de::Error>(outcome: Outcome<T>) -> Result<T, E> {
    match outcome {
        Outcome::Fit(value) => Ok(value),
        Outcome::Null => Err(E::invalid_type(de::Unexpected::Unit, &"an object")),
        Outcome::Drift(value) => Err(E::custom(format_args!(
            "invalid type: {}, expected an object",
            kind(&value)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::types::{CustomerProfile, Referral};
    use crate::webhooks::types::WebhookRegistration;

    #[test]
    fn maps_and_defaulted_lists_are_lenient_and_lossless_too() {
        let sent = json!({
            "webhookEvents": [],
            "properties": {"region": "emea", "retries": 3},
        });
        let registration: WebhookRegistration = serde_json::from_value(sent.clone()).unwrap();
        // An empty list is not an absent one.
        assert_eq!(registration.webhook_events.as_deref(), Some(&[][..]));
        // One value of the string map is a number: the map is kept as it came.
        assert_eq!(registration.properties, None);
        let found: Vec<String> = drift(&registration)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            ["/properties: expected an object, found an object with a value that does not fit"]
        );
        assert_eq!(serde_json::to_value(&registration).unwrap(), sent);

        let fits: WebhookRegistration =
            serde_json::from_value(json!({"properties": {"region": "emea"}})).unwrap();
        assert_eq!(fits.properties.unwrap()["region"], "emea");
        assert_eq!(fits.webhook_events, None);
    }

    #[test]
    fn numbers_past_64_bits_decode_from_a_value_too() {
        let big = "123456789012345678901234567890";
        let text = format!(r#"{{"details": {{"dealValue": {big}}}, "count": {big}, "f": 1.10}}"#);
        let value: Value = serde_json::from_str(&text).unwrap();
        let from_value: Referral = serde_json::from_value(value.clone()).unwrap();
        let from_text: Referral = serde_json::from_str(&text).unwrap();
        assert_eq!(from_value, from_text);
        assert_eq!(
            serde_json::to_value(&from_value).unwrap(),
            value,
            "digit for digit"
        );
        assert!(drift(&from_value).is_empty());
    }

    #[test]
    fn a_number_where_an_object_belongs_is_drift_not_a_field() {
        // arbitrary_precision hands the number over as a one-key map; it must not become an
        // object with a strange field.
        let referral: Referral = serde_json::from_str(r#"{"customerProfile": 12.50}"#).unwrap();
        assert_eq!(referral.customer_profile, None);
        let sent: Value = serde_json::from_str("12.50").unwrap();
        assert_eq!(referral.extra["customerProfile"], sent);
        assert_eq!(
            drift(&referral),
            [Drift {
                pointer: "/customerProfile".into(),
                expected: "an object",
                found: "a number",
            }]
        );
    }

    #[test]
    fn escaped_and_repeated_keys_read_as_serde_reads_them() {
        let profile: CustomerProfile =
            serde_json::from_str(r#"{"n\u0061me": "first", "name": "second", "x": 1, "x": 2}"#)
                .unwrap();
        assert_eq!(profile.name.as_deref(), Some("second"));
        assert_eq!(profile.extra["x"], json!(2));

        // A fitting value after a drifted one wins, and the drift is gone.
        let profile: CustomerProfile =
            serde_json::from_str(r#"{"name": 5, "name": "Fabrikam"}"#).unwrap();
        assert_eq!(profile.name.as_deref(), Some("Fabrikam"));
        assert!(profile.extra.is_empty() && drift(&profile).is_empty());
    }

    #[test]
    fn a_nested_object_of_a_repeated_key_is_the_last_one() {
        // Two objects: the second replaces the first whole (no field of the first is left).
        let referral: Referral = serde_json::from_str(
            r#"{"customerProfile": {"name": "first", "size": "1"}, "customerProfile": {"name": "second"}}"#,
        )
        .unwrap();
        let profile = referral.customer_profile.as_ref().unwrap();
        assert_eq!(profile.name.as_deref(), Some("second"));
        assert_eq!(profile.size, None);
        assert!(referral.extra.is_empty());

        // An object, then a value that is none: the field is empty, the value kept as drift.
        let referral: Referral =
            serde_json::from_str(r#"{"customerProfile": {"name": "first"}, "customerProfile": 7}"#)
                .unwrap();
        assert_eq!(referral.customer_profile, None);
        assert_eq!(referral.extra["customerProfile"], json!(7));
        assert_eq!(drift(&referral).len(), 1);

        // A drifted value, then an object: the object, and no drift.
        let referral: Referral = serde_json::from_str(
            r#"{"customerProfile": [1], "customerProfile": {"name": "second"}}"#,
        )
        .unwrap();
        let name = referral.customer_profile.and_then(|profile| profile.name);
        assert_eq!(name.as_deref(), Some("second"));
        assert!(referral.extra.is_empty());
    }

    #[test]
    fn a_typed_value_set_later_wins_over_a_kept_null() {
        let mut profile: CustomerProfile = serde_json::from_str(r#"{"name": null}"#).unwrap();
        profile.name = Some("Fabrikam".into());
        assert_eq!(
            serde_json::to_value(&profile).unwrap(),
            json!({"name": "Fabrikam"}),
            "one name, not two"
        );
    }

    #[test]
    fn pointers_escape_slash_and_tilde() {
        let field = At::Field(&At::Root, "a/b~c");
        assert_eq!(At::Item(&field, 3).to_string(), "/a~1b~0c/3");
        assert_eq!(At::Root.to_string(), "");
    }
}
