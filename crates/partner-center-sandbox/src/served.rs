//! The operations no handler is written for, served from the spec itself: a request is held to
//! the operation's parameters and request body schema, and the answer is its success
//! response's example (or a value made from its schema), checked against the response's
//! schema once, when the sandbox starts.
//!
//! [`Routes`] knows every operation of every document, and where a request goes: to a
//! hand-written handler, to one of these, or nowhere (404, or 405 with the methods the spec
//! has for the path).

use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::parameters::{Location, Parameter};
use crate::spec::{self, Parsed, Schema, SpecError, UnknownFields};
use crate::write::{self, Refusal};

/// Every operation the sandbox serves, by path.
#[derive(Debug)]
pub(crate) struct Routes {
    resources: Vec<Resource>,
}

/// The operations of one path (of templates that differ at most by parameter names).
#[derive(Debug)]
struct Resource {
    template: Template,
    /// Upper-case method, and where its requests go; the first one added for a method wins.
    methods: Vec<(String, Route)>,
}

#[derive(Debug)]
struct Route {
    /// The operation's own template (its parameter names).
    template: Template,
    target: Target,
}

#[derive(Debug)]
enum Target {
    HandWritten,
    /// A spec-served operation, or why the sandbox cannot serve it.
    Served(Box<Result<Operation, String>>),
}

/// Where a request goes.
pub(crate) enum Destination<'r> {
    /// To the router's handler of its operation.
    HandWritten,
    /// To a spec-served operation, with the (percent-decoded) values of its path parameters.
    Served(&'r Result<Operation, String>, Vec<(&'r str, Vec<u8>)>),
    /// The path is known, the method is not: the methods it has, for `Allow`.
    NotAllowed(String),
    NotFound,
}

impl Routes {
    /// The routes of `hand_written` operations (path template, lower-case method), then of
    /// every other operation of `documents`.
    pub(crate) fn new(
        documents: &[Parsed],
        hand_written: &[(&str, &str)],
    ) -> Result<Self, SpecError> {
        let mut routes = Self {
            resources: Vec::new(),
        };
        for (path, method) in hand_written {
            routes.add(Template::parse(path)?, method, Target::HandWritten);
        }
        for document in documents {
            for operation in spec::operations(&document.json)? {
                if hand_written.contains(&(operation.path, operation.method)) {
                    continue;
                }
                let template = Template::parse(operation.path)
                    .map_err(|e| SpecError(format!("{}: {e}", document.name)))?;
                let served = Operation::new(document, &operation);
                routes.add(template, operation.method, Target::Served(Box::new(served)));
            }
        }
        Ok(routes)
    }

    fn add(&mut self, template: Template, method: &str, target: Target) {
        let method = method.to_ascii_uppercase();
        let index = match self
            .resources
            .iter()
            .position(|r| r.template.same_shape(&template))
        {
            Some(index) => index,
            None => {
                self.resources.push(Resource {
                    template: template.clone(),
                    methods: Vec::new(),
                });
                self.resources.len() - 1
            }
        };
        let methods = &mut self.resources[index].methods;
        if !methods.iter().any(|(known, _)| *known == method) {
            methods.push((method, Route { template, target }));
        }
    }

    /// Where `method path` goes. Of the paths that match, the one with literal segments where
    /// the others have parameters wins (`/referrals/summary` before `/referrals/{id}`).
    pub(crate) fn find(&self, method: &Method, path: &str) -> Destination<'_> {
        let Some(segments) = path
            .strip_prefix('/')
            .map(|path| path.split('/').map(percent_decode).collect::<Vec<_>>())
        else {
            return Destination::NotFound;
        };
        let best = self
            .resources
            .iter()
            .filter(|resource| resource.template.captures(&segments).is_some())
            .fold(None::<&Resource>, |best, resource| match best {
                Some(best) if best.template.rank() >= resource.template.rank() => Some(best),
                _ => Some(resource),
            });
        let Some(resource) = best else {
            return Destination::NotFound;
        };
        let route = |method: &str| resource.methods.iter().find(|(known, _)| known == method);
        // HEAD is GET without the body, unless the spec says otherwise.
        let route = route(method.as_str()).or_else(|| match *method == Method::HEAD {
            true => route("GET"),
            false => None,
        });
        match route {
            Some((
                _,
                Route {
                    target: Target::HandWritten,
                    ..
                },
            )) => Destination::HandWritten,
            Some((
                _,
                Route {
                    template,
                    target: Target::Served(operation),
                },
            )) => {
                let captures = template.captures(&segments).unwrap_or_default();
                Destination::Served(operation, captures)
            }
            None => {
                let mut allowed: Vec<&str> =
                    resource.methods.iter().map(|(m, _)| m.as_str()).collect();
                if allowed.contains(&"GET") && !allowed.contains(&"HEAD") {
                    allowed.push("HEAD");
                }
                allowed.sort_unstable();
                Destination::NotAllowed(allowed.join(", "))
            }
        }
    }
}

/// A path template, segment by segment.
#[derive(Clone, Debug)]
struct Template(Vec<Segment>);

/// A literal segment, or a parameter with the literal text around it (`{id}`, `v{version}`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Segment {
    prefix: String,
    parameter: Option<String>,
    suffix: String,
}

impl Template {
    fn parse(path: &str) -> Result<Self, SpecError> {
        let unsupported = |why: &str| SpecError(format!("the path {path} is not supported: {why}"));
        let rest = path
            .strip_prefix('/')
            .ok_or_else(|| unsupported("it does not start with /"))?;
        rest.split('/')
            .map(|segment| {
                let Some(open) = segment.find('{') else {
                    return match segment.contains('}') {
                        true => Err(unsupported("a } without a {")),
                        false => Ok(Segment {
                            prefix: segment.to_owned(),
                            parameter: None,
                            suffix: String::new(),
                        }),
                    };
                };
                let (prefix, rest) = segment.split_at(open);
                let (name, suffix) = rest[1..]
                    .split_once('}')
                    .ok_or_else(|| unsupported("a { without a }"))?;
                if name.is_empty() || name.contains('{') || suffix.contains(['{', '}']) {
                    return Err(unsupported("one named parameter a segment at most"));
                }
                Ok(Segment {
                    prefix: prefix.to_owned(),
                    parameter: Some(name.to_owned()),
                    suffix: suffix.to_owned(),
                })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn same_shape(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self.0.iter().zip(&other.0).all(|(a, b)| {
                a.prefix == b.prefix
                    && a.suffix == b.suffix
                    && a.parameter.is_some() == b.parameter.is_some()
            })
    }

    /// The path parameters' values, when `segments` (percent-decoded) fit the template.
    fn captures(&self, segments: &[Vec<u8>]) -> Option<Vec<(&str, Vec<u8>)>> {
        if segments.len() != self.0.len() {
            return None;
        }
        let mut captures = Vec::new();
        for (segment, text) in self.0.iter().zip(segments) {
            let (prefix, suffix) = (segment.prefix.as_bytes(), segment.suffix.as_bytes());
            match &segment.parameter {
                None if text == prefix => {}
                Some(name)
                    if text.len() > prefix.len() + suffix.len()
                        && text.starts_with(prefix)
                        && text.ends_with(suffix) =>
                {
                    let value = &text[prefix.len()..text.len() - suffix.len()];
                    captures.push((name.as_str(), value.to_vec()));
                }
                _ => return None,
            }
        }
        Some(captures)
    }

    /// How specific the template is, segment by segment: literal first, then the most
    /// literal text around a parameter.
    fn rank(&self) -> Vec<(bool, usize)> {
        self.0
            .iter()
            .map(|s| (s.parameter.is_none(), s.prefix.len() + s.suffix.len()))
            .collect()
    }
}

/// A path segment with its `%XX` escapes decoded (a `%` that starts none stays).
fn percent_decode(segment: &str) -> Vec<u8> {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                decoded.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                i += 3;
            }
            (byte, _, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    decoded
}

/// An operation served from the spec.
#[derive(Debug)]
pub(crate) struct Operation {
    parameters: Vec<Parameter>,
    body: Option<RequestBody>,
    /// The answer, or why the spec's is not one (a sandbox error).
    answer: Result<Answer, String>,
}

#[derive(Debug)]
struct RequestBody {
    required: bool,
    /// The JSON body's schema; `None` when the body is not JSON, or any JSON.
    schema: Option<Schema>,
}

impl RequestBody {
    fn new(document: &Value, body: &Value) -> Result<Self, SpecError> {
        let body = spec::resolve(document, body)?;
        let schema = match json_media(body)?.map(|(_, media)| &media["schema"]) {
            None | Some(Value::Null) => None,
            Some(schema) => Some(Schema::in_document(document, schema, UnknownFields::Kept)?),
        };
        Ok(Self {
            required: body["required"] == true,
            schema,
        })
    }
}

/// What a spec-served operation answers.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The media type and the body; `None` for a response without content (a 204).
    body: Option<(HeaderValue, Bytes)>,
}

/// Headers of a response the server sets itself.
const OWN_HEADERS: [&str; 5] = [
    "request-id",
    "client-request-id",
    "content-type",
    "content-length",
    "transfer-encoding",
];

impl Operation {
    /// `operation` of `document`, or why the sandbox cannot serve it (a message naming it).
    fn new(document: &Parsed, operation: &spec::Operation<'_>) -> Result<Self, String> {
        let method = operation.method.to_uppercase();
        let label = match operation.value["operationId"].as_str() {
            Some(id) => format!("{id} ({method} {})", operation.path),
            None => format!("{method} {}", operation.path),
        };
        let context = |e: SpecError| format!("{label} of {}: {}", document.name, e.0);
        let json = &document.json;
        let parameters = operation
            .parameters
            .iter()
            .map(|parameter| Parameter::new(json, parameter))
            .collect::<Result<_, _>>()
            .map_err(context)?;
        let body = match operation.value.get("requestBody") {
            None => None,
            Some(body) => Some(RequestBody::new(json, body).map_err(context)?),
        };
        let path = format!(
            "/paths/{}/{}",
            spec::escape(operation.path),
            operation.method
        );
        Ok(Self {
            parameters,
            body,
            answer: Answer::new(document, &path, operation.value).map_err(context),
        })
    }

    /// Holds a request to the operation: its parameters (the path's as captured), then its
    /// body.
    pub(crate) fn check(
        &self,
        path: &[(&str, Vec<u8>)],
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Refusal> {
        let query: Vec<(String, String)> =
            form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        for parameter in &self.parameters {
            let name = parameter.name.as_str();
            let texts: Vec<String> = match parameter.location {
                Location::Header => {
                    parameter.check_header(headers)?;
                    continue;
                }
                Location::Path => match path.iter().find(|(captured, _)| *captured == name) {
                    Some((_, bytes)) => {
                        vec![
                            String::from_utf8(bytes.clone()).map_err(|_| Refusal::Invalid {
                                message: format!("the path parameter {name} is not valid UTF-8"),
                                target: Some(name.to_owned()),
                            })?,
                        ]
                    }
                    None => Vec::new(),
                },
                Location::Query => query
                    .iter()
                    .filter(|(key, _)| key == name)
                    .map(|(_, value)| value.clone())
                    .collect(),
                Location::Cookie => Vec::new(),
            };
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            parameter.check(&texts)?;
        }
        let Some(declared) = &self.body else {
            return Ok(());
        };
        if body.is_empty() {
            return match declared.required {
                true => Err(Refusal::Invalid {
                    message: "the body is required".to_owned(),
                    target: Some("body".to_owned()),
                }),
                false => Ok(()),
            };
        }
        match &declared.schema {
            Some(schema) => write::check(Ok(schema), &write::json(body)?),
            None => Ok(()),
        }
    }

    /// The answer, or why the spec's is not one.
    pub(crate) fn answer(&self) -> Result<Response, &str> {
        let answer = self.answer.as_ref().map_err(String::as_str)?;
        let mut response = match &answer.body {
            Some((media_type, body)) => {
                let mut response = Response::new(Body::from(body.clone()));
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, media_type.clone());
                response
            }
            None => Response::new(Body::empty()),
        };
        *response.status_mut() = answer.status;
        for (name, value) in &answer.headers {
            response.headers_mut().insert(name.clone(), value.clone());
        }
        Ok(response)
    }
}

impl Answer {
    /// The lowest success response of the operation at `path` (a JSON Pointer) of `document`.
    fn new(document: &Parsed, path: &str, operation: &Value) -> Result<Self, SpecError> {
        let json = &document.json;
        let (code, response) = operation["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(code, response)| {
                let status = match code.as_str() {
                    "2XX" | "2xx" => 200,
                    code => code
                        .parse::<u16>()
                        .ok()
                        .filter(|s| (200..300).contains(s))?,
                };
                Some((status, (code, response)))
            })
            .min_by_key(|(status, _)| *status)
            .map(|(_, found)| found)
            .ok_or_else(|| SpecError("it documents no success (2xx) response".to_owned()))?;
        let status = match code.parse::<u16>() {
            Ok(status) => StatusCode::from_u16(status).map_err(|e| SpecError(e.to_string()))?,
            Err(_) => StatusCode::OK,
        };
        let (found_at, response) = spec::resolve_at(json, response)?;
        let at = found_at.unwrap_or_else(|| format!("{path}/responses/{}", spec::escape(code)));
        let mut headers = Vec::new();
        for (name, header) in response["headers"].as_object().into_iter().flatten() {
            if OWN_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                continue;
            }
            let header = spec::resolve(json, header)?;
            let value = match example_of(document, header, "")? {
                Some(value) => value,
                None if header["required"] == true => spec::example(json, &header["schema"]),
                None => continue,
            };
            conforms(
                json,
                &header["schema"],
                &value,
                &format!("the {code} answer's {name} header"),
            )?;
            let text = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            let invalid = |e: &dyn std::fmt::Display| {
                SpecError(format!("the {code} answer's {name} header: {e}"))
            };
            headers.push((
                HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(&e))?,
                HeaderValue::from_str(&text).map_err(|e| invalid(&e))?,
            ));
        }
        let body = match json_media(response)? {
            None => None,
            Some((media_type, media)) => {
                let media_at = format!("{at}/content/{}", spec::escape(media_type));
                let schema = &media["schema"];
                let value = match example_of(document, media, &media_at)? {
                    Some(value) => value,
                    None => spec::example(json, schema),
                };
                conforms(
                    json,
                    schema,
                    &value,
                    &format!("the example of the {code} answer"),
                )?;
                let bytes = serde_json::to_vec(&value).map_err(|e| SpecError(e.to_string()))?;
                let media_type = HeaderValue::from_str(media_type)
                    .map_err(|e| SpecError(format!("the media type {media_type}: {e}")))?;
                Some((media_type, Bytes::from(bytes)))
            }
        };
        Ok(Self {
            status,
            headers,
            body,
        })
    }
}

/// The example a media type or a header object (at JSON Pointer `at`) gives: its `example`,
/// the first of its `examples` (as written), or its schema's `example`.
fn example_of(document: &Parsed, object: &Value, at: &str) -> Result<Option<Value>, SpecError> {
    let json = &document.json;
    if let Some(example) = object.get("example") {
        return Ok(Some(example.clone()));
    }
    if let Some(examples) = object["examples"].as_object() {
        let written = document.keys_at(&format!("{at}/examples"));
        let first = written
            .iter()
            .find_map(|name| examples.get(name))
            .or_else(|| examples.values().next());
        if let Some(example) = first {
            let example = spec::resolve(json, example)?;
            if let Some(value) = example.get("value") {
                return Ok(Some(value.clone()));
            }
        }
    }
    let schema = spec::resolve(json, &object["schema"])?;
    Ok(schema.get("example").cloned())
}

/// Refuses `value` when it breaks `schema` (when there is one).
fn conforms(document: &Value, schema: &Value, value: &Value, what: &str) -> Result<(), SpecError> {
    if schema.is_null() {
        return Ok(());
    }
    let problems = Schema::in_document(document, schema, UnknownFields::Kept)?.problems(value);
    match problems.first() {
        None => Ok(()),
        Some(problem) => Err(SpecError(format!(
            "{what} does not conform to its schema: {problem}"
        ))),
    }
}

/// The JSON media type of a request body or a response, and its media object; an error when
/// it has content but none in JSON (the sandbox speaks JSON only).
fn json_media(object: &Value) -> Result<Option<(&str, &Value)>, SpecError> {
    let Some(content) = object["content"].as_object().filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let is_json = |media_type: &str| {
        let essence = media_type.split(';').next().unwrap_or_default().trim();
        essence == "application/json" || essence.ends_with("+json")
    };
    content
        .iter()
        .find(|(media_type, _)| *media_type == "application/json")
        .or_else(|| content.iter().find(|(media_type, _)| is_json(media_type)))
        .map(|(media_type, media)| Some((media_type.as_str(), media)))
        .ok_or_else(|| {
            let types: Vec<&str> = content.keys().map(String::as_str).collect();
            SpecError(format!(
                "the sandbox speaks JSON only, and this content is {}",
                types.join(", ")
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(path: &str) -> Vec<Vec<u8>> {
        path.split('/').map(percent_decode).collect()
    }

    #[test]
    fn templates_match_whole_segments() {
        let template = Template::parse("/files/{name}.json/v{version}").unwrap();
        let captures = template.captures(&segments("files/a%2Fb.json/v2")).unwrap();
        assert_eq!(
            captures,
            [("name", b"a/b".to_vec()), ("version", b"2".to_vec())]
        );
        assert!(template.captures(&segments("files/.json/v2")).is_none());
        assert!(template.captures(&segments("files/a.json")).is_none());
        for bad in ["files", "/a/{b", "/a/b}", "/a/{}", "/a/{b}{c}"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(percent_decode("%41%zz%4"), b"A%zz%4");
    }
}
