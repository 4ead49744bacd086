//! The `partner-center` SDK against the sandbox, end to end: listing with typed filters over
//! thousands of referrals, related referrals, create, update with `If-Match`, the lifecycle
//! verbs.

mod support;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use partner_center::models::{
    Amount, Consent, Member, NewCustomerProfile, NewReferralDetails, Referral, ReferralDirection,
    ReferralStatus, ReferralSubstatus, ReferralType,
};
use partner_center::{
    Error, PartnerCenter,
    models::NewReferral,
    referrals::{Direction, Filter},
};
use partner_center_sandbox::{OFFICIAL_REFERRAL_ID, Sandbox};
use serde_json::json;
use support::sandbox;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn client(sandbox: &Sandbox) -> PartnerCenter {
    PartnerCenter::builder()
        .base_url(sandbox.base_url())
        .token("sandbox")
        .build()
        .unwrap()
}

fn ids(referrals: &[Referral]) -> Vec<String> {
    referrals.iter().filter_map(|r| r.id.clone()).collect()
}

/// The first generated referral in `status`/`substatus`.
fn seeded(sandbox: &Sandbox, status: ReferralStatus, substatus: ReferralSubstatus) -> Referral {
    sandbox
        .referrals()
        .into_iter()
        .skip(1)
        .find(|r| r.status == Some(status.clone()) && r.substatus == Some(substatus.clone()))
        .unwrap()
}

fn new_referral() -> NewReferral {
    NewReferral::new(
        ReferralType::Independent,
        NewCustomerProfile {
            name: Some("Tailspin Toys".into()),
            ..Default::default()
        },
        Consent {
            consent_to_contact: Some(true),
            ..Default::default()
        },
        NewReferralDetails {
            deal_value: Some(Amount::from(42_000_i64)),
            currency: Some("USD".parse().unwrap()),
            ..Default::default()
        },
    )
    .name("Tailspin Toys - Teams roll-out")
    .external_reference_id("CRM-7")
    .team(vec![Member {
        email: Some("patti.fernandez@contoso.example".into()),
        ..Default::default()
    }])
}

#[tokio::test]
async fn stream_reads_thousands_of_referrals_across_pages() -> TestResult {
    let sandbox = Sandbox::start().await?;
    let client = client(&sandbox);

    let streamed: Vec<Referral> = client.referrals().list().stream().try_collect().await?;
    assert_eq!(streamed.len(), 2_501);
    assert_eq!(ids(&streamed), sandbox.referral_ids());
    assert_eq!(streamed, sandbox.referrals());

    let sizes: Vec<usize> = client
        .referrals()
        .list()
        .top(100)
        .pages()
        .map_ok(|page| page.items.len())
        .try_collect()
        .await?;
    assert_eq!(sizes.len(), 26);
    assert!(sizes[..25].iter().all(|n| *n == 100) && sizes[25] == 1);
    Ok(())
}

#[tokio::test]
async fn a_listing_resumes_from_a_kept_continuation() -> TestResult {
    let sandbox = sandbox(120).await;
    let client = client(&sandbox);
    let first = client.referrals().list().top(50).count(true).send().await?;
    assert_eq!(first.count, Some(121));
    let continuation = first.next().cloned().expect("more pages");

    let saved = continuation.as_str().to_owned();
    let rest: Vec<partner_center::paging::Page> = client
        .referrals()
        .resume(partner_center::paging::Continuation::new(saved))
        .try_collect()
        .await?;
    let mut all = first.items;
    all.extend(rest.into_iter().flat_map(|page| page.items));
    assert_eq!(ids(&all), sandbox.referral_ids());
    Ok(())
}

#[tokio::test]
async fn typed_filters_and_ordering_select_what_they_say() -> TestResult {
    let sandbox = sandbox(400).await;
    let client = client(&sandbox);
    let everything = sandbox.referrals();

    let filter = Filter::status(ReferralStatus::New)
        .or(Filter::status(ReferralStatus::Active))
        .and(Filter::direction(ReferralDirection::Incoming));
    let open_incoming: Vec<Referral> = client
        .referrals()
        .list()
        .filter(filter)
        .stream()
        .try_collect()
        .await?;
    let expected: Vec<&Referral> = everything
        .iter()
        .filter(|r| {
            matches!(r.status, Some(ReferralStatus::New | ReferralStatus::Active))
                && r.direction == Some(ReferralDirection::Incoming)
        })
        .collect();
    assert!(expected.len() > 20);
    assert_eq!(open_incoming.iter().collect::<Vec<_>>(), expected);

    let since: DateTime<Utc> = "2025-05-15T00:00:00Z".parse()?;
    let email = "diego.siciliani@contoso.example";
    let filter = Filter::country("US")
        .or(Filter::country("GB"))
        .and(Filter::team_email(email))
        .and(Filter::updated_since(since));
    let found: Vec<Referral> = client
        .referrals()
        .list()
        .filter(filter)
        .stream()
        .try_collect()
        .await?;
    let expected: Vec<&Referral> = everything
        .iter()
        .filter(|r| {
            let country = r
                .customer_profile
                .as_ref()
                .and_then(|c| c.address.as_ref())
                .and_then(|a| a.country.as_deref());
            matches!(country, Some("US" | "GB"))
                && r.team
                    .iter()
                    .flatten()
                    .any(|m| m.email.as_deref() == Some(email))
                && r.updated_date_time.as_ref().and_then(|t| t.instant()) >= Some(since)
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(found.iter().collect::<Vec<_>>(), expected);

    let newest: Vec<Referral> = client
        .referrals()
        .list()
        .order_by("createdDateTime", Direction::Descending)
        .top(30)
        .stream()
        .take(90)
        .try_collect()
        .await?;
    let created: Vec<_> = newest
        .iter()
        .map(|r| r.created_date_time.as_ref().and_then(|t| t.instant()))
        .collect();
    assert_eq!(created.len(), 90);
    assert!(created.windows(2).all(|w| w[0] >= w[1]));

    let ids_only = client
        .referrals()
        .list()
        .select(["status"])
        .top(3)
        .send()
        .await?;
    assert!(
        ids_only
            .items
            .iter()
            .all(|r| r.id.is_some() && r.status.is_some() && r.customer_profile.is_none())
    );
    Ok(())
}

#[tokio::test]
async fn related_lists_the_referrals_of_the_same_engagement() -> TestResult {
    let sandbox = sandbox(200).await;
    let client = client(&sandbox);
    let everything = sandbox.referrals();
    // An engagement with several referrals.
    let shared = everything
        .iter()
        .find(|r| {
            everything
                .iter()
                .filter(|o| o.engagement_id == r.engagement_id)
                .count()
                > 1
        })
        .expect("the seed shares engagements");

    let referral = client
        .referrals()
        .get(shared.id.as_deref().unwrap())
        .await?;
    let related: Vec<Referral> = client
        .referrals()
        .related(&referral)?
        .stream()
        .try_collect()
        .await?;
    let expected: Vec<String> = everything
        .iter()
        .filter(|r| r.engagement_id == referral.engagement_id)
        .filter_map(|r| r.id.clone())
        .collect();
    assert!(expected.len() > 1);
    assert_eq!(ids(&related), expected);
    Ok(())
}

#[tokio::test]
async fn a_created_referral_can_be_read_back() -> TestResult {
    let sandbox = sandbox(3).await;
    let client = client(&sandbox);
    let created = client.referrals().create(new_referral()).await?;
    let id = created.id.clone().expect("an id");
    assert!(created.e_tag.is_some() && created.engagement_id.is_some());
    assert_eq!(created.status, Some(ReferralStatus::New));
    assert_eq!(created.substatus, Some(ReferralSubstatus::Pending));
    assert_eq!(
        created.name.as_deref(),
        Some("Tailspin Toys - Teams roll-out")
    );

    assert_eq!(client.referrals().get(&id).await?, created);
    assert_eq!(sandbox.referral_ids().last(), Some(&id));
    let mine: Vec<Referral> = client
        .referrals()
        .related(&created)?
        .stream()
        .try_collect()
        .await?;
    assert_eq!(mine, [created]);
    Ok(())
}

#[tokio::test]
async fn an_update_with_a_stale_etag_is_a_precondition_failure() -> TestResult {
    let sandbox = sandbox(10).await;
    let client = client(&sandbox);
    let id = seeded(
        &sandbox,
        ReferralStatus::Active,
        ReferralSubstatus::Accepted,
    )
    .id
    .unwrap();
    let read = client.referrals().get(&id).await?;
    let etag = read.e_tag.clone().unwrap();

    let updated = client
        .referrals()
        .update_by_id(&id)
        .notes("Budget confirmed")
        .deal_value(Amount::from(99_000_i64))
        .add_team_member(Member {
            email: Some("nestor.wilke@contoso.example".into()),
            ..Default::default()
        })
        .if_match(&etag)
        .send()
        .await?;
    assert_eq!(updated.referral, None, "204 without Prefer");
    let now = client.referrals().get(&id).await?;
    assert_eq!(updated.etag, now.e_tag, "the 204 carries the new eTag");
    let details = now.details.as_ref().unwrap();
    assert_eq!(details.notes.as_deref(), Some("Budget confirmed"));
    assert_eq!(details.deal_value, Some(Amount::from(99_000_i64)));
    assert_eq!(
        now.team.as_ref().unwrap().last().unwrap().email.as_deref(),
        Some("nestor.wilke@contoso.example")
    );
    assert_ne!(now.e_tag.as_ref(), Some(&etag));

    // The referral as first read is stale now.
    let err = client
        .referrals()
        .update(&read)
        .notes("Lost update")
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::PreconditionFailed(e) => assert_eq!(e.code(), Some("preconditionFailed")),
        other => panic!("expected PreconditionFailed, got {other:?}"),
    }
    let returned = client
        .referrals()
        .update(&now)
        .replace("/details/notes", json!("Fresh"))
        .return_representation()
        .send()
        .await?
        .referral
        .expect("the referral, with Prefer");
    assert_eq!(returned.details.unwrap().notes.as_deref(), Some("Fresh"));
    Ok(())
}

#[tokio::test]
async fn the_lifecycle_verbs_move_referrals_as_the_service_allows() -> TestResult {
    let sandbox = sandbox(30).await;
    let client = client(&sandbox);
    let referrals = client.referrals();
    let pending = seeded(&sandbox, ReferralStatus::New, ReferralSubstatus::Pending);
    let received = seeded(&sandbox, ReferralStatus::New, ReferralSubstatus::Received);
    let accepted = seeded(
        &sandbox,
        ReferralStatus::Active,
        ReferralSubstatus::Accepted,
    );

    // accept, then win: each verb reads nothing, sends one PATCH with the eTag it was given.
    let read = referrals.get(pending.id.as_deref().unwrap()).await?;
    let active = referrals
        .accept(&read)
        .await?
        .referral
        .expect("the updated referral");
    assert_eq!(
        (active.status.clone(), active.substatus.clone()),
        (
            Some(ReferralStatus::Active),
            Some(ReferralSubstatus::Accepted)
        )
    );
    assert!(active.accepted_date_time.is_some());
    let won = referrals
        .win(&active)
        .await?
        .referral
        .expect("the updated referral");
    assert_eq!(won.substatus, Some(ReferralSubstatus::Won));
    assert!(won.closed_date_time.is_some());

    let read = referrals.get(accepted.id.as_deref().unwrap()).await?;
    let lost = referrals
        .lose(&read, "Went with a competitor")
        .await?
        .referral
        .unwrap();
    assert_eq!(lost.substatus, Some(ReferralSubstatus::Lost));
    assert_eq!(
        lost.status_reason.as_deref(),
        Some("Went with a competitor")
    );

    let read = referrals.get(received.id.as_deref().unwrap()).await?;
    let declined = referrals
        .decline(&read, "Outside our area")
        .await?
        .referral
        .unwrap();
    assert_eq!(
        (declined.status, declined.substatus),
        (
            Some(ReferralStatus::Closed),
            Some(ReferralSubstatus::Declined)
        )
    );

    // The SDK refuses what the table forbids before sending; the sandbox refuses it too.
    let err = referrals.accept(&won).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    let err = referrals
        .update_by_id(won.id.as_deref().unwrap())
        .status(ReferralStatus::Active, ReferralSubstatus::Accepted)
        .send()
        .await
        .unwrap_err();
    // 422 (RFC 5789): understood, but a move the lifecycle forbids.
    assert_eq!(err.status().map(|s| s.as_u16()), Some(422), "{err}");
    assert!(
        partner_center::error::Report::new(&err)
            .to_string()
            .contains("a Closed referral cannot become Active"),
        "{err}"
    );
    // A stale referral: the verb's If-Match fails.
    let err = referrals.win(&active).await.unwrap_err();
    assert!(matches!(err, Error::PreconditionFailed(_)), "{err}");
    Ok(())
}

#[tokio::test]
async fn the_official_example_round_trips_through_list_and_get() -> TestResult {
    let sandbox = sandbox(0).await;
    let client = client(&sandbox);
    let page = client.referrals().list().count(true).send().await?;
    assert_eq!(page.count, Some(1));
    assert!(page.next().is_none());
    assert_eq!(
        page.items,
        [client.referrals().get(OFFICIAL_REFERRAL_ID).await?]
    );
    let unique: BTreeSet<_> = page.items.iter().map(|r| r.id.clone()).collect();
    assert_eq!(unique.len(), 1);
    Ok(())
}
