//! The referrals a sandbox starts with: the official example, then realistic generated ones.
//!
//! Generation is deterministic: a ChaCha8 stream seeded with the sandbox's seed (ChaCha's output
//! is fixed across versions; rand's sampling on top is pinned by Cargo.lock), and dates counted
//! from a fixed instant rather than from "now", so two sandboxes with the same seed and count
//! serve identical data.

use chrono::{DateTime, Duration, TimeZone, Utc};
use partner_center_api::types::{
    Address, Consent, ContactPreference, Contract, CustomerId, CustomerIdList, CustomerIds,
    CustomerProfile, InviteContext, InvitedBy, Link, Member, Referral, ReferralDetails,
    ReferralLinks, Registration, RequirementItem, Requirements, Solution, StatusHistory, Target,
    TrackingInfo,
};
use partner_center_api::{
    Amount, AssistanceRequestCode, ContractTerm, ProfileType, ReferralDirection,
    ReferralQualification, ReferralStatus, ReferralSubstatus, ReferralType, RegistrationType,
    SolutionType, TargetType, Timestamp,
};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Map;

/// The official example response of "Get a lead or co-sell opportunity by ID".
pub(crate) const OFFICIAL_EXAMPLE: &str = partner_center_api::spec::OFFICIAL_EXAMPLE;

/// The partner organization that owns every referral (the official example's).
pub(crate) const ORGANIZATION_ID: &str = "00aa00aa-bb11-cc22-dd33-44ee44ee44ee";
pub(crate) const ORGANIZATION_NAME: &str = "Contoso Company";
const PARTNER_DOMAIN: &str = "contoso.example";
/// What the service writes in `@odata.context`, typo included.
pub(crate) const ODATA_CONTEXT: &str =
    "https://api.partner.microsoft.com/v1.0/engagments/referrals/$metadata#Referrals/$entity";
const SERVICE_REFERRALS: &str = "https://api.partner.microsoft.com/v1.0/engagements/referrals";

/// "Now" for generated data: dates are relative to this, never to the clock.
fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 2, 9, 0, 0)
        .single()
        .expect("a valid UTC date")
}

/// The referrals a sandbox seeded with `seed` starts with: the official example, then `count`
/// generated ones.
pub(crate) fn referrals(seed: u64, count: usize) -> Vec<Referral> {
    generate(seed, count).collect()
}

/// [`referrals`] one at a time, so that a store can take each as it is made rather than
/// hold them all at once.
pub(crate) fn generate(seed: u64, count: usize) -> impl Iterator<Item = Referral> {
    let official: Referral =
        serde_json::from_str(OFFICIAL_EXAMPLE).expect("the official example decodes");
    let mut generator = Generator {
        rng: ChaCha8Rng::seed_from_u64(seed),
        last: None,
    };
    // Every status/substatus pair appears once the set is large enough; the rest are drawn.
    let mut stages: Vec<Stage> = (0..count)
        .map(|i| {
            Stage::ALL
                .get(i)
                .copied()
                .unwrap_or_else(|| generator.stage())
        })
        .collect();
    stages.shuffle(&mut generator.rng);
    std::iter::once(official).chain(
        stages
            .into_iter()
            .map(move |stage| generator.referral(stage)),
    )
}

/// A status with its substatus: the pairs the service allows.
#[derive(Clone, Copy)]
enum Stage {
    Pending,
    Received,
    Accepted,
    Won,
    Lost,
    Declined,
    Expired,
}

impl Stage {
    const ALL: [Stage; 7] = [
        Stage::Pending,
        Stage::Received,
        Stage::Accepted,
        Stage::Won,
        Stage::Lost,
        Stage::Declined,
        Stage::Expired,
    ];

    fn status(self) -> ReferralStatus {
        match self {
            Stage::Pending | Stage::Received => ReferralStatus::New,
            Stage::Accepted => ReferralStatus::Active,
            Stage::Won | Stage::Lost | Stage::Declined | Stage::Expired => ReferralStatus::Closed,
        }
    }

    fn substatus(self) -> ReferralSubstatus {
        match self {
            Stage::Pending => ReferralSubstatus::Pending,
            Stage::Received => ReferralSubstatus::Received,
            Stage::Accepted => ReferralSubstatus::Accepted,
            Stage::Won => ReferralSubstatus::Won,
            Stage::Lost => ReferralSubstatus::Lost,
            Stage::Declined => ReferralSubstatus::Declined,
            Stage::Expired => ReferralSubstatus::Expired,
        }
    }

    /// Whether the partner accepted the referral at some point.
    fn was_accepted(self) -> bool {
        matches!(self, Stage::Accepted | Stage::Won | Stage::Lost)
    }
}

struct Place {
    city: &'static str,
    state: &'static str,
    postal_code: &'static str,
    country: &'static str,
    region: &'static str,
    street: &'static str,
    currency: &'static str,
    /// How many units of the currency one US dollar is worth, roughly.
    per_dollar: i64,
    phone: &'static str,
    locale: &'static str,
}

const fn place(
    (city, state, postal_code, country): (&'static str, &'static str, &'static str, &'static str),
    region: &'static str,
    street: &'static str,
    (currency, per_dollar): (&'static str, i64),
    (phone, locale): (&'static str, &'static str),
) -> Place {
    Place {
        city,
        state,
        postal_code,
        country,
        region,
        street,
        currency,
        per_dollar,
        phone,
        locale,
    }
}

#[rustfmt::skip]
const PLACES: &[Place] = &[
    place(("Redmond", "WA", "98052", "US"), "North America", "NE 40th Street", ("USD", 1), ("+1 425 555", "en-US")),
    place(("New York", "NY", "10001", "US"), "North America", "West 34th Street", ("USD", 1), ("+1 212 555", "en-US")),
    place(("Chicago", "IL", "60601", "US"), "North America", "North Michigan Avenue", ("USD", 1), ("+1 312 555", "en-US")),
    place(("Austin", "TX", "78701", "US"), "North America", "Congress Avenue", ("USD", 1), ("+1 512 555", "en-US")),
    place(("Toronto", "ON", "M5H 2N2", "CA"), "North America", "Bay Street", ("CAD", 1), ("+1 416 555", "en-CA")),
    place(("Montréal", "QC", "H3B 4W8", "CA"), "North America", "Rue Sainte-Catherine Ouest", ("CAD", 1), ("+1 514 555", "fr-CA")),
    place(("London", "", "EC2V 7HH", "GB"), "Europe", "Gresham Street", ("GBP", 1), ("+44 20 7946", "en-GB")),
    place(("Dublin", "", "D02 X285", "IE"), "Europe", "Grand Canal Quay", ("EUR", 1), ("+353 1 555", "en-IE")),
    place(("Paris", "", "75008", "FR"), "Europe", "Avenue des Champs-Élysées", ("EUR", 1), ("+33 1 55 55", "fr-FR")),
    place(("München", "Bayern", "80331", "DE"), "Europe", "Marienplatz", ("EUR", 1), ("+49 89 555", "de-DE")),
    place(("Amsterdam", "", "1012 JS", "NL"), "Europe", "Damrak", ("EUR", 1), ("+31 20 555", "nl-NL")),
    place(("Zürich", "ZH", "8001", "CH"), "Europe", "Bahnhofstrasse", ("CHF", 1), ("+41 44 555", "de-CH")),
    place(("Stockholm", "", "111 52", "SE"), "Europe", "Drottninggatan", ("SEK", 10), ("+46 8 555", "sv-SE")),
    place(("Tokyo", "東京都", "100-0005", "JP"), "Asia Pacific", "Marunouchi", ("JPY", 150), ("+81 3 5555", "ja-JP")),
    place(("Sydney", "NSW", "2000", "AU"), "Asia Pacific", "George Street", ("AUD", 2), ("+61 2 5550", "en-AU")),
    place(("Singapore", "", "018989", "SG"), "Asia Pacific", "Marina Boulevard", ("SGD", 1), ("+65 6555", "en-SG")),
    place(("Bengaluru", "KA", "560001", "IN"), "Asia Pacific", "MG Road", ("INR", 80), ("+91 80 5555", "en-IN")),
    place(("São Paulo", "SP", "01310-100", "BR"), "Latin America", "Avenida Paulista", ("BRL", 5), ("+55 11 5555", "pt-BR")),
    place(("Ciudad de México", "CDMX", "06600", "MX"), "Latin America", "Paseo de la Reforma", ("MXN", 17), ("+52 55 5555", "es-MX")),
];

const CUSTOMERS: &[&str] = &[
    "Fabrikam Inc",
    "Northwind Traders",
    "Adventure Works Cycles",
    "Tailspin Toys",
    "Wide World Importers",
    "Woodgrove Bank",
    "Litware Inc",
    "Proseware Inc",
    "Alpine Ski House",
    "Coho Winery",
    "Trey Research",
    "Lucerne Publishing",
    "Margie's Travel",
    "Blue Yonder Airlines",
    "Fourth Coffee",
    "Humongous Insurance",
    "Consolidated Messenger",
    "City Power & Light",
    "Southridge Video",
    "VanArsdel Ltd",
    "Relecloud",
    "Wingtip Toys",
    "A. Datum Corporation",
    "Bellows College",
    "Lamna Healthcare Company",
    "Munson's Pickles and Preserves Farm",
    "Graphic Design Institute",
    "Best For You Organics Company",
];

const SIZES: &[&str] = &[
    "1to50employees",
    "51to250employees",
    "251to1000employees",
    "1001to10000employees",
    "10001plusemployees",
];

/// (partner first name, last name, title): the partner's own sellers.
const SELLERS: &[(&str, &str, &str)] = &[
    ("Adele", "Vance", "Account Executive"),
    ("Alex", "Wilber", "Solution Architect"),
    ("Diego", "Siciliani", "Partner Development Manager"),
    ("Isaiah", "Langer", "Sales Manager"),
    ("Johanna", "Lorenz", "Technical Specialist"),
    ("Lee", "Gu", "Cloud Solution Architect"),
    ("Megan", "Bowen", "Account Executive"),
    ("Nestor", "Wilke", "Delivery Lead"),
    ("Patti", "Fernandez", "Sales Director"),
    ("Pradeep", "Gupta", "Technical Specialist"),
];

const FIRST_NAMES: &[&str] = &[
    "Amelia", "Bruno", "Chen", "Dana", "Emeka", "Fatima", "Giulia", "Hiroshi", "Ingrid", "Jonas",
    "Kavya", "Lucía", "Mateo", "Nadia", "Oliver", "Priya", "Rosa", "Sven", "Tomás", "Zoë",
];

const LAST_NAMES: &[&str] = &[
    "Andersen", "Bianchi", "Costa", "Dubois", "Eriksson", "Fischer", "García", "Hansen", "Ito",
    "Kowalski", "López", "Müller", "Novak", "O'Brien", "Patel", "Rossi", "Tanaka", "Walsh",
];

const CUSTOMER_TITLES: &[&str] = &[
    "IT Director",
    "Chief Information Officer",
    "Head of Procurement",
    "Operations Manager",
    "Chief Technology Officer",
];

/// (product id, what the customer calls it, service asked for).
const PRODUCTS: &[(&str, &str, &str)] = &[
    ("Microsoft365", "Microsoft 365", "LearningAndCertification"),
    ("Azure", "Azure", "Migration"),
    ("Dynamics365", "Dynamics 365", "Deployment"),
    ("PowerPlatform", "Power Platform", "Consulting"),
    ("MicrosoftTeams", "Microsoft Teams", "Deployment"),
    ("MicrosoftSecurity", "Microsoft Security", "ManagedServices"),
    ("Windows365", "Windows 365", "Deployment"),
];

const INDUSTRIES: &[&str] = &[
    "Education",
    "Healthcare",
    "Retail",
    "FinancialServices",
    "Manufacturing",
    "Government",
    "Nonprofit",
    "MediaAndCommunications",
];

const NEEDS: &[&str] = &[
    "We are planning to adopt {product} across the company and need help with licensing and rollout.",
    "We want to move our on-premises workloads to {product} this year. Can you help us plan the migration?",
    "Our team is evaluating {product} and would like a proof of concept before the end of the quarter.",
    "We need a partner to train our employees on {product}.",
    "We are looking for managed services for {product} after the initial deployment.",
];

const LOST_REASONS: &[&str] = &[
    "Lost to a competitor",
    "Budget was not approved",
    "Customer postponed the project",
];

const DECLINED_REASONS: &[&str] = &[
    "Outside our service area",
    "Not enough capacity this quarter",
    "Not a fit for our solutions",
];

const SALES_STAGES: &[&str] = &["Qualify", "Develop", "Propose"];

const TAGS: &[&str] = &["priority", "renewal", "FY25", "marketplace", "upsell"];

struct Generator {
    rng: ChaCha8Rng,
    /// The engagement of the last referral made, which the next one may join.
    last: Option<Engagement>,
}

/// An engagement: one customer's deal, which several referrals may share.
#[derive(Clone)]
struct Engagement {
    id: String,
    customer: CustomerProfile,
    place: &'static Place,
}

impl Generator {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn guid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.random())
            .into_uuid()
            .to_string()
    }

    fn stage(&mut self) -> Stage {
        // Roughly what a partner's inbox looks like: more open referrals than closed ones.
        match self.rng.random_range(0..100) {
            0..20 => Stage::Pending,
            20..35 => Stage::Received,
            35..60 => Stage::Accepted,
            60..75 => Stage::Won,
            75..85 => Stage::Lost,
            85..93 => Stage::Declined,
            _ => Stage::Expired,
        }
    }

    /// A moment `days` days (plus a random part of a day) after `from`, with the 7 fractional
    /// digits the service writes.
    fn after(&mut self, from: DateTime<Utc>, days: std::ops::Range<i64>) -> DateTime<Utc> {
        let day = self.rng.random_range(days);
        let second = self.rng.random_range(0..86_400);
        let ticks = self.rng.random_range(0..10_000_000);
        from + Duration::days(day) + Duration::seconds(second) + Duration::nanoseconds(ticks * 100)
    }

    fn referral(&mut self, stage: Stage) -> Referral {
        let now = anchor();
        let id = self.guid();
        // Related referrals: now and then one joins the previous referral's engagement.
        let engagement = match self.last.take() {
            Some(last) if self.chance(0.2) => last,
            _ => {
                let place = self.pick(PLACES);
                Engagement {
                    id: self.guid(),
                    customer: self.customer_profile(place),
                    place,
                }
            }
        };
        self.last = Some(engagement.clone());
        let Engagement {
            id: engagement_id,
            customer: customer_profile,
            place,
        } = engagement;
        let customer_name = customer_profile.name.clone().unwrap_or_default();

        let referral_type = if self.chance(0.45) {
            ReferralType::Shared
        } else {
            ReferralType::Independent
        };
        let direction = if self.chance(0.7) {
            ReferralDirection::Incoming
        } else {
            ReferralDirection::Outgoing
        };
        let qualification = self
            .pick(&[
                ReferralQualification::None,
                ReferralQualification::Direct,
                ReferralQualification::MarketingQualified,
                ReferralQualification::SalesQualified,
            ])
            .clone();

        // Dates, in the order things happen.
        let created = match stage {
            Stage::Pending | Stage::Received => self.after(now - Duration::days(14), 0..12),
            Stage::Accepted => self.after(now - Duration::days(200), 0..170),
            _ => self.after(now - Duration::days(365), 0..250),
        };
        let expiration = created + Duration::days(14);
        let accepted = stage.was_accepted().then(|| self.after(created, 1..7));
        let closed = match (stage, accepted) {
            (Stage::Won | Stage::Lost, Some(accepted)) => Some(self.after(accepted, 20..100)),
            (Stage::Declined, _) => Some(self.after(created, 1..10)),
            (Stage::Expired, _) => Some(expiration),
            _ => None,
        };
        let updated = match (stage, closed, accepted) {
            (Stage::Pending, _, _) => created,
            (Stage::Received, _, _) => self.after(created, 0..1),
            (_, Some(closed), _) => closed,
            (_, None, Some(accepted)) => self.after(accepted, 0..10),
            (_, None, None) => created,
        };

        let (product, product_name, service) = *self.pick(PRODUCTS);
        let industry = *self.pick(INDUSTRIES);
        let status_reason = match stage {
            Stage::Lost => Some(self.pick(LOST_REASONS).to_string()),
            Stage::Declined => Some(self.pick(DECLINED_REASONS).to_string()),
            _ => None,
        };
        let sales_stage = match stage {
            Stage::Accepted => Some(self.pick(SALES_STAGES).to_string()),
            Stage::Won | Stage::Lost => Some("Close".to_owned()),
            _ => None,
        };
        let shared = referral_type == ReferralType::Shared;
        let incoming = direction == ReferralDirection::Incoming;
        let deal_dollars = self.rng.random_range(50..5_000) * 100;
        let deal_value = self.amount(deal_dollars * place.per_dollar, place.per_dollar < 100);
        let closing = self.after(created, 30..180).date_naive();
        let registration =
            (shared && matches!(stage, Stage::Accepted | Stage::Won) && self.chance(0.5))
                .then(|| self.registration(accepted.unwrap_or(created), place, deal_value.clone()));
        let team_size = self.rng.random_range(1..=2);
        let team = (0..team_size).map(|_| self.seller()).collect();
        let tags = self.chance(0.3).then(|| vec![self.pick(TAGS).to_string()]);

        Referral {
            odata_context: Some(ODATA_CONTEXT.to_owned()),
            links: Some(links(&id, &engagement_id)),
            e_tag: Some(
                format!(
                    "\"{:08x}-0000-0000-0000-{:012x}\"",
                    self.rng.random::<u32>(),
                    self.rng.random_range(0..1_u64 << 48)
                )
                .into(),
            ),
            name: Some(format!("{customer_name} - {product_name}")),
            id: Some(id),
            engagement_id: Some(engagement_id),
            organization_id: Some(ORGANIZATION_ID.to_owned()),
            organization_name: Some(ORGANIZATION_NAME.to_owned()),
            mpn_id: Some("4761293".to_owned()),
            external_reference_id: (!incoming)
                .then(|| format!("CRM-{:06}", self.rng.random_range(0..1_000_000))),
            status: Some(stage.status()),
            substatus: Some(stage.substatus()),
            status_reason,
            type_: Some(referral_type),
            qualification: Some(qualification),
            direction: Some(direction),
            sales_stage,
            created_date_time: Some(timestamp(created)),
            updated_date_time: Some(timestamp(updated)),
            expiration_date_time: matches!(
                stage,
                Stage::Pending | Stage::Received | Stage::Expired
            )
            .then(|| timestamp(expiration)),
            accepted_date_time: accepted.map(timestamp),
            closed_date_time: closed.map(timestamp),
            consent: Some(Consent {
                consent_to_share_referral_with_microsoft_sellers: Some(shared),
                consent_to_contact: Some(true),
                consent_to_to_share_info_with_others: Some(self.chance(0.5)),
                consent_to_microsoft_to_contact_specific_partners: Some(self.chance(0.5)),
                extra: Map::new(),
            }),
            details: Some(ReferralDetails {
                notes: Some(self.pick(NEEDS).replace("{product}", product_name)),
                deal_value: Some(deal_value),
                currency: Some(place.currency.to_owned()),
                closing_date_time: Some(Timestamp::parse(format!("{closing}T00:00:00Z"))),
                requirements: Some(Requirements {
                    industries: Some(vec![item(industry)]),
                    products: Some(vec![item(product)]),
                    services: Some(vec![item(service)]),
                    solutions: Some(vec![Solution {
                        id: Some(format!("SOL-{product}")),
                        name: Some(product.to_owned()),
                        type_: Some(SolutionType::Name),
                        publisher_name: None,
                        solution_type: None,
                        price: None,
                        quantity: None,
                        currency: None,
                        closing_date_time: None,
                        extra: Map::new(),
                    }]),
                    offers: None,
                    sales_plays: None,
                    additional_requirements: None,
                    extra: Map::new(),
                }),
                customer_action: None,
                customer_requested_contact: incoming.then(|| self.chance(0.6)),
                incentive_level: None,
                extra: Map::new(),
            }),
            customer_profile: Some(customer_profile),
            team: Some(team),
            invite_context: (incoming && shared).then(|| InviteContext {
                notes: Some(format!(
                    "{customer_name} asked Microsoft for a partner experienced with {product_name}."
                )),
                invited_by: Some(InvitedBy {
                    organization_id: Some("msft".to_owned()),
                    organization_name: Some("Microsoft".to_owned()),
                    extra: Map::new(),
                }),
                assistance_request_code: Some(self.pick(AssistanceRequestCode::KNOWN).clone()),
                invited_mpn_id: Some("4761293".to_owned()),
                extra: Map::new(),
            }),
            target: incoming.then(|| {
                vec![Target {
                    type_: Some(TargetType::SolutionProfile),
                    id: Some(format!("SOL-{product}")),
                    extra: Map::new(),
                }]
            }),
            tracking_info: shared.then(|| TrackingInfo {
                microsoft_msx_id: Some(format!("7-{}", self.code(10))),
                microsoft_us_fed_opportunity_id: None,
                microsoft_us_fed_lead_id: None,
                migrated_psc_deal_id: None,
                migrated_psc_partner_deal_id: None,
                extra: Map::new(),
            }),
            registration_status: registration.as_ref().and_then(|r| r.status.clone()),
            registrations: registration.map(|r| vec![r]),
            tags,
            favorite: Some(self.chance(0.15)),
            is_spam: Some(false),
            referral_source: None,
            call_to_action: None,
            campaign_id: None,
            referral_program: None,
            quality: None,
            deal_sensitivity: None,
            created_via: None,
            last_modified_via: None,
            last_run_id: None,
            extra: Map::new(),
        }
    }

    fn customer_profile(&mut self, place: &Place) -> CustomerProfile {
        let name = *self.pick(CUSTOMERS);
        let domain = format!("{}.example", ascii_word(name));
        let first = *self.pick(FIRST_NAMES);
        let last = *self.pick(LAST_NAMES);
        let contact = Member {
            first_name: Some(first.to_owned()),
            last_name: Some(last.to_owned()),
            email: Some(format!(
                "{}.{}@{domain}",
                ascii_word(first),
                ascii_word(last)
            )),
            phone_number: Some(format!(
                "{} {:04}",
                place.phone,
                self.rng.random_range(100..200)
            )),
            title: Some(self.pick(CUSTOMER_TITLES).to_string()),
            contact_preference: Some(ContactPreference {
                locale: Some(place.locale.to_owned()),
                disable_notifications: Some(false),
                extra: Map::new(),
            }),
            email_validation_status: None,
            phone_validation_status: None,
            extra: Map::new(),
        };
        let duns = self.chance(0.4).then(|| {
            vec![CustomerId {
                profile_type: Some(ProfileType::Duns),
                id: Some(format!("{:09}", self.rng.random_range(0..1_000_000_000))),
                extra: Map::new(),
            }]
        });
        CustomerProfile {
            id: None,
            name: Some(name.to_owned()),
            address: Some(Address {
                address_line1: Some(format!(
                    "{} {}",
                    self.rng.random_range(1..400),
                    place.street
                )),
                address_line2: Some(if self.chance(0.3) {
                    format!("Floor {}", self.rng.random_range(2..30))
                } else {
                    String::new()
                }),
                city: Some(place.city.to_owned()),
                state: Some(place.state.to_owned()),
                postal_code: Some(place.postal_code.to_owned()),
                country: Some(place.country.to_owned()),
                region: Some(place.region.to_owned()),
                extra: Map::new(),
            }),
            size: Some(self.pick(SIZES).to_string()),
            team: Some(vec![contact]),
            is_matching_complete: Some(duns.is_some()),
            ids: duns.map(|ids| CustomerIds::IdList(CustomerIdList(ids))),
            extra: Map::new(),
        }
    }

    /// One of the partner's own sellers (the partner is in Redmond).
    fn seller(&mut self) -> Member {
        let (first, last, title) = *self.pick(SELLERS);
        Member {
            first_name: Some(first.to_owned()),
            last_name: Some(last.to_owned()),
            email: Some(format!(
                "{}.{}@{PARTNER_DOMAIN}",
                ascii_word(first),
                ascii_word(last)
            )),
            phone_number: Some(format!("+1 425 555 {:04}", self.rng.random_range(200..300))),
            title: Some(title.to_owned()),
            contact_preference: Some(ContactPreference {
                locale: Some("en-US".to_owned()),
                disable_notifications: Some(self.chance(0.2)),
                extra: Map::new(),
            }),
            email_validation_status: None,
            phone_validation_status: None,
            extra: Map::new(),
        }
    }

    /// An IP co-sell deal registration, registered some days after `from`.
    fn registration(&mut self, from: DateTime<Utc>, place: &Place, value: Amount) -> Registration {
        let submitted = self.after(from, 1..10);
        let approved = self.after(submitted, 1..5);
        let start = self.after(approved, 5..30).date_naive();
        let finite = self.chance(0.7);
        let history = [
            ("Submitted".to_owned(), Some(timestamp(submitted))),
            ("Approved".to_owned(), Some(timestamp(approved))),
        ];
        Registration {
            id: Some(self.guid()),
            type_: Some(RegistrationType::AzureIPCoSell),
            status: Some("Approved".to_owned()),
            status_reason: None,
            registration_date_time: Some(timestamp(submitted)),
            contract: Some(Contract {
                value: Some(value),
                currency: Some(place.currency.to_owned()),
                start_date_time: Some(Timestamp::parse(format!("{start}T00:00:00Z"))),
                end_date_time: finite.then(|| {
                    Timestamp::parse(format!("{}T00:00:00Z", start + Duration::days(365)))
                }),
                sign_date_time: Some(timestamp(approved)),
                term: Some(if finite {
                    ContractTerm::Finite
                } else {
                    ContractTerm::Perpetual
                }),
                extra: Map::new(),
            }),
            solution_details: None,
            status_history: Some(StatusHistory(history.into_iter().collect())),
            extra: Map::new(),
        }
    }

    /// A deal value: whole units mostly, now and then with cents (where the currency has them),
    /// as partners type them.
    fn amount(&mut self, whole: i64, with_cents: bool) -> Amount {
        if with_cents && self.chance(0.25) {
            let cents = self.rng.random_range(1..100);
            // Amounts keep their text; without a trailing zero (`.1`, not `.10`) the seeded
            // data stays what earlier versions served.
            format!("{whole}.{cents:02}")
                .trim_end_matches('0')
                .parse()
                .unwrap_or_else(|_| Amount::from(whole))
        } else {
            Amount::from(whole)
        }
    }

    /// `len` characters of upper-case letters and digits.
    fn code(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
        (0..len).map(|_| char::from(*self.pick(ALPHABET))).collect()
    }
}

/// The links of a referral, as the service writes them: its engagement's referrals, itself.
pub(crate) fn links(id: &str, engagement_id: &str) -> ReferralLinks {
    let link = |uri: String| Link {
        uri: Some(uri),
        method: Some("GET".to_owned()),
        extra: Map::new(),
    };
    ReferralLinks {
        related_referrals: Some(link(format!(
            "{SERVICE_REFERRALS}?$filter=engagementId eq '{engagement_id}'"
        ))),
        self_: Some(link(format!("{SERVICE_REFERRALS}/{id}"))),
        extra: Map::new(),
    }
}

fn item(id: &str) -> RequirementItem {
    RequirementItem {
        id: Some(id.to_owned()),
        extra: Map::new(),
    }
}

/// A date-time as the service writes it: UTC with 7 fractional digits.
pub(crate) fn timestamp(instant: DateTime<Utc>) -> Timestamp {
    let ticks = instant.timestamp_subsec_nanos() / 100;
    Timestamp::parse(format!(
        "{}.{ticks:07}Z",
        instant.format("%Y-%m-%dT%H:%M:%S")
    ))
}

/// A name as the lower-case ASCII letters of an email address (`Zoë` -> `zoe`, `O'Brien` ->
/// `obrien`).
fn ascii_word(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'á' | 'à' | 'ã' | 'â' | 'ä' => Some('a'),
            'é' | 'è' | 'ê' | 'ë' => Some('e'),
            'í' | 'ï' => Some('i'),
            'ó' | 'ô' | 'ö' => Some('o'),
            'ú' | 'ü' => Some('u'),
            'ñ' => Some('n'),
            'ç' => Some('c'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn pairs(referrals: &[Referral]) -> BTreeSet<(String, String)> {
        referrals
            .iter()
            .map(|r| {
                (
                    r.status
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    r.substatus
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn the_official_example_comes_first_and_unchanged() {
        let referrals = referrals(7, 3);
        assert_eq!(referrals.len(), 4);
        let official: serde_json::Value = serde_json::from_str(OFFICIAL_EXAMPLE).unwrap();
        assert_eq!(serde_json::to_value(&referrals[0]).unwrap(), official);
    }

    #[test]
    fn the_same_seed_gives_the_same_referrals_and_another_seed_others() {
        assert_eq!(referrals(42, 30), referrals(42, 30));
        assert_ne!(referrals(42, 30)[1..], referrals(43, 30)[1..]);
        let ids: BTreeSet<_> = referrals(42, 200)
            .into_iter()
            .filter_map(|r| r.id)
            .collect();
        assert_eq!(ids.len(), 201);
    }

    #[test]
    fn only_the_allowed_status_pairs_appear_and_all_of_them_do() {
        let allowed: BTreeSet<(String, String)> = [
            ("New", "Pending"),
            ("New", "Received"),
            ("Active", "Accepted"),
            ("Closed", "Won"),
            ("Closed", "Lost"),
            ("Closed", "Declined"),
            ("Closed", "Expired"),
        ]
        .into_iter()
        .map(|(s, t)| (s.to_owned(), t.to_owned()))
        .collect();
        for seed in 0..20 {
            // The official example is New/Pending; the generated ones cover every pair.
            assert_eq!(pairs(&referrals(seed, 7)[1..]), allowed, "seed {seed}");
            assert!(
                pairs(&referrals(seed, 60)).is_subset(&allowed),
                "seed {seed}"
            );
        }
    }

    #[test]
    fn generated_referrals_vary_where_real_ones_do() {
        let referrals = referrals(crate::DEFAULT_SEED, crate::DEFAULT_REFERRAL_COUNT);
        let distinct = |f: &dyn Fn(&Referral) -> Option<String>| -> usize {
            referrals
                .iter()
                .filter_map(f)
                .collect::<BTreeSet<_>>()
                .len()
        };
        assert_eq!(distinct(&|r| r.type_.as_ref().map(ToString::to_string)), 2);
        assert_eq!(
            distinct(&|r| r.direction.as_ref().map(ToString::to_string)),
            2
        );
        assert!(distinct(&|r| r.qualification.as_ref().map(ToString::to_string)) >= 3);
        let country = |r: &Referral| {
            r.customer_profile
                .as_ref()?
                .address
                .as_ref()?
                .country
                .clone()
        };
        assert!(distinct(&country) >= 5);
        let currency = |r: &Referral| r.details.as_ref()?.currency.clone();
        assert!(distinct(&currency) >= 4);
        // Several referrals of one engagement, as the service has them.
        let engagements = distinct(&|r| r.engagement_id.clone());
        assert!(engagements < referrals.len(), "no shared engagement");
    }

    #[test]
    fn dates_follow_the_lifecycle() {
        for referral in referrals(3, 100).iter().skip(1) {
            let at = |t: &Option<Timestamp>| t.as_ref().and_then(Timestamp::instant);
            let created = at(&referral.created_date_time).unwrap();
            let updated = at(&referral.updated_date_time).unwrap();
            assert!(updated >= created, "{referral:?}");
            if let Some(accepted) = at(&referral.accepted_date_time) {
                assert!(accepted > created && accepted <= updated, "{referral:?}");
            }
            if let Some(closed) = at(&referral.closed_date_time) {
                assert_eq!(referral.status, Some(ReferralStatus::Closed));
                assert!(closed > created && closed <= updated, "{referral:?}");
            } else {
                assert_ne!(referral.status, Some(ReferralStatus::Closed));
            }
            assert_eq!(
                referral.accepted_date_time.is_some(),
                matches!(
                    referral.substatus,
                    Some(
                        ReferralSubstatus::Accepted
                            | ReferralSubstatus::Won
                            | ReferralSubstatus::Lost
                    )
                ),
                "{referral:?}"
            );
            // The service's format: UTC, 7 fractional digits.
            let text = referral.created_date_time.as_ref().unwrap().as_str();
            assert_eq!(text.len(), "2020-10-30T21:03:00.0000000Z".len(), "{text}");
            assert!(updated <= anchor(), "{referral:?}");
        }
    }

    #[test]
    fn emails_are_plain_ascii() {
        for referral in referrals(5, 50) {
            let people = referral.team.iter().flatten().chain(
                referral
                    .customer_profile
                    .iter()
                    .flat_map(|c| c.team.iter().flatten()),
            );
            for person in people {
                let email = person.email.as_deref().unwrap();
                assert!(email.is_ascii() && email.contains('@'), "{email}");
            }
        }
    }
}
