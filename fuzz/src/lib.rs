//! What the fuzz targets share: how an input is read, and generators that turn libFuzzer's
//! bytes into JSON and text shaped like what Partner Center (or a hostile service) sends.
//!
//! An input whose first byte is printable ASCII or whitespace is used as it is (the committed
//! corpus is plain JSON and plain filters, and libFuzzer's mutations of it stay meaningful);
//! any other first byte makes the rest drive a structure-aware generator.

use arbitrary::Unstructured;

/// How a target reads one input.
pub enum Input<'a> {
    /// Bytes to feed as they are.
    Raw(&'a [u8]),
    /// Bytes that drive a [`Gen`].
    Structured(Gen<'a>),
}

/// Splits `data` into a raw input or a generator (see the crate docs).
pub fn input(data: &[u8]) -> Input<'_> {
    match data.split_first() {
        Some((first, rest)) if !(first.is_ascii_graphic() || first.is_ascii_whitespace()) => {
            Input::Structured(Gen::new(rest))
        }
        _ => Input::Raw(data),
    }
}

/// The most characters one generated input may hold: generated text may be much longer than
/// the bytes that drive it, and memory must stay bounded whatever they are.
const BUDGET: usize = 256 * 1024;
/// How deeply generated values nest (past serde_json's limit of 128, to reach it).
const MAX_DEPTH: usize = 160;

/// A JSON document as a tree that may hold what `serde_json::Value` cannot: duplicate keys,
/// number text of any length, and verbatim (possibly invalid) fragments.
pub enum Json {
    Null,
    Bool(bool),
    /// Written as it is: `1`, `-0`, `1E5`, 400 digits, or something that is not a number.
    Number(String),
    String(String),
    /// Written between quotes as it is: escapes such as `\u0041`, a lone surrogate `\ud800`.
    RawString(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
    /// `[[[ ... ]]]`, `depth` deep: nesting past any limit at the price of a few bytes.
    Nested(usize),
}

impl Json {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Json::Null => out.extend_from_slice(b"null"),
            Json::Bool(flag) => out.extend_from_slice(if *flag { b"true" } else { b"false" }),
            Json::Number(text) => out.extend_from_slice(text.as_bytes()),
            Json::String(text) => write_string(text, out),
            Json::RawString(text) => {
                out.push(b'"');
                out.extend_from_slice(text.as_bytes());
                out.push(b'"');
            }
            Json::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write(out);
                }
                out.push(b']');
            }
            Json::Object(fields) => {
                out.push(b'{');
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_string(name, out);
                    out.push(b':');
                    value.write(out);
                }
                out.push(b'}');
            }
            Json::Nested(depth) => {
                out.extend(std::iter::repeat_n(b'[', *depth));
                out.extend(std::iter::repeat_n(b']', *depth));
            }
        }
    }
}

fn write_string(text: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(out, text).expect("a string always serializes");
}

/// What a field holds, as the spec describes it: the generator writes mostly that, and
/// sometimes `null`, the wrong type or anything at all.
#[derive(Clone, Copy)]
pub enum Shape {
    Text,
    DateTime,
    Flag,
    /// A decimal (`Amount`): a number of any length, or a string.
    Decimal,
    /// A whole number (`Integer`).
    Whole,
    Enum(&'static [&'static str]),
    Object(&'static [(&'static str, Shape)]),
    List(&'static Shape),
    /// An object whose keys are data (`statusHistory`).
    Map(&'static Shape),
    Any,
}

/// Words the text generator mixes in: the spec's names and values, and what masking and
/// escaping look for.
const WORDS: &[&str] = &[
    "New",
    "Active",
    "Closed",
    "Pending",
    "Accepted",
    "Won",
    "Lost",
    "Declined",
    "Expired",
    "Incoming",
    "Outgoing",
    "Independent",
    "Shared",
    "None",
    "itemNotFound",
    "invalidRequest",
    "unauthenticated",
    "generalException",
    "Bearer ",
    "bearer\t",
    "BEARER  ",
    "Bearer realm=\"x\", error=\"invalid_token\"",
    "Authorization: ",
    "token=",
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9",
    "$serde_json::private::Number",
    "$serde_json::private::RawValue",
    "<html><body>",
    "</body></html>",
    "c5fbb3b6-be74-4795-9fb5-4324c73fed37",
    "\"2500ec5a-0000-0000-0000-5bf4967d0000\"",
];

/// Characters and sequences a terminal, a reader or a parser treats specially.
const SPECIALS: &[&str] = &[
    "\n",
    "\r\n",
    "\t",
    "\u{0}",
    "\u{7}",
    "\u{1b}[2J",
    "\u{1b}]0;title\u{7}",
    "\u{7f}",
    "\u{9b}31m",
    "\u{2028}",
    "\u{2029}",
    "\u{202e}",
    "\u{2066}",
    "\u{200f}",
    "\u{feff}",
    "\"",
    "\\",
    "'",
    "''",
    "/",
    "=",
    " ",
    "\u{e9}",
    "\u{65e5}\u{672c}",
    "\u{1f600}",
];

/// Date-times as the service writes them, and near misses.
const DATE_TIMES: &[&str] = &[
    "2020-10-30T21:03:00.0000000Z",
    "2020-12-01T00:00:00Z",
    "2025-05-20T10:30:00.5+02:00",
    "2020-10-30T21:03:00",
    "2020-10-30T21:03:00.123456789012Z",
    "2020-02-30T00:00:00Z",
    "2020-13-01T00:00:00Z",
    "9999-12-31T23:59:60Z",
    "0000-01-01T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "2020-10-30",
    "",
];

/// Numbers and near misses (serde_json refuses the last ones).
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "10000",
    "2500.50",
    "1.10",
    "1E5",
    "1e-7",
    "-1.5e+300",
    "1e999",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "123456789012345678901234567890",
    "0.000000000000000000000000000001",
    "01",
    "1.",
    ".5",
    "+1",
    "NaN",
    "Infinity",
    "-",
];

/// Turns libFuzzer's bytes into values, with a budget that bounds what one input makes.
pub struct Gen<'a> {
    u: Unstructured<'a>,
    budget: usize,
    /// A secret the text generator mixes in whole, for the masking properties.
    pub token: Option<String>,
    /// In 16ths, how often [`Gen::value`] writes something else than the field's shape.
    pub noise: usize,
}

impl<'a> Gen<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self {
            u: Unstructured::new(data),
            budget: BUDGET,
            token: None,
            noise: 4,
        }
    }

    /// A number in `range`; the low end once the bytes run out.
    pub fn int(&mut self, range: std::ops::RangeInclusive<usize>) -> usize {
        self.u.int_in_range(range.clone()).unwrap_or(*range.start())
    }

    pub fn flag(&mut self) -> bool {
        self.u.arbitrary().unwrap_or(false)
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.int(0..=items.len() - 1)]
    }

    /// Whether `chars` more characters fit in the budget (taking them if so).
    fn spend(&mut self, chars: usize) -> bool {
        match self.budget.checked_sub(chars) {
            Some(left) => {
                self.budget = left;
                true
            }
            None => false,
        }
    }

    /// Bytes that need not be UTF-8 (an arbitrary body, say).
    pub fn bytes(&mut self) -> Vec<u8> {
        let len = self.int(0..=4096);
        let bytes = self.u.bytes(len).unwrap_or_default().to_vec();
        if self.spend(bytes.len()) {
            bytes
        } else {
            Vec::new()
        }
    }

    /// Text in pieces: arbitrary characters, the spec's words, control characters and escape
    /// sequences, `Bearer` values, the token, long runs.
    pub fn text(&mut self) -> String {
        let mut text = String::new();
        for _ in 0..self.int(0..=8) {
            let piece = match self.int(0..=9) {
                0..=2 => self.u.arbitrary::<&str>().unwrap_or_default().to_owned(),
                3 | 4 => self.pick(WORDS).to_owned(),
                5 | 6 => self.pick(SPECIALS).to_owned(),
                7 => {
                    let c = self.u.arbitrary::<char>().unwrap_or('x');
                    // Half the runs end near where errors cut service text (512 characters).
                    let times = if self.flag() {
                        self.int(1..=4096)
                    } else {
                        self.int(440..=530)
                    };
                    if !self.spend(times) {
                        continue;
                    }
                    std::iter::repeat_n(c, times).collect()
                }
                8 => match self.token.clone() {
                    Some(token) if self.flag() => token,
                    Some(token) => format!("Bearer {token}"),
                    None => "Bearer abc.def-ghi".to_owned(),
                },
                _ => {
                    let word = self.u.arbitrary::<&str>().unwrap_or_default();
                    format!("Bearer {word}")
                }
            };
            if !self.spend(piece.chars().count()) {
                break;
            }
            text.push_str(&piece);
        }
        text
    }

    /// A name the filter grammar accepts, or near it.
    pub fn name(&mut self, known: &[&str]) -> String {
        if self.int(0..=7) > 0 {
            return self.pick(known).to_owned();
        }
        let name: String = self
            .u
            .arbitrary::<&str>()
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        if name.is_empty() { "x".into() } else { name }
    }

    pub fn number(&mut self) -> String {
        match self.int(0..=3) {
            0 => {
                let digits = self.int(1..=600);
                if !self.spend(digits) {
                    return "1".into();
                }
                let mut text: String = (0..digits)
                    .map(|i| char::from(b'0' + (i % 10) as u8))
                    .collect();
                if self.flag() {
                    text.insert(0, '-');
                }
                if self.flag() {
                    text.push_str(".5e-3");
                }
                text
            }
            1 => self.u.arbitrary::<i64>().unwrap_or(0).to_string(),
            2 => self.u.arbitrary::<f64>().unwrap_or(0.0).to_string(),
            _ => self.pick(NUMBERS).to_owned(),
        }
    }

    pub fn date_time(&mut self) -> String {
        if self.int(0..=3) > 0 {
            self.pick(DATE_TIMES).to_owned()
        } else {
            self.text()
        }
    }

    /// A value of `shape` `depth` levels down: mostly of that shape, sometimes (see
    /// [`Gen::noise`]) `null` or anything, often of the wrong type.
    pub fn value(&mut self, shape: Shape, depth: usize) -> Json {
        // Bytes that run out read as 0: the shape.
        match self.int(0..=15) {
            roll if roll + self.noise < 16 => self.shaped(shape, depth),
            15 => Json::Null,
            _ => self.any(depth),
        }
    }

    fn shaped(&mut self, shape: Shape, depth: usize) -> Json {
        match shape {
            Shape::Text => Json::String(self.text()),
            Shape::DateTime => Json::String(self.date_time()),
            Shape::Flag => Json::Bool(self.flag()),
            Shape::Decimal if self.flag() => Json::String(self.number()),
            Shape::Decimal | Shape::Whole => Json::Number(self.number()),
            Shape::Enum(values) if self.int(0..=3) > 0 => Json::String(self.pick(values).into()),
            Shape::Enum(_) => Json::String(self.text()),
            Shape::Object(fields) => self.object(fields, depth),
            Shape::List(item) => Json::Array(self.items(depth, |g, d| g.value(*item, d))),
            Shape::Map(value) => Json::Object(self.entries(depth, |g, d| g.value(*value, d))),
            Shape::Any => self.any(depth),
        }
    }

    /// An object with `fields` (the known ones, with their shapes) and unknown ones, in any
    /// order, and with noise any of them twice (which serde refuses for a known field).
    pub fn object(&mut self, fields: &[(&'static str, Shape)], depth: usize) -> Json {
        if depth >= MAX_DEPTH {
            return Json::Object(Vec::new());
        }
        let mut entries = Vec::new();
        for _ in 0..self.int(0..=fields.len() + 3) {
            if self.int(0..=4) > 0 {
                let (name, shape) = self.pick(fields);
                if self.noise == 0 && entries.iter().any(|(known, _)| known == name) {
                    continue;
                }
                let value = self.value(shape, depth + 1);
                entries.push((name.to_owned(), value));
            } else {
                let name = self.text();
                let value = self.any(depth + 1);
                entries.push((name, value));
            }
        }
        Json::Object(entries)
    }

    fn items(&mut self, depth: usize, mut item: impl FnMut(&mut Self, usize) -> Json) -> Vec<Json> {
        if depth >= MAX_DEPTH {
            return Vec::new();
        }
        (0..self.int(0..=6))
            .map(|_| item(self, depth + 1))
            .collect()
    }

    fn entries(
        &mut self,
        depth: usize,
        mut value: impl FnMut(&mut Self, usize) -> Json,
    ) -> Vec<(String, Json)> {
        if depth >= MAX_DEPTH {
            return Vec::new();
        }
        (0..self.int(0..=6))
            .map(|_| (self.text(), value(self, depth + 1)))
            .collect()
    }

    /// Any JSON value at all.
    pub fn any(&mut self, depth: usize) -> Json {
        let deepest = depth >= MAX_DEPTH;
        match self.int(0..=10) {
            0 => Json::Null,
            1 => Json::Bool(self.flag()),
            2 => Json::Number(self.number()),
            3 | 4 => Json::String(self.text()),
            5 => Json::RawString(
                self.pick(&[
                    "\\u0041\\u00e9\\ud83d\\ude00",
                    "\\ud800",
                    "\\udc00\\ud800",
                    "\\u0000\\u001b[2J",
                    "\\/\\b\\f\\n\\r\\t",
                    "\\x41",
                    "\\u12",
                ])
                .to_owned(),
            ),
            6 if !deepest => {
                let depth = self.int(1..=300);
                Json::Nested(depth)
            }
            7 | 8 if !deepest => Json::Array(self.items(depth, Self::any)),
            9 | 10 if !deepest => Json::Object(self.entries(depth, Self::any)),
            _ => Json::Null,
        }
    }

    /// `bytes` as they are, or cut short at a point the bytes choose (a body cut off).
    pub fn maybe_cut(&mut self, mut bytes: Vec<u8>) -> Vec<u8> {
        if self.int(0..=7) == 7 {
            let keep = self.int(0..=bytes.len());
            bytes.truncate(keep);
        }
        bytes
    }
}
