//! `partner-center sync`, `sync status` and `sync export`, against the sandbox over real HTTP,
//! into SQLite in a temporary directory; and a sync killed with SIGKILL mid-run.

mod support;

use std::path::Path;
use std::process::{Command as Process, Output, Stdio};
use std::time::Duration;

use assert_cmd::Command;
use futures_util::TryStreamExt;
use partner_center_sandbox::{Fault, Sandbox};
use partner_center_sync::{COLUMNS, Store};
use serde_json::Value;
use support::*;

/// What `--sandbox` serves: the default 2,500 generated referrals and the official example.
const SANDBOX_REFERRALS: usize = 2_501;

fn partner_center() -> Command {
    let mut command = Command::cargo_bin("partner-center").unwrap();
    command
        .env("PARTNER_CENTER_BASE_URL", "http://127.0.0.1:9")
        .env_remove("PARTNER_CENTER_TOKEN")
        .env_remove("PARTNER_CENTER_SYNC_DATABASE");
    command
}

fn database(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("sync.db").display())
}

fn run(args: &[&str]) -> Output {
    partner_center().args(args).output().unwrap()
}

fn succeeded(output: &Output) {
    assert!(output.status.success(), "{}", stderr_of(output));
}

#[tokio::test]
async fn sync_with_the_sandbox_then_its_status_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());

    let first = run(&["--sandbox", "sync", "--database", &db]);
    succeeded(&first);
    assert_eq!(stdout_of(&first), "");
    let line = stderr_of(&first);
    assert!(
        line.starts_with(
            "sync (full): pages 26, referrals seen 2501, new versions 2501, watermark 20"
        ),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1);
    // Each --sandbox run serves the same referrals: nothing new.
    let second = run(&["--sandbox", "sync", "--database", &db]);
    succeeded(&second);
    assert!(
        stderr_of(&second).starts_with("sync (incremental): pages 1,"),
        "{}",
        stderr_of(&second)
    );
    assert!(stderr_of(&second).contains(", new versions 0,"));

    let status = run(&["sync", "status", "--database", &db]);
    succeeded(&status);
    let status: Value = serde_json::from_str(&stdout_of(&status)).unwrap();
    assert_eq!(status["referrals"], SANDBOX_REFERRALS);
    assert_eq!(status["versions"], SANDBOX_REFERRALS);
    let by_status: u64 = status["byStatus"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(by_status, SANDBOX_REFERRALS as u64);
    assert_eq!(status["lastRun"]["kind"], "incremental");
    assert_eq!(status["lastRun"]["newVersions"], 0);
    assert_eq!(status["lastError"], Value::Null);
    assert_eq!(status["rangeFilterSupported"], true);
    assert!(status["watermark"].as_str().unwrap().ends_with('Z'));

    let csv = run(&["sync", "export", "--format", "csv", "--database", &db]);
    succeeded(&csv);
    let mut reader = csv::Reader::from_reader(csv.stdout.as_slice());
    assert_eq!(reader.headers().unwrap(), COLUMNS.as_slice());
    let rows: Vec<_> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), SANDBOX_REFERRALS);
    let official = rows.iter().find(|row| &row[0] == OFFICIAL_ID).unwrap();
    assert_eq!(&official[8], "Fabrikam Customer Inc");
    assert_eq!(&official[3], "New");

    let ndjson = run(&["sync", "export", "--database", &db]);
    succeeded(&ndjson);
    let store = Store::open(&db).await.unwrap();
    let stored: Vec<String> = store
        .referrals()
        .map_ok(|r| r.json)
        .try_collect()
        .await
        .unwrap();
    store.close().await;
    let printed = stdout_of(&ndjson);
    assert_eq!(printed.lines().collect::<Vec<_>>(), stored);
    let official: Value = serde_json::from_str(
        printed
            .lines()
            .find(|line| line.contains(OFFICIAL_ID))
            .unwrap(),
    )
    .unwrap();
    let example: Value = serde_json::from_str(OFFICIAL_EXAMPLE).unwrap();
    assert_eq!(official, example);
}

#[test]
fn a_sandbox_sync_needs_its_own_database_and_reading_one_needs_it_to_exist() {
    let output = run(&["--sandbox", "sync"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("pass --database"),
        "{}",
        stderr_of(&output)
    );
    let dir = tempfile::tempdir().unwrap();
    let missing = database(dir.path());
    for command in [&["status"][..], &["export", "--format", "csv"]] {
        let output = run(&[&["sync"], command, &["--database", &missing]].concat());
        assert_eq!(output.status.code(), Some(1));
        assert!(
            stderr_of(&output).contains("database error"),
            "{}",
            stderr_of(&output)
        );
        assert_eq!(stdout_of(&output), "");
    }
    assert!(!dir.path().join("sync.db").exists());
    let output = run(&["sync", "status", "--database", "mysql://u:secret@host/db"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr_of(&output).contains("unsupported database \"mysql\""));
    assert!(!stderr_of(&output).contains("secret"));
    // A server that is not there: the error names neither the password nor the URL.
    let output = run(&[
        "sync",
        "status",
        "--database",
        "postgres://u:secret@127.0.0.1:9/db",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("database error"),
        "{}",
        stderr_of(&output)
    );
    assert!(!stderr_of(&output).contains("secret"));
}

/// `partner-center sync` of `sandbox` into `db`, started, not waited for.
fn spawn_sync(sandbox: &Sandbox, db: &str) -> std::process::Child {
    Process::new(assert_cmd::cargo::cargo_bin("partner-center"))
        .args(["--base-url", sandbox.base_url(), "--token", "t"])
        .args(["--attempt-timeout", "600", "--timeout", "600"])
        .args(["sync", "--database", db])
        .env_remove("PARTNER_CENTER_SYNC_DATABASE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Syncs `sandbox` into `db` with a process killed (SIGKILL) while it waits for its second
/// page, that is once its first page has committed; then syncs again to the end.
async fn killed_then_resumed(sandbox: &Sandbox, db: &str) {
    // The first page is answered at once; the second is held until long after the kill.
    sandbox
        .faults()
        .push(Fault::Delay(Duration::from_millis(1)), 1);
    sandbox
        .faults()
        .push(Fault::Delay(Duration::from_secs(300)), 1);
    let mut child = spawn_sync(sandbox, db);
    // Both faults taken: the second page's request has arrived, so the first page was
    // committed (a sync asks for a page only when the one before is stored). Bounded: 60 s.
    let mut waited = 0;
    while sandbox.faults().pending() > 0 {
        assert!(waited < 6_000, "the sync never asked for its second page");
        assert!(child.try_wait().unwrap().is_none(), "the sync ended early");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );

    let output = Process::new(assert_cmd::cargo::cargo_bin("partner-center"))
        .args(["--base-url", sandbox.base_url(), "--token", "t"])
        .args(["sync", "--database", db])
        .output()
        .unwrap();
    succeeded(&output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_mid_run_loses_and_duplicates_nothing() {
    let sandbox = Sandbox::builder()
        .referral_count(299)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());

    // The backfill, killed after its first page of three.
    killed_then_resumed(&sandbox, &db).await;
    let store = Store::open(&db).await.unwrap();
    let status = store.status().await.unwrap();
    assert_eq!((status.referrals, status.versions), (300, 300));
    let runs = store.runs().await.unwrap();
    let killed = &runs[0];
    assert_eq!((killed.pages, killed.new_versions), (1, 100));
    assert_eq!(killed.finished_at, None);
    assert_eq!((runs[1].kind.as_str(), runs[1].new_versions), ("full", 200));

    // An incremental run of 250 changes (three pages), killed after its first page.
    let ids = sandbox.referral_ids();
    for id in &ids[..250] {
        sandbox.touch_referral(id).unwrap();
    }
    store.close().await;
    killed_then_resumed(&sandbox, &db).await;
    let store = Store::open(&db).await.unwrap();
    let status = store.status().await.unwrap();
    assert_eq!((status.referrals, status.versions), (300, 550));
    for id in &ids[..250] {
        let versions = store.versions(id).await.unwrap();
        assert_eq!(versions.len(), 2, "{id}");
    }
    for id in &ids[250..] {
        assert_eq!(store.versions(id).await.unwrap().len(), 1, "{id}");
    }
    let runs = store.runs().await.unwrap();
    let (killed, resumed) = (&runs[2], &runs[3]);
    assert_eq!((killed.kind.as_str(), killed.pages), ("incremental", 1));
    assert_eq!(killed.finished_at, None);
    assert_eq!(killed.new_versions + resumed.new_versions, 250);
    assert_eq!(
        (resumed.kind.as_str(), resumed.error.as_deref()),
        ("incremental", None)
    );
    store.close().await;
}
