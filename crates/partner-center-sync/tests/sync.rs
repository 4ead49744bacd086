//! The sync engine against the sandbox over real HTTP (and a mock service that refuses the
//! range filter), into SQLite and PostgreSQL: each test runs against both (see
//! `partner_center_sync::testing`).

use std::collections::HashMap;
use std::time::Duration;

use futures_util::TryStreamExt;
use partner_center::PartnerCenter;
use partner_center::models::Referral;
use partner_center_sandbox::Sandbox;
use partner_center_sync::testing::{Backend, TestDatabase, run_suite};
use partner_center_sync::{Error, RunKind, Store, StoredReferral, Syncer, suite};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// 250 generated referrals and the official example: three pages of 100.
const REFERRALS: usize = 251;

async fn sandbox() -> Sandbox {
    Sandbox::builder()
        .referral_count(REFERRALS - 1)
        .start()
        .await
        .unwrap()
}

fn client(base_url: &str) -> PartnerCenter {
    PartnerCenter::builder()
        .base_url(base_url)
        .token("t")
        .build()
        .unwrap()
}

async fn store(db: &TestDatabase) -> Store {
    Store::open(db.url()).await.unwrap()
}

async fn stored(store: &Store) -> Vec<StoredReferral> {
    store.referrals().try_collect().await.unwrap()
}

/// `json` in a canonical form: sorted keys, no spaces, the numbers' text kept. The stored JSON
/// has every field and value received, in the SDK's field order, not the sender's.
fn canonical(json: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    value.to_string()
}

/// The body of `GET /referrals/{id}`, as the service sent it.
async fn get_body(sandbox: &Sandbox, id: &str) -> String {
    reqwest::Client::new()
        .get(format!(
            "{}/v1.0/engagements/referrals/{id}",
            sandbox.base_url()
        ))
        .bearer_auth("t")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn the_first_sync_stores_every_referral_once_as_received(db: TestDatabase) {
    let sandbox = sandbox().await;
    let syncer = Syncer::new(client(sandbox.base_url()), store(&db).await);

    let summary = syncer.run().await.unwrap();

    assert_eq!(summary.kind, RunKind::Full);
    assert_eq!(summary.pages, 3);
    assert_eq!(summary.seen, REFERRALS as u64);
    assert_eq!(summary.new_versions, REFERRALS as u64);
    let latest = sandbox
        .referrals()
        .iter()
        .filter_map(|r| r.updated_date_time.as_ref()?.instant())
        .max();
    assert_eq!(summary.watermark, latest);
    let status = syncer.store().status().await.unwrap();
    assert_eq!(status.referrals, REFERRALS as i64);
    assert_eq!(status.versions, REFERRALS as i64);
    assert_eq!(status.by_status.values().sum::<i64>(), REFERRALS as i64);
    assert!(status.state.last_full_sweep_at.is_some());
    assert_eq!(status.last_error, None);

    let rows = stored(syncer.store()).await;
    let mut ids: Vec<_> = sandbox.referral_ids();
    ids.sort();
    assert_eq!(rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), ids);
    for row in &rows {
        let body = get_body(&sandbox, &row.id).await;
        assert_eq!(canonical(&row.json), canonical(&body), "{}", row.id);
        assert_eq!(syncer.store().versions(&row.id).await.unwrap().len(), 1);
    }
    let official = rows
        .iter()
        .find(|r| r.id == partner_center_sandbox::OFFICIAL_REFERRAL_ID)
        .unwrap();
    assert_eq!(
        official.customer_name.as_deref(),
        Some("Fabrikam Customer Inc")
    );
}

async fn an_incremental_sync_stores_only_the_changed_referrals(db: TestDatabase) {
    let sandbox = sandbox().await;
    let syncer = Syncer::new(client(sandbox.base_url()), store(&db).await);
    let full = syncer.run().await.unwrap();

    let unchanged = syncer.run().await.unwrap();
    assert_eq!(unchanged.kind, RunKind::Incremental);
    assert_eq!(unchanged.new_versions, 0);
    assert_eq!(unchanged.watermark, full.watermark);

    let ids = sandbox.referral_ids();
    let touched: Vec<_> = [3, 70, 200]
        .iter()
        .map(|&i| sandbox.touch_referral(&ids[i]).unwrap())
        .collect();
    let changed = syncer.run().await.unwrap();

    assert_eq!(changed.kind, RunKind::Incremental);
    assert_eq!(changed.new_versions, 3);
    assert_eq!(changed.pages, 1);
    assert!(
        changed.pages * 3 <= full.pages,
        "{changed:?} against {full:?}"
    );
    assert!(changed.watermark > full.watermark);
    let status = syncer.store().status().await.unwrap();
    assert_eq!(status.referrals, REFERRALS as i64);
    assert_eq!(status.versions, REFERRALS as i64 + 3);
    assert_eq!(status.state.range_filter_supported, Some(true));
    let rows: HashMap<_, _> = stored(syncer.store())
        .await
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    for referral in &touched {
        let id = referral.id.as_deref().unwrap();
        let versions = syncer.store().versions(id).await.unwrap();
        assert_eq!(versions.len(), 2, "{id}");
        let body = get_body(&sandbox, id).await;
        assert_eq!(canonical(&versions[1].1), canonical(&body));
        assert_eq!(canonical(&rows[id].json), canonical(&body));
        assert_ne!(canonical(&versions[0].1), canonical(&body));
        assert_eq!(Some(rows[id].etag.as_str()), referral.e_tag.as_deref());
    }
    let runs = syncer.store().runs().await.unwrap();
    let counts: Vec<_> = runs
        .iter()
        .map(|r| (r.kind.as_str(), r.new_versions))
        .collect();
    assert_eq!(
        counts,
        [
            ("full", REFERRALS as i64),
            ("incremental", 0),
            ("incremental", 3)
        ]
    );
    assert!(
        runs.iter()
            .all(|r| r.finished_at.is_some() && r.error.is_none())
    );
}

async fn a_run_stopped_after_its_first_page_loses_and_duplicates_nothing(db: TestDatabase) {
    let sandbox = sandbox().await;
    let store = store(&db).await;
    let base = sandbox.base_url().to_owned();
    let stopped = Syncer::new(client(&base), store.clone()).max_pages(1);

    // A backfill stopped after one page keeps that page, and no watermark.
    let error = stopped.run().await.unwrap_err();
    assert!(
        matches!(error, Error::Call(partner_center::Error::PageLimit { .. })),
        "{error:?}"
    );
    let status = store.status().await.unwrap();
    assert_eq!((status.referrals, status.versions), (100, 100));
    assert_eq!(status.state.watermark, None);
    let failed = status.last_error.unwrap();
    assert_eq!((failed.pages, failed.new_versions), (1, 100));
    assert!(failed.error.unwrap().contains("paging stopped"));

    // Done again, it stores the rest once.
    let syncer = Syncer::new(client(&base), store.clone());
    let rest = syncer.run().await.unwrap();
    assert_eq!(rest.kind, RunKind::Full);
    assert_eq!(rest.new_versions, REFERRALS as u64 - 100);
    let status = store.status().await.unwrap();
    assert_eq!(
        (status.referrals, status.versions),
        (REFERRALS as i64, REFERRALS as i64)
    );

    // An incremental run stopped after one page of 150 changes keeps its watermark; the next
    // one starts there and stores the other 50.
    let ids = sandbox.referral_ids();
    for id in &ids[..150] {
        sandbox.touch_referral(id).unwrap();
    }
    let error = stopped.run().await.unwrap_err();
    assert!(matches!(
        error,
        Error::Call(partner_center::Error::PageLimit { .. })
    ));
    let status = store.status().await.unwrap();
    let first_page = status.last_error.unwrap();
    // The page may start with unchanged referrals of the overlap window.
    assert!(
        (90..=100).contains(&first_page.new_versions),
        "{first_page:?}"
    );
    assert_eq!(status.versions, REFERRALS as i64 + first_page.new_versions);
    assert!(status.state.watermark > rest.watermark);
    let resumed = syncer.run().await.unwrap();
    assert_eq!(resumed.kind, RunKind::Incremental);
    assert_eq!(resumed.new_versions as i64, 150 - first_page.new_versions);
    assert_eq!(
        store.status().await.unwrap().versions,
        REFERRALS as i64 + 150
    );
    for id in &ids[..150] {
        assert_eq!(store.versions(id).await.unwrap().len(), 2, "{id}");
    }
}

fn referral(id: &str, etag: &str) -> serde_json::Value {
    referral_at(id, etag, "2026-11-30T10:00:00Z")
}

fn referral_at(id: &str, etag: &str, updated: &str) -> serde_json::Value {
    json!({
        "id": id,
        "eTag": etag,
        "updatedDateTime": updated,
        "status": "New",
        "substatus": "Pending",
        "details": {"dealValue": 12345.67, "currency": "EUR"},
        "someDriftedField": {"kept": true}
    })
}

fn filtered(request: &Request) -> bool {
    request.url.query_pairs().any(|(name, _)| name == "$filter")
}

async fn a_refused_range_filter_falls_back_to_full_sweeps(db: TestDatabase) {
    let service = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/engagements/referrals"))
        .and(filtered)
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": "InvalidFilter",
            "message": "updatedDateTime is not a filterable field"
        })))
        .mount(&service)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/engagements/referrals"))
        .and(|request: &Request| !filtered(request))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [referral("a", "\"1\""), referral("b", "\"1\"")]
        })))
        .mount(&service)
        .await;
    let syncer =
        Syncer::new(client(&service.uri()), store(&db).await).overlap(Duration::from_secs(60));

    let first = syncer.run().await.unwrap();
    assert_eq!((first.kind, first.new_versions), (RunKind::Full, 2));
    let second = syncer.run().await.unwrap();
    assert_eq!((second.kind, second.new_versions), (RunKind::Fallback, 0));
    assert_eq!(
        syncer.store().state().await.unwrap().range_filter_supported,
        Some(false)
    );
    // Known now: no filtered listing is tried again.
    let third = syncer.run().await.unwrap();
    assert_eq!((third.kind, third.seen), (RunKind::Fallback, 2));
    let requests = service.received_requests().await.unwrap();
    assert_eq!(requests.iter().filter(|r| filtered(r)).count(), 1);
    assert_eq!(requests.len(), 4);
    let kinds: Vec<_> = syncer
        .store()
        .runs()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "full",
            "full (range filter refused)",
            "full (range filter refused)"
        ]
    );
    // Drifted fields and the exact number are kept.
    let rows = stored(syncer.store()).await;
    assert_eq!(rows[0].deal_value.as_deref(), Some("12345.67"));
    let json: serde_json::Value = serde_json::from_str(&rows[0].json).unwrap();
    assert_eq!(json, referral("a", "\"1\""));
}

fn a_database_url_of_another_kind_is_refused() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let error = runtime
        .block_on(Store::open("mysql://user:secret@host/db"))
        .unwrap_err();
    assert!(matches!(&error, Error::UnsupportedDatabase(scheme) if scheme == "mysql"));
    assert!(!error.to_string().contains("secret"));
}

/// Version `n` of referral `id`, updated `n` minutes after 10:00.
fn version(id: &str, n: u32) -> Referral {
    let updated = format!("2026-11-30T10:{n:02}:00Z");
    serde_json::from_value(referral_at(id, &format!("\"{n}\""), &updated)).unwrap()
}

async fn current_etag(store: &Store, id: &str) -> String {
    let rows = stored(store).await;
    rows.into_iter().find(|r| r.id == id).unwrap().etag
}

async fn a_version_stored_late_never_replaces_a_later_one(db: TestDatabase) {
    let store = store(&db).await;
    assert_eq!(store.store_referrals(&[version("a", 2)]).await.unwrap(), 1);
    // Fetched before, stored after: history, not the current referral.
    assert_eq!(store.store_referrals(&[version("a", 1)]).await.unwrap(), 1);
    assert_eq!(current_etag(&store, "a").await, "\"2\"");
    let etags: Vec<_> = store
        .versions("a")
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.0)
        .collect();
    assert_eq!(etags, ["\"1\"", "\"2\""]);
    // A repeated notice stores nothing.
    assert_eq!(store.store_referrals(&[version("a", 2)]).await.unwrap(), 0);
    // One page with both, the later first.
    let page = [version("b", 2), version("b", 1), version("b", 2)];
    assert_eq!(store.store_referrals(&page).await.unwrap(), 2);
    assert_eq!(current_etag(&store, "b").await, "\"2\"");

    // Two instances (two stores, their own connections) storing the versions of the same
    // referrals at once, in opposite orders, one transaction a version.
    let other = Store::open(db.url()).await.unwrap();
    let ids: Vec<String> = (0..20).map(|i| format!("r{i:02}")).collect();
    let versions: Vec<Referral> = ids
        .iter()
        .flat_map(|id| (1..=5).map(|n| version(id, n)))
        .collect();
    let forward = {
        let (store, versions) = (store.clone(), versions.clone());
        tokio::spawn(async move {
            for v in &versions {
                store
                    .store_referrals(std::slice::from_ref(v))
                    .await
                    .unwrap();
            }
        })
    };
    let backward = {
        let versions = versions.clone();
        tokio::spawn(async move {
            for v in versions.iter().rev() {
                other
                    .store_referrals(std::slice::from_ref(v))
                    .await
                    .unwrap();
            }
        })
    };
    forward.await.unwrap();
    backward.await.unwrap();
    for id in &ids {
        assert_eq!(current_etag(&store, id).await, "\"5\"", "{id}");
        assert_eq!(store.versions(id).await.unwrap().len(), 5, "{id}");
    }
}

/// A database made by the first schema (each referral's JSON in `referrals` and in its
/// version), with a referral of two versions in it, as a release before the JSON was stored
/// once left it.
async fn a_database_of_the_first_schema(db: &TestDatabase) {
    use sqlx::Executor;

    let kind = match db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let first = tempfile::tempdir().unwrap();
    let migration = format!(
        "{}/migrations/{kind}/0001_sync.sql",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::copy(migration, first.path().join("0001_sync.sql")).unwrap();
    // As `Store::open` does (whichever of the two comes first installs them).
    let _ = sqlx::any::install_drivers(&[sqlx::sqlite::any::DRIVER, sqlx::postgres::any::DRIVER]);
    let url = match db.backend() {
        Backend::Sqlite => format!("{}?mode=rwc", db.url()),
        Backend::Postgres => db.url().to_owned(),
    };
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let migrator = sqlx::migrate::Migrator::new(first.path()).await.unwrap();
    migrator.run(&pool).await.unwrap();
    pool.execute(
        "INSERT INTO referral_versions (id, etag, updated_at, received_at, json) VALUES \
         ('a', '\"1\"', '2026-11-30T10:01:00.000000000Z', '2026-11-30T11:00:00.000000000Z', \
          '{\"id\":\"a\",\"eTag\":\"\\\"1\\\"\"}'), \
         ('a', '\"2\"', '2026-11-30T10:02:00.000000000Z', '2026-11-30T11:00:00.000000000Z', \
          '{\"id\":\"a\",\"eTag\":\"\\\"2\\\"\",\"status\":\"Active\",\"drifted\":[1.50]}')",
    )
    .await
    .unwrap();
    pool.execute(
        "INSERT INTO referrals (id, etag, updated_at, status, json) VALUES \
         ('a', '\"2\"', '2026-11-30T10:02:00.000000000Z', 'Active', \
          '{\"id\":\"a\",\"eTag\":\"\\\"2\\\"\",\"status\":\"Active\",\"drifted\":[1.50]}')",
    )
    .await
    .unwrap();
    pool.close().await;
}

async fn a_database_of_the_first_schema_migrates_with_nothing_lost(db: TestDatabase) {
    a_database_of_the_first_schema(&db).await;
    let store = store(&db).await;

    // The current referral reads as it was, its JSON byte for byte; the history is whole.
    let rows = stored(&store).await;
    assert_eq!(rows.len(), 1);
    let current = &rows[0];
    assert_eq!(
        (
            current.id.as_str(),
            current.etag.as_str(),
            current.status.as_deref()
        ),
        ("a", "\"2\"", Some("Active"))
    );
    assert_eq!(
        current.json,
        r#"{"id":"a","eTag":"\"2\"","status":"Active","drifted":[1.50]}"#
    );
    let etags: Vec<String> = store
        .versions("a")
        .await
        .unwrap()
        .into_iter()
        .map(|(etag, _)| etag)
        .collect();
    assert_eq!(etags, ["\"1\"", "\"2\""]);
    let status = store.status().await.unwrap();
    assert_eq!((status.referrals, status.versions), (1, 2));

    // And the store goes on: a later version becomes the current referral, its JSON with it.
    assert_eq!(store.store_referrals(&[version("a", 3)]).await.unwrap(), 1);
    let rows = stored(&store).await;
    assert_eq!(rows[0].etag, "\"3\"");
    assert_eq!(
        canonical(&rows[0].json),
        canonical(&serde_json::to_string(&version("a", 3)).unwrap())
    );
    store.close().await;
}

fn main() {
    run_suite(
        suite![
            a_version_stored_late_never_replaces_a_later_one,
            the_first_sync_stores_every_referral_once_as_received,
            an_incremental_sync_stores_only_the_changed_referrals,
            a_run_stopped_after_its_first_page_loses_and_duplicates_nothing,
            a_refused_range_filter_falls_back_to_full_sweeps,
            a_database_of_the_first_schema_migrates_with_nothing_lost
        ],
        &[],
        &[(
            "a_database_url_of_another_kind_is_refused",
            a_database_url_of_another_kind_is_refused,
        )],
    )
}
