//! Building a [`NewReferral`]: the fields the spec requires at once, the others by name.

use crate::ReferralType;
use crate::types::{Consent, Member, NewCustomerProfile, NewReferral, NewReferralDetails};

impl NewReferral {
    /// A referral of `referral_type` for `customer`, with their `consent`, about `details`: the
    /// fields the spec requires. The others start empty; set them with the methods below or by
    /// name.
    ///
    /// The spec's other rules are in the types: a country is a
    /// [`CountryCode`](crate::types::CountryCode) and a currency a
    /// [`CurrencyCode`](crate::types::CurrencyCode), made with `parse`, which checks the spec's
    /// pattern (ISO 3166 alpha-2, ISO 4217), and a referral starts `New`.
    ///
    /// ```
    /// use partner_center_api::ReferralType;
    /// use partner_center_api::types::{
    ///     Consent, CountryCode, NewAddress, NewCustomerProfile, NewReferral, NewReferralDetails,
    /// };
    ///
    /// let referral = NewReferral::new(
    ///     ReferralType::Independent,
    ///     NewCustomerProfile {
    ///         name: Some("Fabrikam Customer Inc".into()),
    ///         address: Some(NewAddress { country: Some("US".parse()?), ..Default::default() }),
    ///         ..Default::default()
    ///     },
    ///     Consent { consent_to_contact: Some(true), ..Default::default() },
    ///     NewReferralDetails {
    ///         deal_value: Some(10_000_i64.into()),
    ///         currency: Some("USD".parse()?),
    ///         ..Default::default()
    ///     },
    /// )
    /// .name("Fabrikam: Microsoft 365 roll-out");
    /// assert_eq!(referral.name.as_deref(), Some("Fabrikam: Microsoft 365 roll-out"));
    /// assert!("USA".parse::<CountryCode>().is_err());
    /// # Ok::<(), partner_center_api::types::error::ConversionError>(())
    /// ```
    pub fn new(
        referral_type: ReferralType,
        customer: NewCustomerProfile,
        consent: Consent,
        details: NewReferralDetails,
    ) -> Self {
        Self {
            type_: referral_type,
            customer_profile: customer,
            consent,
            details,
            name: None,
            external_reference_id: None,
            qualification: None,
            direction: None,
            status: None,
            substatus: None,
            sales_stage: None,
            campaign_id: None,
            referral_program: None,
            team: None,
            invite_context: None,
            target: None,
            tags: None,
            extra: serde_json::Map::new(),
        }
    }

    /// The referral's display name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Your own id for it (e.g. in your CRM).
    pub fn external_reference_id(mut self, id: impl Into<String>) -> Self {
        self.external_reference_id = Some(id.into());
        self
    }

    /// The partner-side team.
    pub fn team(mut self, team: Vec<Member>) -> Self {
        self.team = Some(team);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{CountryCode, CurrencyCode, NewAddress};

    #[test]
    fn the_required_fields_are_set_and_the_rest_is_empty() {
        let referral = NewReferral::new(
            ReferralType::Shared,
            NewCustomerProfile {
                name: Some("Fabrikam".into()),
                ..Default::default()
            },
            Consent::default(),
            NewReferralDetails::default(),
        )
        .name("Deal")
        .external_reference_id("crm-1");
        assert_eq!(
            serde_json::to_value(&referral).unwrap(),
            serde_json::json!({
                "type": "Shared",
                "customerProfile": {"name": "Fabrikam"},
                "consent": {},
                "details": {},
                "name": "Deal",
                "externalReferenceId": "crm-1"
            })
        );
    }

    /// The spec's patterns: ISO 3166 alpha-2 countries, ISO 4217 currencies.
    #[test]
    fn codes_follow_the_spec_patterns() {
        assert!("US".parse::<CountryCode>().is_ok());
        for country in ["USA", "us", "U", "", " US"] {
            assert!(country.parse::<CountryCode>().is_err(), "{country:?}");
        }
        assert!("EUR".parse::<CurrencyCode>().is_ok());
        for currency in ["usd", "EURO", "€", "US"] {
            assert!(currency.parse::<CurrencyCode>().is_err(), "{currency:?}");
        }
        let decoded: Result<NewAddress, _> = serde_json::from_str(r#"{"country": "USA"}"#);
        assert!(decoded.is_err());
    }
}
