//! `partner-center sync`, `sync status`, `sync export` and `sync --listen`, against the sandbox
//! over real HTTP, each test into SQLite and into PostgreSQL (`partner_center_sync::testing`);
//! a sync killed with SIGKILL mid-run, and two instances on one database.

mod support;

use std::path::Path;
use std::process::{Command as Process, Output, Stdio};
use std::time::Duration;

use assert_cmd::Command;
use futures_util::TryStreamExt;
use partner_center_sandbox::{DeliveryOutcome, Fault, Sandbox};
use partner_center_sync::testing::{TestDatabase, run_suite};
use partner_center_sync::{COLUMNS, Store, suite};
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

fn sqlite(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("sync.db").display())
}

fn run(args: &[&str]) -> Output {
    partner_center().args(args).output().unwrap()
}

fn succeeded(output: &Output) {
    assert!(output.status.success(), "{}", stderr_of(output));
}

async fn sync_with_the_sandbox_then_its_status_and_export(db: TestDatabase) {
    let db = db.url().to_owned();

    let first = run(&["--sandbox", "sync", "--database", &db]);
    succeeded(&first);
    assert_eq!(stdout_of(&first), "");
    // Not a terminal: a progress line every 10 pages, then the summary.
    let lines = stderr_of(&first);
    let lines: Vec<_> = lines.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "sync (full): 1000 of 2501 referrals, 1000 new versions, 10 pages",
            "sync (full): 2000 of 2501 referrals, 2000 new versions, 20 pages"
        ]
    );
    assert!(
        lines[2].starts_with(
            "sync (full): pages 26, referrals seen 2501, new versions 2501, watermark 20"
        ),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 3);
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

fn a_sandbox_sync_needs_its_own_database_and_reading_one_needs_it_to_exist() {
    let output = run(&["--sandbox", "sync"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("pass --database"),
        "{}",
        stderr_of(&output)
    );
    let dir = tempfile::tempdir().unwrap();
    let missing = sqlite(dir.path());
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

/// A sandbox of 300 referrals: three pages.
async fn three_pages() -> Sandbox {
    Sandbox::builder()
        .referral_count(299)
        .start()
        .await
        .unwrap()
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

/// `partner-center sync` of `sandbox` into `db`, started and held while it waits for its
/// second page: its first page has committed, and it holds the sweep lock.
async fn spawn_sync_held(sandbox: &Sandbox, db: &str) -> std::process::Child {
    // The first page is answered at once; the second is held until long after the test.
    sandbox
        .faults()
        .push(Fault::Delay(Duration::from_millis(1)), 1);
    sandbox
        .faults()
        .push(Fault::Delay(Duration::from_secs(300)), 1);
    let mut child = spawn_sync(sandbox, db);
    // Both faults taken, the second page's request has arrived; the first page commits while
    // it waits (a sync reads the next page while it stores one): wait for its commit, read
    // from the database. Bounded: 60 s.
    let mut waited = 0;
    while sandbox.faults().pending() > 0 {
        assert!(waited < 6_000, "the sync never asked for its second page");
        assert!(child.try_wait().unwrap().is_none(), "the sync ended early");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    let store = Store::open_existing(db).await.unwrap();
    loop {
        let runs = store.runs().await.unwrap();
        let running = runs.last().expect("the sync recorded its run");
        if running.finished_at.is_none() && running.pages == 1 {
            break;
        }
        assert!(
            waited < 6_000,
            "the sync never committed its first page: {runs:?}"
        );
        assert!(child.try_wait().unwrap().is_none(), "the sync ended early");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    store.close().await;
    child
}

/// `partner-center sync` of `sandbox` into `db`, to its end.
fn sync_to_the_end(sandbox: &Sandbox, db: &str) -> Output {
    let output = Process::new(assert_cmd::cargo::cargo_bin("partner-center"))
        .args(["--base-url", sandbox.base_url(), "--token", "t"])
        .args(["sync", "--database", db])
        .output()
        .unwrap();
    succeeded(&output);
    output
}

/// Syncs `sandbox` into `db` with a process killed (SIGKILL) while it waits for its second
/// page, that is once its first page has committed; then syncs again to the end.
async fn killed_then_resumed(sandbox: &Sandbox, db: &str) {
    let mut child = spawn_sync_held(sandbox, db).await;
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );

    sync_to_the_end(sandbox, db);
}

async fn a_sync_killed_mid_run_loses_and_duplicates_nothing(db: TestDatabase) {
    let sandbox = three_pages().await;
    let db = db.url();

    // The backfill, killed after its first page of three.
    killed_then_resumed(&sandbox, db).await;
    let store = Store::open(db).await.unwrap();
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
    killed_then_resumed(&sandbox, db).await;
    let store = Store::open(db).await.unwrap();
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

/// Waits (bounded: 60 s) until a session of `db` waits on a lock in a statement starting
/// with `statement`.
async fn blocked_in(db: &mut sqlx::PgConnection, statement: &str) {
    for _ in 0..6_000 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND wait_event_type = 'Lock' AND query LIKE $1",
        )
        .bind(format!("{statement}%"))
        .fetch_one(&mut *db)
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no session waited in {statement}");
}

async fn a_sync_killed_inside_a_page_transaction_leaves_no_trace_of_it(db: TestDatabase) {
    use sqlx::Connection;

    let sandbox = three_pages().await;
    let db = db.url();
    let store = Store::open(db).await.unwrap();
    // The current referrals locked against writes: the first page's transaction stores its
    // versions, then waits on its first write to `current_referrals`, inside the transaction.
    let mut locker = sqlx::PgConnection::connect(db).await.unwrap();
    let mut lock = locker.begin().await.unwrap();
    sqlx::query("LOCK TABLE current_referrals IN SHARE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let mut child = spawn_sync(&sandbox, db);
    let mut watcher = sqlx::PgConnection::connect(db).await.unwrap();
    blocked_in(&mut watcher, "INSERT INTO current_referrals").await;
    child.kill().unwrap();
    child.wait().unwrap();

    // Killed in the middle of it, the transaction left nothing: not its versions either.
    let status = store.status().await.unwrap();
    assert_eq!((status.referrals, status.versions), (0, 0));
    let runs = store.runs().await.unwrap();
    assert_eq!(
        (runs.len(), runs[0].pages, runs[0].finished_at.as_deref()),
        (1, 0, None)
    );
    lock.rollback().await.unwrap();

    // Run again, the sync stores every referral once.
    sync_to_the_end(&sandbox, db);
    let status = store.status().await.unwrap();
    assert_eq!((status.referrals, status.versions), (300, 300));
    store.close().await;
}

async fn two_instances_sweep_one_at_a_time(db: TestDatabase) {
    let sandbox = three_pages().await;
    let db = db.url();
    let mut first = spawn_sync_held(&sandbox, db).await;

    // The second finds the sweep lock held: it does nothing, says so, and succeeds.
    let second = sync_to_the_end(&sandbox, db);
    assert!(
        stderr_of(&second).starts_with("another sync is running on this database"),
        "{}",
        stderr_of(&second)
    );
    let store = Store::open(db).await.unwrap();
    assert_eq!(store.status().await.unwrap().versions, 100);
    assert_eq!(store.runs().await.unwrap().len(), 1);

    // The lock goes with its holder, killed: the next sync sweeps, to the end.
    first.kill().unwrap();
    first.wait().unwrap();
    let third = sync_to_the_end(&sandbox, db);
    assert!(
        stderr_of(&third).contains("sync (full): pages 3, referrals seen 300, new versions 200"),
        "{}",
        stderr_of(&third)
    );
    let status = store.status().await.unwrap();
    assert_eq!((status.referrals, status.versions), (300, 300));
    store.close().await;
}

/// The referrals changed below, and how many times each.
const CHANGED: usize = 40;
const ROUNDS: usize = 3;

async fn sync_listen_stores_every_event_beside_another_instance(db: TestDatabase) {
    let sandbox = Sandbox::builder()
        .referral_count(299)
        .webhook_retry_delay(Duration::from_millis(1))
        .start()
        .await
        .unwrap();
    let db = db.url();
    let mut command = Process::new(assert_cmd::cargo::cargo_bin("partner-center"));
    command
        .args(["--base-url", sandbox.base_url(), "--token", "t"])
        .args(["sync", "--listen", "--trust-sandbox", "--database", db])
        .args(["--reconcile-every", "3600", "--fetch-concurrency", "8"]);
    let mut listener = Listener::start(command);
    let url = listener.url().await;
    // Its first sweep, the backfill, then no other for an hour: what follows is the events'.
    let backfill = listener.stderr_line().await;
    assert!(
        backfill.starts_with("reconciliation sync (full): pages 3, referrals seen 300"),
        "{backfill}"
    );
    let client = partner_center::PartnerCenter::builder()
        .base_url(sandbox.base_url())
        .token_provider(partner_center::auth::StaticToken::for_every_scope("t"))
        .build()
        .unwrap();
    let events = [partner_center::webhooks::WebhookEvent::ReferralUpdated];
    let register = client.webhooks().register(&url, events);
    register.replace_existing(true).await.unwrap();

    // Another instance sweeps the same database while the changes come, each referral
    // changed several times: fetched concurrently, the versions of one referral may be
    // stored out of order.
    let mut sweeper = spawn_sync(&sandbox, db);
    let ids = sandbox.referral_ids();
    for _ in 0..ROUNDS {
        for id in &ids[..CHANGED] {
            sandbox.touch_referral(id).unwrap();
        }
    }
    // Each event delivered once, some after a retry: a receiver whose queue is full answers
    // 503, and the sandbox, as Partner Center, tries again.
    let attempts = sandbox.webhook_deliveries().wait_idle().await;
    let delivered = attempts
        .iter()
        .filter(|a| a.outcome == DeliveryOutcome::Delivered)
        .count();
    assert_eq!(delivered, CHANGED * ROUNDS);
    assert!(
        attempts
            .iter()
            .all(|a| a.outcome != DeliveryOutcome::GivenUp),
        "an event was given up"
    );
    let mut stored = 0;
    while stored < CHANGED * ROUNDS {
        let line = listener.stderr_line().await;
        assert!(
            line.starts_with("event: referral ") && line.contains(" stored ("),
            "{line}"
        );
        stored += 1;
    }
    listener.child.kill().await.unwrap();
    assert!(sweeper.wait().unwrap().success());

    // No sweep since the changes ended: each current row is the service's latest, as the
    // events stored it, never an older version fetched late.
    let store = Store::open(db).await.unwrap();
    let current: std::collections::HashMap<_, _> = store
        .referrals()
        .map_ok(|r| (r.id.clone(), r))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(current.len(), 300);
    for referral in sandbox.referrals() {
        let id = referral.id.as_deref().unwrap();
        let row = &current[id];
        assert_eq!(Some(row.etag.as_str()), referral.e_tag.as_deref(), "{id}");
        let versions = store.versions(id).await.unwrap();
        assert_eq!(
            versions.last().map(|v| v.0.as_str()),
            Some(row.etag.as_str())
        );
        let mut etags: Vec<_> = versions.iter().map(|v| &v.0).collect();
        etags.dedup();
        assert_eq!(etags.len(), versions.len(), "{id}");
    }
    store.close().await;
}

fn main() {
    run_suite(
        suite![
            sync_with_the_sandbox_then_its_status_and_export,
            a_sync_killed_mid_run_loses_and_duplicates_nothing,
            two_instances_sweep_one_at_a_time,
            sync_listen_stores_every_event_beside_another_instance,
        ],
        suite![a_sync_killed_inside_a_page_transaction_leaves_no_trace_of_it],
        &[(
            "a_sandbox_sync_needs_its_own_database_and_reading_one_needs_it_to_exist",
            a_sandbox_sync_needs_its_own_database_and_reading_one_needs_it_to_exist,
        )],
    )
}
