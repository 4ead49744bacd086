//! `$filter`: the subset of OData the sandbox understands (its grammar is in the crate's
//! documentation), parsed by recursive descent and evaluated on a referral's JSON.
//!
//! A field whose name ends in `DateTime` holds a date-time: it is compared with a date-time
//! literal, by instant, and is the only kind `gt`/`ge`/`lt`/`le` apply to. Other fields are
//! compared with strings (or booleans, or `null`), exactly. A missing field is `null`.
//! `team/any(t:t/email eq 'a@b.com')` holds when some member of `team` matches; `all` when
//! every one does.

use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// How deeply parentheses, `not` and lambdas may nest: deeper is refused rather than risking
/// the server's stack.
const MAX_DEPTH: usize = 32;

/// A parsed `$filter`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Filter(Expr);

/// Why a `$filter` was refused: said for the user, with the position (1-based, in characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FilterError(String);

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Filter {
    /// Parses `text`.
    pub(crate) fn parse(text: &str) -> Result<Self, FilterError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            tokens,
            next: 0,
            variables: Vec::new(),
            depth: 0,
        };
        let expr = parser.or()?;
        match parser.peek() {
            (Token::End, _) => Ok(Self(expr)),
            (token, at) => Err(error(
                at,
                format!("expected `and`, `or` or the end, found {token}"),
            )),
        }
    }

    /// Whether `referral` (its JSON) matches.
    pub(crate) fn matches(&self, referral: &Value) -> bool {
        self.0.eval(&mut vec![referral])
    }

    /// The top-level fields of a referral the filter reads (those its paths start from): a
    /// referral with these alone matches as it does whole.
    pub(crate) fn fields(&self) -> Vec<&str> {
        let mut fields = Vec::new();
        self.0.fields(&mut fields);
        fields
    }

    /// Whether the filter reads nothing but top-level date-time fields that `known` says a
    /// store has at hand, each compared with a date-time: then [`Filter::matches_dates`]
    /// evaluates it without the referral's JSON.
    pub(crate) fn reads_only_dates(&self, known: &dyn Fn(&str) -> bool) -> bool {
        self.0.reads_only_dates(known)
    }

    /// Whether a referral whose top-level date-time field `name` holds the instant
    /// `date(name)` (`None`: missing, or not a date-time) matches, as [`Filter::matches`]
    /// would decide on its JSON. Only for a filter that [`Filter::reads_only_dates`].
    pub(crate) fn matches_dates(&self, date: &dyn Fn(&str) -> Option<DateTime<Utc>>) -> bool {
        self.0.eval_dates(date)
    }
}

/// The instant a JSON date-time string stands for, if it is one.
pub(crate) fn instant(value: &Value) -> Option<DateTime<Utc>> {
    value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|t| t.to_utc())
}

/// Whether `name` is a field name as the filter and `$orderby` accept it.
pub(crate) fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether the field `path` holds a date-time (by the spec's naming: `...DateTime`).
pub(crate) fn is_date_field(path: &[String]) -> bool {
    path.last().is_some_and(|name| name.ends_with("DateTime"))
}

/// The value at `path` (object fields) under `root`, if there is one.
pub(crate) fn lookup<'v>(root: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(root, |value, name| value.get(name))
}

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    /// Every one holds (n-ary, so that a long chain does not nest).
    And(Vec<Expr>),
    /// One holds.
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Compare {
        path: Path,
        op: Op,
        literal: Literal,
    },
    Lambda {
        path: Path,
        every: bool,
        body: Box<Expr>,
    },
}

/// A field: `fields` under the referral (`scope` 0) or under the lambda variable `scope`.
#[derive(Clone, Debug, PartialEq)]
struct Path {
    scope: usize,
    fields: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Debug, PartialEq)]
enum Literal {
    String(String),
    DateTime(DateTime<Utc>),
    Bool(bool),
    Null,
}

impl Expr {
    /// `env[0]` is the referral, `env[n]` the element the n-th enclosing lambda is at.
    fn eval<'v>(&self, env: &mut Vec<&'v Value>) -> bool {
        match self {
            Expr::And(terms) => terms.iter().all(|t| t.eval(env)),
            Expr::Or(terms) => terms.iter().any(|t| t.eval(env)),
            Expr::Not(term) => !term.eval(env),
            Expr::Compare { path, op, literal } => {
                compare(path.resolve(env).filter(|v| !v.is_null()), *op, literal)
            }
            Expr::Lambda { path, every, body } => {
                let items = match path.resolve(env) {
                    Some(Value::Array(items)) => items,
                    _ => return *every,
                };
                let mut holds = |item: &'v Value| {
                    env.push(item);
                    let result = body.eval(env);
                    env.pop();
                    result
                };
                if *every {
                    items.iter().all(&mut holds)
                } else {
                    items.iter().any(&mut holds)
                }
            }
        }
    }

    /// See [`Filter::fields`].
    fn fields<'e>(&'e self, fields: &mut Vec<&'e str>) {
        match self {
            Expr::And(terms) | Expr::Or(terms) => terms.iter().for_each(|t| t.fields(fields)),
            Expr::Not(term) => term.fields(fields),
            Expr::Compare { path, .. } => path.add_root_field(fields),
            Expr::Lambda { path, body, .. } => {
                path.add_root_field(fields);
                body.fields(fields);
            }
        }
    }

    /// See [`Filter::reads_only_dates`].
    fn reads_only_dates(&self, known: &dyn Fn(&str) -> bool) -> bool {
        match self {
            Expr::And(terms) | Expr::Or(terms) => terms.iter().all(|t| t.reads_only_dates(known)),
            Expr::Not(term) => term.reads_only_dates(known),
            Expr::Compare {
                path,
                literal: Literal::DateTime(_),
                ..
            } => path.scope == 0 && matches!(path.fields.as_slice(), [name] if known(name)),
            // The rest needs the JSON: `eq null` tells a missing date from text that is not
            // one, a lambda reads arrays.
            Expr::Compare { .. } | Expr::Lambda { .. } => false,
        }
    }

    /// [`Expr::eval`] of an expression that [`Expr::reads_only_dates`].
    fn eval_dates(&self, date: &dyn Fn(&str) -> Option<DateTime<Utc>>) -> bool {
        match self {
            Expr::And(terms) => terms.iter().all(|t| t.eval_dates(date)),
            Expr::Or(terms) => terms.iter().any(|t| t.eval_dates(date)),
            Expr::Not(term) => !term.eval_dates(date),
            Expr::Compare {
                path,
                op,
                literal: Literal::DateTime(at),
            } => compare_instant(path.fields.first().and_then(|name| date(name)), *op, at),
            Expr::Compare { .. } | Expr::Lambda { .. } => false,
        }
    }
}

impl Path {
    /// Adds the top-level field the path starts from, if it starts from the referral (a path
    /// in a lambda starts from its variable, under the lambda's own path).
    fn add_root_field<'e>(&'e self, fields: &mut Vec<&'e str>) {
        if let (0, Some(name)) = (self.scope, self.fields.first())
            && !fields.contains(&name.as_str())
        {
            fields.push(name);
        }
    }

    fn resolve<'v>(&self, env: &[&'v Value]) -> Option<&'v Value> {
        lookup(env.get(self.scope)?, &self.fields)
    }
}

/// `value op literal`, with a missing (or `null`) value as `None`.
fn compare(value: Option<&Value>, op: Op, literal: &Literal) -> bool {
    let equal = match literal {
        Literal::Null => value.is_none(),
        Literal::String(text) => value.and_then(Value::as_str) == Some(text.as_str()),
        Literal::Bool(flag) => value.and_then(Value::as_bool) == Some(*flag),
        Literal::DateTime(at) => return compare_instant(value.and_then(instant), op, at),
    };
    // The parser allows only eq/ne with non-date literals.
    equal == (op == Op::Eq)
}

/// `instant op at`, with a missing (or not date-time) value as `None`.
fn compare_instant(instant: Option<DateTime<Utc>>, op: Op, at: &DateTime<Utc>) -> bool {
    let Some(instant) = instant else {
        // Ordering a missing date is false; it is only ever "not equal".
        return op == Op::Ne;
    };
    match op {
        Op::Eq => instant == *at,
        Op::Ne => instant != *at,
        Op::Gt => instant > *at,
        Op::Ge => instant >= *at,
        Op::Lt => instant < *at,
        Op::Le => instant <= *at,
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    String(String),
    DateTime(DateTime<Utc>),
    Open,
    Close,
    Slash,
    Colon,
    End,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(word) => write!(f, "`{word}`"),
            Token::String(text) => write!(f, "the string '{}'", text.replace('\'', "''")),
            Token::DateTime(at) => write!(f, "the date-time {}", at.to_rfc3339()),
            Token::Open => f.write_str("`(`"),
            Token::Close => f.write_str("`)`"),
            Token::Slash => f.write_str("`/`"),
            Token::Colon => f.write_str("`:`"),
            Token::End => f.write_str("the end"),
        }
    }
}

fn error(at: usize, message: String) -> FilterError {
    FilterError(format!("invalid $filter at character {at}: {message}"))
}

/// The tokens of `text`, each with its 1-based character position.
fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let at = i + 1;
        let token = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => Token::Open,
            ')' => Token::Close,
            '/' => Token::Slash,
            ':' => Token::Colon,
            '\'' => {
                let mut value = String::new();
                i += 1;
                loop {
                    match (chars.get(i), chars.get(i + 1)) {
                        (Some('\''), Some('\'')) => {
                            value.push('\'');
                            i += 2;
                        }
                        (Some('\''), _) => break,
                        (Some(&c), _) => {
                            value.push(c);
                            i += 1;
                        }
                        (None, _) => {
                            return Err(error(at, "the string is not closed with `'`".into()));
                        }
                    }
                }
                Token::String(value)
            }
            c if c.is_ascii_digit() => {
                let end = (i..chars.len())
                    .find(|&j| !(chars[j].is_ascii_alphanumeric() || ":.+-".contains(chars[j])))
                    .unwrap_or(chars.len());
                let literal: String = chars[i..end].iter().collect();
                let instant = DateTime::parse_from_rfc3339(&literal).map_err(|_| {
                    error(
                        at,
                        format!(
                            "`{literal}` is not a date-time; write one like 2020-10-30T21:03:00Z \
                             (numbers are not supported)"
                        ),
                    )
                })?;
                tokens.push((Token::DateTime(instant.to_utc()), at));
                i = end;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let end = (i..chars.len())
                    .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '_'))
                    .unwrap_or(chars.len());
                tokens.push((Token::Word(chars[i..end].iter().collect()), at));
                i = end;
                continue;
            }
            other => return Err(error(at, format!("unexpected character `{other}`"))),
        };
        tokens.push((token, at));
        i += 1;
    }
    tokens.push((Token::End, chars.len() + 1));
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    next: usize,
    /// The lambda variables in scope, outermost first.
    variables: Vec<String>,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> (&Token, usize) {
        self.tokens
            .get(self.next)
            .or(self.tokens.last())
            .map_or((&Token::End, 0), |(token, at)| (token, *at))
    }

    fn advance(&mut self) -> (Token, usize) {
        let (token, at) = self.peek();
        let taken = (token.clone(), at);
        self.next = (self.next + 1).min(self.tokens.len());
        taken
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek().0, Token::Word(w) if w == word)
    }

    fn expect(&mut self, expected: &Token, what: &str) -> Result<(), FilterError> {
        match self.advance() {
            (token, _) if token == *expected => Ok(()),
            (token, at) => Err(error(at, format!("expected {what}, found {token}"))),
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut terms = vec![self.and()?];
        while self.is_word("or") {
            self.advance();
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut terms = vec![self.unary()?];
        while self.is_word("and") {
            self.advance();
            terms.push(self.unary()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::And(terms)
        })
    }

    /// Runs `inner` one nesting level deeper, refusing to go past [`MAX_DEPTH`].
    fn nested<T>(
        &mut self,
        at: usize,
        inner: impl FnOnce(&mut Self) -> Result<T, FilterError>,
    ) -> Result<T, FilterError> {
        if self.depth >= MAX_DEPTH {
            return Err(error(
                at,
                format!("nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        self.depth += 1;
        let result = inner(self);
        self.depth -= 1;
        result
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        let at = self.peek().1;
        if self.is_word("not") {
            self.advance();
            return self.nested(at, |p| Ok(Expr::Not(Box::new(p.unary()?))));
        }
        if *self.peek().0 == Token::Open {
            self.advance();
            return self.nested(at, |p| {
                let inner = p.or()?;
                p.expect(&Token::Close, "`)`")?;
                Ok(inner)
            });
        }
        self.path_expression()
    }

    fn path_expression(&mut self) -> Result<Expr, FilterError> {
        let mut fields = vec![self.name("a field")?];
        // A path starting with a lambda variable is relative to the element it stands for.
        let scope = self
            .variables
            .iter()
            .rposition(|v| *v == fields[0])
            .map_or(0, |i| {
                fields.clear();
                i + 1
            });
        while *self.peek().0 == Token::Slash {
            self.advance();
            let (name, at) = (self.name("a field")?, self.peek().1);
            if (name == "any" || name == "all") && *self.peek().0 == Token::Open {
                let path = Path { scope, fields };
                return self.lambda(path, name == "all", at);
            }
            fields.push(name);
        }
        let path = Path { scope, fields };
        let (op, op_at) = match self.advance() {
            (Token::Word(word), at) => match word.as_str() {
                "eq" => (Op::Eq, at),
                "ne" => (Op::Ne, at),
                "gt" => (Op::Gt, at),
                "ge" => (Op::Ge, at),
                "lt" => (Op::Lt, at),
                "le" => (Op::Le, at),
                _ => return Err(expected_operator(&Token::Word(word), at)),
            },
            (token, at) => return Err(expected_operator(&token, at)),
        };
        let literal = match self.advance() {
            (Token::String(text), _) => Literal::String(text),
            (Token::DateTime(at), _) => Literal::DateTime(at),
            (Token::Word(word), _) if word == "true" => Literal::Bool(true),
            (Token::Word(word), _) if word == "false" => Literal::Bool(false),
            (Token::Word(word), _) if word == "null" => Literal::Null,
            (token, at) => {
                return Err(error(
                    at,
                    format!(
                        "expected a value ('text', a date-time, true, false or null), found {token}"
                    ),
                ));
            }
        };
        check_types(&path, op, &literal).map_err(|message| error(op_at, message))?;
        Ok(Expr::Compare { path, op, literal })
    }

    /// `(v: body)` after `path/any` or `path/all`.
    fn lambda(&mut self, path: Path, every: bool, at: usize) -> Result<Expr, FilterError> {
        self.expect(&Token::Open, "`(`")?;
        let variable = self.name("a variable name")?;
        self.expect(&Token::Colon, "`:` after the variable")?;
        self.variables.push(variable);
        let body = self.nested(at, Self::or);
        self.variables.pop();
        let body = body?;
        self.expect(&Token::Close, "`)`")?;
        Ok(Expr::Lambda {
            path,
            every,
            body: Box::new(body),
        })
    }

    fn name(&mut self, what: &str) -> Result<String, FilterError> {
        match self.advance() {
            (Token::Word(word), at) if is_keyword(&word) => Err(error(
                at,
                format!("expected {what}, found the keyword `{word}`"),
            )),
            (Token::Word(word), _) => Ok(word),
            (token, at) => Err(error(at, format!("expected {what}, found {token}"))),
        }
    }
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "and" | "or" | "not" | "eq" | "ne" | "gt" | "ge" | "lt" | "le" | "true" | "false" | "null"
    )
}

fn expected_operator(found: &Token, at: usize) -> FilterError {
    error(
        at,
        format!("expected an operator (eq, ne, gt, ge, lt, le), found {found}"),
    )
}

/// Refuses a comparison that can never mean anything: a date-time with text, an ordering of
/// text.
fn check_types(path: &Path, op: Op, literal: &Literal) -> Result<(), String> {
    let name = path.fields.join("/");
    let date_field = is_date_field(&path.fields);
    match literal {
        Literal::DateTime(_) if !date_field => Err(format!(
            "`{name}` is not a date-time field; compare it with a quoted string"
        )),
        Literal::String(_) if date_field => Err(format!(
            "`{name}` is a date-time; compare it with an unquoted date-time such as \
             2020-10-30T21:03:00Z"
        )),
        Literal::DateTime(_) => Ok(()),
        _ if !matches!(op, Op::Eq | Op::Ne) => Err(format!(
            "only date-times can be ordered (gt, ge, lt, le); use eq or ne with `{name}`"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn referral() -> Value {
        json!({
            "id": "r-1",
            "name": "O'Brien's deal",
            "status": "New",
            "substatus": "Pending",
            "direction": "Incoming",
            "engagementId": "e-1",
            "isSpam": false,
            "createdDateTime": "2025-05-01T10:00:00.0000000Z",
            "updatedDateTime": "2025-05-20T08:30:00.5000000Z",
            "closedDateTime": null,
            "customerProfile": {"address": {"country": "US"}},
            "team": [
                {"email": "adele.vance@contoso.example"},
                {"email": "o'brien@contoso.example"}
            ],
            "tags": ["priority"]
        })
    }

    fn matches(filter: &str) -> bool {
        Filter::parse(filter)
            .unwrap_or_else(|e| panic!("{filter}: {e}"))
            .matches(&referral())
    }

    fn refusal(filter: &str) -> String {
        match Filter::parse(filter) {
            Ok(parsed) => panic!("{filter} parsed as {parsed:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_documented_examples_work() {
        assert!(matches("status eq 'New' and direction eq 'Incoming'"));
        assert!(!matches(
            "status eq 'New' and qualification eq 'SalesQualified'"
        ));
        assert!(matches(
            "customerProfile/address/country eq 'US' and direction eq 'Incoming'"
        ));
        assert!(matches(
            "team/any(t:t/email eq 'adele.vance@contoso.example')"
        ));
        assert!(matches("engagementId eq 'e-1'"));
        assert!(!matches("engagementId eq 'e-2'"));
    }

    #[test]
    fn quotes_are_doubled_inside_strings() {
        assert!(matches("name eq 'O''Brien''s deal'"));
        assert!(matches(
            "team/any(t: t/email eq 'o''brien@contoso.example')"
        ));
        assert!(!matches("name eq 'O'"));
        // The doubled quote is one character of the value, not the end of the string.
        assert!(matches("name ne 'O''' or id eq 'r-1'"));
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_override() {
        assert!(matches("id eq 'x' and id eq 'y' or id eq 'r-1'"));
        assert!(!matches("id eq 'x' and (id eq 'y' or id eq 'r-1')"));
        assert!(matches("not (status eq 'Closed') and NOT_A_FIELD eq null"));
        assert!(!matches("not status eq 'New'"));
        assert!(matches("((((status eq 'New'))))"));
    }

    #[test]
    fn a_filter_of_top_level_dates_decides_on_the_dates_alone_as_on_the_json() {
        let top_level = |name: &str| name.ends_with("DateTime");
        let mut odd = referral();
        odd["createdDateTime"] = json!("not a date");
        odd["updatedDateTime"] = json!(7);
        for filter in [
            "updatedDateTime ge 2025-05-20T08:30:00Z",
            "updatedDateTime lt 2025-05-20T08:30:00Z or createdDateTime eq 2025-05-01T10:00:00Z",
            "not (closedDateTime ne 2025-01-01T00:00:00Z) and (acceptedDateTime le 2030-01-01T00:00:00Z)",
            "createdDateTime ne 2025-05-01T10:00:00Z",
        ] {
            let parsed = Filter::parse(filter).unwrap();
            assert!(parsed.reads_only_dates(&top_level), "{filter}");
            for referral in [referral(), odd.clone()] {
                let date = |name: &str| referral.get(name).and_then(instant);
                assert_eq!(
                    parsed.matches_dates(&date),
                    parsed.matches(&referral),
                    "{filter} on {referral}"
                );
            }
        }
        for filter in [
            "status eq 'New' and updatedDateTime ge 2025-05-20T08:30:00Z",
            "closedDateTime eq null",
            "customerProfile/createdDateTime ge 2025-05-20T08:30:00Z",
            "team/any(t: t/addedDateTime ge 2025-05-20T08:30:00Z)",
        ] {
            let parsed = Filter::parse(filter).unwrap();
            assert!(!parsed.reads_only_dates(&top_level), "{filter}");
        }
        let parsed = Filter::parse("updatedDateTime ge 2025-05-20T08:30:00Z").unwrap();
        assert!(!parsed.reads_only_dates(&|name| name == "createdDateTime"));
    }

    #[test]
    fn a_referral_with_the_fields_a_filter_reads_matches_as_it_does_whole() {
        for (filter, fields) in [
            ("status eq 'New'", vec!["status"]),
            (
                "not (customerProfile/address/country eq 'US') or status eq 'New' and \
                 team/any(t: t/email eq 'a' and t/tags/all(g: g eq 'x'))",
                vec!["customerProfile", "status", "team"],
            ),
            (
                "updatedDateTime ge 2025-05-20T08:30:00Z or status eq null",
                vec!["updatedDateTime", "status"],
            ),
        ] {
            let parsed = Filter::parse(filter).unwrap();
            assert_eq!(parsed.fields(), fields, "{filter}");
            let whole = referral();
            let only: serde_json::Map<String, Value> = whole
                .as_object()
                .unwrap()
                .iter()
                .filter(|(name, _)| fields.contains(&name.as_str()))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            assert_eq!(parsed.matches(&Value::Object(only)), parsed.matches(&whole));
        }
    }

    #[test]
    fn dates_compare_by_instant() {
        assert!(matches("updatedDateTime ge 2025-05-20T08:30:00Z"));
        assert!(matches("updatedDateTime gt 2025-05-20T08:30:00Z"));
        assert!(!matches("updatedDateTime gt 2025-05-20T08:30:00.5Z"));
        assert!(matches("updatedDateTime eq 2025-05-20T10:30:00.5+02:00"));
        assert!(matches(
            "createdDateTime lt 2025-05-02T00:00:00Z and createdDateTime le 2025-05-01T10:00:00Z"
        ));
        // No date: never in a range, never equal.
        assert!(!matches("closedDateTime lt 2099-01-01T00:00:00Z"));
        assert!(!matches("acceptedDateTime ge 2000-01-01T00:00:00Z"));
        assert!(matches("closedDateTime ne 2000-01-01T00:00:00Z"));
    }

    #[test]
    fn missing_and_null_fields_are_null() {
        assert!(matches("closedDateTime eq null"));
        assert!(matches("statusReason eq null"));
        assert!(matches("statusReason ne 'Lost'"));
        assert!(!matches("statusReason eq 'Lost'"));
        assert!(!matches("customerProfile/address/city eq 'Redmond'"));
        assert!(matches("status ne null"));
        assert!(matches("isSpam eq false and isSpam ne true"));
    }

    #[test]
    fn lambdas_test_the_elements_of_an_array() {
        assert!(matches(
            "team/any(m: m/email eq 'x' or m/email eq 'adele.vance@contoso.example')"
        ));
        assert!(!matches("team/any(t:t/email eq 'nobody@contoso.example')"));
        assert!(!matches(
            "team/all(t:t/email eq 'adele.vance@contoso.example')"
        ));
        assert!(matches("team/all(t:t/email ne null)"));
        assert!(matches("tags/any(t:t eq 'priority')"));
        // Outside the variable, paths are the referral's.
        assert!(matches("team/any(t:status eq 'New')"));
        // No such array: nothing matches `any`, everything `all`.
        assert!(!matches("target/any(t:t/id eq 'x')"));
        assert!(matches("target/all(t:t/id eq 'x')"));
        // Nested lambdas see both variables.
        let nested = json!({"a": [{"b": [{"c": "1"}], "d": "2"}]});
        let filter = Filter::parse("a/any(x: x/b/any(y: y/c eq '1' and x/d eq '2'))").unwrap();
        assert!(filter.matches(&nested));
    }

    #[test]
    fn bad_filters_say_what_and_where() {
        for (filter, expected) in [
            ("", "character 1: expected a field, found the end"),
            ("status", "character 7: expected an operator"),
            ("status eq", "character 10: expected a value"),
            ("status eq New", "expected a value ('text'"),
            ("status equals 'New'", "character 8: expected an operator"),
            ("status eq 'New", "character 11: the string is not closed"),
            (
                "status eq 'New' and",
                "character 20: expected a field, found the end",
            ),
            (
                "status eq 'New' nor x eq 'y'",
                "character 17: expected `and`, `or` or the end",
            ),
            ("(status eq 'New'", "expected `)`, found the end"),
            (
                "status eq 'New')",
                "expected `and`, `or` or the end, found `)`",
            ),
            ("status eq 5", "`5` is not a date-time"),
            (
                "updatedDateTime ge 2025-13-01T00:00:00Z",
                "is not a date-time",
            ),
            (
                "updatedDateTime ge '2025-01-01'",
                "is a date-time; compare it with an unquoted",
            ),
            (
                "status ge 2025-01-01T00:00:00Z",
                "`status` is not a date-time field",
            ),
            ("status gt 'New'", "only date-times can be ordered"),
            (
                "name eq null and id lt null",
                "only date-times can be ordered",
            ),
            (
                "team/any(t t/email eq 'x')",
                "expected `:` after the variable",
            ),
            ("team/any(t:t/email eq 'x'", "expected `)`, found the end"),
            (
                "status eq 'a' and or",
                "expected a field, found the keyword `or`",
            ),
            ("status eq $x", "unexpected character `$`"),
            ("a//b eq 'x'", "expected a field, found `/`"),
        ] {
            let message = refusal(filter);
            assert!(message.contains(expected), "{filter:?}: {message}");
            assert!(
                message.starts_with("invalid $filter at character "),
                "{message}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_refused_and_long_chains_are_fine() {
        let deep = format!("{}status eq 'New'{}", "(".repeat(40), ")".repeat(40));
        assert!(refusal(&deep).contains("nested more than 32 levels deep"));
        let nots = format!("{}status eq 'New'", "not ".repeat(100));
        assert!(refusal(&nots).contains("nested more than"));
        let lambdas = format!("{}x eq 'y'{}", "a/any(v:v/".repeat(50), ")".repeat(50));
        assert!(Filter::parse(&lambdas).is_err());
        // Chains are flat: thousands of terms parse and evaluate without recursion.
        let chain = vec!["status eq 'New'"; 5_000].join(" and ");
        assert!(matches(&chain));
        let chain = vec!["id eq 'x'"; 5_000].join(" or ");
        assert!(!matches(&chain));
    }

    #[test]
    fn any_text_is_refused_or_evaluated_without_panicking() {
        for text in [
            "'",
            "''",
            "(",
            ")",
            "/",
            ":",
            "0",
            "a/any(",
            "a/any(b:",
            "a/all(b:b",
            "eq eq eq",
            "a eq 'x' and not",
            "é eq 'x'",
            "a eq '\u{0}'",
            "a/any(a:a/any(a:a eq 'x'))",
        ] {
            if let Ok(filter) = Filter::parse(text) {
                filter.matches(&referral());
            }
        }
    }
}
