//! `partner-center webhooks ...` end to end: the registration commands against a sandbox over
//! real HTTP, and `webhooks listen` receiving the sandbox's real, signed events.

mod support;

use std::process::Output;
use std::time::Duration;

use partner_center_sandbox::{DeliveryOutcome, Sandbox};
use serde_json::{Value, json};
use std::process::Command;
use support::*;

/// `partner-center` pointed at `sandbox` with tokens for both APIs.
fn partner_center(sandbox: &Sandbox) -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("partner-center"));
    command
        .env("PARTNER_CENTER_BASE_URL", sandbox.base_url())
        .env("PARTNER_CENTER_TOKEN", "referrals-token")
        .env("PARTNER_CENTER_WEBHOOKS_TOKEN", "webhooks-token");
    command
}

fn json_of(output: &Output) -> Value {
    assert!(output.status.success(), "{}", stderr_of(output));
    serde_json::from_str(&stdout_of(output)).unwrap()
}

// The sandbox runs in this test's runtime while a command blocks a thread.
#[tokio::test(flavor = "multi_thread")]
async fn register_show_replace_and_test_events() {
    let sandbox = Sandbox::builder()
        .webhook_retry_delay(Duration::from_millis(1))
        .start()
        .await
        .unwrap();
    let run = |args: &[&str]| partner_center(&sandbox).args(args).output().unwrap();
    let hook = "http://127.0.0.1:9/partner-center";

    assert_eq!(json_of(&run(&["webhooks", "show"])), Value::Null);
    let events = json_of(&run(&["webhooks", "events"]));
    assert!(
        events
            .as_array()
            .unwrap()
            .contains(&json!("referral-updated"))
    );

    let registered = json_of(&run(&["webhooks", "register", hook]));
    assert_eq!(registered["webhookUrl"], hook);
    let every_referral_event = json!([
        "referral-created",
        "referral-updated",
        "related-referral-created",
        "related-referral-updated"
    ]);
    assert_eq!(registered["webhookEvents"], every_referral_event);
    assert_eq!(registered["signatureTokenToMsSignatureHeader"], true);

    // A second register is refused, saying what is registered, and changes nothing.
    let other = "https://partner.example.com/events";
    let refused = run(&["webhooks", "register", other, "--event", "referral-created"]);
    assert_eq!(refused.status.code(), Some(1));
    let line = stderr_of(&refused);
    assert!(
        line.contains("registered already: http://127.0.0.1:9/partner-center"),
        "{line}"
    );
    assert!(line.contains("--replace"), "{line}");
    assert_eq!(json_of(&run(&["webhooks", "show"]))["webhookUrl"], hook);

    let args = [
        "webhooks",
        "register",
        other,
        "--event",
        "test-created",
        "--replace",
    ];
    let replaced = json_of(&run(&args));
    assert_eq!(replaced["webhookUrl"], other);
    assert_eq!(replaced["webhookEvents"], json!(["test-created"]));
    let args = [
        "webhooks",
        "update",
        hook,
        "--event",
        "test-created",
        "--authorization-header",
    ];
    let updated = json_of(&run(&args));
    assert_eq!(updated["webhookUrl"], hook);
    assert_eq!(updated["signatureTokenToMsSignatureHeader"], false);

    let sent = json_of(&run(&["webhooks", "test"]));
    let id = sent["correlationId"].as_str().unwrap().to_owned();
    sandbox.webhook_deliveries().wait_idle().await;
    let status = json_of(&run(&["webhooks", "test", &id]));
    assert_eq!(status["correlationId"], id.as_str());
    // Nothing listens on port 9: the sandbox tried and says so.
    assert!(
        !status["results"].as_array().unwrap().is_empty(),
        "{status}"
    );

    let unknown = run(&["webhooks", "register", hook, "--event", "referral-deleted"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", stderr_of(&unknown));
}

// The sandbox runs in this test's runtime while a command blocks a thread.
#[tokio::test(flavor = "multi_thread")]
async fn webhooks_commands_need_the_registration_apis_own_token() {
    let sandbox = Sandbox::start().await.unwrap();

    let output = partner_center(&sandbox)
        .env_remove("PARTNER_CENTER_WEBHOOKS_TOKEN")
        .args(["webhooks", "events"])
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    let line = stderr_of(&output);
    assert!(
        line.contains("https://api.partnercenter.microsoft.com/.default"),
        "{line}"
    );
    assert!(line.contains("--webhooks-token"), "{line}");
    assert!(!line.contains("referrals-token"), "{line}");
}

#[tokio::test]
async fn listen_with_sandbox_prints_each_signed_event_with_its_referral() {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("partner-center"));
    command.args(["--sandbox", "webhooks", "listen", "--fetch"]);
    let mut listener = Listener::start(command);
    listener.url().await;
    let line = listener.stderr_line().await;
    let base = line
        .split_whitespace()
        .nth(2)
        .expect("the sandbox's URL")
        .trim_end_matches(',');

    // A change through the sandbox's control, as a user would make it.
    let id = OFFICIAL_ID;
    let control = format!("{base}/_sandbox/referrals/{id}");
    let patch = json!({"details": {"notes": "Call back on Monday"}});
    let changed = reqwest::Client::new()
        .patch(&control)
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert!(changed.status().is_success(), "{}", changed.status());

    let line = listener.event().await;
    assert_eq!(line["event"]["eventName"], "referral-updated");
    assert_eq!(line["event"]["referralId"], id);
    assert_eq!(line["event"]["body"]["ResourceName"], "referral");
    assert_eq!(line["referral"]["id"], id);
    assert_eq!(line["referral"]["details"]["notes"], "Call back on Monday");
    listener.child.kill().await.unwrap();
}

// The sandbox runs in this test's runtime while a command blocks a thread.
#[tokio::test(flavor = "multi_thread")]
async fn listen_trusts_a_sandbox_only_when_told_to() {
    let sandbox = Sandbox::builder()
        .webhook_retry_delay(Duration::from_millis(1))
        .start()
        .await
        .unwrap();
    let mut command = partner_center(&sandbox);
    command.args(["webhooks", "listen"]);
    let mut untrusting = Listener::start(command);
    let url = untrusting.url().await;
    let register = [
        "webhooks",
        "register",
        &url,
        "--event",
        "referral-updated",
        "--replace",
    ];
    json_of(&partner_center(&sandbox).args(register).output().unwrap());

    sandbox.touch_referral(OFFICIAL_ID).unwrap();
    let attempts = sandbox.webhook_deliveries().wait_idle().await;

    // Partner Center's verifier refuses the sandbox's certificate URL: 401 every time.
    assert_eq!(attempts.len(), 10, "{attempts:?}");
    assert!(
        attempts.iter().all(|a| a.status == Some(401)),
        "{attempts:?}"
    );
    assert_eq!(attempts[9].outcome, DeliveryOutcome::GivenUp);
    untrusting.child.kill().await.unwrap();

    let mut command = partner_center(&sandbox);
    command.args(["webhooks", "listen", "--trust-sandbox"]);
    let mut trusting = Listener::start(command);
    let url = trusting.url().await;
    let register = ["webhooks", "update", &url, "--event", "referral-updated"];
    json_of(&partner_center(&sandbox).args(register).output().unwrap());

    sandbox.touch_referral(OFFICIAL_ID).unwrap();

    let line = trusting.event().await;
    assert_eq!(line["event"]["referralId"], OFFICIAL_ID);
    assert!(line.get("referral").is_none(), "{line}");
    trusting.child.kill().await.unwrap();
}
