//! The sandbox's OData `$filter`: parsed, and evaluated on referrals when it parses.
//! Inputs come from the filter grammar (comparisons, `and`/`or`/`not`, parentheses, `any`/`all`
//! lambdas, strings with doubled quotes, date-times, field paths), nested past the parser's
//! depth limit, or are any text. Properties: no panic and no stack overflow whatever the
//! nesting, bounded time (libFuzzer's `-timeout`), every refusal says where; and a string
//! literal with its quotes doubled matches exactly that string.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use partner_center_fuzz::{Gen, Input, input};
use partner_center_sandbox::fuzzing::filter;
use serde_json::{Value, json};

/// The referrals filters are evaluated on: the official example, and one with arrays (for
/// lambdas), nulls and nested lists.
static REFERRALS: LazyLock<[Value; 2]> = LazyLock::new(|| {
    [
        serde_json::from_str(partner_center_api::spec::OFFICIAL_EXAMPLE)
            .expect("the official example is JSON"),
        json!({
            "id": "r-1",
            "name": "O'Brien's deal",
            "status": "New",
            "isSpam": false,
            "closedDateTime": null,
            "updatedDateTime": "2025-05-20T08:30:00.5000000Z",
            "team": [{"email": "adele.vance@contoso.example"}, {"email": null}, 5],
            "tags": ["priority", ""],
            "a": [{"b": [{"c": "1"}], "d": "2"}, []],
        }),
    ]
});

const FIELDS: &[&str] = &[
    "status",
    "substatus",
    "direction",
    "id",
    "name",
    "engagementId",
    "isSpam",
    "customerProfile",
    "address",
    "country",
    "team",
    "email",
    "tags",
    "details",
    "dealValue",
    "createdDateTime",
    "updatedDateTime",
    "closedDateTime",
    "a",
    "b",
    "c",
    "d",
    "any",
    "all",
    "t",
    "x",
];
const OPERATORS: &[&str] = &["eq", "ne", "gt", "ge", "lt", "le"];
const WRONG: &[&str] = &[
    "", "(", ")", "/", ":", "'", ",", "$", "eq", "and", "or", "not", "null", "EQ", "equals",
    "\u{e9}", "0", "-", "*",
];
const SPACES: &[&str] = &[" ", " ", " ", "", "  ", "\t", "\n", "\u{a0}", "\u{3000}"];
/// Past the parser's depth limit (32), by far.
const MAX_DEPTH: usize = 48;

/// Writes a filter expression the grammar (mostly) allows.
struct Writer<'g, 'a> {
    g: &'g mut Gen<'a>,
    out: String,
    /// Lambda variables in scope.
    variables: Vec<String>,
}

impl Writer<'_, '_> {
    fn space(&mut self) {
        let space = self.g.pick(SPACES);
        self.out.push_str(space);
    }

    fn expr(&mut self, depth: usize) {
        if depth >= MAX_DEPTH {
            return self.compare();
        }
        match self.g.int(0..=12) {
            0..=3 => self.compare(),
            4 | 5 => {
                let word = if self.g.flag() { "and" } else { "or" };
                for i in 0..self.g.int(2..=6) {
                    if i > 0 {
                        self.space();
                        self.out.push_str(word);
                        self.space();
                    }
                    self.expr(depth + 1);
                }
            }
            6 => {
                self.out.push_str("not");
                self.space();
                self.expr(depth + 1);
            }
            7 => {
                self.out.push('(');
                self.expr(depth + 1);
                self.out.push(')');
            }
            8 => self.lambda(depth),
            9 => {
                // Deep nesting at a few bytes' cost: the depth guard must refuse it.
                let times = self.g.int(1..=5000);
                let (open, close) = match self.g.int(0..=2) {
                    0 => ("(", ")"),
                    1 => ("not ", ""),
                    _ => ("a/any(v:v/", ")"),
                };
                self.out.push_str(&open.repeat(times));
                self.compare();
                self.out.push_str(&close.repeat(times));
            }
            10 => {
                let wrong = self.g.pick(WRONG);
                self.out.push_str(wrong);
            }
            _ => {
                self.compare();
                self.space();
                let wrong = self.g.pick(WRONG);
                self.out.push_str(wrong);
            }
        }
    }

    fn lambda(&mut self, depth: usize) {
        self.path();
        self.out
            .push_str(if self.g.flag() { "/any(" } else { "/all(" });
        let variable = self.g.name(&["t", "m", "x", "v", "status"]);
        self.out.push_str(&variable);
        self.out.push(':');
        self.space();
        self.variables.push(variable);
        self.expr(depth + 1);
        self.variables.pop();
        self.out.push(')');
    }

    fn path(&mut self) {
        if !self.variables.is_empty() && self.g.flag() {
            let variable = self.variables[self.g.int(0..=self.variables.len() - 1)].clone();
            self.out.push_str(&variable);
            self.out.push('/');
        }
        for i in 0..self.g.int(1..=4) {
            if i > 0 {
                self.out.push('/');
            }
            let name = self.g.name(FIELDS);
            self.out.push_str(&name);
        }
    }

    fn compare(&mut self) {
        self.path();
        self.space();
        let operator = if self.g.int(0..=9) > 0 {
            self.g.pick(OPERATORS)
        } else {
            self.g.pick(WRONG)
        };
        self.out.push_str(operator);
        self.space();
        match self.g.int(0..=6) {
            0..=2 => {
                let text = self.g.text();
                self.out.push('\'');
                self.out.push_str(&text.replace('\'', "''"));
                self.out.push('\'');
            }
            3 => {
                let at = self.g.date_time();
                self.out.push_str(&at);
            }
            4 => {
                let word = self.g.pick(&["true", "false", "null"]);
                self.out.push_str(word);
            }
            5 => {
                let number = self.g.number();
                self.out.push_str(&number);
            }
            _ => {
                // A string never closed.
                self.out.push('\'');
                let text = self.g.text();
                self.out.push_str(&text);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match input(data) {
        Input::Raw(raw) => check(&String::from_utf8_lossy(raw)),
        Input::Structured(mut g) => {
            let mut writer = Writer {
                g: &mut g,
                out: String::new(),
                variables: Vec::new(),
            };
            writer.expr(0);
            let text = writer.out;
            check(&text);

            let value = g.text();
            let literal = format!("name eq '{}'", value.replace('\'', "''"));
            assert_eq!(
                filter(&literal, &json!({ "name": value })),
                Ok(true),
                "{literal:?}"
            );
        }
    }
});

fn check(text: &str) {
    for referral in REFERRALS.iter() {
        if let Err(refusal) = filter(text, referral) {
            assert!(
                refusal.starts_with("invalid $filter at character "),
                "{refusal}"
            );
            // Refused once, refused on every referral: parsing does not look at them.
            return;
        }
    }
}
