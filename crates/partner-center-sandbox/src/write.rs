//! What a create or an update does to a referral, as the service does it: server-set fields,
//! required fields, the spec's schema, the lifecycle.

use chrono::{DateTime, Duration, Utc};
use partner_center_api::types::Referral;
use partner_center_api::{ReferralStatus, ReferralSubstatus, lifecycle};
use serde_json::{Value, json};

use crate::patch;
use crate::seed;
use crate::spec;
use crate::store;

/// The fields a created referral must have.
const REQUIRED: [&str; 4] = ["type", "customerProfile", "consent", "details"];

/// Why a write is refused: a `400 invalidRequest` (or a 500 when the spec cannot be read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Invalid {
        message: String,
        target: Option<String>,
    },
    /// The sandbox's own problem, not the caller's.
    Internal(String),
}

impl From<patch::PatchError> for Refusal {
    fn from(e: patch::PatchError) -> Self {
        Self::Invalid {
            message: format!("cannot apply {}: {}", e.path, e.message),
            target: Some(if e.path.is_empty() {
                "body".to_owned()
            } else {
                e.path
            }),
        }
    }
}

fn invalid(message: impl Into<String>, target: &str) -> Refusal {
    Refusal::Invalid {
        message: message.into(),
        target: Some(target.to_owned()),
    }
}

/// The referral `body` creates, at `now`: with an id, an engagement, dates, an `eTag`, and
/// `New`/`Pending` unless a status was given. What the body says of the fields the service
/// sets (the spec's `readOnly` ones: ids, dates, `eTag`, links) is ignored, as the service
/// ignores it.
pub(crate) fn create(body: Value, now: DateTime<Utc>) -> Result<Value, Refusal> {
    let Value::Object(mut referral) = body else {
        return Err(invalid(
            "the body must be a referral (a JSON object)",
            "body",
        ));
    };
    let server_set = spec::server_set().map_err(|e| Refusal::Internal(e.to_string()))?;
    referral.retain(|field, _| !server_set.contains(field));
    if let Some(missing) = REQUIRED
        .iter()
        .find(|field| referral.get(**field).is_none_or(Value::is_null))
    {
        return Err(invalid(
            format!(
                "{missing} is required to create a referral (type, customerProfile, consent and details are)"
            ),
            missing,
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let engagement_id = uuid::Uuid::new_v4().to_string();
    if !referral.contains_key("status") {
        referral.insert("status".into(), json!(ReferralStatus::New));
    }
    if !referral.contains_key("substatus")
        && referral.get("status") == Some(&json!(ReferralStatus::New))
    {
        referral.insert("substatus".into(), json!(ReferralSubstatus::Pending));
    }
    let links = serde_json::to_value(seed::links(&id, &engagement_id))
        .map_err(|e| Refusal::Internal(e.to_string()))?;
    let created = seed::timestamp(now);
    for (field, value) in [
        ("@odata.context", json!(seed::ODATA_CONTEXT)),
        ("id", json!(id)),
        ("engagementId", json!(engagement_id)),
        ("organizationId", json!(seed::ORGANIZATION_ID)),
        ("organizationName", json!(seed::ORGANIZATION_NAME)),
        ("createdDateTime", json!(created)),
        ("updatedDateTime", json!(created)),
        ("eTag", json!(new_etag())),
        ("links", links),
    ] {
        referral.insert(field.to_owned(), value);
    }
    let mut referral = Value::Object(referral);
    let typed = conforming(&referral)?;
    if let Some(status) = &typed.status {
        let Some(substatus) = &typed.substatus else {
            return Err(invalid(
                format!("a referral created with status {status} needs a substatus"),
                "substatus",
            ));
        };
        if let Some(reason) = lifecycle::refusal(None, status, substatus) {
            return Err(invalid(reason, "substatus"));
        }
    }
    if typed.status == Some(ReferralStatus::New) {
        // Unanswered referrals expire after 14 days.
        set(
            &mut referral,
            "expirationDateTime",
            seed::timestamp(now + Duration::days(14)),
        );
    }
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
    patch::apply(&mut updated, operations).map_err(Refusal::from)?;
    // Stored referrals conform already: decoding is enough.
    let before = store::typed(current).map_err(|e| Refusal::Internal(e.to_string()))?;
    let after = conforming(&updated).map_err(|refusal| match refusal {
        Refusal::Invalid { message, target } => Refusal::Invalid {
            message: format!("the patched referral would not be valid: {message}"),
            target,
        },
        internal => internal,
    })?;
    let moved = (&before.status, &before.substatus) != (&after.status, &after.substatus);
    if moved {
        let (Some(status), Some(substatus)) = (&after.status, &after.substatus) else {
            return Err(invalid(
                "a status change needs both status and substatus",
                "status",
            ));
        };
        if let Some(reason) = lifecycle::refusal(before.status.as_ref(), status, substatus) {
            return Err(invalid(reason, "status"));
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
    set(&mut updated, "updatedDateTime", seed::timestamp(now));
    set(&mut updated, "eTag", new_etag());
    Ok(updated)
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
    let schema = spec::referral().map_err(|e| Refusal::Internal(e.to_string()))?;
    if let Some(problem) = schema.errors(referral).into_iter().next() {
        let target = problem
            .rsplit_once(" at /")
            .map(|(_, pointer)| pointer.to_owned())
            .filter(|p| !p.is_empty());
        return Err(Refusal::Invalid {
            message: problem,
            target,
        });
    }
    store::typed(referral).map_err(|e| Refusal::Invalid {
        message: e.to_string(),
        target: None,
    })
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
