//! The query of `GET /v1.0/engagements/referrals`: `$filter`, `$orderby`, `$top`, `$skip`,
//! `$select`, `$count`, `$skiptoken`, and the `@odata.nextLink` that continues it.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::filter::{self, Filter};

/// The most referrals in one page, and the default page size.
pub(crate) const MAX_PAGE_SIZE: usize = 100;

/// A parsed list query.
#[derive(Debug)]
pub(crate) struct ListQuery {
    pub(crate) filter: Option<Filter>,
    order: Vec<SortKey>,
    pub(crate) top: usize,
    pub(crate) skip: usize,
    select: Option<Vec<String>>,
    pub(crate) count: bool,
    /// Where the previous page ended (`$skiptoken`).
    pub(crate) after: Option<Cursor>,
    /// The parameters a next link repeats, as received.
    kept: Vec<(&'static str, String)>,
}

/// A refused query parameter: which one, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct QueryError {
    pub(crate) parameter: &'static str,
    pub(crate) message: String,
}

/// One key of `$orderby`: a date-time field, ascending or descending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SortKey {
    path: Vec<String>,
    descending: bool,
}

impl SortKey {
    /// The date-time field it sorts by.
    pub(crate) fn path(&self) -> &[String] {
        &self.path
    }
}

/// A position in a listing: just after the referral with these sort keys and this insertion
/// number. Being a position, not a count, it stays right when referrals are created between
/// two pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub(crate) keys: Vec<Option<DateTime<Utc>>>,
    pub(crate) seq: u64,
}

const PARAMETERS: [&str; 7] = [
    "$filter",
    "$orderby",
    "$top",
    "$skip",
    "$select",
    "$count",
    "$skiptoken",
];

impl ListQuery {
    /// Parses the query string (without `?`). Parameters other than the OData ones are
    /// ignored; an OData one given twice is refused.
    pub(crate) fn parse(query: Option<&str>) -> Result<Self, QueryError> {
        let mut values: [Option<String>; 7] = Default::default();
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let Some(index) = PARAMETERS.iter().position(|p| *p == name) else {
                continue;
            };
            if values[index].replace(value.into_owned()).is_some() {
                return Err(QueryError {
                    parameter: PARAMETERS[index],
                    message: format!("{} is given more than once", PARAMETERS[index]),
                });
            }
        }
        let [filter, orderby, top, skip, select, count, skiptoken] = values;
        let invalid = |parameter: &'static str, message: String| QueryError { parameter, message };

        let parsed_filter = filter
            .as_deref()
            .map(Filter::parse)
            .transpose()
            .map_err(|e| invalid("$filter", e.to_string()))?;
        let order = orderby
            .as_deref()
            .map(parse_order)
            .transpose()
            .map_err(|m| invalid("$orderby", m))?
            .unwrap_or_default();
        let top_value = match top.as_deref() {
            None => MAX_PAGE_SIZE,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "$top",
                        format!(
                            "$top must be a whole number from 1 to {MAX_PAGE_SIZE}, not {text:?}"
                        ),
                    )
                })?,
        };
        let skip_value = match skip.as_deref() {
            None => 0,
            Some(text) => text
                .parse::<i32>()
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    invalid(
                        "$skip",
                        format!(
                            "$skip must be a whole number from 0 to {}, not {text:?}",
                            i32::MAX
                        ),
                    )
                })?,
        };
        let select_value = select
            .as_deref()
            .map(parse_select)
            .transpose()
            .map_err(|m| invalid("$select", m))?
            .flatten();
        let count_value = match count.as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(invalid(
                    "$count",
                    format!("$count must be true or false, not {other:?}"),
                ));
            }
        };
        let after = skiptoken
            .as_deref()
            .map(|token| Cursor::parse(token, order.len()))
            .transpose()
            .map_err(|m| invalid("$skiptoken", m))?;

        // What the next link repeats: everything but the position ($skip is used up by then).
        let kept = [
            ("$filter", filter),
            ("$orderby", orderby),
            ("$top", top),
            ("$select", select),
            ("$count", count),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .collect();
        Ok(Self {
            filter: parsed_filter,
            order,
            top: top_value,
            skip: skip_value,
            select: select_value,
            count: count_value,
            after,
            kept,
        })
    }

    /// Appends to `keys` the sort keys of a referral for this query's `$orderby` (one a sort
    /// key), `date(path)` being the instant its date-time field `path` holds (see
    /// [`date_at`]). Appended, so that a listing keeps every referral's in one buffer.
    pub(crate) fn keys_into(
        &self,
        keys: &mut Vec<Option<DateTime<Utc>>>,
        mut date: impl FnMut(&[String]) -> Option<DateTime<Utc>>,
    ) {
        keys.extend(self.order.iter().map(|key| date(&key.path)));
    }

    /// The keys of `$orderby`, in order.
    pub(crate) fn order(&self) -> &[SortKey] {
        &self.order
    }

    /// The top-level fields `$orderby` sorts by (those its paths start from).
    pub(crate) fn sort_fields(&self) -> impl Iterator<Item = &str> {
        self.order
            .iter()
            .filter_map(|key| key.path.first())
            .map(String::as_str)
    }

    /// How many sort keys a referral has: those of `$orderby`.
    pub(crate) fn key_count(&self) -> usize {
        self.order.len()
    }

    /// Orders two positions as `$orderby` does; equal keys keep the order of creation.
    pub(crate) fn compare(
        &self,
        a: (&[Option<DateTime<Utc>>], u64),
        b: (&[Option<DateTime<Utc>>], u64),
    ) -> Ordering {
        self.order
            .iter()
            .zip(a.0.iter().zip(b.0))
            .map(|(key, (x, y))| {
                // `None < Some`: a referral without the date comes first, as OData's null does.
                let ordering = x.cmp(y);
                if key.descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a.1.cmp(&b.1))
    }

    /// Whether `$select` keeps only some fields.
    pub(crate) fn selects(&self) -> bool {
        self.select.is_some()
    }

    /// `referral` with only the `$select`ed fields (and its id), or whole.
    pub(crate) fn project(&self, referral: &Value) -> Value {
        let (Some(fields), Value::Object(object)) = (&self.select, referral) else {
            return referral.clone();
        };
        let picked: Map<String, Value> = object
            .iter()
            .filter(|(name, _)| *name == "id" || fields.contains(name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        Value::Object(picked)
    }

    /// The link to the page after `cursor`: this query at `origin` (e.g.
    /// `http://127.0.0.1:4000`), with a `$skiptoken`.
    pub(crate) fn next_link(&self, origin: &str, cursor: &Cursor) -> String {
        let mut link = format!("{origin}/v1.0/engagements/referrals?");
        for (name, value) in &self.kept {
            link.push_str(name);
            link.push('=');
            link.extend(form_urlencoded::byte_serialize(value.as_bytes()));
            link.push('&');
        }
        link.push_str("$skiptoken=");
        link.extend(form_urlencoded::byte_serialize(cursor.token().as_bytes()));
        link
    }
}

/// The instant the date-time field `path` of `referral` (its JSON) holds, if it holds one.
pub(crate) fn date_at(referral: &Value, path: &[String]) -> Option<DateTime<Utc>> {
    filter::lookup(referral, path).and_then(filter::instant)
}

/// `createdDateTime desc, updatedDateTime`: date-time fields, each optionally `asc`/`desc`.
fn parse_order(text: &str) -> Result<Vec<SortKey>, String> {
    text.split(',')
        .map(|item| {
            let mut words = item.split_whitespace();
            let field = words
                .next()
                .ok_or_else(|| format!("$orderby {text:?} has an empty sort key"))?;
            let descending = match words.next() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(other) => {
                    return Err(format!(
                        "$orderby: {other:?} after {field} is neither asc nor desc"
                    ));
                }
            };
            if let Some(extra) = words.next() {
                return Err(format!("$orderby: unexpected {extra:?} after {item:?}"));
            }
            let path: Vec<String> = field.split('/').map(str::to_owned).collect();
            if !path.iter().all(|name| filter::is_name(name)) || !filter::is_date_field(&path) {
                return Err(format!(
                    "$orderby sorts by date-time fields only (e.g. createdDateTime desc, \
                     updatedDateTime), not {field:?}"
                ));
            }
            Ok(SortKey { path, descending })
        })
        .collect()
}

/// `status,customerProfile`: field names, or `*` for all (`None`).
fn parse_select(text: &str) -> Result<Option<Vec<String>>, String> {
    let fields: Vec<String> = text.split(',').map(|f| f.trim().to_owned()).collect();
    if fields.iter().any(|f| f == "*") {
        return Ok(None);
    }
    match fields.iter().find(|f| !filter::is_name(f)) {
        Some(bad) => Err(format!(
            "$select takes a comma-separated list of field names, and {bad:?} is not one"
        )),
        None => Ok(Some(fields)),
    }
}

impl Cursor {
    /// `{seq},{key},...`, each key an RFC 3339 date-time or empty for none.
    fn token(&self) -> String {
        let mut token = self.seq.to_string();
        for key in &self.keys {
            token.push(',');
            if let Some(at) = key {
                token.push_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true));
            }
        }
        token
    }

    fn parse(token: &str, key_count: usize) -> Result<Self, String> {
        let refused = || format!("$skiptoken {token:?} is not one this listing gave out");
        let mut parts = token.split(',');
        let seq = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(refused)?;
        let keys = parts
            .map(|part| match part {
                "" => Ok(None),
                text => DateTime::parse_from_rfc3339(text)
                    .map(|t| Some(t.to_utc()))
                    .map_err(|_| refused()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.len() != key_count {
            return Err(format!(
                "$skiptoken {token:?} belongs to another $orderby: follow @odata.nextLink as given"
            ));
        }
        Ok(Self { keys, seq })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(query: &str) -> Result<ListQuery, QueryError> {
        ListQuery::parse(Some(query))
    }

    fn refusal(query: &str) -> QueryError {
        parse(query).expect_err(query)
    }

    #[test]
    fn defaults_are_the_first_100_in_creation_order() {
        let query = ListQuery::parse(None).unwrap();
        assert_eq!((query.top, query.skip, query.count), (100, 0, false));
        assert!(query.filter.is_none() && query.after.is_none() && query.order.is_empty());
    }

    #[test]
    fn every_parameter_is_read() {
        let query = parse(
            "%24filter=status+eq+%27New%27&$orderby=createdDateTime%20desc,updatedDateTime&\
             $top=10&$skip=5&$select=status,%20name&$count=true&api-version=1",
        )
        .unwrap();
        assert!(query.filter.is_some());
        assert_eq!(
            query.order,
            [
                SortKey {
                    path: vec!["createdDateTime".into()],
                    descending: true
                },
                SortKey {
                    path: vec!["updatedDateTime".into()],
                    descending: false
                }
            ]
        );
        assert_eq!((query.top, query.skip, query.count), (10, 5, true));
        assert_eq!(query.select, Some(vec!["status".into(), "name".into()]));
    }

    #[test]
    fn bad_parameters_are_refused_with_the_reason() {
        for (query, parameter, expected) in [
            ("$top=0", "$top", "from 1 to 100"),
            ("$top=101", "$top", "from 1 to 100"),
            ("$top=ten", "$top", "\"ten\""),
            ("$skip=-1", "$skip", "from 0 to"),
            ("$skip=2147483648", "$skip", "from 0 to"),
            ("$count=yes", "$count", "true or false"),
            ("$filter=status+eq", "$filter", "expected a value"),
            ("$orderby=name", "$orderby", "date-time fields only"),
            (
                "$orderby=createdDateTime+up",
                "$orderby",
                "neither asc nor desc",
            ),
            ("$orderby=createdDateTime+desc+x", "$orderby", "unexpected"),
            ("$orderby=createdDateTime,", "$orderby", "empty sort key"),
            ("$select=status,,name", "$select", "\"\" is not one"),
            ("$select=a/b", "$select", "\"a/b\" is not one"),
            (
                "$skiptoken=abc",
                "$skiptoken",
                "not one this listing gave out",
            ),
            (
                "$skiptoken=1,2020-01-01T00:00:00Z",
                "$skiptoken",
                "another $orderby",
            ),
            ("$top=1&$top=2", "$top", "more than once"),
            // The spec's `minLength: 1`: no empty values.
            ("$filter=", "$filter", "expected a field, found the end"),
            ("$orderby=", "$orderby", "empty sort key"),
            ("$select=", "$select", "\"\" is not one"),
            ("$skiptoken=", "$skiptoken", "not one this listing gave out"),
        ] {
            let error = refusal(query);
            assert_eq!(error.parameter, parameter, "{query}");
            assert!(
                error.message.contains(expected),
                "{query}: {}",
                error.message
            );
        }
    }

    #[test]
    fn the_next_link_keeps_the_query_and_moves_the_position() {
        let query = parse(
            "$filter=name eq 'a%26b'&$orderby=createdDateTime desc&$top=2&$skip=7&$count=true",
        )
        .unwrap();
        let cursor = Cursor {
            keys: vec![Some("2025-01-02T03:04:05.5Z".parse().unwrap())],
            seq: 42,
        };
        let link = query.next_link("http://127.0.0.1:9", &cursor);
        assert_eq!(
            link,
            "http://127.0.0.1:9/v1.0/engagements/referrals?$filter=name+eq+%27a%26b%27&\
             $orderby=createdDateTime+desc&$top=2&$count=true&\
             $skiptoken=42%2C2025-01-02T03%3A04%3A05.500000000Z"
        );
        let next = ListQuery::parse(link.split_once('?').map(|(_, q)| q)).unwrap();
        assert_eq!(next.after, Some(cursor));
        assert_eq!((next.top, next.skip, next.count), (2, 0, true));
        assert_eq!(next.order, query.order);
        let without_keys = Cursor {
            keys: vec![None],
            seq: 3,
        };
        assert_eq!(Cursor::parse(&without_keys.token(), 1), Ok(without_keys));
    }

    #[test]
    fn order_puts_missing_dates_first_and_ties_in_creation_order() {
        let query = parse("$orderby=closedDateTime desc").unwrap();
        let early = "2020-01-01T00:00:00Z".parse().ok();
        let late = "2021-01-01T00:00:00Z".parse().ok();
        let order = |a: Option<DateTime<Utc>>, sa, b: Option<DateTime<Utc>>, sb| {
            query.compare((&[a], sa), (&[b], sb))
        };
        assert_eq!(order(late, 9, early, 1), Ordering::Less);
        assert_eq!(order(None, 1, early, 9), Ordering::Greater);
        assert_eq!(order(early, 1, early, 2), Ordering::Less);
        let mut keys = Vec::new();
        let closed = json!({"closedDateTime": "2021-01-01T00:00:00.0000000Z"});
        query.keys_into(&mut keys, |path| date_at(&closed, path));
        let never = json!({"closedDateTime": "never"});
        query.keys_into(&mut keys, |path| date_at(&never, path));
        assert_eq!((query.key_count(), keys), (1, vec![late, None]));
    }

    #[test]
    fn select_keeps_the_fields_asked_for_and_the_id() {
        let referral = json!({"id": "1", "status": "New", "name": "n", "team": []});
        let query = parse("$select=status,team,notThere").unwrap();
        assert_eq!(
            query.project(&referral),
            json!({"id": "1", "status": "New", "team": []})
        );
        assert_eq!(parse("$select=*").unwrap().project(&referral), referral);
    }
}
