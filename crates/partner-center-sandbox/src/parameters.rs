//! An operation's parameters (in the path, the query, the headers) and holding a request's
//! values to them. The values are text: each is read as the type its schema gives (an
//! `integer`, a `boolean`, a list...) before it is checked, so that `$top=7` is the number 7
//! and `$top=seven` is refused as not an integer.

use axum::http::HeaderMap;
use serde_json::{Number, Value, json};

use crate::spec::{self, Schema, SpecError, UnknownFields};
use crate::write::Refusal;

/// Where a parameter is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    Path,
    Query,
    Header,
    /// Declared, but not checked: the sandbox reads no cookies.
    Cookie,
}

/// One parameter of an operation, ready to check values with.
#[derive(Clone, Debug)]
pub(crate) struct Parameter {
    pub(crate) name: String,
    pub(crate) location: Location,
    pub(crate) required: bool,
    pub(crate) schema: Schema,
    kind: Kind,
    /// Whether one value is a comma-separated list (a list in a path or a header, or in a
    /// query with `explode: false`); otherwise a query list repeats the parameter.
    comma_separated: bool,
}

/// What a parameter's text is read as.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Integer,
    Number,
    Boolean,
    Text,
    List(Box<Kind>),
}

/// How deep [`Kind::of`] looks into lists of lists (a schema may refer to itself).
const MAX_DEPTH: usize = 8;

impl Parameter {
    /// `parameter` (resolved) of `document`.
    pub(crate) fn new(document: &Value, parameter: &Value) -> Result<Self, SpecError> {
        let name = parameter["name"]
            .as_str()
            .ok_or_else(|| SpecError(format!("a parameter has no name: {parameter}")))?;
        let location = match parameter["in"].as_str() {
            Some("path") => Location::Path,
            Some("query") => Location::Query,
            Some("header") => Location::Header,
            Some("cookie") => Location::Cookie,
            other => {
                return Err(SpecError(format!(
                    "the parameter {name} is in {other:?}: not a path, query, header or cookie"
                )));
            }
        };
        // A parameter described with `content` rather than `schema` takes any text.
        let schema = match &parameter["schema"] {
            Value::Null => json!({}),
            schema => schema.clone(),
        };
        Ok(Self {
            name: name.to_owned(),
            location,
            required: location == Location::Path || parameter["required"] == true,
            kind: Kind::of(document, &schema, 0),
            schema: Schema::in_document(document, &schema, UnknownFields::Kept)
                .map_err(|e| SpecError(format!("the parameter {name}: {e}")))?,
            comma_separated: location != Location::Query || parameter["explode"] == false,
        })
    }

    /// Holds the values a request gives the parameter (none when it is absent) to its schema.
    pub(crate) fn check(&self, values: &[&str]) -> Result<(), Refusal> {
        if self.location == Location::Cookie {
            return Ok(());
        }
        if values.is_empty() {
            return match self.required {
                true => Err(self.refusal("is required")),
                false => Ok(()),
            };
        }
        let read: Vec<Value> = match &self.kind {
            Kind::List(item) => {
                let items = values.iter().flat_map(|value| match self.comma_separated {
                    true => value.split(',').collect::<Vec<_>>(),
                    false => vec![*value],
                });
                vec![Value::Array(items.map(|text| item.read(text)).collect())]
            }
            // A header given twice is two values, each checked.
            kind if self.location == Location::Header => {
                values.iter().map(|value| kind.read(value)).collect()
            }
            kind => match values {
                [value] => vec![kind.read(value)],
                _ => return Err(self.refusal("is given more than once")),
            },
        };
        for value in &read {
            if let Some(problem) = self.schema.problems(value).into_iter().next() {
                return Err(self.refusal(&format!("is not valid: {problem}")));
            }
        }
        Ok(())
    }

    /// [`Parameter::check`] of a header parameter, with the values of `headers`.
    pub(crate) fn check_header(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let texts: Vec<_> = headers
            .get_all(self.name.as_str())
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()))
            .collect();
        let texts: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        self.check(&texts)
    }

    fn refusal(&self, what: &str) -> Refusal {
        let name = &self.name;
        let subject = match self.location {
            Location::Path => format!("the path parameter {name}"),
            Location::Query => format!("the query parameter {name}"),
            Location::Header => format!("the {name} header"),
            Location::Cookie => format!("the cookie {name}"),
        };
        Refusal::Invalid {
            message: format!("{subject} {what}"),
            target: Some(name.clone()),
        }
    }
}

impl Kind {
    fn of(document: &Value, schema: &Value, depth: usize) -> Self {
        let schema = spec::resolve(document, schema).unwrap_or(schema);
        // OpenAPI 3.1 writes a nullable type as a list: its first other type is the one.
        let kind = match &schema["type"] {
            Value::Array(kinds) => kinds.iter().find(|kind| *kind != "null"),
            kind => Some(kind),
        };
        match kind.and_then(Value::as_str) {
            Some("integer") => Self::Integer,
            Some("number") => Self::Number,
            Some("boolean") => Self::Boolean,
            Some("array") if depth < MAX_DEPTH => {
                Self::List(Box::new(Self::of(document, &schema["items"], depth + 1)))
            }
            _ => Self::Text,
        }
    }

    /// `text` as this kind of value; as text when it is not one (the schema then says why).
    fn read(&self, text: &str) -> Value {
        let number = || {
            text.bytes()
                .all(|b| b.is_ascii_digit() || b"-+.eE".contains(&b))
                .then(|| serde_json::from_str::<Number>(text).ok())
                .flatten()
        };
        match self {
            Self::Integer | Self::Number => number().map_or_else(|| json!(text), Value::Number),
            Self::Boolean => match text {
                "true" => json!(true),
                "false" => json!(false),
                _ => json!(text),
            },
            Self::Text | Self::List(_) => json!(text),
        }
    }
}

/// Holds `value`, the text of the parameter `name` of the operation `method` (lower case)
/// on `path` of `document`, to the parameter's schema, read as the type it gives: for a
/// client that checks what it is about to send (the CLI's `api` command). The reason it does
/// not hold, if it does not; a parameter the operation does not declare is not checked.
///
/// ```
/// use partner_center_sandbox::spec::{self, check_parameter};
///
/// let document = spec::document()?;
/// let list = ("/v1.0/engagements/referrals", "get");
/// assert!(check_parameter(document, list.0, list.1, "$top", "100").is_ok());
/// assert_eq!(
///     check_parameter(document, list.0, list.1, "$top", "500").unwrap_err(),
///     "the query parameter $top is not valid: 500 is greater than the maximum of 100"
/// );
/// # Ok::<(), partner_center_sandbox::spec::SpecError>(())
/// ```
pub fn check_parameter(
    document: &Value,
    path: &str,
    method: &str,
    name: &str,
    value: &str,
) -> Result<(), String> {
    let item = spec::resolve(document, &document["paths"][path]).map_err(|e| e.to_string())?;
    let declared = item[method]["parameters"].as_array().into_iter().flatten();
    let declared = declared.chain(item["parameters"].as_array().into_iter().flatten());
    for parameter in declared {
        let parameter = spec::resolve(document, parameter).map_err(|e| e.to_string())?;
        let parameter = Parameter::new(document, parameter).map_err(|e| e.to_string())?;
        let named = match parameter.location {
            Location::Header => parameter.name.eq_ignore_ascii_case(name),
            _ => parameter.name == name,
        };
        if named {
            return match parameter.check(&[value]) {
                Ok(()) => Ok(()),
                Err(Refusal::Invalid { message, .. }) => Err(message),
                Err(other) => Err(format!("{other:?}")),
            };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameter(location: &str, required: bool, schema: Value) -> Parameter {
        let document =
            json!({"components": {"schemas": {"Size": {"type": "integer", "minimum": 1}}}});
        let declared = json!({"name": "p", "in": location, "required": required, "schema": schema});
        Parameter::new(&document, &declared).unwrap()
    }

    fn message(result: Result<(), Refusal>) -> String {
        match result {
            Err(Refusal::Invalid { message, target }) => {
                assert_eq!(target.as_deref(), Some("p"));
                message
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn values_are_read_as_their_schema_type() {
        let size = parameter("query", false, json!({"$ref": "#/components/schemas/Size"}));
        assert!(size.check(&["7"]).is_ok() && size.check(&[]).is_ok());
        assert_eq!(
            message(size.check(&["seven"])),
            r#"the query parameter p is not valid: "seven" is not of type "integer""#
        );
        assert!(size.check(&["0"]).is_err() && size.check(&[" 7"]).is_err());
        assert_eq!(
            message(size.check(&["1", "2"])),
            "the query parameter p is given more than once"
        );
        let flag = parameter("header", true, json!({"type": "boolean"}));
        assert!(flag.check(&["true"]).is_ok() && flag.check(&["yes"]).is_err());
        assert_eq!(message(flag.check(&[])), "the p header is required");
        let list = parameter(
            "query",
            false,
            json!({"type": "array", "items": {"type": "integer"}}),
        );
        assert!(list.check(&["1", "2"]).is_ok() && list.check(&["1", "x"]).is_err());
        let path = parameter("path", false, json!({"type": "string", "enum": ["a", "b"]}));
        assert!(path.required && path.check(&["a"]).is_ok());
        assert!(message(path.check(&["c"])).starts_with("the path parameter p is not valid: "));
    }
}
