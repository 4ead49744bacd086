//! The referral lifecycle the service enforces: which substatus goes with which status, and
//! which status may follow which. One table, used by the SDK to refuse a bad update before
//! sending it and by the sandbox to refuse it like the service does.

use crate::{ReferralStatus, ReferralSubstatus};

/// Whether `substatus` may go with `status`: `Pending`/`Received` while `New`, `Accepted`
/// while `Active`, `Won`/`Lost`/`Declined`/`Expired` once `Closed`.
///
/// A value the spec does not list (an `Other`) is allowed: the service decides.
///
/// ```
/// use partner_center_api::{ReferralStatus as S, ReferralSubstatus as Sub, lifecycle};
///
/// assert!(lifecycle::substatus_fits(&S::Closed, &Sub::Won));
/// assert!(!lifecycle::substatus_fits(&S::Active, &Sub::Won));
/// ```
pub fn substatus_fits(status: &ReferralStatus, substatus: &ReferralSubstatus) -> bool {
    use ReferralStatus as S;
    use ReferralSubstatus as Sub;
    matches!(
        (status, substatus),
        (S::Other(_), _)
            | (_, Sub::Other(_))
            | (S::New, Sub::Pending | Sub::Received)
            | (S::Active, Sub::Accepted)
            | (
                S::Closed,
                Sub::Won | Sub::Lost | Sub::Declined | Sub::Expired
            )
    )
}

/// Whether a referral in status `from` may be moved to `to`: `New` -> `New`/`Active`/`Closed`,
/// `Active` -> `Active`/`Closed`, `Closed` -> `Closed`.
///
/// A value the spec does not list (an `Other`) is allowed: the service decides.
pub fn can_move(from: &ReferralStatus, to: &ReferralStatus) -> bool {
    use ReferralStatus as S;
    matches!(
        (from, to),
        (S::Other(_), _)
            | (_, S::Other(_))
            | (S::New, S::New | S::Active | S::Closed)
            | (S::Active, S::Active | S::Closed)
            | (S::Closed, S::Closed)
    )
}

/// Why a move from (`from`) to (`to`, `substatus`) is refused, or `None` when it is allowed.
pub fn refusal(
    from: Option<&ReferralStatus>,
    to: &ReferralStatus,
    substatus: &ReferralSubstatus,
) -> Option<String> {
    if !substatus_fits(to, substatus) {
        return Some(format!(
            "substatus {substatus} does not go with status {to}"
        ));
    }
    match from {
        Some(from) if !can_move(from, to) => Some(format!("a {from} referral cannot become {to}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReferralStatus as S;
    use ReferralSubstatus as Sub;

    #[test]
    fn the_whole_table() {
        let allowed_moves = [
            (S::New, S::New),
            (S::New, S::Active),
            (S::New, S::Closed),
            (S::Active, S::Active),
            (S::Active, S::Closed),
            (S::Closed, S::Closed),
        ];
        for from in S::KNOWN {
            for to in S::KNOWN {
                let expected = allowed_moves.contains(&(from.clone(), to.clone()));
                assert_eq!(can_move(from, to), expected, "{from} -> {to}");
            }
        }
        let fits = [
            (S::New, Sub::Pending),
            (S::New, Sub::Received),
            (S::Active, Sub::Accepted),
            (S::Closed, Sub::Won),
            (S::Closed, Sub::Lost),
            (S::Closed, Sub::Declined),
            (S::Closed, Sub::Expired),
        ];
        for status in S::KNOWN {
            for substatus in Sub::KNOWN {
                let expected = fits.contains(&(status.clone(), substatus.clone()));
                assert_eq!(
                    substatus_fits(status, substatus),
                    expected,
                    "{status}/{substatus}"
                );
            }
        }
    }

    #[test]
    fn unknown_values_are_left_to_the_service() {
        let frozen = S::Other("Frozen".into());
        assert!(can_move(&S::Closed, &frozen));
        assert!(substatus_fits(&frozen, &Sub::Won));
        assert!(substatus_fits(&S::New, &Sub::Other("OnHold".into())));
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(refusal(Some(&S::Active), &S::Closed, &Sub::Won), None);
        assert_eq!(
            refusal(Some(&S::Closed), &S::Active, &Sub::Accepted).as_deref(),
            Some("a Closed referral cannot become Active")
        );
        assert_eq!(
            refusal(None, &S::Closed, &Sub::Accepted).as_deref(),
            Some("substatus Accepted does not go with status Closed")
        );
    }
}
