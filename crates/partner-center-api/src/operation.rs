//! The spec's operations as data ([`Operation`]), and a call of any of them from parameters
//! given by their spec names as text ([`Arguments`], then the generated
//! [`operations::Call`](crate::operations::Call)): for tools that take the operation from
//! their user (the CLI's `api` command) and for tests that walk every operation.
//!
//! `cargo xtask codegen` writes [`OPERATIONS`](crate::operations::OPERATIONS) and `Call` from
//! the spec, so an operation added to the spec is described and callable here with no
//! hand-written code. The values are checked by the generated types themselves (a pattern, a
//! bound, a GUID), and a body is read strictly (see [`crate::lenient::strict`]), before
//! anything is sent.
//!
//! ```
//! use partner_center_api::operation::Arguments;
//! use partner_center_api::operations::{Call, OPERATIONS};
//!
//! assert!(OPERATIONS.iter().any(|operation| operation.id == "getReferral"));
//! let call = Call::new("getReferral", Arguments::new().param("id", "c5fbb3b6"))?;
//! assert_eq!(call.operation().path, "/v1.0/engagements/referrals/{id}");
//!
//! let err = Call::new("listReferrals", Arguments::new().param("$top", "0")).unwrap_err();
//! assert!(err.to_string().starts_with("listReferrals: $top: invalid value \"0\""), "{err}");
//! # Ok::<(), partner_center_api::operation::ArgumentError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::lenient::{Drift, Drifted, drift, strict};
use crate::{Error, ResponseValue};

/// One operation of the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The spec's `operationId` (`getReferral`).
    pub id: &'static str,
    /// The generated method's name (`get_referral`), which traces name the operation by.
    pub name: &'static str,
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template (`/v1.0/engagements/referrals/{id}`).
    pub path: &'static str,
    /// The spec's one-line summary.
    pub summary: &'static str,
    /// The parameters, path ones first, then query and header ones.
    pub parameters: &'static [Parameter],
    /// The request body, when the operation takes one: whether it is required.
    pub body: Option<RequestBody>,
    /// The success statuses the spec documents (`200`, `204`...).
    pub successes: &'static [u16],
    /// How the answer pages, for a list operation (the spec's `x-ms-pageable`).
    pub paging: Option<Paging>,
}

impl Operation {
    /// The parameter named `name` (a header's name in any case).
    pub fn parameter(&self, name: &str) -> Option<&'static Parameter> {
        self.parameters.iter().find(|p| p.is_named(name))
    }
}

/// A parameter of an [`Operation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parameter {
    /// Its name in the spec (`$top`, `id`, `If-Match`).
    pub name: &'static str,
    /// Where it goes.
    pub location: Location,
    /// Whether the operation needs it.
    pub required: bool,
    /// Whether its value may be logged and shown in errors (the spec's `x-loggable`): a
    /// query value that is not (an OData filter can hold a customer's email) is redacted.
    pub loggable: bool,
}

impl Parameter {
    fn is_named(&self, name: &str) -> bool {
        match self.location {
            // HTTP header names are case-insensitive.
            Location::Header => self.name.eq_ignore_ascii_case(name),
            Location::Path | Location::Query => self.name == name,
        }
    }
}

/// Where a [`Parameter`] goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A segment of the path.
    Path,
    /// The query string.
    Query,
    /// A request header.
    Header,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Path => "path",
            Self::Query => "query",
            Self::Header => "header",
        })
    }
}

/// The request body of an [`Operation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestBody {
    /// Whether the operation needs one.
    pub required: bool,
}

/// How a list operation's answer pages (the spec's `x-ms-pageable`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    /// The member that holds the page's items (`value`).
    pub items: &'static str,
    /// The member that holds the next page's link (`@odata.nextLink`); absent on the last.
    pub next_link: &'static str,
}

/// The parameters (by their spec names, values as text) and the body of a call, before they
/// are checked against an operation's types by [`operations::Call::new`](crate::operations::Call::new).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Arguments {
    values: BTreeMap<String, String>,
    body: Option<Value>,
}

impl Arguments {
    /// No parameters and no body.
    pub fn new() -> Self {
        Self::default()
    }

    /// With the parameter `name` set to `value` (the last value given wins).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.values.insert(name.into(), value.into());
        self
    }

    /// With `body` as the request body.
    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// The value of `parameter`, checked against its type `T`: given as a JSON string first
    /// (most parameters are strings), then as JSON (`true`, `50`). Generated code calls this.
    #[doc(hidden)]
    pub fn take<T: DeserializeOwned>(
        &mut self,
        operation: &Operation,
        parameter: &Parameter,
    ) -> Result<Option<T>, ArgumentError> {
        let Some(name) = self.values.keys().find(|n| parameter.is_named(n)).cloned() else {
            return if parameter.required {
                Err(ArgumentError::missing(operation, parameter))
            } else {
                Ok(None)
            };
        };
        let text = self.values.remove(&name).unwrap_or_default();
        let as_string = serde_json::from_value(Value::String(text.clone()));
        let as_json = || serde_json::from_str::<Value>(&text).map(serde_json::from_value::<T>);
        let reason = match (as_string, as_json()) {
            (Ok(value), _) | (_, Ok(Ok(value))) => return Ok(Some(value)),
            // Text that is JSON (`0`, `true`) is best explained by what it failed as JSON.
            (_, Ok(Err(e))) => e,
            (Err(e), Err(_)) => e,
        };
        Err(ArgumentError::new(
            operation,
            format!("{}: invalid value {text:?}: {reason}", parameter.name),
        ))
    }

    /// [`Self::take`] for a required parameter. Generated code calls this.
    #[doc(hidden)]
    pub fn require<T: DeserializeOwned>(
        &mut self,
        operation: &Operation,
        parameter: &Parameter,
    ) -> Result<T, ArgumentError> {
        self.take(operation, parameter)?
            .ok_or_else(|| ArgumentError::missing(operation, parameter))
    }

    /// The body as `T`, read strictly: a field that does not fit its type is an error here,
    /// not drift. Generated code calls this.
    #[doc(hidden)]
    pub fn take_body<T: DeserializeOwned + Drifted>(
        &mut self,
        operation: &Operation,
    ) -> Result<Option<T>, ArgumentError> {
        let Some(body) = self.body.take() else {
            return if operation.body.is_some_and(|body| body.required) {
                Err(ArgumentError::no_body(operation))
            } else {
                Ok(None)
            };
        };
        let decoded = serde_json::from_value(body)
            .map_err(strict::StrictError::Json)
            .and_then(strict::checked);
        decoded
            .map(Some)
            .map_err(|e| ArgumentError::new(operation, format!("the request body: {e}")))
    }

    /// [`Self::take_body`] for a required body. Generated code calls this.
    #[doc(hidden)]
    pub fn require_body<T: DeserializeOwned + Drifted>(
        &mut self,
        operation: &Operation,
    ) -> Result<T, ArgumentError> {
        self.take_body(operation)?
            .ok_or_else(|| ArgumentError::no_body(operation))
    }

    /// Checks that nothing is left over: a parameter the operation does not have, or a body
    /// it does not take. Generated code calls this after taking every parameter.
    #[doc(hidden)]
    pub fn finish(self, operation: &Operation) -> Result<(), ArgumentError> {
        if let Some(name) = self.values.keys().next() {
            let known: Vec<&str> = operation.parameters.iter().map(|p| p.name).collect();
            let known = if known.is_empty() {
                "it has none".to_owned()
            } else {
                format!("it has {}", known.join(", "))
            };
            return Err(ArgumentError::new(
                operation,
                format!("no parameter {name} ({known})"),
            ));
        }
        if self.body.is_some() {
            return Err(ArgumentError::new(
                operation,
                "takes no request body".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Why [`Arguments`] do not make a call of an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgumentError {
    /// The operation's id, or the id asked for when there is no such operation.
    pub operation: String,
    /// What is wrong.
    pub reason: String,
}

impl ArgumentError {
    fn new(operation: &Operation, reason: String) -> Self {
        Self {
            operation: operation.id.to_owned(),
            reason,
        }
    }

    fn missing(operation: &Operation, parameter: &Parameter) -> Self {
        let (location, name) = (parameter.location, parameter.name);
        Self::new(
            operation,
            format!("the {location} parameter {name} is required"),
        )
    }

    fn no_body(operation: &Operation) -> Self {
        Self::new(operation, "a request body is required".to_owned())
    }

    /// There is no operation `id` among `operations`. Generated code calls this.
    #[doc(hidden)]
    pub fn unknown<'o>(id: &str, operations: impl IntoIterator<Item = &'o Operation>) -> Self {
        let ids: Vec<&str> = operations.into_iter().map(|o| o.id).collect();
        Self {
            operation: id.to_owned(),
            reason: format!("no such operation (the spec has {})", ids.join(", ")),
        }
    }
}

impl fmt::Display for ArgumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.operation, self.reason)
    }
}

impl std::error::Error for ArgumentError {}

/// The answer of an operation called through [`operations::Call`](crate::operations::Call):
/// its body as JSON, re-serialized from the operation's own type (so exactly what the service
/// sent, unknown and drifted fields included), and the fields that drifted from the spec.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Answer {
    /// The body; `None` for an answer without one (a 204).
    pub json: Option<Value>,
    /// The fields of the body whose JSON did not fit the spec (see [`crate::lenient`]).
    pub drift: Vec<Drift>,
}

impl Drifted for Answer {
    fn drift_into(&self, _: &crate::lenient::At<'_>, out: &mut Vec<Drift>) {
        out.extend(self.drift.iter().cloned());
    }
}

/// The [`Answer`] of a generated operation's result, its error body as JSON (so that the
/// calls of every document have one type): a success the generated code leaves out (a
/// bodiless 204 beside a bodied 200, see xtask's codegen) is an answer without a body.
/// Generated code calls this.
#[doc(hidden)]
// The error is the generated operations' own, as they return it.
#[allow(clippy::result_large_err)]
pub fn answer<T: Serialize + Drifted, E: Serialize>(
    operation: &Operation,
    result: Result<ResponseValue<T>, Error<E>>,
) -> Result<ResponseValue<Answer>, Error<Value>> {
    match result {
        Ok(response) => {
            let drift = drift(&*response);
            let json = serde_json::to_value(&*response)
                .map_err(|e| Error::Custom(format!("cannot re-serialize the answer: {e}")))?;
            let json = Some(json).filter(|json| !json.is_null());
            response.map(|_| Answer { json, drift })
        }
        Err(Error::UnexpectedResponse(mut response))
            if operation.successes.contains(&response.status().as_u16()) =>
        {
            let headers = std::mem::take(response.headers_mut());
            Ok(ResponseValue::new(
                Answer::default(),
                response.status(),
                headers,
            ))
        }
        Err(e) => Err(erased(e)),
    }
}

/// `error` with its error body as JSON.
#[allow(clippy::result_large_err)]
fn erased<E: Serialize>(error: Error<E>) -> Error<Value> {
    match error {
        Error::ErrorResponse(response) => {
            let (status, headers) = (response.status(), response.headers().clone());
            match serde_json::to_value(response.into_inner()) {
                Ok(body) => Error::ErrorResponse(ResponseValue::new(body, status, headers)),
                Err(e) => Error::Custom(format!("cannot re-serialize the error body: {e}")),
            }
        }
        Error::InvalidRequest(message) => Error::InvalidRequest(message),
        Error::CommunicationError(e) => Error::CommunicationError(e),
        Error::InvalidUpgrade(e) => Error::InvalidUpgrade(e),
        Error::ResponseBodyError(e) => Error::ResponseBodyError(e),
        Error::InvalidResponsePayload(bytes, e) => Error::InvalidResponsePayload(bytes, e),
        Error::UnexpectedResponse(response) => Error::UnexpectedResponse(response),
        Error::Custom(message) => Error::Custom(message),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Arguments;
    use crate::operations::{Call, OPERATIONS};

    fn refused(operation: &str, arguments: Arguments) -> String {
        Call::new(operation, arguments).unwrap_err().to_string()
    }

    #[test]
    fn values_are_read_by_their_types() {
        let call = Call::new(
            "listReferrals",
            Arguments::new()
                .param("$top", "50")
                .param("$count", "true")
                .param("$filter", "status eq 'New'")
                // Header names in any case.
                .param("x-locale", "en-US"),
        )
        .unwrap();
        let Call::ListReferrals {
            top,
            count,
            filter,
            x_locale,
            ..
        } = call
        else {
            panic!("{call:?}");
        };
        assert_eq!((top.map(u32::from), count), (Some(50), Some(true)));
        assert_eq!(
            filter.as_deref().map(String::as_str),
            Some("status eq 'New'")
        );
        assert_eq!(x_locale.map(|l| l.to_string()).as_deref(), Some("en-US"));
    }

    #[test]
    fn what_does_not_fit_is_refused_before_anything_is_sent() {
        assert_eq!(
            refused("getReferral", Arguments::new()),
            "getReferral: the path parameter id is required"
        );
        let bad_top = refused("listReferrals", Arguments::new().param("$top", "many"));
        assert!(
            bad_top.starts_with("listReferrals: $top: invalid value \"many\""),
            "{bad_top}"
        );
        let bad_guid = refused(
            "getReferral",
            Arguments::new()
                .param("id", "r1")
                .param("MS-RequestId", "not-a-guid"),
        );
        assert!(
            bad_guid.contains("MS-RequestId: invalid value \"not-a-guid\""),
            "{bad_guid}"
        );
        let unknown = refused(
            "getReferral",
            Arguments::new().param("id", "r1").param("$top", "1"),
        );
        assert!(
            unknown.starts_with("getReferral: no parameter $top (it has id, client-request-id,"),
            "{unknown}"
        );
        assert!(refused("getReferrals", Arguments::new()).starts_with(
            "getReferrals: no such operation (the spec has listReferrals, createReferral"
        ));
    }

    #[test]
    fn bodies_are_read_strictly() {
        let patch = json!([{"op": "replace", "path": "/status", "value": "Active"}]);
        let update = Arguments::new().param("id", "r1");
        assert!(Call::new("updateReferral", update.clone().body(patch)).is_ok());
        assert_eq!(
            refused("updateReferral", update.clone()),
            "updateReferral: a request body is required"
        );
        let not_a_patch = refused("updateReferral", update.body(json!({"status": "Active"})));
        assert!(
            not_a_patch.starts_with("updateReferral: the request body: "),
            "{not_a_patch}"
        );
        assert_eq!(
            refused(
                "getReferral",
                Arguments::new().param("id", "r1").body(json!({}))
            ),
            "getReferral: takes no request body"
        );
    }

    #[test]
    fn the_table_follows_the_spec() {
        let list = OPERATIONS.iter().find(|o| o.id == "listReferrals").unwrap();
        assert_eq!(
            list.paging.map(|p| (p.items, p.next_link)),
            Some(("value", "@odata.nextLink"))
        );
        assert!(list.parameter("$top").unwrap().loggable);
        assert!(!list.parameter("$filter").unwrap().loggable);
        let update = OPERATIONS
            .iter()
            .find(|o| o.id == "updateReferral")
            .unwrap();
        // The 204 the generated method leaves out is still a documented success.
        assert_eq!(update.successes, [200, 204]);
    }
}
