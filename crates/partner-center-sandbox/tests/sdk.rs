//! The `partner-center` SDK against the sandbox: the README's "Testing your integration
//! offline" example, kept compiling and passing here.

use partner_center::{Error, PartnerCenter};
use partner_center_sandbox::{Fault, OFFICIAL_REFERRAL_ID, Sandbox};

#[tokio::test]
async fn my_integration_handles_referrals() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::start().await?; // stops when dropped
    let client = PartnerCenter::builder()
        .base_url(sandbox.base_url())
        .token("sandbox")
        .build()?;

    let referral = client.referrals().get(OFFICIAL_REFERRAL_ID).await?;
    assert_eq!(
        referral.customer_profile.and_then(|c| c.name).as_deref(),
        Some("Fabrikam Customer Inc")
    );

    // Every seeded referral can be read; the seed makes them the same on every run.
    for id in sandbox.referral_ids() {
        client.referrals().get(&id).await?;
    }

    match client.referrals().get("no-such-referral").await {
        Err(Error::NotFound(e)) => assert_eq!(e.code(), Some("itemNotFound")),
        other => panic!("expected NotFound, got {other:?}"),
    }

    // The next answer is a 200 whose JSON is cut short.
    sandbox.faults().push(Fault::MalformedJson, 1);
    let err = client
        .referrals()
        .get(OFFICIAL_REFERRAL_ID)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err}");
    Ok(())
}

/// The README shows the test above word for word; this keeps the two the same.
#[test]
fn the_readme_shows_the_test_above() {
    let this = include_str!("sdk.rs");
    let start = this.find("use partner_center::").unwrap();
    let end = this.find("/// The README shows").unwrap();
    let readme = include_str!("../../../README.md");
    assert!(
        readme.contains(this[start..end].trim_end()),
        "README.md's \"Testing your integration offline\" example differs from tests/sdk.rs"
    );
}
