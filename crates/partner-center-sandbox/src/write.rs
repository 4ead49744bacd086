//! What a create or an update does to a referral, as the service does it: server-set fields,
//! the spec's schemas (of the request, and of the referral it makes), the lifecycle.

use chrono::{DateTime, Duration, Utc};
use partner_center_api::types::Referral;
use partner_center_api::{ReferralStatus, ReferralSubstatus, lifecycle};
use serde_json::{Value, json};

use crate::patch;
use crate::seed;
use crate::spec;
use crate::store;

/// Why a write is refused (all with the code `invalidRequest`), or a 500 when the spec cannot
/// be read. A patch the spec allows can still not fit the referral it is applied to; RFC 5789
/// gives those their own statuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 400: the request itself is wrong (its headers, its body against the spec's schema).
    Invalid {
        message: String,
        target: Option<String>,
    },
    /// 409: the patch assumes a structure the referral does not have (a parent that does not
    /// exist, an index past the end).
    Conflict { message: String, target: String },
    /// 422: the patch is understood but cannot be carried out: it changes a field the service
    /// sets, or the patched referral would break the spec or the lifecycle.
    Unprocessable { message: String, target: String },
    /// The sandbox's own problem, not the caller's.
    Internal(String),
}

impl Refusal {
    /// A patch that does not fit the referral's structure (409).
    pub(crate) fn conflict(e: patch::PatchError) -> Self {
        Self::Conflict {
            message: format!("cannot apply {}: {}", e.path, e.message),
            target: e.path,
        }
    }

    /// A patch that asks for what the service does not do (422).
    pub(crate) fn unprocessable(e: patch::PatchError) -> Self {
        Self::Unprocessable {
            message: format!("cannot apply {}: {}", e.path, e.message),
            target: e.path,
        }
    }
}

fn invalid(message: impl Into<String>, target: &str) -> Refusal {
    Refusal::Invalid {
        message: message.into(),
        target: Some(target.to_owned()),
    }
}

/// The referral `body` creates, at `now`. The body is checked against the request schema of
/// the spec (a `NewReferral`: the required fields, the ISO country and currency codes, a
/// referral starts `New`), after dropping what it says of the fields the service sets (the
/// `readOnly` ones of `Referral`: ids, dates, `eTag`, links), which the service ignores. The
/// referral gets an id, an engagement, dates, an `eTag`, `New`/`Pending` unless another
/// substatus was given, and an expiry 14 days on.
pub(crate) fn create(body: Value, now: DateTime<Utc>) -> Result<Value, Refusal> {
    let Value::Object(mut referral) = body else {
        return Err(invalid(
            "the body must be a new referral (a JSON object)",
            "body",
        ));
    };
    let server_set = spec::server_set().map_err(|e| Refusal::Internal(e.to_string()))?;
    referral.retain(|field, _| !server_set.contains(field));
    let mut referral = Value::Object(referral);
    check(spec::create_body(), &referral)?;
    let id = uuid::Uuid::new_v4().to_string();
    let engagement_id = uuid::Uuid::new_v4().to_string();
    let links = serde_json::to_value(seed::links(&id, &engagement_id))
        .map_err(|e| Refusal::Internal(e.to_string()))?;
    let created = seed::timestamp(now);
    let substatus = referral
        .get("substatus")
        .cloned()
        .unwrap_or(json!(ReferralSubstatus::Pending));
    for (field, value) in [
        ("@odata.context", json!(seed::ODATA_CONTEXT)),
        ("id", json!(id)),
        ("engagementId", json!(engagement_id)),
        ("organizationId", json!(seed::ORGANIZATION_ID)),
        ("organizationName", json!(seed::ORGANIZATION_NAME)),
        ("createdDateTime", json!(created)),
        ("updatedDateTime", json!(created)),
        // Unanswered referrals expire after 14 days.
        (
            "expirationDateTime",
            json!(seed::timestamp(now + Duration::days(14))),
        ),
        ("status", json!(ReferralStatus::New)),
        ("substatus", substatus),
        ("eTag", json!(new_etag())),
        ("links", links),
    ] {
        set(&mut referral, field, value);
    }
    conforming(&referral)?;
    Ok(referral)
}

/// `current` with `operations` applied at `now`: checked against the spec and the lifecycle,
/// with a new `eTag` and `updatedDateTime` (and `acceptedDateTime`/`closedDateTime` when it
/// moves there).
pub(crate) fn update(
    current: &Value,
    operations: &[patch::Operation],
    now: DateTime<Utc>,
) -> Result<Value, Refusal> {
    let mut updated = current.clone();
    patch::apply(&mut updated, operations).map_err(Refusal::conflict)?;
    // Stored referrals conform already: decoding is enough.
    let before = store::typed(current).map_err(|e| Refusal::Internal(e.to_string()))?;
    let after = conforming(&updated).map_err(|refusal| match refusal {
        Refusal::Invalid { message, target } => Refusal::Unprocessable {
            message: format!("the patched referral would not be valid: {message}"),
            target: target.unwrap_or_else(|| "body".to_owned()),
        },
        other => other,
    })?;
    let moved = (&before.status, &before.substatus) != (&after.status, &after.substatus);
    if moved {
        let lifecycle = |message: String| Refusal::Unprocessable {
            message,
            target: "status".to_owned(),
        };
        let (Some(status), Some(substatus)) = (&after.status, &after.substatus) else {
            return Err(lifecycle(
                "a status change needs both status and substatus".to_owned(),
            ));
        };
        if let Some(reason) = lifecycle::refusal(before.status.as_ref(), status, substatus) {
            return Err(lifecycle(reason));
        }
        let stamp = match status {
            ReferralStatus::Active => {
                Some(("acceptedDateTime", after.accepted_date_time.is_none()))
            }
            ReferralStatus::Closed => Some(("closedDateTime", after.closed_date_time.is_none())),
            _ => None,
        };
        if let Some((field, true)) = stamp {
            set(&mut updated, field, seed::timestamp(now));
        }
    }
    set(
        &mut updated,
        "updatedDateTime",
        seed::timestamp(change_time(current, now)),
    );
    set(&mut updated, "eTag", new_etag());
    Ok(updated)
}

/// `current` with the JSON merge patch (RFC 7396) `patch` applied at `now`, without the API's
/// rules (fields the service sets, the lifecycle): for a test to make a referral change as the
/// service would change it. Only `id` cannot change (it is how the referral is found), and the
/// result must still conform to the spec. It gets a new `eTag` and `updatedDateTime`, whatever
/// the patch says of them.
pub(crate) fn change(current: &Value, patch: &Value, now: DateTime<Utc>) -> Result<Value, Refusal> {
    let Value::Object(fields) = patch else {
        return Err(invalid(
            "the body must be a JSON merge patch (a JSON object)",
            "body",
        ));
    };
    if fields
        .get("id")
        .is_some_and(|id| Some(id) != current.get("id"))
    {
        return Err(Refusal::Unprocessable {
            message: "the id of a referral cannot change".to_owned(),
            target: "id".to_owned(),
        });
    }
    let mut changed = current.clone();
    merge(&mut changed, patch);
    set(
        &mut changed,
        "updatedDateTime",
        seed::timestamp(change_time(current, now)),
    );
    set(&mut changed, "eTag", new_etag());
    conforming(&changed).map_err(|refusal| match refusal {
        Refusal::Invalid { message, target } => Refusal::Unprocessable {
            message: format!("the changed referral would not be valid: {message}"),
            target: target.unwrap_or_else(|| "body".to_owned()),
        },
        other => other,
    })?;
    Ok(changed)
}

/// RFC 7396: `patch`'s members replace `target`'s, `null` removes one, objects merge. As deep
/// as the patch, which serde_json's parser keeps to 128 levels.
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(object) = target {
        for (key, value) in members {
            match value {
                Value::Null => {
                    object.remove(key);
                }
                value => merge(object.entry(key.clone()).or_insert(Value::Null), value),
            }
        }
    }
}

/// When a change of `referral` made at `now` happened: `now`, or just after the referral's
/// `updatedDateTime` when the clock has not passed it, so that each change is later than the
/// last (by one 100 ns tick, the precision of the service's dates).
fn change_time(referral: &Value, now: DateTime<Utc>) -> DateTime<Utc> {
    let last = referral
        .get("updatedDateTime")
        .and_then(Value::as_str)
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|last| last.with_timezone(&Utc));
    let tick = Duration::nanoseconds(100);
    match last {
        // Within a tick of the last change, `now` would be written as the same date.
        Some(last) if now < last + tick => last + tick,
        _ => now,
    }
}

/// Whether `If-Match` (the raw header value) lets an update of `referral` through: `*`, or its
/// `eTag` verbatim (among a comma-separated list).
pub(crate) fn precondition_holds(if_match: &str, referral: &Value) -> bool {
    let current = referral.get("eTag").and_then(Value::as_str);
    if_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || Some(tag) == current)
}

/// `referral` decoded, if it conforms to the spec's `Referral`.
fn conforming(referral: &Value) -> Result<Referral, Refusal> {
    check(spec::referral(), referral)?;
    store::typed(referral).map_err(|e| Refusal::Invalid {
        message: e.to_string(),
        target: None,
    })
}

/// Refuses `json` unless it conforms to `schema`, saying what is wrong with it first and
/// where (the target is the JSON Pointer without its `/`, or `body` for the whole of it).
pub(crate) fn check(
    schema: Result<&spec::Schema, spec::SpecError>,
    json: &Value,
) -> Result<(), Refusal> {
    let schema = schema.map_err(|e| Refusal::Internal(e.to_string()))?;
    match schema.problems(json).into_iter().next() {
        None => Ok(()),
        Some(problem) => {
            let target = match problem.pointer.trim_start_matches('/') {
                "" => "body",
                pointer => pointer,
            };
            Err(invalid(problem.to_string(), target))
        }
    }
}

/// A request body as JSON.
pub(crate) fn json(body: &[u8]) -> Result<Value, Refusal> {
    serde_json::from_slice(body).map_err(|e| invalid(format!("the body is not JSON: {e}"), "body"))
}

fn set(referral: &mut Value, field: &str, value: impl serde::Serialize) {
    if let (Value::Object(object), Ok(value)) = (referral, serde_json::to_value(value)) {
        object.insert(field.to_owned(), value);
    }
}

/// A fresh `eTag`, quotes included, like the service's.
pub(crate) fn new_etag() -> String {
    format!("\"{}\"", uuid::Uuid::new_v4())
}
