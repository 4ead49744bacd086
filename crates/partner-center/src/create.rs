//! [`NewReferral`]: a referral to create, with what the service requires.

use crate::error::{Error, Result};
use crate::models::{Consent, CustomerProfile, Member, Referral, ReferralDetails, ReferralType};
use crate::update::is_currency;

/// A referral to create ([`crate::Referrals::create`]).
///
/// The service requires a type, the customer, the customer's consent and the deal's details:
/// [`NewReferral::new`] takes them, the rest is optional. [`NewReferral::validate`] (run again
/// by `create`) refuses what the service would refuse, before anything is sent.
///
/// ```
/// use partner_center::NewReferral;
/// use partner_center::models::{Address, Consent, CustomerProfile, ReferralDetails, ReferralType};
///
/// let referral = NewReferral::new(
///     ReferralType::Independent,
///     CustomerProfile {
///         name: Some("Fabrikam Customer Inc".into()),
///         address: Some(Address { country: Some("US".into()), ..Default::default() }),
///         ..Default::default()
///     },
///     Consent { consent_to_contact: Some(true), ..Default::default() },
///     ReferralDetails {
///         deal_value: Some(10_000_i64.into()),
///         currency: Some("USD".into()),
///         ..Default::default()
///     },
/// )
/// .name("Fabrikam: Microsoft 365 roll-out");
/// assert!(referral.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NewReferral {
    referral: Referral,
}

impl NewReferral {
    /// A referral of `referral_type` for `customer`, with their `consent`, about `details`.
    pub fn new(
        referral_type: ReferralType,
        customer: CustomerProfile,
        consent: Consent,
        details: ReferralDetails,
    ) -> Self {
        Self {
            referral: Referral {
                type_: Some(referral_type),
                customer_profile: Some(customer),
                consent: Some(consent),
                details: Some(details),
                ..Default::default()
            },
        }
    }

    /// The referral's display name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.referral.name = Some(name.into());
        self
    }

    /// Your own id for it (e.g. in your CRM).
    pub fn external_reference_id(mut self, id: impl Into<String>) -> Self {
        self.referral.external_reference_id = Some(id.into());
        self
    }

    /// The partner-side team.
    pub fn team(mut self, team: Vec<Member>) -> Self {
        self.referral.team = Some(team);
        self
    }

    /// Refuses what the service would: a customer without a name, a country that is not an
    /// ISO 3166 alpha-2 code, a negative or currency-less deal value, a currency that is not
    /// ISO 4217, a team member without an email address.
    pub fn validate(&self) -> Result<()> {
        let invalid = |why: String| Err(Error::InvalidInput(format!("new referral: {why}")));
        let customer = self.referral.customer_profile.as_ref();
        if customer
            .and_then(|c| c.name.as_deref())
            .is_none_or(|n| n.trim().is_empty())
        {
            return invalid("the customer needs a name".into());
        }
        let country = customer
            .and_then(|c| c.address.as_ref())
            .and_then(|a| a.country.as_deref());
        if let Some(country) =
            country.filter(|c| !(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())))
        {
            return invalid(format!(
                "{country:?} is not an ISO 3166 alpha-2 country code"
            ));
        }
        if let Some(details) = &self.referral.details {
            if let Some(value) = &details.deal_value {
                if value.to_f64().is_none_or(|v| !v.is_finite() || v < 0.0) {
                    return invalid(format!("deal value {value} is not a non-negative number"));
                }
                if details.currency.is_none() {
                    return invalid("a deal value needs a currency".into());
                }
            }
            if let Some(currency) = details.currency.as_deref().filter(|c| !is_currency(c)) {
                return invalid(format!("{currency:?} is not an ISO 4217 currency code"));
            }
        }
        let team = self.referral.team.iter().flatten();
        if team
            .clone()
            .any(|m| !m.email.as_deref().is_some_and(|e| e.contains('@')))
        {
            return invalid("every team member needs an email address".into());
        }
        Ok(())
    }

    /// The referral as it will be sent.
    pub fn as_referral(&self) -> &Referral {
        &self.referral
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Address, Amount};

    fn valid() -> NewReferral {
        NewReferral::new(
            ReferralType::Shared,
            CustomerProfile {
                name: Some("Fabrikam".into()),
                address: Some(Address {
                    country: Some("US".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            Consent::default(),
            ReferralDetails {
                deal_value: Some(Amount::from(5_i64)),
                currency: Some("EUR".into()),
                ..Default::default()
            },
        )
    }

    fn problem(referral: NewReferral) -> String {
        match referral.validate() {
            Err(Error::InvalidInput(why)) => why,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_complete_referral_is_valid_and_carries_what_was_given() {
        let referral = valid().name("Deal").external_reference_id("crm-1");
        assert!(referral.validate().is_ok());
        let sent = referral.as_referral();
        assert_eq!(sent.type_, Some(ReferralType::Shared));
        assert_eq!(sent.name.as_deref(), Some("Deal"));
        assert_eq!(sent.external_reference_id.as_deref(), Some("crm-1"));
    }

    #[test]
    fn what_the_service_refuses_is_refused_first() {
        let mut nameless = valid();
        nameless.referral.customer_profile.as_mut().unwrap().name = Some(" ".into());
        assert!(problem(nameless).contains("customer needs a name"));

        let mut bad_country = valid();
        bad_country
            .referral
            .customer_profile
            .as_mut()
            .unwrap()
            .address
            .as_mut()
            .unwrap()
            .country = Some("USA".into());
        assert!(problem(bad_country).contains("ISO 3166"));

        let mut negative = valid();
        negative.referral.details.as_mut().unwrap().deal_value = Some(Amount::from(-1_i64));
        assert!(problem(negative).contains("non-negative"));

        let mut no_currency = valid();
        no_currency.referral.details.as_mut().unwrap().currency = None;
        assert!(problem(no_currency).contains("needs a currency"));

        let mut bad_currency = valid();
        bad_currency.referral.details.as_mut().unwrap().currency = Some("usd".into());
        assert!(problem(bad_currency).contains("ISO 4217"));

        let no_email = valid().team(vec![Member {
            first_name: Some("Ann".into()),
            ..Default::default()
        }]);
        assert!(problem(no_email).contains("email"));
    }
}
