//! [`Referrals`]: the handler for leads and co-sell opportunities.

use partner_center_api::types::GetReferralId;

use crate::client::PartnerCenter;
use crate::error::{Error, Result};
use crate::models::Referral;

/// Leads and co-sell opportunities; [`PartnerCenter::referrals`] makes one.
#[derive(Clone, Copy, Debug)]
pub struct Referrals<'c> {
    client: &'c PartnerCenter,
}

impl<'c> Referrals<'c> {
    pub(crate) fn new(client: &'c PartnerCenter) -> Self {
        Self { client }
    }

    /// Gets one referral by id (`GET /v1.0/engagements/referrals/{id}`).
    ///
    /// The id is sent as one percent-encoded path segment; an id that cannot be one (empty,
    /// blank, `.`/`..`, or holding a backslash or control character) is refused with
    /// [`Error::InvalidInput`] before anything is sent.
    ///
    /// ```no_run
    /// # async fn demo(client: partner_center::PartnerCenter) -> partner_center::Result<()> {
    /// let referral = client.referrals().get("c5fbb3b6-be74-4795-9fb5-4324c73fed37").await?;
    /// if let Some(customer) = &referral.customer_profile {
    ///     println!("{}", customer.name.as_deref().unwrap_or("unnamed customer"));
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get(&self, id: &str) -> Result<Referral> {
        let id: GetReferralId = checked_id(id)?
            .parse()
            .map_err(|e| Error::InvalidInput(format!("referral id {id:?}: {e}")))?;
        self.client
            .send(|api| async move { api.get_referral(&id).await })
            .await
    }
}

/// Refuses an id that cannot travel as exactly one path segment of the URL.
fn checked_id(id: &str) -> Result<&str> {
    let problem = if id.is_empty() {
        "is empty"
    } else if id.trim().is_empty() {
        "is blank"
    } else if id.trim() != id {
        "has leading or trailing whitespace"
    } else if id == "." || id == ".." {
        // URL parsing resolves dot segments, even percent-encoded ones.
        "is a dot segment"
    } else if id.contains('\\') {
        // http URLs treat a backslash as a path separator.
        "contains a backslash"
    } else if id.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(id);
    };
    Err(Error::InvalidInput(format!("referral id {id:?} {problem}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_are_one_path_segment_are_accepted() {
        for id in [
            "c5fbb3b6-be74-4795-9fb5-4324c73fed37",
            "a/b",
            "a b",
            "%41",
            "?x#y",
            "...",
            "\u{e9}",
        ] {
            assert_eq!(checked_id(id).unwrap(), id);
        }
    }

    #[test]
    fn ids_that_cannot_be_one_segment_are_refused() {
        for (id, problem) in [
            ("", "is empty"),
            ("   ", "is blank"),
            (" abc", "leading or trailing whitespace"),
            (".", "dot segment"),
            ("..", "dot segment"),
            ("a\\b", "backslash"),
            ("a\u{0}b", "control character"),
            ("a\nb", "control character"),
        ] {
            let err = checked_id(id).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidInput(m) if m.contains(problem)),
                "{id:?}: {err}"
            );
        }
    }
}
