//! A value made from a schema: what the sandbox answers when the spec gives no example of a
//! response, and a valid request for a test to send. The same schema always gives the same
//! value.

use serde_json::{Map, Value, json};

use crate::spec;

/// How deep [`example`] goes into a schema (which may refer to itself): deeper, optional
/// fields are left out and required ones are `null`.
const MAX_DEPTH: usize = 16;

/// A value of `schema`, a schema of `document` (its `$ref`s resolve there): the schema's own
/// `example` (or `default`, `const`, first of `enum`) where it has one; otherwise an object
/// with its required properties and those of its other properties that have an example, one
/// item of an array, a string of the schema's format (`date-time`, `uuid`, `email`,
/// `uri`...), the lowest number it allows. `allOf` merges its parts, `anyOf`/`oneOf` take the
/// first.
///
/// A `pattern` is not followed: a string under one needs an example, or the value breaks the
/// schema (the sandbox checks what it answers, and says so).
///
/// ```
/// use partner_center_sandbox::spec;
/// use serde_json::json;
///
/// let document = spec::document()?;
/// let referral = spec::example(document, &json!({"$ref": "#/components/schemas/NewReferral"}));
/// assert_eq!(referral["type"], "Independent"); // the first of its enum
/// assert_eq!(referral["details"]["currency"], "USD"); // an optional field, with an example
/// # Ok::<(), partner_center_sandbox::spec::SpecError>(())
/// ```
pub fn example(document: &Value, schema: &Value) -> Value {
    generate(document, schema, 0)
}

fn generate(document: &Value, schema: &Value, depth: usize) -> Value {
    let Ok(schema) = spec::resolve(document, schema) else {
        return Value::Null;
    };
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(example) = own_example(schema) {
        return example.clone();
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut merged = Map::new();
        for part in parts {
            match generate(document, part, depth + 1) {
                Value::Object(object) => merged.extend(object),
                other => return other,
            }
        }
        return Value::Object(merged);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = schema[key].as_array().and_then(|parts| parts.first()) {
            return generate(document, first, depth + 1);
        }
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds.iter().find(|kind| *kind != "null"),
        kind => Some(kind),
    };
    match kind.and_then(Value::as_str) {
        Some("object") => object(document, schema, depth),
        Some("array") => array(document, schema, depth),
        Some("string") => string(schema),
        Some("integer") => json!(lowest(schema).ceil() as i64),
        Some("number") => {
            let lowest = lowest(schema);
            match lowest.fract() == 0.0 {
                true => json!(lowest as i64),
                false => json!(lowest),
            }
        }
        Some("boolean") => json!(false),
        _ if schema.get("properties").is_some() => object(document, schema, depth),
        _ if schema.get("items").is_some() => array(document, schema, depth),
        _ => Value::Null,
    }
}

/// What the schema itself gives as a value.
fn own_example(schema: &Value) -> Option<&Value> {
    schema
        .get("example")
        .or_else(|| {
            schema["examples"]
                .as_array()
                .and_then(|values| values.first())
        })
        .or_else(|| schema.get("default"))
        .or_else(|| schema.get("const"))
        .or_else(|| {
            let values = schema["enum"].as_array()?;
            values.iter().find(|value| !value.is_null())
        })
}

fn object(document: &Value, schema: &Value, depth: usize) -> Value {
    let properties = schema["properties"].as_object();
    let property = |name: &str| properties.and_then(|properties| properties.get(name));
    let mut object = Map::new();
    for name in schema["required"].as_array().into_iter().flatten() {
        let Some(name) = name.as_str() else { continue };
        let value = match property(name) {
            Some(schema) => generate(document, schema, depth + 1),
            None => Value::Null,
        };
        object.insert(name.to_owned(), value);
    }
    for (name, schema) in properties.into_iter().flatten() {
        // An `enum` alone is no example: every such field would be filled in.
        let has_example = spec::resolve(document, schema).is_ok_and(|schema| {
            ["example", "examples", "default", "const"]
                .iter()
                .any(|key| schema.get(key).is_some())
        });
        if !object.contains_key(name) && has_example {
            object.insert(name.clone(), generate(document, schema, depth + 1));
        }
    }
    Value::Object(object)
}

fn array(document: &Value, schema: &Value, depth: usize) -> Value {
    let at_least = schema["minItems"].as_u64().unwrap_or(0);
    let at_most = schema["maxItems"].as_u64().unwrap_or(u64::MAX);
    // One item shows what an item is like, unless the schema wants none or more.
    let count = at_least.max(1).min(at_most).min(16);
    let item = generate(document, &schema["items"], depth + 1);
    Value::Array((0..count).map(|_| item.clone()).collect())
}

fn string(schema: &Value) -> Value {
    let text = match schema["format"].as_str() {
        Some("date-time") => "2020-10-30T21:03:00Z",
        Some("date") => "2020-10-30",
        Some("time") => "21:03:00Z",
        Some("uuid") => "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        Some("email") => "adele.vance@contoso.example",
        Some("uri" | "url") => "https://contoso.example/",
        Some("hostname") => "contoso.example",
        Some("ipv4") => "192.0.2.1",
        Some("ipv6") => "2001:db8::1",
        Some("byte") => "c3RyaW5n",
        _ => {
            let mut text = "string".to_owned();
            let at_least = schema["minLength"].as_u64().unwrap_or(0).min(1024);
            while (text.len() as u64) < at_least {
                text.push('x');
            }
            if let Some(at_most) = schema["maxLength"].as_u64() {
                text.truncate(usize::try_from(at_most).unwrap_or(usize::MAX));
            }
            return json!(text);
        }
    };
    json!(text)
}

/// The lowest number `schema` allows (0 when it allows it), as OpenAPI 3.0 (`exclusiveMinimum:
/// true`) or 3.1 (`exclusiveMinimum: <number>`) writes bounds.
fn lowest(schema: &Value) -> f64 {
    let minimum = match (&schema["minimum"], &schema["exclusiveMinimum"]) {
        (Value::Number(minimum), Value::Bool(true)) => minimum.as_f64().map(|m| m + 1.0),
        (_, Value::Number(minimum)) => minimum.as_f64().map(|m| m + 1.0),
        (Value::Number(minimum), _) => minimum.as_f64(),
        _ => None,
    };
    let maximum = schema["maximum"].as_f64();
    match (minimum, maximum) {
        (Some(minimum), _) => minimum,
        (None, Some(maximum)) if maximum < 0.0 => maximum,
        _ => 0.0,
    }
}

/// The values the spec gives a parameter, a media type or a header object: its `example`,
/// else each of its `examples` (by name, `$ref`s resolved), else its schema's `example`; with
/// the name of each (`example` for a lone one).
pub fn given(document: &Value, object: &Value) -> Result<Vec<(String, Value)>, spec::SpecError> {
    if let Some(example) = object.get("example") {
        return Ok(vec![("example".to_owned(), example.clone())]);
    }
    let mut given = Vec::new();
    for (name, example) in object["examples"].as_object().into_iter().flatten() {
        if let Some(value) = spec::resolve(document, example)?.get("value") {
            given.push((name.clone(), value.clone()));
        }
    }
    if given.is_empty() {
        let schema = spec::resolve(document, &object["schema"])?;
        if let Some(example) = schema.get("example") {
            given.push(("example".to_owned(), example.clone()));
        }
    }
    Ok(given)
}

/// A valid call of one operation, from the spec alone (see [`ExampleCall::of`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ExampleCall {
    /// Each parameter given: where it goes (`path`, `query`, `header`), its name, its value.
    pub parameters: Vec<(String, String, String)>,
    /// The request body, when the operation takes one.
    pub body: Option<Value>,
}

impl ExampleCall {
    /// The call of `method` (lower case, as documents write it) on `path` of `document`:
    /// every path parameter, and every required query and header parameter, with the first
    /// value the spec gives it (else one made from its schema); the body's example likewise.
    ///
    /// ```
    /// use partner_center_sandbox::spec::{self, ExampleCall};
    ///
    /// let call = ExampleCall::of(spec::document()?, "/v1.0/engagements/referrals/{id}", "get")?;
    /// assert_eq!(call.target("/v1.0/engagements/referrals/{id}"),
    ///     "/v1.0/engagements/referrals/c5fbb3b6-be74-4795-9fb5-4324c73fed37");
    /// # Ok::<(), partner_center_sandbox::spec::SpecError>(())
    /// ```
    pub fn of(document: &Value, path: &str, method: &str) -> Result<Self, spec::SpecError> {
        let item = spec::resolve(document, &document["paths"][path])?;
        let operation = &item[method];
        let declared = item["parameters"].as_array().into_iter().flatten();
        let declared = declared.chain(operation["parameters"].as_array().into_iter().flatten());
        let mut parameters: Vec<(String, String, String)> = Vec::new();
        for parameter in declared {
            let parameter = spec::resolve(document, parameter)?;
            let (Some(name), Some(location)) =
                (parameter["name"].as_str(), parameter["in"].as_str())
            else {
                continue;
            };
            let wanted = location == "path" || parameter["required"] == true;
            // An operation's parameter overrides the path item's of the same name and place.
            let known = parameters
                .iter()
                .any(|(l, n, _)| l == location && n == name);
            if !wanted || known {
                continue;
            }
            let value = match first(document, parameter)? {
                Value::String(text) => text,
                other => other.to_string(),
            };
            parameters.push((location.to_owned(), name.to_owned(), value));
        }
        let body = match operation.get("requestBody") {
            None => None,
            Some(body) => {
                let media = &spec::resolve(document, body)?["content"]["application/json"];
                Some(first(document, media)?)
            }
        };
        Ok(Self { parameters, body })
    }

    /// `template` with the path parameters put in, and the query parameters after it.
    pub fn target(&self, template: &str) -> String {
        let mut target = template.to_owned();
        let mut query = form_urlencoded::Serializer::new(String::new());
        let mut has_query = false;
        for (location, name, value) in &self.parameters {
            match location.as_str() {
                "path" => target = target.replace(&format!("{{{name}}}"), value),
                "query" => {
                    query.append_pair(name, value);
                    has_query = true;
                }
                _ => {}
            }
        }
        if has_query {
            target = format!("{target}?{}", query.finish());
        }
        target
    }
}

/// The first value the spec gives `object` (see [`given`]), else one made from its schema.
fn first(document: &Value, object: &Value) -> Result<Value, spec::SpecError> {
    Ok(match given(document, object)?.into_iter().next() {
        Some((_, value)) => value,
        None => example(document, &object["schema"]),
    })
}
