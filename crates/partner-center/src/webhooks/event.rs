//! [`Event`]: what one callback says changed, decoded from its JSON body.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::text;
use crate::webhooks::WebhookEvent;

/// The longest referral id taken from a `ResourceUri` (referral ids are GUIDs, 36 characters).
const MAX_ID_LEN: usize = 128;

/// The longest `ResourceChangeUtcDate` parsed (the documented form has 33 characters).
const MAX_DATE_LEN: usize = 64;

/// One Partner Center webhook event: which resource changed, how, and when.
///
/// The payload carries no referral data: read the referral ([`Event::referral_id`]) after
/// each event. Keys are read in any case (the docs send `EventName`, the swagger
/// `eventName`); the whole body is kept ([`Event::json`]).
///
/// It serializes (for NDJSON, say) as
/// `{"eventName", "resourceUri", "referralId", "resourceName", "auditUri",
/// "resourceChangeUtcDate", "body"}`, the date as it came and `body` the whole JSON body.
///
/// ```
/// use partner_center::webhooks::{Event, WebhookEvent};
///
/// let body = br#"{"EventName": "referral-created",
///     "ResourceUri": "https://api.partnercenter.microsoft.com/engagements/v1/referrals/c5fbb3b6-be74-4795-9fb5-4324c73fed37",
///     "ResourceName": "referral", "AuditUri": null,
///     "ResourceChangeUtcDate": "2018-02-17T00:05:39.5485487+00:00"}"#;
/// let event = Event::from_slice(body)?;
/// assert_eq!(event.name(), &WebhookEvent::ReferralCreated);
/// assert_eq!(event.referral_id(), Some("c5fbb3b6-be74-4795-9fb5-4324c73fed37"));
/// assert_eq!(event.changed_at().timestamp_subsec_nanos(), 548_548_700);
/// # Ok::<(), partner_center::webhooks::EventError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub struct Event {
    name: WebhookEvent,
    resource_uri: String,
    referral_id: Option<String>,
    resource_name: Option<String>,
    audit_uri: Option<String>,
    changed_at: DateTime<Utc>,
    changed_at_text: String,
    json: Map<String, Value>,
}

impl Event {
    /// Decodes an event from a callback's body. `EventName`, `ResourceUri` and
    /// `ResourceChangeUtcDate` are required; `ResourceName` and `AuditUri` may be missing or
    /// null. This does not verify anything: [`crate::webhooks::Verifier`] does, then calls this.
    pub fn from_slice(body: &[u8]) -> Result<Self, EventError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| EventError::NotJson {
            line: e.line(),
            column: e.column(),
        })?;
        let Value::Object(json) = value else {
            return Err(EventError::NotAnObject);
        };
        let name = required(&json, "EventName")?;
        let resource_uri = required(&json, "ResourceUri")?.to_owned();
        let resource_name = optional(&json, "ResourceName")?.map(str::to_owned);
        let audit_uri = optional(&json, "AuditUri")?.map(str::to_owned);
        let changed_at_text = required(&json, "ResourceChangeUtcDate")?.to_owned();
        let changed_at = parse_date(&changed_at_text).ok_or_else(|| {
            EventError::BadDate(text::excerpt(&changed_at_text, MAX_DATE_LEN).to_string())
        })?;
        let name = WebhookEvent::from(name);
        let about_referral = is_referral(&name)
            || resource_name
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case("referral"));
        let referral_id = about_referral
            .then(|| last_segment(&resource_uri))
            .flatten()
            .map(str::to_owned);
        Ok(Self {
            name,
            resource_uri,
            referral_id,
            resource_name,
            audit_uri,
            changed_at,
            changed_at_text,
            json,
        })
    }

    /// What happened.
    pub fn name(&self) -> &WebhookEvent {
        &self.name
    }

    /// The changed resource (`ResourceUri`), as it came. For a referral it is not a Referrals
    /// API URL: read the referral by [`Event::referral_id`] instead.
    pub fn resource_uri(&self) -> &str {
        &self.resource_uri
    }

    /// The referral's id, the last path segment of `ResourceUri`, for an event about a
    /// referral. `None` for other resources (a test event), and when that segment does not look
    /// like an id (empty, longer than 128 characters, or with characters other than ASCII
    /// letters, digits, `-`, `_` and `.`).
    pub fn referral_id(&self) -> Option<&str> {
        self.referral_id.as_deref()
    }

    /// The kind of resource (`ResourceName`: `referral`, `test`).
    pub fn resource_name(&self) -> Option<&str> {
        self.resource_name.as_deref()
    }

    /// `AuditUri`, null in every referral event seen so far.
    pub fn audit_uri(&self) -> Option<&str> {
        self.audit_uri.as_deref()
    }

    /// When the resource changed (`ResourceChangeUtcDate`); a value without an offset is UTC.
    pub fn changed_at(&self) -> DateTime<Utc> {
        self.changed_at
    }

    /// `ResourceChangeUtcDate` exactly as it came (with its 7 fractional digits).
    pub fn changed_at_text(&self) -> &str {
        &self.changed_at_text
    }

    /// The whole body, every key as it came, those this type reads and any other.
    pub fn json(&self) -> &Map<String, Value> {
        &self.json
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Shown<'a> {
            event_name: &'a WebhookEvent,
            resource_uri: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            referral_id: Option<&'a str>,
            resource_name: Option<&'a str>,
            audit_uri: Option<&'a str>,
            resource_change_utc_date: &'a str,
            body: &'a Map<String, Value>,
        }
        Shown {
            event_name: &self.name,
            resource_uri: &self.resource_uri,
            referral_id: self.referral_id(),
            resource_name: self.resource_name(),
            audit_uri: self.audit_uri(),
            resource_change_utc_date: &self.changed_at_text,
            body: &self.json,
        }
        .serialize(serializer)
    }
}

/// Whether an event of this name is about a referral (created or updated, related or not):
/// its `ResourceUri` names the referral to read again.
fn is_referral(name: &WebhookEvent) -> bool {
    matches!(
        name,
        WebhookEvent::ReferralCreated
            | WebhookEvent::ReferralUpdated
            | WebhookEvent::RelatedReferralCreated
            | WebhookEvent::RelatedReferralUpdated
    )
}

/// Why a body is not an event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub enum EventError {
    /// The body is not JSON (where the parser stopped; nothing of the body is kept).
    #[error("not JSON (line {line}, column {column})")]
    NotJson {
        /// The line where parsing stopped.
        line: usize,
        /// The column where parsing stopped.
        column: usize,
    },
    /// The body is JSON, but not an object.
    #[error("not a JSON object")]
    NotAnObject,
    /// A required key is missing (or null).
    #[error("`{0}` is missing")]
    Missing(&'static str),
    /// A key's value is not a string.
    #[error("`{0}` is not a string")]
    NotAString(&'static str),
    /// A key appears more than once, in different cases (`EventName` and `eventName`).
    #[error("`{0}` appears more than once")]
    Repeated(&'static str),
    /// `ResourceChangeUtcDate` is not a date-time (its start, escaped).
    #[error("`ResourceChangeUtcDate` is not a date-time: {0}")]
    BadDate(String),
}

/// The value of the key `name` (in any case) of `json`, if any: one key at most.
fn field<'j>(
    json: &'j Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'j Value>, EventError> {
    let mut found = json
        .iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value);
    let first = found.next();
    match found.next() {
        Some(_) => Err(EventError::Repeated(name)),
        None => Ok(first),
    }
}

/// The string value of `name`, if present and not null.
fn optional<'j>(
    json: &'j Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'j str>, EventError> {
    match field(json, name)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(EventError::NotAString(name)),
    }
}

fn required<'j>(json: &'j Map<String, Value>, name: &'static str) -> Result<&'j str, EventError> {
    optional(json, name)?.ok_or(EventError::Missing(name))
}

/// RFC 3339 (any number of fractional digits), or the same without an offset, taken as UTC
/// (the field is named `Utc`, and Partner Center's other dates come so).
fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    if text.len() > MAX_DATE_LEN {
        return None;
    }
    DateTime::parse_from_rfc3339(text)
        .map(|date| date.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|d| d.and_utc())
        })
        .ok()
}

/// The last path segment of `uri` (query and fragment left out), if it looks like an id.
fn last_segment(uri: &str) -> Option<&str> {
    let path = uri.split(['?', '#']).next().unwrap_or_default();
    let segment = path.rsplit('/').next().unwrap_or_default();
    let plausible = (1..=MAX_ID_LEN).contains(&segment.len())
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && segment.bytes().any(|b| b != b'.');
    plausible.then_some(segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERRAL_URI: &str = "https://api.partnercenter.microsoft.com/engagements/v1/referrals/c5fbb3b6-be74-4795-9fb5-4324c73fed37";

    fn body(name: &str, uri: &str, date: &str) -> Vec<u8> {
        serde_json::json!({
            "EventName": name, "ResourceUri": uri, "ResourceName": "referral",
            "AuditUri": null, "ResourceChangeUtcDate": date,
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn the_documented_pascal_case_payload_decodes() {
        let event = Event::from_slice(&body(
            "referral-updated",
            REFERRAL_URI,
            "2018-02-17T00:05:39.5485487+00:00",
        ))
        .unwrap();
        assert_eq!(event.name(), &WebhookEvent::ReferralUpdated);
        assert_eq!(event.resource_uri(), REFERRAL_URI);
        assert_eq!(
            event.referral_id(),
            Some("c5fbb3b6-be74-4795-9fb5-4324c73fed37")
        );
        assert_eq!(event.resource_name(), Some("referral"));
        assert_eq!(event.audit_uri(), None);
        assert_eq!(event.changed_at_text(), "2018-02-17T00:05:39.5485487+00:00");
        assert_eq!(
            event.changed_at(),
            "2018-02-17T00:05:39.548548700Z"
                .parse::<DateTime<Utc>>()
                .unwrap()
        );
    }

    #[test]
    fn the_swagger_camel_case_payload_decodes_too() {
        let body =
            br#"{"eventName": "related-referral-created", "resourceUri": "https://x/referrals/abc",
            "resourceName": "referral", "auditUri": "https://x/audit/1",
            "resourceChangeUtcDate": "2024-05-01T10:00:00Z", "extra": {"kept": true}}"#;
        let event = Event::from_slice(body).unwrap();
        assert_eq!(event.name(), &WebhookEvent::RelatedReferralCreated);
        assert_eq!(event.referral_id(), Some("abc"));
        assert_eq!(event.audit_uri(), Some("https://x/audit/1"));
        assert_eq!(event.json()["extra"], serde_json::json!({"kept": true}));
    }

    #[test]
    fn unknown_names_are_kept_as_sent() {
        let event = Event::from_slice(&body(
            "referral-deleted",
            REFERRAL_URI,
            "2024-05-01T10:00:00Z",
        ))
        .unwrap();
        assert_eq!(
            event.name(),
            &WebhookEvent::Other("referral-deleted".into())
        );
        assert_eq!(event.name().as_str(), "referral-deleted");
        // Its resource is still a referral: the id is read.
        assert_eq!(
            event.referral_id(),
            Some("c5fbb3b6-be74-4795-9fb5-4324c73fed37")
        );
        // Kept as sent: another spelling is another name.
        let shouted = WebhookEvent::Other("Referral-Created".into());
        assert_eq!(WebhookEvent::from("Referral-Created"), shouted);
    }

    #[test]
    fn a_test_event_has_no_referral_id() {
        let body = br#"{"EventName": "test-created", "ResourceUri": "http://localhost:8080/webhooks/v1/api/test",
            "ResourceName": "test", "AuditUri": null, "ResourceChangeUtcDate": "2017-11-16T16:19:06.3520276+00:00"}"#;
        let event = Event::from_slice(body).unwrap();
        assert_eq!(event.name(), &WebhookEvent::TestCreated);
        assert_eq!(event.referral_id(), None);
    }

    #[test]
    fn implausible_ids_are_not_taken() {
        for uri in [
            "https://x/referrals/",
            "https://x/referrals/..",
            "https://x/referrals/a%2Fb",
            "https://x/referrals/a b",
            "https://x/referrals/\u{1b}[2J",
            &format!("https://x/referrals/{}", "a".repeat(MAX_ID_LEN + 1)),
        ] {
            let event =
                Event::from_slice(&body("referral-created", uri, "2024-05-01T10:00:00Z")).unwrap();
            assert_eq!(event.referral_id(), None, "{uri}");
            assert_eq!(event.resource_uri(), uri);
        }
        let event = Event::from_slice(&body(
            "referral-created",
            "https://x/referrals/id-1?x=1#f",
            "2024-05-01T10:00:00Z",
        ))
        .unwrap();
        assert_eq!(event.referral_id(), Some("id-1"));
    }

    #[test]
    fn dates_without_an_offset_are_utc_and_others_refused() {
        let event = Event::from_slice(&body(
            "referral-created",
            REFERRAL_URI,
            "2018-02-17T00:05:39.5485487",
        ))
        .unwrap();
        assert_eq!(
            event.changed_at().to_rfc3339(),
            "2018-02-17T00:05:39.548548700+00:00"
        );
        let event = Event::from_slice(&body(
            "referral-created",
            REFERRAL_URI,
            "2018-02-17T02:05:39+02:00",
        ))
        .unwrap();
        assert_eq!(event.changed_at().to_rfc3339(), "2018-02-17T00:05:39+00:00");
        for date in ["yesterday", "2018-02-30T00:00:00Z", "", &"9".repeat(5000)] {
            let error =
                Event::from_slice(&body("referral-created", REFERRAL_URI, date)).unwrap_err();
            assert!(matches!(error, EventError::BadDate(_)), "{date}: {error}");
            assert!(error.to_string().len() < 200);
        }
    }

    #[test]
    fn bodies_that_are_not_events_say_why() {
        let cases: [(&[u8], EventError); 7] = [
            (b"{", EventError::NotJson { line: 1, column: 1 }),
            (b"[]", EventError::NotAnObject),
            (br#"{"ResourceUri": "u", "ResourceChangeUtcDate": "2024-05-01T10:00:00Z"}"#, EventError::Missing("EventName")),
            (br#"{"EventName": null, "ResourceUri": "u", "ResourceChangeUtcDate": "2024-05-01T10:00:00Z"}"#, EventError::Missing("EventName")),
            (br#"{"EventName": 1, "ResourceUri": "u", "ResourceChangeUtcDate": "2024-05-01T10:00:00Z"}"#, EventError::NotAString("EventName")),
            (br#"{"EventName": "a", "eventName": "b", "ResourceUri": "u", "ResourceChangeUtcDate": "2024-05-01T10:00:00Z"}"#, EventError::Repeated("EventName")),
            (br#"{"EventName": "a", "ResourceUri": "u"}"#, EventError::Missing("ResourceChangeUtcDate")),
        ];
        for (body, expected) in cases {
            assert_eq!(
                Event::from_slice(body).unwrap_err(),
                expected,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn it_serializes_as_one_ndjson_line_with_the_body() {
        let event = Event::from_slice(&body(
            "referral-created",
            REFERRAL_URI,
            "2018-02-17T00:05:39.5485487+00:00",
        ))
        .unwrap();
        let line = serde_json::to_string(&event).unwrap();
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["eventName"], "referral-created");
        assert_eq!(value["referralId"], "c5fbb3b6-be74-4795-9fb5-4324c73fed37");
        assert_eq!(
            value["resourceChangeUtcDate"],
            "2018-02-17T00:05:39.5485487+00:00"
        );
        assert_eq!(value["auditUri"], Value::Null);
        assert_eq!(value["body"]["ResourceName"], "referral");
        assert!(!line.contains('\n'));
    }
}
