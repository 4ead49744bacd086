//! The contract the sandbox speaks, `spec/partner-center.openapi.yaml`, and checking JSON
//! against its schemas.
//!
//! The sandbox checks every referral it is sent (a create, the result of an update) against
//! the spec's `Referral` schema, so that it never stores, and later serves, one that breaks the
//! contract: a status the spec does not list, a date that is not one, a number sent as text.
//! The same check is public, to hold your own fixtures and recorded payloads to the spec:
//!
//! ```
//! use partner_center_sandbox::spec::{Schema, UnknownFields};
//! use serde_json::json;
//!
//! let referral = Schema::component("Referral", UnknownFields::Kept)?;
//! assert!(referral.is_valid(&json!({"status": "New", "customerProfile": {"name": "Fabrikam"}})));
//! assert_eq!(
//!     referral.errors(&json!({"status": "Open"})),
//!     [r#""Open" is not one of "None", "New" or 2 other candidates at /status"#]
//! );
//! # Ok::<(), partner_center_sandbox::spec::SpecError>(())
//! ```
//!
//! The spec's OpenAPI 3.0 schemas become JSON Schema (2020-12): `#/components/schemas/X`
//! references point at `$defs`, `nullable: true` admits `null`, and `date-time` formats are
//! checked.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

pub use crate::example::{ExampleCall, example, given};
use crate::parameters::Parameter;
pub use crate::parameters::check_parameter;

/// `spec/partner-center.openapi.yaml`, as the sandbox was built with it: the api crate's
/// [`partner_center_api::spec::OPENAPI_YAML`], which the sandbox's model types come from too.
pub const SPEC_YAML: &str = partner_center_api::spec::OPENAPI_YAML;

/// The spec, parsed (once).
pub fn document() -> Result<&'static Value, SpecError> {
    static DOCUMENT: OnceLock<Result<Value, SpecError>> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| {
            serde_yaml::from_str(SPEC_YAML)
                .map_err(|e| SpecError(format!("the spec is not valid YAML: {e}")))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The document of [`partner_center_api::spec::DOCUMENTS`] named `name` (`webhooks`), parsed
/// (once): the main one is [`document`].
pub fn document_named(name: &str) -> Result<&'static Value, SpecError> {
    type Documents = Result<Vec<(&'static str, Value)>, SpecError>;
    static DOCUMENTS: OnceLock<Documents> = OnceLock::new();
    let documents = DOCUMENTS.get_or_init(|| {
        let documents = partner_center_api::spec::DOCUMENTS.iter();
        documents
            .map(|d| match serde_yaml::from_str(d.yaml) {
                Ok(json) => Ok((d.name, json)),
                Err(e) => Err(SpecError(format!("{} is not valid YAML: {e}", d.name))),
            })
            .collect()
    });
    let documents = documents.as_ref().map_err(Clone::clone)?;
    match documents.iter().find(|(n, _)| *n == name) {
        Some((_, json)) => Ok(json),
        None => Err(SpecError(format!("no spec document {name:?}"))),
    }
}

/// One OpenAPI document the sandbox serves, parsed: as JSON for reading, and as YAML, which
/// keeps the order maps were written in (the first of a response's `examples` is the one
/// written first; JSON maps here are sorted).
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) name: String,
    pub(crate) json: Value,
    pub(crate) yaml: serde_yaml::Value,
}

impl Parsed {
    pub(crate) fn new(name: &str, yaml: &str) -> Result<Self, SpecError> {
        let not_yaml =
            |e: &dyn fmt::Display| SpecError(format!("{name} is not an OpenAPI document: {e}"));
        let yaml: serde_yaml::Value = serde_yaml::from_str(yaml).map_err(|e| not_yaml(&e))?;
        let json = serde_json::to_value(&yaml).map_err(|e| not_yaml(&e))?;
        if !json["paths"].is_object() {
            return Err(not_yaml(&"it has no paths"));
        }
        Ok(Self {
            name: name.to_owned(),
            json,
            yaml,
        })
    }

    /// The keys of the map at `pointer` (a JSON Pointer), in the order the document gives them.
    pub(crate) fn keys_at(&self, pointer: &str) -> Vec<String> {
        let node = pointer
            .split('/')
            .skip(1)
            .try_fold(&self.yaml, |node, token| {
                node.get(token.replace("~1", "/").replace("~0", "~").as_str())
            });
        let Some(serde_yaml::Value::Mapping(map)) = node else {
            return Vec::new();
        };
        map.keys()
            .filter_map(|key| key.as_str().map(str::to_owned))
            .collect()
    }
}

/// A JSON Pointer token for `key` (`~` and `/` escaped).
pub(crate) fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// How many `$ref`s in a row [`resolve`] follows: past that, the references go round.
const MAX_REFERENCES: usize = 32;

/// `value`, or what its `$ref` (a local one, `#/components/...`) points at in `document`,
/// followed until it is no reference: a parameter, a response, a schema, an example...
pub fn resolve<'d>(document: &'d Value, value: &'d Value) -> Result<&'d Value, SpecError> {
    resolve_at(document, value).map(|(_, value)| value)
}

/// [`resolve`], with the JSON Pointer of what it found when `value` is a reference.
pub(crate) fn resolve_at<'d>(
    document: &'d Value,
    value: &'d Value,
) -> Result<(Option<String>, &'d Value), SpecError> {
    let (mut pointer, mut current) = (None, value);
    for _ in 0..MAX_REFERENCES {
        let Some(reference) = current.get("$ref") else {
            return Ok((pointer, current));
        };
        let target = reference
            .as_str()
            .and_then(|r| r.strip_prefix('#'))
            .ok_or_else(|| {
                SpecError(format!("{reference} is not a reference into the document"))
            })?;
        current = document
            .pointer(target)
            .ok_or_else(|| SpecError(format!("{reference} points at nothing")))?;
        pointer = Some(target.to_owned());
    }
    Err(SpecError(format!(
        "more than {MAX_REFERENCES} references in a row at {value}: they go round"
    )))
}

/// The methods an OpenAPI path item can have operations for.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation of a document.
#[derive(Debug)]
pub(crate) struct Operation<'d> {
    /// Its path template, e.g. `/v1.0/engagements/referrals/{id}`.
    pub(crate) path: &'d str,
    /// Its method, in lower case as the document writes it.
    pub(crate) method: &'static str,
    pub(crate) value: &'d Value,
    /// Its parameters and its path's, resolved; one of the operation's replaces the path's of
    /// the same name and place.
    pub(crate) parameters: Vec<&'d Value>,
}

/// Every operation of `document`, path by path.
pub(crate) fn operations(document: &Value) -> Result<Vec<Operation<'_>>, SpecError> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        let item = resolve(document, item)?;
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let declared = item["parameters"].as_array().into_iter().flatten();
            let declared = declared.chain(operation["parameters"].as_array().into_iter().flatten());
            let mut parameters: Vec<&Value> = Vec::new();
            for parameter in declared {
                let parameter = resolve(document, parameter)?;
                parameters
                    .retain(|p| !(p["name"] == parameter["name"] && p["in"] == parameter["in"]));
                parameters.push(parameter);
            }
            operations.push(Operation {
                path,
                method,
                value: operation,
                parameters,
            });
        }
    }
    Ok(operations)
}

/// Whether a [`Schema`] lets through the object fields the spec does not name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownFields {
    /// As the spec says: every object keeps fields it does not know yet.
    Kept,
    /// Refused wherever an object lists its properties: to catch a misspelt field.
    Refused,
}

/// A schema of the spec, ready to check JSON with.
#[derive(Clone, Debug)]
pub struct Schema {
    validator: jsonschema::Validator,
}

impl Schema {
    /// The component schema `name` (`#/components/schemas/{name}`), e.g. `Referral`.
    pub fn component(name: &str, fields: UnknownFields) -> Result<Self, SpecError> {
        Self::new(
            &json!({ "$ref": format!("#/components/schemas/{name}") }),
            fields,
        )
    }

    /// Any schema written in the spec's terms, e.g. a response's
    /// `content.application/json.schema`: its `$ref`s resolve to the spec's components.
    pub fn new(schema: &Value, fields: UnknownFields) -> Result<Self, SpecError> {
        Self::in_document(document()?, schema, fields)
    }

    /// A schema of another OpenAPI document (parsed, e.g. with `serde_yaml`): its `$ref`s
    /// resolve to the components of `document`.
    ///
    /// ```
    /// use partner_center_sandbox::spec::{Schema, UnknownFields};
    /// use serde_json::json;
    ///
    /// let document = json!({"components": {"schemas": {"Port": {"type": "integer", "maximum": 65535}}}});
    /// let port = Schema::in_document(&document, &json!({"$ref": "#/components/schemas/Port"}), UnknownFields::Kept)?;
    /// assert!(port.is_valid(&json!(443)) && !port.is_valid(&json!(70000)));
    /// # Ok::<(), partner_center_sandbox::spec::SpecError>(())
    /// ```
    pub fn in_document(
        document: &Value,
        schema: &Value,
        fields: UnknownFields,
    ) -> Result<Self, SpecError> {
        let mut root = convert(schema, fields)?;
        let Value::Object(object) = &mut root else {
            return Err(SpecError("a schema is a JSON object".to_owned()));
        };
        // The components are converted and compiled with every schema that refers to them:
        // a plain one (most parameters) is spared that.
        if has_reference(schema) {
            let components = &document["components"]["schemas"];
            object.insert("$defs".to_owned(), convert(components, fields)?);
        }
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .with_keyword(INTEGER_FORMAT, IntegerFormat::factory)
            .build(&root)
            .map_err(|e| SpecError(format!("the schema does not compile: {e}")))?;
        Ok(Self { validator })
    }

    /// What is wrong with `json`, one line per problem (`... at /json/pointer`); empty when
    /// it conforms.
    pub fn errors(&self, json: &Value) -> Vec<String> {
        self.problems(json).iter().map(Problem::to_string).collect()
    }

    /// What is wrong with `json`, each problem with where it is; empty when it conforms.
    pub fn problems(&self, json: &Value) -> Vec<Problem> {
        self.validator
            .iter_errors(json)
            .map(|e| {
                let mut pointer = e.instance_path().to_string();
                // A missing field is at fault where it should be.
                if let jsonschema::error::ValidationErrorKind::Required {
                    property: Value::String(name),
                } = e.kind()
                {
                    pointer = format!("{pointer}/{}", name.replace('~', "~0").replace('/', "~1"));
                }
                Problem {
                    message: e.to_string(),
                    pointer,
                }
            })
            .collect()
    }

    /// Whether `json` conforms.
    pub fn is_valid(&self, json: &Value) -> bool {
        self.validator.is_valid(json)
    }
}

/// One way JSON does not conform to a [`Schema`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong, e.g. `"Open" is not one of "None", "New" or 2 other candidates`.
    pub message: String,
    /// The JSON Pointer of the value at fault (of the field, when one is missing); empty for
    /// the whole document.
    pub pointer: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pointer.as_str() {
            "" => f.write_str(&self.message),
            pointer => write!(f, "{} at {pointer}", self.message),
        }
    }
}

/// The spec cannot be read, or a schema of it cannot be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError(pub(crate) String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

/// The spec's `Referral` schema, built once: what every referral the sandbox stores conforms
/// to.
pub(crate) fn referral() -> Result<&'static Schema, SpecError> {
    static REFERRAL: OnceLock<Result<Schema, SpecError>> = OnceLock::new();
    REFERRAL
        .get_or_init(|| Schema::component("Referral", UnknownFields::Kept))
        .as_ref()
        .map_err(Clone::clone)
}

/// The schema of the request body of `createReferral` (a `NewReferral`), built once.
pub(crate) fn create_body() -> Result<&'static Schema, SpecError> {
    static BODY: OnceLock<Result<Schema, SpecError>> = OnceLock::new();
    BODY.get_or_init(|| request_body("/v1.0/engagements/referrals", "post"))
        .as_ref()
        .map_err(Clone::clone)
}

/// The schema of the request body of `updateReferral` (a `JsonPatch`), built once.
pub(crate) fn update_body() -> Result<&'static Schema, SpecError> {
    static BODY: OnceLock<Result<Schema, SpecError>> = OnceLock::new();
    BODY.get_or_init(|| request_body("/v1.0/engagements/referrals/{id}", "patch"))
        .as_ref()
        .map_err(Clone::clone)
}

/// The header parameters of the operation `method path` of a built-in document (the path's
/// and the operation's, by name), each with its schema, built once for every operation: what
/// the sandbox holds the headers of a request to a hand-written handler to.
pub(crate) fn header_parameters(
    path: &str,
    method: &str,
) -> Result<&'static [Parameter], SpecError> {
    type Table = HashMap<(String, String), Vec<Parameter>>;
    static TABLE: OnceLock<Result<Table, SpecError>> = OnceLock::new();
    let table = TABLE
        .get_or_init(|| {
            let mut table = Table::new();
            for built_in in partner_center_api::spec::DOCUMENTS {
                let spec = document_named(built_in.name)?;
                for operation in operations(spec)? {
                    let headers = operation
                        .parameters
                        .iter()
                        .filter(|parameter| parameter["in"] == "header")
                        .map(|parameter| Parameter::new(spec, parameter))
                        .collect::<Result<_, _>>()?;
                    table.insert(
                        (operation.path.to_owned(), operation.method.to_owned()),
                        headers,
                    );
                }
            }
            Ok(table)
        })
        .as_ref()
        .map_err(Clone::clone)?;
    table
        .get(&(path.to_owned(), method.to_owned()))
        .map(Vec::as_slice)
        .ok_or_else(|| SpecError(format!("the spec has no operation {method} {path}")))
}

/// The JSON request body schema of the operation `method path`, as the spec declares it.
fn request_body(path: &str, method: &str) -> Result<Schema, SpecError> {
    let schema =
        &document()?["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
    if schema.is_null() {
        return Err(SpecError(format!(
            "{method} {path} has no JSON request body"
        )));
    }
    Schema::new(schema, UnknownFields::Kept)
}

/// The fields of a referral the service sets: the `readOnly` properties of the spec's
/// `Referral`. A create ignores them, a patch cannot change them.
pub(crate) fn server_set() -> Result<&'static [String], SpecError> {
    static SERVER_SET: OnceLock<Result<Vec<String>, SpecError>> = OnceLock::new();
    SERVER_SET
        .get_or_init(|| {
            let properties = document()?["components"]["schemas"]["Referral"]["properties"]
                .as_object()
                .ok_or_else(|| SpecError("the spec has no Referral properties".to_owned()))?;
            Ok(properties
                .iter()
                .filter(|(_, schema)| schema["readOnly"] == json!(true))
                .map(|(name, _)| name.clone())
                .collect())
        })
        .as_ref()
        .map(Vec::as_slice)
        .map_err(Clone::clone)
}

/// OpenAPI 3.0 schema -> JSON Schema.
fn convert(schema: &Value, fields: UnknownFields) -> Result<Value, SpecError> {
    match schema {
        Value::Object(object) => {
            let mut out = Map::new();
            for (key, value) in object {
                match key.as_str() {
                    "nullable" => {}
                    "$ref" => {
                        let name = value
                            .as_str()
                            .and_then(|r| r.strip_prefix("#/components/schemas/"))
                            .ok_or_else(|| {
                                SpecError(format!("{value} is not a component schema reference"))
                            })?;
                        out.insert(key.clone(), json!(format!("#/$defs/{name}")));
                    }
                    "additionalProperties"
                        if fields == UnknownFields::Refused
                            && object.contains_key("properties") =>
                    {
                        out.insert(key.clone(), json!(false));
                    }
                    _ => {
                        out.insert(key.clone(), convert(value, fields)?);
                    }
                }
            }
            if let (Some("integer"), Some(format @ ("int32" | "int64"))) = (
                object.get("type").and_then(Value::as_str),
                object.get("format").and_then(Value::as_str),
            ) {
                out.insert(INTEGER_FORMAT.to_owned(), json!(format));
            }
            if object.get("nullable") == Some(&json!(true)) {
                return Ok(nullable(out));
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .map(|v| convert(v, fields))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// The keyword that checks an OpenAPI `int32`/`int64` integer's range, which JSON Schema's
/// formats leave alone. `minimum`/`maximum` would not do: the validator compares a number past
/// 64 bits as an `f64`, and `-9223372036854775809` rounds to `i64::MIN`.
const INTEGER_FORMAT: &str = "integerFormat";

/// [`INTEGER_FORMAT`]: the number's exact value (its text, under `arbitrary_precision`) fits.
struct IntegerFormat {
    bits32: bool,
}

impl IntegerFormat {
    fn factory<'a>(
        _parent: &'a Map<String, Value>,
        format: &'a Value,
        _path: jsonschema::paths::Location,
    ) -> Result<Box<dyn for<'i> jsonschema::Keyword<'i>>, jsonschema::ValidationError<'a>> {
        Ok(Box::new(Self {
            bits32: format == "int32",
        }))
    }
}

impl<'i> jsonschema::Keyword<'i> for IntegerFormat {
    fn validate(&self, instance: &'i Value) -> Result<(), jsonschema::ValidationError<'i>> {
        if jsonschema::Keyword::is_valid(self, instance) {
            return Ok(());
        }
        let format = if self.bits32 { "int32" } else { "int64" };
        Err(jsonschema::ValidationError::custom(format!(
            "{instance} is not an {format}"
        )))
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        let Value::Number(number) = instance else {
            return true;
        };
        match number.as_i64() {
            Some(n) if self.bits32 => i32::try_from(n).is_ok(),
            Some(_) => true,
            // A fraction is the `type` keyword's to refuse; only a whole number is out of range.
            None => number.as_f64().is_some_and(|f| f.fract() != 0.0),
        }
    }
}

/// Whether `schema` refers to a component anywhere.
fn has_reference(schema: &Value) -> bool {
    match schema {
        Value::Object(object) => object
            .iter()
            .any(|(key, value)| key == "$ref" || has_reference(value)),
        Value::Array(items) => items.iter().any(has_reference),
        _ => false,
    }
}

fn nullable(mut schema: Map<String, Value>) -> Value {
    if let Some(Value::String(kind)) = schema.get("type") {
        let kinds = json!([kind, "null"]);
        schema.insert("type".into(), kinds);
        if let Some(Value::Array(values)) = schema.get_mut("enum") {
            values.push(Value::Null);
        }
        Value::Object(schema)
    } else {
        json!({ "anyOf": [schema, { "type": "null" }] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_component_is_an_error_not_a_panic() {
        assert!(Schema::component("NoSuchSchema", UnknownFields::Kept).is_err());
        assert!(Schema::new(&json!({"$ref": "#/paths/x"}), UnknownFields::Kept).is_err());
        assert!(Schema::new(&json!(true), UnknownFields::Kept).is_err());
    }

    #[test]
    fn problems_say_where_they_are() {
        let body = create_body().unwrap();
        let problems = body.problems(&json!({
            "type": "Shared",
            "consent": {},
            "details": {"currency": "usd"}
        }));
        assert_eq!(
            problems,
            [
                Problem {
                    message: r#""customerProfile" is a required property"#.to_owned(),
                    pointer: "/customerProfile".to_owned(),
                },
                Problem {
                    message: r#""usd" does not match "^[A-Z]{3}$""#.to_owned(),
                    pointer: "/details/currency".to_owned(),
                },
            ]
        );
        assert!(update_body().unwrap().is_valid(&json!([
            {"op": "replace", "path": "/details/notes", "value": null}
        ])));
        assert!(request_body("/nowhere", "post").is_err());
    }

    #[test]
    fn every_operation_has_its_header_parameters() {
        let names = |path, method| {
            let parameters = header_parameters(path, method).unwrap();
            parameters
                .iter()
                .map(|parameter| parameter.name.clone())
                .collect::<Vec<_>>()
        };
        let ids = [
            "client-request-id",
            "MS-CorrelationId",
            "MS-RequestId",
            "MS-PartnerCenter-Application",
            "X-Locale",
        ];
        assert_eq!(names("/v1.0/engagements/referrals", "get"), ids);
        assert_eq!(
            names("/v1.0/engagements/referrals/{id}", "patch"),
            [&ids[..], &["If-Match", "Prefer"]].concat()
        );
        let prefer =
            &header_parameters("/v1.0/engagements/referrals/{id}", "patch").unwrap()[6].schema;
        assert!(prefer.is_valid(&json!("return=representation")));
        assert!(!prefer.is_valid(&json!("return=everything")));
        assert!(header_parameters("/nowhere", "get").is_err());
    }

    #[test]
    fn the_server_set_fields_are_the_read_only_ones() {
        let mut fields = server_set().unwrap().to_vec();
        fields.sort();
        assert_eq!(
            fields,
            [
                "@odata.context",
                "acceptedDateTime",
                "closedDateTime",
                "createdDateTime",
                "eTag",
                "engagementId",
                "expirationDateTime",
                "id",
                "links",
                "organizationId",
                "organizationName",
                "updatedDateTime",
            ]
        );
    }

    #[test]
    fn int64_and_int32_integers_stay_in_their_range() {
        let solution = Schema::component("Solution", UnknownFields::Kept).unwrap();
        assert!(solution.is_valid(&json!({"quantity": i64::MAX})));
        assert!(solution.is_valid(&json!({"quantity": i64::MIN})));
        let below: Value = serde_json::from_str(r#"{"quantity": -9223372036854775809}"#).unwrap();
        assert!(!solution.is_valid(&below));
        let past: Value = serde_json::from_str(r#"{"quantity": 9223372036854775808}"#).unwrap();
        assert_eq!(
            solution.errors(&past),
            ["9223372036854775808 is not an int64 at /quantity"]
        );
        let top = Schema::new(
            &json!({"type": "integer", "format": "int32", "minimum": 1}),
            UnknownFields::Kept,
        )
        .unwrap();
        assert!(!top.is_valid(&json!(0)) && !top.is_valid(&json!(2_147_483_648_i64)));
    }

    #[test]
    fn nullable_fields_take_null_and_others_do_not() {
        let referral = referral().unwrap();
        assert!(referral.is_valid(&json!({"organizationName": null})));
        assert!(referral.is_valid(&json!({"details": {"dealValue": null}})));
        let errors = referral.errors(&json!({"status": null, "createdDateTime": "soon"}));
        for pointer in ["/status", "/createdDateTime"] {
            assert!(
                errors
                    .iter()
                    .any(|e| e.ends_with(&format!(" at {pointer}"))),
                "{errors:?}"
            );
        }
    }
}
