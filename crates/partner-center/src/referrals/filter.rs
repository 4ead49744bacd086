//! [`Filter`]: OData `$filter` expressions that user input cannot reshape.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::models::{
    ReferralDirection, ReferralQualification, ReferralStatus, ReferralSubstatus, ReferralType,
};

/// An OData `$filter` for referrals.
///
/// Built from typed helpers and combined with [`Filter::and`] / [`Filter::or`]; every value
/// becomes one quoted string literal (a `'` inside is doubled), so no input can change the
/// expression's shape. [`Filter::raw`] takes an expression as it is.
///
/// ```
/// use partner_center::referrals::Filter;
/// use partner_center::models::{ReferralDirection, ReferralStatus};
///
/// let filter = Filter::status(ReferralStatus::New)
///     .and(Filter::direction(ReferralDirection::Incoming))
///     .and(Filter::team_email("o'brien@contoso.com"));
/// assert_eq!(
///     filter.to_string(),
///     "status eq 'New' and direction eq 'Incoming' and team/any(t:t/email eq 'o''brien@contoso.com')"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    expression: String,
    /// The operator joining its top-level terms, if any: it decides where parentheses go.
    joined_by: Option<Join>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Join {
    And,
    Or,
}

impl Filter {
    /// An expression exactly as given: the escape hatch for what the helpers do not cover.
    pub fn raw(expression: impl Into<String>) -> Self {
        // Unknown shape: parenthesized whenever it is combined.
        Self {
            expression: expression.into(),
            joined_by: Some(Join::Or),
        }
    }

    /// `field eq 'value'`, for a field path such as `customerProfile/address/country`.
    pub fn equals(field: &str, value: &str) -> Self {
        Self::comparison(field, "eq", &literal(value))
    }

    /// `field ne 'value'`.
    pub fn not_equals(field: &str, value: &str) -> Self {
        Self::comparison(field, "ne", &literal(value))
    }

    /// Referrals in this status.
    pub fn status(status: ReferralStatus) -> Self {
        Self::equals("status", status.as_str())
    }

    /// Referrals in this substatus.
    pub fn substatus(substatus: ReferralSubstatus) -> Self {
        Self::equals("substatus", substatus.as_str())
    }

    /// Referrals of this type.
    pub fn referral_type(referral_type: ReferralType) -> Self {
        Self::equals("type", referral_type.as_str())
    }

    /// Referrals of this qualification.
    pub fn qualification(qualification: ReferralQualification) -> Self {
        Self::equals("qualification", qualification.as_str())
    }

    /// Incoming or outgoing referrals.
    pub fn direction(direction: ReferralDirection) -> Self {
        Self::equals("direction", direction.as_str())
    }

    /// The referrals of one engagement (what `links.relatedReferrals` asks for).
    pub fn engagement_id(engagement_id: &str) -> Self {
        Self::equals("engagementId", engagement_id)
    }

    /// Referrals whose customer is in this country (ISO 3166 alpha-2, e.g. `US`).
    pub fn country(country: &str) -> Self {
        Self::equals("customerProfile/address/country", country)
    }

    /// Referrals updated at or after `since`.
    pub fn updated_since(since: DateTime<Utc>) -> Self {
        Self::comparison(
            "updatedDateTime",
            "ge",
            &since.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        )
    }

    /// Referrals whose partner team includes this email address.
    pub fn team_email(email: &str) -> Self {
        Self::comparison("team/any(t:t/email", "eq", &format!("{})", literal(email)))
    }

    /// Both this and `other`.
    pub fn and(self, other: Filter) -> Self {
        self.join(Join::And, other)
    }

    /// This or `other`.
    pub fn or(self, other: Filter) -> Self {
        self.join(Join::Or, other)
    }

    /// The expression, as sent in `$filter`.
    pub fn as_str(&self) -> &str {
        &self.expression
    }

    fn comparison(field: &str, operator: &str, value: &str) -> Self {
        Self {
            expression: format!("{field} {operator} {value}"),
            joined_by: None,
        }
    }

    fn join(self, join: Join, other: Filter) -> Self {
        let word = match join {
            Join::And => "and",
            Join::Or => "or",
        };
        Self {
            expression: format!("{} {word} {}", self.operand(), other.operand()),
            joined_by: Some(join),
        }
    }

    /// The expression as an operand of `and`/`or`: `and` binds tighter than `or`, so only an
    /// `or` (or a raw expression) needs parentheses.
    fn operand(&self) -> String {
        match self.joined_by {
            None | Some(Join::And) => self.expression.clone(),
            Some(Join::Or) => format!("({})", self.expression),
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression)
    }
}

/// An OData string literal: quoted, with each `'` doubled.
pub(crate) fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn helpers_write_the_documented_expressions() {
        assert_eq!(
            Filter::status(ReferralStatus::New)
                .and(Filter::qualification(ReferralQualification::SalesQualified))
                .as_str(),
            "status eq 'New' and qualification eq 'SalesQualified'"
        );
        assert_eq!(
            Filter::country("US")
                .and(Filter::direction(ReferralDirection::Incoming))
                .as_str(),
            "customerProfile/address/country eq 'US' and direction eq 'Incoming'"
        );
        assert_eq!(
            Filter::team_email("a@b.com").as_str(),
            "team/any(t:t/email eq 'a@b.com')"
        );
        let since = DateTime::parse_from_rfc3339("2026-11-01T08:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            Filter::updated_since(since).as_str(),
            "updatedDateTime ge 2026-11-01T08:00:00Z"
        );
    }

    #[test]
    fn precedence_is_kept_with_parentheses() {
        let new_or_active =
            Filter::status(ReferralStatus::New).or(Filter::status(ReferralStatus::Active));
        assert_eq!(
            new_or_active.clone().and(Filter::country("US")).as_str(),
            "(status eq 'New' or status eq 'Active') and customerProfile/address/country eq 'US'"
        );
        assert_eq!(
            Filter::country("US")
                .and(Filter::country("CA"))
                .or(new_or_active)
                .as_str(),
            "customerProfile/address/country eq 'US' and customerProfile/address/country eq 'CA' \
             or (status eq 'New' or status eq 'Active')"
        );
        assert_eq!(
            Filter::raw("a eq 1 or b eq 2")
                .and(Filter::raw("c eq 3"))
                .as_str(),
            "(a eq 1 or b eq 2) and (c eq 3)"
        );
    }

    /// The top-level tokens of an OData expression: string literals (unescaped) and the rest
    /// split on spaces, as a service's tokenizer sees them.
    fn tokens(expression: &str) -> Vec<String> {
        let mut tokens = Vec::new();
        let mut chars = expression.chars().peekable();
        let mut word = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\'' => {
                    let mut text = String::new();
                    loop {
                        match chars.next() {
                            Some('\'') if chars.peek() == Some(&'\'') => {
                                chars.next();
                                text.push('\'');
                            }
                            Some('\'') => break,
                            Some(other) => text.push(other),
                            None => panic!("unterminated literal in {expression:?}"),
                        }
                    }
                    tokens.push(format!("literal:{text}"));
                }
                ' ' => {
                    if !word.is_empty() {
                        tokens.push(std::mem::take(&mut word));
                    }
                }
                other => word.push(other),
            }
        }
        if !word.is_empty() {
            tokens.push(word);
        }
        tokens
    }

    proptest! {
        #[test]
        fn no_value_can_change_the_shape(a in any::<String>(), b in any::<String>()) {
            let filter = Filter::engagement_id(&a).or(Filter::equals("name", &b));
            prop_assert_eq!(
                tokens(filter.as_str()),
                vec![
                    "engagementId".to_owned(), "eq".to_owned(), format!("literal:{a}"),
                    "or".to_owned(),
                    "name".to_owned(), "eq".to_owned(), format!("literal:{b}"),
                ]
            );
        }

        #[test]
        fn team_emails_stay_inside_their_literal(email in any::<String>()) {
            let filter = Filter::team_email(&email);
            let tokens = tokens(filter.as_str());
            prop_assert_eq!(tokens.len(), 4);
            prop_assert_eq!(&tokens[2], &format!("literal:{email}"));
            prop_assert_eq!(&tokens[3], ")");
        }
    }
}
