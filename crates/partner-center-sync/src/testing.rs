//! A throwaway database for each test, and the harness that runs one suite against SQLite and
//! PostgreSQL (feature `testing`, for this workspace's tests and yours).
//!
//! SQLite is a file in a temporary directory. PostgreSQL is a new database on the server at
//! [`POSTGRES_URL_VAR`] (`scripts/postgres.sh start DIR` starts one and prints its URL); without
//! it the PostgreSQL tests are reported ignored, with a line saying why, unless
//! [`REQUIRE_POSTGRES_VAR`] is set (as CI does): then the suite fails.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};

use libtest_mimic::{Arguments, Failed, Trial};
use sqlx::Connection;

/// The variable naming the PostgreSQL server of the tests: `postgres://USER@HOST:PORT/DB`.
pub const POSTGRES_URL_VAR: &str = "PARTNER_CENTER_TEST_POSTGRES_URL";
/// Set (to anything), a missing [`POSTGRES_URL_VAR`] fails the suite instead of skipping it.
pub const REQUIRE_POSTGRES_VAR: &str = "PARTNER_CENTER_REQUIRE_POSTGRES";

/// The databases a suite runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A database on the PostgreSQL server of [`POSTGRES_URL_VAR`].
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A new, empty database of one test. A SQLite file goes with the value; a PostgreSQL
/// database stays on the throwaway server, to be read after a failure.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    backend: Backend,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A new database of `backend`.
    ///
    /// # Panics
    /// If it cannot be made (it is for tests): no PostgreSQL server configured, or the server
    /// refuses.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = format!("sqlite:{}", dir.path().join("sync.db").display());
                Self {
                    url,
                    backend,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let server = postgres_server().expect("no PostgreSQL server configured");
                // Unique on the server: this process's id and a counter (our own characters
                // only, so the name needs no quoting).
                static NEXT: AtomicU32 = AtomicU32::new(0);
                let name = format!(
                    "pcsync_{}_{}_{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed),
                    chrono::Utc::now().timestamp_micros()
                );
                let mut admin = sqlx::PgConnection::connect(&server)
                    .await
                    .expect("cannot connect to the PostgreSQL server of the tests");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("cannot create a test database");
                admin.close().await.ok();
                let (base, _) = server
                    .rsplit_once('/')
                    .expect("a PostgreSQL URL ends with /DATABASE");
                Self {
                    url: format!("{base}/{name}"),
                    backend,
                    _dir: None,
                }
            }
        }
    }

    /// Its URL, for [`crate::Store::open`] or `partner-center sync --database`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

/// The URL of the tests' PostgreSQL server, if one is configured.
pub fn postgres_server() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|url| !url.is_empty())
}

/// One test of a suite: it gets a new database.
pub type Test = fn(TestDatabase) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs `tests` against each backend (named `sqlite::NAME` and `postgres::NAME`), and
/// `postgres` (what only a server can show, e.g. a process killed while it waits on a row
/// lock) against PostgreSQL alone, each on a multi-threaded runtime; and `once` a time each:
/// the `main` of a test binary with `harness = false`. Exits the process.
pub fn run_suite(
    tests: &[(&'static str, Test)],
    postgres: &[(&'static str, Test)],
    once: &[(&'static str, fn())],
) -> ! {
    let arguments = Arguments::from_args();
    if postgres_server().is_none() {
        if std::env::var_os(REQUIRE_POSTGRES_VAR).is_some() {
            eprintln!(
                "{REQUIRE_POSTGRES_VAR} is set but {POSTGRES_URL_VAR} is not: the PostgreSQL suite cannot run"
            );
            std::process::exit(1);
        }
        println!(
            "note: the PostgreSQL suite is skipped (its tests show as ignored): set {POSTGRES_URL_VAR} \
             to a server's URL, e.g. what `scripts/postgres.sh start target/postgres` prints"
        );
    }
    let server = postgres_server().is_some();
    let mut trials = Vec::new();
    let runs = [Backend::Sqlite, Backend::Postgres]
        .into_iter()
        .flat_map(|backend| tests.iter().map(move |test| (backend, test)))
        .chain(postgres.iter().map(|test| (Backend::Postgres, test)));
    for (backend, &(name, test)) in runs {
        let trial = Trial::test(format!("{}::{name}", backend.name()), move || {
            on_runtime(test, backend)
        });
        trials.push(trial.with_ignored_flag(backend == Backend::Postgres && !server));
    }
    for &(name, test) in once {
        trials.push(Trial::test(name, move || {
            test();
            Ok(())
        }));
    }
    libtest_mimic::run(&arguments, trials).exit()
}

fn on_runtime(test: Test, backend: Backend) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("cannot start a runtime: {e}")))?;
    runtime.block_on(async move { test(TestDatabase::new(backend).await).await });
    Ok(())
}

/// A suite's list from its `async fn NAME(db: TestDatabase)` tests, for [`run_suite`].
#[macro_export]
macro_rules! suite {
    ($($test:ident),* $(,)?) => {
        &[$((stringify!($test), |db| ::std::boxed::Box::pin($test(db))) ),*]
    };
}
