//! Fault injection: make the next requests fail the way the real service sometimes does.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Deserialize;

/// A failure the sandbox plays instead of (or on top of) its normal answer.
///
/// Queue faults with [`Faults::push`] (from Rust) or `POST /_sandbox/faults` (from anything
/// else); each one applies to the next API requests, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// `429 Too Many Requests` with `Retry-After` (whole seconds, rounded up) and the
    /// gateway's throttling body `{"statusCode":429,"message":"Rate limit is exceeded. Try
    /// again in N seconds."}`.
    Throttle {
        /// What `Retry-After` says.
        retry_after: Duration,
    },
    /// `503 Service Unavailable` with the error `serviceNotAvailable`, and `Retry-After` when
    /// given.
    Unavailable {
        /// What `Retry-After` says, if anything.
        retry_after: Option<Duration>,
    },
    /// The normal answer, after a wait: for client timeouts.
    Delay(Duration),
    /// The normal answer with its body cut in half: for a referral, a `200 OK` whose JSON ends
    /// early.
    MalformedJson,
}

/// The queue of faults of one sandbox; [`crate::Sandbox::faults`] gives it. Clones share it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use partner_center_sandbox::{Fault, Sandbox};
///
/// let sandbox = Sandbox::start().await?;
/// // The next two requests are throttled, the third one finds the service down.
/// sandbox.faults().push(Fault::Throttle { retry_after: Duration::from_secs(1) }, 2);
/// sandbox.faults().push(Fault::Unavailable { retry_after: None }, 1);
/// assert_eq!(sandbox.faults().pending(), 3);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Faults {
    queue: Arc<Mutex<VecDeque<Queued>>>,
}

#[derive(Debug)]
struct Queued {
    fault: Fault,
    remaining: u32,
}

impl Faults {
    /// Makes the next `times` API requests (after those already queued) answer with `fault`.
    /// The admin routes under `/_sandbox/` never take a fault.
    pub fn push(&self, fault: Fault, times: u32) {
        if times > 0 {
            self.lock().push_back(Queued {
                fault,
                remaining: times,
            });
        }
    }

    /// Drops every queued fault: requests get normal answers again.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// How many requests will still get a fault.
    pub fn pending(&self) -> u64 {
        self.lock().iter().map(|q| u64::from(q.remaining)).sum()
    }

    /// Takes the fault the next request gets, if any.
    pub(crate) fn next(&self) -> Option<Fault> {
        let mut queue = self.lock();
        let front = queue.front_mut()?;
        front.remaining -= 1;
        let fault = front.fault.clone();
        if front.remaining == 0 {
            queue.pop_front();
        }
        Some(fault)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Queued>> {
        // The queue stays consistent even if a holder panicked: every change is one call.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The body of `POST /_sandbox/faults`, e.g. `{"fault":"throttle","retryAfterSeconds":2,"times":3}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FaultRequest {
    fault: String,
    times: Option<u32>,
    retry_after_seconds: Option<u64>,
    delay_millis: Option<u64>,
}

impl FaultRequest {
    /// The fault and how many requests get it, or what is wrong with the request.
    pub(crate) fn into_fault(self) -> Result<(Fault, u32), String> {
        let times = self.times.unwrap_or(1);
        let retry_after = self.retry_after_seconds.map(Duration::from_secs);
        let fault = match (self.fault.as_str(), retry_after, self.delay_millis) {
            ("throttle", retry_after, None) => Fault::Throttle {
                retry_after: retry_after.unwrap_or(Duration::from_secs(1)),
            },
            ("unavailable", retry_after, None) => Fault::Unavailable { retry_after },
            ("delay", None, Some(millis)) => Fault::Delay(Duration::from_millis(millis)),
            ("malformedJson", None, None) => Fault::MalformedJson,
            ("delay", _, _) => return Err("a delay takes delayMillis (only)".to_owned()),
            ("throttle" | "unavailable", _, Some(_)) => {
                return Err(format!(
                    "{} takes retryAfterSeconds, not delayMillis",
                    self.fault
                ));
            }
            ("malformedJson", _, _) => return Err("malformedJson takes no parameter".to_owned()),
            (other, _, _) => {
                return Err(format!(
                    "unknown fault {other:?}: use throttle, unavailable, delay or malformedJson"
                ));
            }
        };
        Ok((fault, times))
    }
}

/// Whole seconds, rounded up: what `Retry-After` can say.
pub(crate) fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<(Fault, u32), String> {
        serde_json::from_str::<FaultRequest>(json)
            .map_err(|e| e.to_string())
            .and_then(FaultRequest::into_fault)
    }

    #[test]
    fn faults_are_taken_in_order_and_used_up() {
        let faults = Faults::default();
        faults.push(Fault::MalformedJson, 2);
        faults.push(Fault::Delay(Duration::from_millis(5)), 1);
        faults.push(Fault::MalformedJson, 0);
        assert_eq!(faults.pending(), 3);
        assert_eq!(faults.next(), Some(Fault::MalformedJson));
        assert_eq!(faults.next(), Some(Fault::MalformedJson));
        assert_eq!(faults.next(), Some(Fault::Delay(Duration::from_millis(5))));
        assert_eq!(faults.next(), None);
        assert_eq!(faults.pending(), 0);

        faults.push(Fault::MalformedJson, 5);
        faults.clone().clear();
        assert_eq!(faults.next(), None);
    }

    #[test]
    fn the_admin_body_names_a_fault_and_its_parameters() {
        assert_eq!(
            parse(r#"{"fault":"throttle","retryAfterSeconds":3,"times":2}"#),
            Ok((
                Fault::Throttle {
                    retry_after: Duration::from_secs(3)
                },
                2
            ))
        );
        assert_eq!(
            parse(r#"{"fault":"throttle"}"#),
            Ok((
                Fault::Throttle {
                    retry_after: Duration::from_secs(1)
                },
                1
            ))
        );
        assert_eq!(
            parse(r#"{"fault":"unavailable"}"#),
            Ok((Fault::Unavailable { retry_after: None }, 1))
        );
        assert_eq!(
            parse(r#"{"fault":"delay","delayMillis":250}"#),
            Ok((Fault::Delay(Duration::from_millis(250)), 1))
        );
        assert_eq!(
            parse(r#"{"fault":"malformedJson","times":4}"#),
            Ok((Fault::MalformedJson, 4))
        );
    }

    #[test]
    fn a_wrong_admin_body_says_what_is_wrong() {
        for (json, expected) in [
            (r#"{"fault":"explode"}"#, "unknown fault \"explode\""),
            (r#"{"fault":"delay"}"#, "delayMillis"),
            (
                r#"{"fault":"delay","delayMillis":1,"retryAfterSeconds":1}"#,
                "delayMillis",
            ),
            (r#"{"fault":"throttle","delayMillis":1}"#, "not delayMillis"),
            (
                r#"{"fault":"malformedJson","retryAfterSeconds":1}"#,
                "no parameter",
            ),
            (
                r#"{"fault":"throttle","retryAfter":1}"#,
                "unknown field `retryAfter`",
            ),
            (r#"{"fault":"throttle","times":-1}"#, "invalid value"),
            (r#"{"times":1}"#, "missing field `fault`"),
        ] {
            let err = parse(json).unwrap_err();
            assert!(err.contains(expected), "{json}: {err}");
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(whole_seconds(Duration::ZERO), 0);
        assert_eq!(whole_seconds(Duration::from_secs(2)), 2);
        assert_eq!(whole_seconds(Duration::from_millis(2001)), 3);
        assert_eq!(whole_seconds(Duration::from_nanos(1)), 1);
    }
}
