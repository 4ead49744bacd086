//! JSON Patch (RFC 6902) as the service supports it: `replace` and `add`, at JSON Pointers
//! (RFC 6901) into the referral.

use partner_center_api::PatchOp;
use partner_center_api::types::{JsonPointer, PatchOperation};
use serde_json::Value;

/// A refused operation: why, and at which path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PatchError {
    pub(crate) path: String,
    pub(crate) message: String,
}

/// One operation, checked: what the request says, whatever referral it applies to.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Operation {
    adding: bool,
    /// The pointer as given, for messages.
    path: String,
    /// Its reference tokens, unescaped: those of the parents, and the last one.
    parents: Vec<String>,
    last: String,
    value: Value,
}

/// Checks a JSON Patch as a request: `replace` and `add` only, at a JSON Pointer that does not
/// name one of the `server_set` fields. (The spec's types see to the rest: each operation has a
/// value, `null` included, and its path starts with `/`.)
pub(crate) fn parse(
    operations: Vec<PatchOperation>,
    server_set: &[String],
) -> Result<Vec<Operation>, PatchError> {
    if operations.is_empty() {
        return Err(PatchError {
            path: String::new(),
            message: "the patch has no operation".to_owned(),
        });
    }
    operations
        .into_iter()
        .map(|operation| {
            let refuse = |message: String| PatchError {
                path: operation.path.to_string(),
                message,
            };
            let adding = match &operation.op {
                PatchOp::Add => true,
                PatchOp::Replace => false,
                other => {
                    return Err(refuse(format!(
                        "the op {:?} is not supported: use replace or add",
                        other.as_str()
                    )));
                }
            };
            let (parents, last) = pointer(&operation.path);
            let top = parents.first().unwrap_or(&last);
            if server_set.contains(top) {
                return Err(refuse(format!("{top} is set by the service")));
            }
            Ok(Operation {
                adding,
                path: operation.path.to_string(),
                parents,
                last,
                value: operation.value,
            })
        })
        .collect()
}

/// Applies `operations` to `document`, in order; on error, `document` may be half-changed (the
/// caller works on a copy).
///
/// `add` sets an object member, or inserts into an array (`/-` appends); `replace` sets an
/// existing array element, or an object member, present or not (the service treats a missing
/// field as an unset one, so `replace /statusReason` works on a referral that has none).
pub(crate) fn apply(document: &mut Value, operations: &[Operation]) -> Result<(), PatchError> {
    for operation in operations {
        let refuse = |message: String| PatchError {
            path: operation.path.clone(),
            message,
        };
        let (parents, last) = (&operation.parents, &operation.last);
        let mut parent = &mut *document;
        for (depth, token) in parents.iter().enumerate() {
            let here = || format!("/{}", escape(&parents[..=depth]));
            parent = match parent {
                Value::Object(object) => object.get_mut(token.as_str()),
                Value::Array(items) => index(token, items.len()).and_then(|i| items.get_mut(i)),
                _ => None,
            }
            .ok_or_else(|| refuse(format!("{} does not exist", here())))?;
        }
        let (adding, value) = (operation.adding, operation.value.clone());
        match parent {
            Value::Object(object) => {
                object.insert(last.clone(), value);
            }
            Value::Array(items) if adding && last == "-" => items.push(value),
            Value::Array(items) => {
                let bound = items.len() + usize::from(adding);
                let at = index(last, bound).ok_or_else(|| {
                    refuse(format!(
                        "{last:?} is not an index of the array (0 to {})",
                        bound.saturating_sub(1)
                    ))
                })?;
                if adding {
                    items.insert(at, value);
                } else {
                    items[at] = value;
                }
            }
            _ => {
                return Err(refuse(format!(
                    "/{} is neither an object nor an array",
                    escape(parents)
                )));
            }
        }
    }
    Ok(())
}

/// The reference tokens of a JSON Pointer, those of the parents and the last one
/// (`/a~1b/0` -> `(["a/b"], "0")`). The spec's `JsonPointer` is well formed: it starts with `/`
/// and escapes only as `~0` and `~1`.
fn pointer(path: &JsonPointer) -> (Vec<String>, String) {
    let mut tokens: Vec<String> = path
        .split('/')
        // The part before the pointer's leading `/`.
        .skip(1)
        // `~1` first: `~01` is `~1`, not `/`.
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .collect();
    let last = tokens.pop().unwrap_or_default();
    (tokens, last)
}

/// Tokens written back as a pointer (without the leading `/`).
fn escape(tokens: &[String]) -> String {
    tokens
        .iter()
        .map(|t| t.replace('~', "~0").replace('/', "~1"))
        .collect::<Vec<_>>()
        .join("/")
}

/// An array index below `bound`: digits, without leading zeros.
fn index(token: &str, bound: usize) -> Option<usize> {
    let well_formed = token == "0"
        || (!token.starts_with('0')
            && !token.is_empty()
            && token.bytes().all(|b| b.is_ascii_digit()));
    well_formed
        .then(|| token.parse().ok())
        .flatten()
        .filter(|&i| i < bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(op: &str, path: &str, value: Value) -> PatchOperation {
        PatchOperation {
            op: PatchOp::from(op),
            path: path.parse().unwrap(),
            value,
        }
    }

    fn patched(operations: &[PatchOperation]) -> Result<Value, PatchError> {
        let mut document = json!({
            "id": "1",
            "status": "New",
            "details": {"notes": "n", "a/b": 1, "t~": 2},
            "team": [{"email": "a@x"}, {"email": "b@x"}]
        });
        let operations = parse(operations.to_vec(), crate::spec::server_set().unwrap())?;
        apply(&mut document, &operations).map(|()| document)
    }

    fn refusal(operations: &[PatchOperation]) -> PatchError {
        patched(operations).unwrap_err()
    }

    #[test]
    fn replace_and_add_set_values_at_pointers() {
        let document = patched(&[
            op("replace", "/status", json!("Active")),
            op("replace", "/details/notes", json!("new")),
            op("replace", "/statusReason", json!("missing, now set")),
            op("add", "/details/currency", json!("USD")),
            op("replace", "/details/a~1b", json!(10)),
            op("replace", "/details/t~0", json!(20)),
            op("replace", "/team/1/email", json!("c@x")),
            op("add", "/team/-", json!({"email": "d@x"})),
            op("add", "/team/0", json!({"email": "first@x"})),
        ])
        .unwrap();
        assert_eq!(
            document,
            json!({
                "id": "1",
                "status": "Active",
                "statusReason": "missing, now set",
                "details": {"notes": "new", "a/b": 10, "t~": 20, "currency": "USD"},
                "team": [{"email": "first@x"}, {"email": "a@x"}, {"email": "c@x"}, {"email": "d@x"}]
            })
        );
    }

    #[test]
    fn what_cannot_be_applied_is_refused_with_the_path() {
        for (operation, path, expected) in [
            (
                op("remove", "/status", Value::Null),
                "/status",
                "\"remove\" is not supported",
            ),
            (op("move", "/status", json!(1)), "/status", "not supported"),
            (
                op("replace", "/id", json!("2")),
                "/id",
                "id is set by the service",
            ),
            (
                op("add", "/eTag", json!("x")),
                "/eTag",
                "set by the service",
            ),
            (
                op("replace", "/updatedDateTime", json!("x")),
                "/updatedDateTime",
                "set by",
            ),
            (
                op(
                    "replace",
                    "/expirationDateTime",
                    json!("2099-01-01T00:00:00Z"),
                ),
                "/expirationDateTime",
                "set by",
            ),
            (
                op("replace", "/links/self/uri", json!("https://example.test")),
                "/links/self/uri",
                "links is set by the service",
            ),
            (
                op("replace", "/consent/x", json!(1)),
                "/consent/x",
                "/consent does not exist",
            ),
            (
                op("replace", "/team/2", json!(1)),
                "/team/2",
                "not an index of the array (0 to 1)",
            ),
            (
                op("replace", "/team/-", json!(1)),
                "/team/-",
                "not an index",
            ),
            (op("add", "/team/3", json!(1)), "/team/3", "(0 to 2)"),
            (op("add", "/team/01", json!(1)), "/team/01", "not an index"),
            (
                op("replace", "/team/x/email", json!(1)),
                "/team/x/email",
                "/team/x does not exist",
            ),
            (
                op("add", "/status/x", json!(1)),
                "/status/x",
                "/status is neither",
            ),
        ] {
            let error = refusal(std::slice::from_ref(&operation));
            assert_eq!(error.path, path, "{operation:?}");
            assert!(
                error.message.contains(expected),
                "{operation:?}: {}",
                error.message
            );
        }
    }

    #[test]
    fn pointers_are_unescaped_as_rfc_6901_says() {
        let tokens = |path: &str| pointer(&path.parse().unwrap());
        assert_eq!(tokens("/a~1b/0"), (vec!["a/b".to_owned()], "0".to_owned()));
        assert_eq!(tokens("/~01"), (vec![], "~1".to_owned()));
        assert_eq!(tokens("/"), (vec![], String::new()));
        // The spec's `JsonPointer` refuses what is no pointer.
        for bad in ["", "status", "/a~2", "/a~"] {
            assert!(bad.parse::<JsonPointer>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn null_is_a_value_that_clears_a_field() {
        let document = patched(&[op("replace", "/details/notes", Value::Null)]).unwrap();
        assert_eq!(
            document["details"],
            json!({"notes": null, "a/b": 1, "t~": 2})
        );
    }

    #[test]
    fn an_empty_patch_is_refused() {
        assert_eq!(refusal(&[]).message, "the patch has no operation");
    }

    #[test]
    fn indices_are_digits_without_leading_zeros() {
        assert_eq!(index("0", 1), Some(0));
        assert_eq!(index("12", 13), Some(12));
        assert_eq!(index("12", 12), None);
        for bad in ["", "-1", "+1", "01", "1e2", "99999999999999999999999"] {
            assert_eq!(index(bad, usize::MAX), None, "{bad}");
        }
    }
}
