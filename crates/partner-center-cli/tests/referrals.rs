//! Every `referrals` command of the `partner-center` binary end to end, against its sandbox
//! (`--sandbox`): list with its filters, paging and formats, related, create, update, and the
//! lifecycle verbs.

mod support;

use std::collections::BTreeSet;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

use support::*;

/// `partner-center --sandbox ...`, with an environment pointing at a service that is not
/// there, so that only the sandbox can answer.
fn sandbox(args: &[&str]) -> Output {
    Command::cargo_bin("partner-center")
        .unwrap()
        .env("PARTNER_CENTER_BASE_URL", "http://127.0.0.1:9")
        .env_remove("PARTNER_CENTER_TOKEN")
        .arg("--sandbox")
        .args(args)
        .output()
        .unwrap()
}

/// Runs a command that must succeed, and reads its stdout as JSON.
fn json(args: &[&str]) -> Value {
    let output = sandbox(args);
    assert!(output.status.success(), "{args:?}: {}", stderr_of(&output));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Runs a command that must fail with one line on stderr, and returns that line.
fn failure(args: &[&str]) -> String {
    let output = sandbox(args);
    assert_eq!(output.status.code(), Some(1), "{args:?}");
    assert!(output.stdout.is_empty(), "{args:?}");
    let stderr = stderr_of(&output);
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

fn listed(args: &[&str]) -> Vec<Value> {
    let list = [&["referrals", "list"], args].concat();
    json(&list).as_array().unwrap().clone()
}

/// The ids the sandbox serves, from `sandbox ids`.
fn sandbox_ids() -> Vec<String> {
    let output = Command::cargo_bin("partner-center")
        .unwrap()
        .args(["sandbox", "ids", "--limit", "0", "--output", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A generated referral in this status/substatus.
fn referral_in(status: &str, substatus: &str) -> String {
    let found = listed(&["--status", status, "--substatus", substatus, "--top", "5"]);
    found
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .find(|id| id != OFFICIAL_ID)
        .unwrap()
}

#[test]
fn list_prints_the_first_page_as_a_json_array() {
    let first = listed(&[]);
    assert_eq!(first.len(), 100);
    assert_eq!(first[0]["id"], OFFICIAL_ID);
    assert_eq!(listed(&["--top", "7"]).len(), 7);
}

#[test]
fn list_flags_become_one_filter() {
    for referral in listed(&[
        "--status",
        "new",
        "--status",
        "Active",
        "--direction",
        "Incoming",
    ]) {
        assert!(
            matches!(referral["status"].as_str(), Some("New" | "Active")),
            "{referral}"
        );
        assert_eq!(referral["direction"], "Incoming");
    }
    let typed = listed(&[
        "--type",
        "Shared",
        "--qualification",
        "SalesQualified",
        "--substatus",
        "Accepted",
    ]);
    assert!(!typed.is_empty());
    for referral in typed {
        assert_eq!(
            (
                &referral["type"],
                &referral["qualification"],
                &referral["substatus"]
            ),
            (
                &Value::from("Shared"),
                &Value::from("SalesQualified"),
                &Value::from("Accepted")
            )
        );
    }
    let email = "adele.vance@contoso.example";
    let found = listed(&[
        "--country",
        "US",
        "--country",
        "CA",
        "--team-email",
        email,
        "--updated-since",
        "2025-05-01",
    ]);
    assert!(!found.is_empty());
    for referral in found {
        let country = &referral["customerProfile"]["address"]["country"];
        assert!(country == "US" || country == "CA", "{referral}");
        assert!(
            referral["team"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["email"] == email)
        );
        assert!(referral["updatedDateTime"].as_str().unwrap() >= "2025-05-01");
    }
    let raw = listed(&["--filter", "customerProfile/address/city eq 'Zürich'"]);
    assert!(!raw.is_empty());
    assert!(
        raw.iter()
            .all(|r| r["customerProfile"]["address"]["city"] == "Zürich")
    );
    let engagement = listed(&["--engagement", "65edc0b5-3485-41b7-a17e-dfa9ef4706e2"]);
    assert_eq!(engagement.len(), 1);
    assert_eq!(engagement[0]["id"], OFFICIAL_ID);
}

#[test]
fn list_orders_by_dates() {
    let newest = listed(&["--order-by", "createdDateTime:desc", "--top", "50"]);
    let created: Vec<&str> = newest
        .iter()
        .map(|r| r["createdDateTime"].as_str().unwrap())
        .collect();
    assert_eq!(created.len(), 50);
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "{created:?}");
    let oldest = listed(&["--order-by", "createdDateTime", "--top", "1"]);
    assert_eq!(
        oldest[0]["id"], OFFICIAL_ID,
        "the 2020 example is the oldest"
    );
}

#[test]
fn list_all_streams_every_page_as_ndjson() {
    let output = sandbox(&["referrals", "list", "--all", "--output", "ndjson"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        output.stderr.is_empty(),
        "no progress when stderr is not a terminal"
    );
    let ids: Vec<String> = stdout_of(&output)
        .lines()
        .map(|line| {
            let referral: Value = serde_json::from_str(line).unwrap();
            referral["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 2_501);
    assert_eq!(ids, sandbox_ids());
}

#[test]
fn list_all_reports_progress_when_asked() {
    let output = sandbox(&[
        "referrals",
        "list",
        "--all",
        "--top",
        "100",
        "--progress",
        "--output",
        "ndjson",
    ]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 26, "{stderr}");
    assert_eq!(lines[0], "1 page, 100 referrals");
    assert_eq!(lines[25], "26 pages, 2501 referrals");
}

#[test]
fn list_all_as_json_is_one_array_and_as_a_table_one_table() {
    let filter = ["--status", "Closed", "--top", "40", "--all"];
    let closed = listed(&filter);
    assert!(closed.len() > 100, "several pages: {}", closed.len());
    assert!(closed.iter().all(|r| r["status"] == "Closed"));

    let output = sandbox(&[&["referrals", "list"], &filter[..], &["--output", "table"]].concat());
    assert!(output.status.success(), "{}", stderr_of(&output));
    let table = stdout_of(&output);
    assert_eq!(table.matches("┌").count(), 1, "{table}");
    assert_eq!(table.matches("Customer").count(), 1);
    assert_eq!(table.matches("└").count(), 1);
    assert!(table.trim_end().ends_with('┘'));
    for referral in &closed {
        assert!(table.contains(referral["id"].as_str().unwrap()));
    }
    // Every line has the same width: the pages line up.
    let widths: BTreeSet<usize> = table.lines().map(|l| l.chars().count()).collect();
    assert_eq!(widths.len(), 1, "{widths:?}");
}

#[test]
fn a_bad_filter_is_one_line_saying_what_is_wrong() {
    let stderr = failure(&["referrals", "list", "--filter", "status eq 'New"]);
    assert!(stderr.contains("400"), "{stderr}");
    assert!(
        stderr.contains("invalid $filter at character 11"),
        "{stderr}"
    );
    let stderr = failure(&["referrals", "list", "--order-by", "name"]);
    assert!(stderr.contains("date-time fields only"), "{stderr}");
}

#[test]
fn bad_flags_are_refused_before_anything_is_sent() {
    for args in [
        &["referrals", "list", "--status", "Open"][..],
        &["referrals", "list", "--top", "101"],
        &["referrals", "list", "--updated-since", "yesterday"],
        &["referrals", "list", "--order-by", "createdDateTime:up"],
        &["referrals", "update", OFFICIAL_ID, "--set", "notes"],
        &[
            "referrals",
            "update",
            OFFICIAL_ID,
            "--set",
            "details/notes=x",
        ],
        &["referrals", "update", OFFICIAL_ID],
    ] {
        let output = sandbox(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn related_lists_the_engagement() {
    let all = listed(&["--all"]);
    let engagement_of = |r: &Value| r["engagementId"].as_str().unwrap().to_owned();
    let shared = all
        .iter()
        .find(|r| {
            all.iter()
                .filter(|o| engagement_of(o) == engagement_of(r))
                .count()
                > 2
        })
        .unwrap();
    let related = json(&["referrals", "related", shared["id"].as_str().unwrap()]);
    let related = related.as_array().unwrap();
    let expected: Vec<&Value> = all
        .iter()
        .filter(|r| engagement_of(r) == engagement_of(shared))
        .collect();
    assert_eq!(related.iter().collect::<Vec<_>>(), expected);
}

#[test]
fn create_reads_a_referral_file_and_prints_the_created_one() {
    let dir =
        std::env::temp_dir().join(format!("partner-center-cli-create-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("referral.json");
    std::fs::write(
        &file,
        r#"{
            "type": "Shared",
            "name": "Woodgrove - Azure landing zone",
            "externalReferenceId": "CRM-123",
            "customerProfile": {"name": "Woodgrove Bank", "address": {"country": "GB"}},
            "consent": {"consentToContact": true},
            "details": {"dealValue": 50000, "currency": "GBP"},
            "team": [{"email": "megan.bowen@contoso.example"}],
            "id": "ignored",
            "expirationDateTime": "1999-01-15T00:00:00Z"
        }"#,
    )
    .unwrap();
    let created = json(&["referrals", "create", "--file", file.to_str().unwrap()]);
    assert!(created["id"].is_string() && created["id"] != "ignored");
    assert!(created["expirationDateTime"].as_str().unwrap() > "2020");
    assert!(created["eTag"].is_string() && created["engagementId"].is_string());
    assert_eq!(
        (&created["status"], &created["substatus"]),
        (&"New".into(), &"Pending".into())
    );
    assert_eq!(created["name"], "Woodgrove - Azure landing zone");
    assert_eq!(created["externalReferenceId"], "CRM-123");
    assert_eq!(created["team"][0]["email"], "megan.bowen@contoso.example");
    assert_eq!(created["details"]["dealValue"], 50000);

    // The spec's NewReferral: what is wrong, and where.
    for (json, expected) in [
        (
            r#"{"type": "Shared", "consent": {}, "details": {}}"#,
            r#"is not a new referral: "customerProfile" is a required property at /customerProfile"#,
        ),
        (
            r#"{"type": "Shared", "customerProfile": {}, "consent": {}, "details": {}, "status": "Closed"}"#,
            r#"is not a new referral: "Closed" is not one of "New" at /status"#,
        ),
        (
            r#"{"type": "Shared", "customerProfile": {}, "consent": {}, "details": {"currency": "pounds"}}"#,
            r#"is not a new referral: "pounds" does not match "^[A-Z]{3}$" at /details/currency"#,
        ),
        ("{", "is not JSON"),
    ] {
        std::fs::write(&file, json).unwrap();
        let stderr = failure(&["referrals", "create", "--file", file.to_str().unwrap()]);
        assert!(stderr.contains(expected), "{json}: {stderr}");
    }
    let stderr = failure(&[
        "referrals",
        "create",
        "--file",
        dir.join("none.json").to_str().unwrap(),
    ]);
    assert!(stderr.contains("cannot read"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn create_reads_standard_input_and_the_spec_is_checked_first() {
    let run = |input: &str| {
        Command::cargo_bin("partner-center")
            .unwrap()
            .args([
                "--sandbox",
                "referrals",
                "create",
                "--file",
                "-",
                "--output",
                "ndjson",
            ])
            .write_stdin(input)
            .output()
            .unwrap()
    };
    let output = run(
        r#"{"type":"Independent","customerProfile":{"name":"Contoso"},"consent":{},"details":{}}"#,
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output).lines().count(), 1);
    let output = run(
        r#"{"type":"Independent","customerProfile":{"name":"Contoso","address":{"country":"USA"}},"consent":{},"details":{}}"#,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output)
            .contains(r#""USA" does not match "^[A-Z]{2}$" at /customerProfile/address/country"#),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn update_sets_values_and_prints_the_referral_with_return() {
    let id = referral_in("Active", "Accepted");
    let updated = json(&[
        "referrals",
        "update",
        &id,
        "--set",
        "/details/notes=Call back on Monday",
        "--set",
        "/details/dealValue=25000",
        "--set",
        r#"/tags=["priority"]"#,
        "--set",
        r#"/name="2025""#,
        "--return",
    ]);
    assert_eq!(updated["details"]["notes"], "Call back on Monday");
    assert_eq!(updated["details"]["dealValue"], 25000);
    assert_eq!(updated["tags"], serde_json::json!(["priority"]));
    assert_eq!(updated["name"], "2025");

    let output = sandbox(&["referrals", "update", &id, "--set", "/details/notes=x"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(output.stdout.is_empty() && output.stderr.is_empty());

    // `null` clears a field (each run starts a fresh sandbox: the seeded notes are there).
    let read = json(&["referrals", "get", &id]);
    assert!(read["details"]["notes"].is_string());
    let cleared = json(&[
        "referrals",
        "update",
        &id,
        "--set",
        "/details/notes=null",
        "--return",
    ]);
    assert!(cleared["details"]["notes"].is_null(), "{cleared}");
    assert_eq!(cleared["details"]["currency"], read["details"]["currency"]);
}

#[test]
fn update_with_a_stale_etag_fails_with_412() {
    let id = referral_in("New", "Received");
    let read = json(&["referrals", "get", &id]);
    let etag = read["eTag"].as_str().unwrap();
    // The right eTag goes through (each run has a fresh sandbox, so it is still current).
    let output = sandbox(&[
        "referrals",
        "update",
        &id,
        "--set",
        "/details/notes=x",
        "--if-match",
        etag,
    ]);
    assert!(output.status.success(), "{}", stderr_of(&output));

    let stderr = failure(&[
        "referrals",
        "update",
        &id,
        "--set",
        "/details/notes=x",
        "--if-match",
        "\"stale\"",
    ]);
    for expected in ["412", "preconditionFailed", "read it again"] {
        assert!(
            stderr.contains(expected),
            "{expected} missing from {stderr}"
        );
    }
    let stderr = failure(&["referrals", "update", &id, "--set", "/status=Closed"]);
    assert!(
        stderr.contains("422 Unprocessable Entity")
            && stderr.contains("does not go with status Closed"),
        "{stderr}"
    );
}

#[test]
fn lifecycle_verbs_move_the_referral() {
    let pending = referral_in("New", "Pending");
    let accepted = json(&["referrals", "accept", &pending]);
    assert_eq!(
        (&accepted["status"], &accepted["substatus"]),
        (&"Active".into(), &"Accepted".into())
    );
    let won = json(&["referrals", "win", &referral_in("Active", "Accepted")]);
    assert_eq!(
        (&won["status"], &won["substatus"]),
        (&"Closed".into(), &"Won".into())
    );

    let lost = json(&[
        "referrals",
        "lose",
        &referral_in("Active", "Accepted"),
        "--reason",
        "Budget cut",
    ]);
    assert_eq!(lost["substatus"], "Lost");
    assert_eq!(lost["statusReason"], "Budget cut");
    let declined = json(&["referrals", "decline", &pending, "--reason", "Out of area"]);
    assert_eq!(declined["substatus"], "Declined");
    assert_eq!(declined["statusReason"], "Out of area");

    // The SDK refuses a move the lifecycle forbids, before sending it.
    let stderr = failure(&["referrals", "accept", &referral_in("Closed", "Won")]);
    assert!(
        stderr.contains("a Closed referral cannot become Active"),
        "{stderr}"
    );
    let output = sandbox(&["referrals", "lose", &pending]);
    assert_eq!(output.status.code(), Some(2), "--reason is required");
    let stderr = failure(&["referrals", "win", "no-such-referral"]);
    assert!(
        stderr.contains("404") && stderr.contains("sandbox ids"),
        "{stderr}"
    );
}

#[test]
fn get_prints_one_line_as_ndjson() {
    let output = sandbox(&["referrals", "get", OFFICIAL_ID, "--output", "ndjson"]);
    assert!(output.status.success());
    let stdout = stdout_of(&output);
    assert_eq!(stdout.lines().count(), 1);
    let referral: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(referral["id"], OFFICIAL_ID);
}

#[test]
fn help_says_that_each_sandbox_run_starts_fresh() {
    let output = Command::cargo_bin("partner-center")
        .unwrap()
        .args(["--help"])
        .output()
        .unwrap();
    let help = stdout_of(&output);
    assert!(help.contains("Each run starts a fresh sandbox"), "{help}");
    let output = Command::cargo_bin("partner-center")
        .unwrap()
        .args(["referrals", "--help"])
        .output()
        .unwrap();
    let help = stdout_of(&output);
    for command in [
        "list", "related", "create", "update", "accept", "win", "lose", "decline",
    ] {
        assert!(help.contains(&format!("  {command} ")), "{command}: {help}");
    }
}
