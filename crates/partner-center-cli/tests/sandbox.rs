//! The `partner-center` binary against its own sandbox, end to end: `--sandbox`, `sandbox ids`,
//! `sandbox serve`, and `--output table`.

mod support;

use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

use support::*;

/// `partner-center` whose environment points at a service that is not there, so that a test
/// passes only if `--sandbox` really replaces the base URL and the token.
fn partner_center() -> Command {
    let mut command = Command::cargo_bin("partner-center").unwrap();
    command
        .env("PARTNER_CENTER_BASE_URL", "http://127.0.0.1:9")
        .env_remove("PARTNER_CENTER_TOKEN");
    command
}

fn run(args: &[&str]) -> Output {
    partner_center().args(args).output().unwrap()
}

#[test]
fn sandbox_get_prints_the_official_example_without_credentials() {
    let output = run(&["--sandbox", "referrals", "get", OFFICIAL_ID]);

    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(output.stderr.is_empty(), "{}", stderr_of(&output));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let official: Value = serde_json::from_str(OFFICIAL_EXAMPLE).unwrap();
    assert_eq!(printed, official);
}

#[test]
fn sandbox_get_as_a_table_is_a_summary() {
    let output = run(&[
        "referrals",
        "get",
        OFFICIAL_ID,
        "--sandbox",
        "--output",
        "table",
    ]);

    assert!(output.status.success(), "{}", stderr_of(&output));
    insta::assert_snapshot!("official_example_table", stdout_of(&output));
}

#[test]
fn an_unknown_id_in_the_sandbox_says_where_to_find_one() {
    let output = run(&["--sandbox", "referrals", "get", "no-such-referral"]);

    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = stderr_of(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for expected in ["404", "itemNotFound", "partner-center sandbox ids"] {
        assert!(
            stderr.contains(expected),
            "{expected} missing from {stderr}"
        );
    }
}

#[test]
fn sandbox_ids_lists_what_the_sandbox_serves() {
    let output = run(&["sandbox", "ids"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    insta::assert_snapshot!("sandbox_ids_table", stdout_of(&output));

    let output = run(&["sandbox", "ids", "--output", "json"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let first: Vec<String> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(first.len(), 25);
    let output = run(&["sandbox", "ids", "--output", "json", "--limit", "0"]);
    let ids: Vec<String> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(ids.len(), 2_501);
    assert_eq!(ids[..25], first);
    assert_eq!(ids[0], OFFICIAL_ID);
    let output = run(&["sandbox", "ids", "--output", "ndjson", "--limit", "3"]);
    let lines: Vec<String> = stdout_of(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines, ids[..3]);

    // The listed ids are the ones `--sandbox` serves.
    for id in [&ids[1], &ids[13], &ids[2_500]] {
        let output = run(&["--sandbox", "referrals", "get", id]);
        assert!(output.status.success(), "{id}: {}", stderr_of(&output));
        let referral: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(referral["id"], id.as_str());
    }
}

#[test]
fn sandbox_ids_follow_the_seed_and_count() {
    let ids = |args: &[&str]| -> Vec<String> {
        let output = run(&[&["sandbox", "ids", "--output", "json"], args].concat());
        assert!(output.status.success(), "{}", stderr_of(&output));
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let five = ids(&["--seed", "5", "--count", "3"]);
    assert_eq!(five.len(), 4);
    assert_eq!(five, ids(&["--count", "3", "--seed", "5"]));
    let six = ids(&["--seed", "6", "--count", "3"]);
    assert_eq!(five[0], six[0]);
    assert_ne!(five[1..], six[1..]);
}

#[cfg(unix)]
mod serve {
    use std::process::Stdio;
    use std::time::Duration;

    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    use tokio::process::Command;
    use tokio::time::timeout;

    use super::*;

    const PATIENCE: Duration = Duration::from_secs(30);

    /// The JSON the sandbox answers `url` with, asked with the token it prints in its hints.
    async fn get_json(url: &str) -> Value {
        reqwest::Client::new()
            .get(url)
            .bearer_auth("sandbox")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn serve_prints_its_url_serves_and_stops_on_ctrl_c() {
        let mut server = Command::new(env!("CARGO_BIN_EXE_partner-center"))
            .args([
                "sandbox", "serve", "--port", "0", "--seed", "3", "--count", "4",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(server.stdout.take().unwrap());
        let mut base_url = String::new();
        timeout(PATIENCE, stdout.read_line(&mut base_url))
            .await
            .expect("the server prints its URL")
            .unwrap();
        let base_url = base_url.trim_end().to_owned();
        assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url:?}");
        let mut rest = String::new();
        for _ in 0..4 {
            timeout(PATIENCE, stdout.read_line(&mut rest))
                .await
                .unwrap()
                .unwrap();
        }
        assert!(
            rest.contains(&format!(
                "curl -H 'Authorization: Bearer sandbox' {base_url}/v1.0/engagements/referrals/{OFFICIAL_ID}"
            )),
            "{rest}"
        );
        let list =
            format!("{base_url}/v1.0/engagements/referrals?$filter=status%20eq%20%27New%27&$top=5");
        assert!(rest.contains(&list), "{rest}");
        let page = get_json(&list).await;
        assert!(!page["value"].as_array().unwrap().is_empty());

        // It serves what `sandbox ids` lists for the same seed and count.
        let listed = run(&[
            "sandbox", "ids", "--seed", "3", "--count", "4", "--output", "json",
        ]);
        let ids: Vec<String> = serde_json::from_slice(&listed.stdout).unwrap();
        let client = reqwest::Client::new();
        for id in &ids {
            let response = client
                .get(format!("{base_url}/v1.0/engagements/referrals/{id}"))
                .bearer_auth("sandbox")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{id}");
        }
        let response = client
            .get(format!(
                "{base_url}/v1.0/engagements/referrals/{OFFICIAL_ID}"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);

        // Ctrl-C stops it cleanly.
        let pid = server.id().unwrap().to_string();
        let kill = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        assert!(kill.success());
        let status = timeout(PATIENCE, server.wait())
            .await
            .expect("the server stops on Ctrl-C")
            .unwrap();
        assert!(status.success(), "{status}");
        let mut stderr = String::new();
        server
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .await
            .unwrap();
        assert_eq!(stderr, "sandbox stopped\n");
    }

    #[tokio::test]
    async fn serve_changes_its_referrals_over_time_when_asked() {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_partner-center"));
        command.args([
            "sandbox",
            "serve",
            "--seed",
            "3",
            "--count",
            "4",
            "--change-every",
            "1",
            "--changes",
            "2",
        ]);
        let mut server = Listener::start(command);
        let base_url = server.stdout_line().await;
        // Each second, the next two referrals in `sandbox ids` order, round robin.
        let original = partner_center_sandbox::Sandbox::builder()
            .seed(3)
            .referral_count(4)
            .referrals();
        let ids: Vec<_> = original.iter().map(|r| r.id.clone().unwrap()).collect();
        for round in [&ids[0..2], &ids[2..4], &ids[4..5]] {
            let line = server.stderr_line().await;
            let first_two = line.split_once(": ").unwrap().1;
            assert!(first_two.starts_with(&round.join(", ")), "{line}");
        }
        for (id, before) in ids[..4].iter().zip(&original) {
            let now = get_json(&format!("{base_url}/v1.0/engagements/referrals/{id}")).await;
            assert_ne!(now["eTag"].as_str(), before.e_tag.as_deref(), "{id}");
            assert_eq!(
                now["status"].as_str(),
                before.status.as_ref().map(|s| s.as_str())
            );
        }
        server.child.kill().await.unwrap();
    }

    #[test]
    fn serve_on_a_taken_port_fails_with_a_clear_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port().to_string();

        let output = run(&["sandbox", "serve", "--port", &port]);

        assert_eq!(output.status.code(), Some(1));
        let stderr = stderr_of(&output);
        assert!(
            stderr.starts_with(&format!(
                "error: cannot start the sandbox on 127.0.0.1:{port}: "
            )),
            "{stderr}"
        );
    }
}
