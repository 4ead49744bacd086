//! The sync benchmark (issue 13): the real `partner-center` binary against a sandbox of its
//! own (`partner-center sandbox serve`), each a separate process. A first `sync` into SQLite
//! (and PostgreSQL, when a server is given) against `referrals list --all --output ndjson`
//! from the same sandbox, the peak memory of each at two sizes, an incremental `sync` after 1%
//! of the referrals changed, and what the sandbox holds a referral.

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::procfs;

/// The environment variable naming a PostgreSQL server to sync into
/// (`postgres://user:password@host:port/database`); the PostgreSQL rows need it.
pub(crate) const POSTGRES_URL_VARIABLE: &str = "PARTNER_CENTER_BENCH_POSTGRES_URL";
/// The name of the PostgreSQL server's processes: their CPU time is the database's, not a
/// neighbour's.
const POSTGRES_PROCESS: &str = "postgres";
/// The token the CLI sends: a sandbox takes any.
const TOKEN: &str = "bench";
/// One referral in this many is changed before the incremental run: 1%.
pub(crate) const CHANGE_EVERY: usize = 100;
/// How often a process's peak memory is read while it runs.
pub(crate) const POLL: Duration = Duration::from_millis(5);

/// What the sync benchmark measures at one number of referrals.
#[derive(Debug)]
pub(crate) struct SizeResult {
    /// Referrals the sandbox serves (the generated ones and the official example).
    pub(crate) referrals: usize,
    /// The sandbox's resident memory once seeded, and its peak, in kB.
    pub(crate) sandbox_rss_kb: u64,
    pub(crate) sandbox_hwm_kb: u64,
    /// Its resident memory after serving every run, in kB.
    pub(crate) sandbox_rss_after_kb: u64,
    pub(crate) list: Runs,
    pub(crate) sqlite: Runs,
    /// `Err`: why it was not run.
    pub(crate) postgres: Result<Runs, String>,
    pub(crate) incremental: Incremental,
    pub(crate) postgres_incremental: Result<Incremental, String>,
}

/// Everything the sync benchmark measured.
#[derive(Debug)]
pub(crate) struct SyncResult {
    /// The resident memory of a sandbox with the official example alone, in kB: what a
    /// sandbox holds besides its referrals.
    pub(crate) sandbox_empty_kb: u64,
    pub(crate) sizes: Vec<SizeResult>,
}

/// One CLI process.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Run {
    pub(crate) elapsed: Duration,
    /// Its peak resident memory (`VmHWM`), in kB.
    pub(crate) peak_kb: u64,
    /// Requests the sandbox answered meanwhile.
    pub(crate) requests: u64,
    /// Referrals it received: lines printed, or referrals seen by the sync.
    pub(crate) referrals: u64,
    /// The CPU time it used, and the sandbox and the PostgreSQL server meanwhile.
    pub(crate) cpu: Duration,
    pub(crate) sandbox_cpu: Duration,
    pub(crate) database_cpu: Duration,
    /// The CPU time every other process used meanwhile, in CPUs (0.25: a quarter of one).
    pub(crate) others_cpus: f64,
}

impl Run {
    pub(crate) fn per_second(&self) -> f64 {
        self.referrals as f64 / self.elapsed.as_secs_f64()
    }
}

/// The runs of one command at one size, interleaved with the other commands'.
#[derive(Clone, Debug, Default)]
pub(crate) struct Runs(Vec<Run>);

impl Runs {
    /// The run of median referrals a second (the upper one of an even number).
    pub(crate) fn median(&self) -> &Run {
        let mut runs: Vec<&Run> = self.0.iter().collect();
        runs.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
        runs[runs.len() / 2]
    }

    /// The lowest and highest referrals a second.
    pub(crate) fn range(&self) -> (f64, f64) {
        let rates = self.0.iter().map(Run::per_second);
        (
            rates.clone().fold(f64::INFINITY, f64::min),
            rates.fold(0.0, f64::max),
        )
    }

    /// The highest peak memory of the runs, in kB.
    pub(crate) fn peak_kb(&self) -> u64 {
        self.0.iter().map(|run| run.peak_kb).max().unwrap_or(0)
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// The incremental run after [`CHANGE_EVERY`] changes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Incremental {
    /// Referrals changed through the sandbox's control route.
    pub(crate) changed: u64,
    pub(crate) run: Run,
    /// New versions the run stored, by its summary.
    pub(crate) new_versions: u64,
    /// Versions in the database before and after it, by `sync status`.
    pub(crate) versions_before: u64,
    pub(crate) versions_after: u64,
}

impl Incremental {
    /// Whether it stored exactly one new version of each changed referral, and nothing else.
    pub(crate) fn exact(&self) -> bool {
        self.new_versions == self.changed
            && self.versions_after == self.versions_before + self.changed
    }
}

/// Runs the sync benchmark at each of `sizes` (generated referrals), each first run `runs`
/// times, the sandbox on `server_cpu`, the CLI where this process may run.
pub(crate) fn run(
    sizes: &[usize],
    runs: usize,
    server_cpu: Option<usize>,
) -> Result<SyncResult, String> {
    let cli = cli_path()?;
    let work = tempdir()?;
    let result = (|| {
        let empty = Sandbox::start(&cli, server_cpu, 0)?;
        let sandbox_empty_kb = empty.rss_kb()?;
        drop(empty);
        let sizes = sizes
            .iter()
            .map(|&count| measure_size(&cli, server_cpu, count, runs, &work))
            .collect::<Result<_, String>>()?;
        Ok(SyncResult {
            sandbox_empty_kb,
            sizes,
        })
    })();
    let _ = fs::remove_dir_all(&work);
    result
}

fn measure_size(
    cli: &Path,
    server_cpu: Option<usize>,
    count: usize,
    runs: usize,
    work: &Path,
) -> Result<SizeResult, String> {
    let sandbox = Sandbox::start(cli, server_cpu, count)?;
    let (sandbox_rss_kb, sandbox_hwm_kb) = (sandbox.rss_kb()?, sandbox.hwm_kb()?);
    let referrals = count + 1;
    eprintln!(
        "sync: {referrals} referrals, sandbox {} ({sandbox_rss_kb} kB resident)",
        sandbox.base_url
    );
    let postgres_url = std::env::var(POSTGRES_URL_VARIABLE).ok();
    let (mut list, mut sqlite, mut postgres) = (Runs::default(), Runs::default(), Runs::default());
    let mut changed_ids = Vec::new();
    let mut sqlite_url = String::new();
    // Interleaved, so that a neighbour's load falls on every command alike.
    for run in 0..runs {
        let listed = work.join(format!("list-{count}.ndjson"));
        let listing = sandbox.measure(
            cli_command(cli, &sandbox.base_url).args([
                "referrals",
                "list",
                "--all",
                "--output",
                "ndjson",
            ]),
            &listed,
            |stdout, _| count_lines(stdout),
        )?;
        report("list --all --output ndjson", &listing);
        if listing.referrals != referrals as u64 {
            return Err(format!(
                "the list printed {} referrals of {referrals}",
                listing.referrals
            ));
        }
        list.0.push(listing);
        if run == 0 {
            changed_ids = every_nth_id(&listed, CHANGE_EVERY)?;
        }
        let _ = fs::remove_file(&listed);

        // A new file each run (the last one's stays for the incremental run).
        let path = work.join(format!("sync-{count}-{run}.db"));
        if let Some(previous) = run.checked_sub(1) {
            remove_sqlite(&work.join(format!("sync-{count}-{previous}.db")));
        }
        sqlite_url = format!("sqlite:{}", path.to_string_lossy());
        let first = sandbox.sync(cli, &sqlite_url, work)?;
        report("sync (SQLite)", &first);
        check_seen(&first, referrals)?;
        sqlite.0.push(first);
        if let Some(url) = &postgres_url {
            empty_postgres(url)?;
            let first = sandbox.sync(cli, url, work)?;
            report("sync (PostgreSQL)", &first);
            check_seen(&first, referrals)?;
            postgres.0.push(first);
        }
    }

    for id in &changed_ids {
        sandbox.change(id)?;
    }
    let changed = changed_ids.len() as u64;
    let incremental = sandbox.incremental(cli, &sqlite_url, work, changed)?;
    report("incremental sync (SQLite)", &incremental.run);
    let (postgres, postgres_incremental) = match postgres_url {
        Some(url) => {
            let incremental = sandbox.incremental(cli, &url, work, changed)?;
            report("incremental sync (PostgreSQL)", &incremental.run);
            (Ok(postgres), Ok(incremental))
        }
        None => {
            let unset = format!("not run: {POSTGRES_URL_VARIABLE} unset");
            (Err(unset.clone()), Err(unset))
        }
    };
    Ok(SizeResult {
        referrals,
        sandbox_rss_kb,
        sandbox_hwm_kb,
        sandbox_rss_after_kb: sandbox.rss_kb()?,
        list,
        sqlite,
        postgres,
        incremental,
        postgres_incremental,
    })
}

/// Removes an SQLite database and the files beside it, if they are there.
fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal", ".lock"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = fs::remove_file(PathBuf::from(name));
    }
}

fn report(what: &str, run: &Run) {
    eprintln!(
        "  {what:<30} {:>8.0} referrals/s, {:>7.2} s (CPU {:.2} s, sandbox {:.2} s, database \
         {:.2} s, others {:>3.0}% of a CPU), peak {:>7} kB, {} requests",
        run.per_second(),
        run.elapsed.as_secs_f64(),
        run.cpu.as_secs_f64(),
        run.sandbox_cpu.as_secs_f64(),
        run.database_cpu.as_secs_f64(),
        run.others_cpus * 100.0,
        run.peak_kb,
        run.requests
    );
}

fn check_seen(run: &Run, referrals: usize) -> Result<(), String> {
    if run.referrals == referrals as u64 {
        Ok(())
    } else {
        Err(format!(
            "the first sync saw {} referrals of {referrals}",
            run.referrals
        ))
    }
}

/// Empties the PostgreSQL database at `url` (a sync into a used one would be incremental):
/// its `public` schema dropped and made again, with `psql`.
fn empty_postgres(url: &str) -> Result<(), String> {
    let reset = Command::new("psql")
        .args([url, "-q", "-v", "ON_ERROR_STOP=1", "-c"])
        .arg(
            "SET client_min_messages = warning; DROP SCHEMA IF EXISTS public CASCADE; \
             CREATE SCHEMA public;",
        )
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run psql to empty {POSTGRES_URL_VARIABLE}: {e}"))?;
    if reset.success() {
        Ok(())
    } else {
        Err(format!(
            "psql could not empty the database of {POSTGRES_URL_VARIABLE} ({reset})"
        ))
    }
}

/// The CLI, built next to this binary (`cargo xtask bench` builds both).
fn cli_path() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let cli = exe.with_file_name("partner-center");
    if cli.is_file() {
        Ok(cli)
    } else {
        Err(format!(
            "{} is missing: build it with `cargo build --release -p partner-center-cli` \
             (`cargo xtask bench` does)",
            cli.display()
        ))
    }
}

fn tempdir() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("partner-center-bench-{}", std::process::id()));
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// `partner-center --base-url URL --token T`.
fn cli_command(cli: &Path, base_url: &str) -> Command {
    let mut command = Command::new(cli);
    command.args(["--base-url", base_url, "--token", TOKEN]);
    command
}

fn count_lines(path: &Path) -> Result<u64, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut count = 0;
    for line in BufReader::new(file).split(b'\n') {
        line.map_err(|e| e.to_string())?;
        count += 1;
    }
    Ok(count)
}

/// The id of every `n`-th referral of an ndjson listing, from the first.
fn every_nth_id(path: &Path, n: usize) -> Result<Vec<String>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    BufReader::new(file)
        .lines()
        .step_by(n)
        .map(|line| {
            let line = line.map_err(|e| e.to_string())?;
            let referral: serde_json::Value =
                serde_json::from_str(&line).map_err(|e| e.to_string())?;
            referral["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| "a listed referral has no id".to_owned())
        })
        .collect()
}

/// `label N` in `text` (`pages 12`), as the sync's summary writes its counts.
fn number_after(text: &str, label: &str) -> Option<u64> {
    let rest = &text[text.find(label)? + label.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Runs `command` to its end, its stdout into `stdout`, reading its peak memory as it goes:
/// how long it took, its `VmHWM`, and its exit.
fn run_measured(
    command: &mut Command,
    stdout: &Path,
    stderr: &Path,
) -> Result<(Duration, u64, u64), String> {
    let out = File::create(stdout).map_err(|e| e.to_string())?;
    let err = File::create(stderr).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let pid = child.id();
    let done = AtomicBool::new(false);
    let (status, elapsed, (peak_kb, cpu_ns)) = std::thread::scope(|scope| {
        // VmHWM and the CPU time only grow, so the last readings before the exit are the
        // totals, but for the process's last few milliseconds (its /proc entries go at exit).
        let poller = scope.spawn(|| {
            let (mut peak, mut cpu) = (0, 0);
            while !done.load(Ordering::Relaxed) {
                if let Ok(kb) = procfs::status_kb(pid, "VmHWM") {
                    peak = peak.max(kb);
                }
                if let Ok(ns) = procfs::cpu_ns(pid) {
                    cpu = cpu.max(ns);
                }
                std::thread::sleep(POLL);
            }
            (peak, cpu)
        });
        let status = child.wait();
        let elapsed = started.elapsed();
        done.store(true, Ordering::Relaxed);
        (status, elapsed, poller.join().unwrap_or((0, 0)))
    });
    let status = status.map_err(|e| e.to_string())?;
    if !status.success() {
        let said = fs::read_to_string(stderr).unwrap_or_default();
        return Err(format!("{command:?} failed ({status}): {said}"));
    }
    Ok((elapsed, peak_kb, cpu_ns))
}

/// A `partner-center sandbox serve` process; killed when dropped.
struct Sandbox {
    child: Child,
    base_url: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Sandbox {
    fn start(cli: &Path, cpu: Option<usize>, count: usize) -> Result<Self, String> {
        // taskset execs the program, so the child's pid is the sandbox's.
        let mut command = match cpu {
            Some(cpu) => {
                let mut command = Command::new("taskset");
                command.args(["-c", &cpu.to_string()]).arg(cli);
                command
            }
            None => Command::new(cli),
        };
        let mut child = command
            .args(["sandbox", "serve", "--count", &count.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the sandbox: {e}"))?;
        // It prints its base URL alone on the first line once it serves (seeded).
        let mut line = String::new();
        let read = child
            .stdout
            .take()
            .map(|stdout| BufReader::new(stdout).read_line(&mut line));
        let base_url = line.trim().to_owned();
        if !matches!(read, Some(Ok(_))) || !base_url.starts_with("http://") {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("the sandbox did not start (it printed {line:?})"));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            child,
            base_url,
            http: reqwest::Client::new(),
            runtime,
        })
    }

    fn rss_kb(&self) -> Result<u64, String> {
        procfs::status_kb(self.child.id(), "VmRSS").map_err(|e| e.to_string())
    }

    fn hwm_kb(&self) -> Result<u64, String> {
        procfs::status_kb(self.child.id(), "VmHWM").map_err(|e| e.to_string())
    }

    /// The API requests it has answered (`GET /_sandbox/requests`).
    fn requests(&self) -> Result<u64, String> {
        let url = format!("{}/_sandbox/requests", self.base_url);
        let answer: serde_json::Value = self.runtime.block_on(async {
            let response = self.http.get(url).send().await.map_err(|e| e.to_string())?;
            response.json().await.map_err(|e| e.to_string())
        })?;
        answer["requests"]
            .as_u64()
            .ok_or_else(|| format!("unexpected answer {answer}"))
    }

    /// Changes the referral `id` through the control route: new notes, so a new `eTag` and
    /// `updatedDateTime`.
    fn change(&self, id: &str) -> Result<(), String> {
        let url = format!("{}/_sandbox/referrals/{id}", self.base_url);
        let patch = serde_json::json!({"details": {"notes": "Changed by the benchmark"}});
        self.runtime.block_on(async {
            let response = self
                .http
                .patch(url)
                .json(&patch)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            match response.status().as_u16() {
                200 => Ok(()),
                status => Err(format!("changing {id} answered {status}")),
            }
        })
    }

    /// Runs `command`, counting the requests the sandbox answers meanwhile; `referrals` reads
    /// how many referrals it received from its stdout and stderr files.
    fn measure(
        &self,
        command: &mut Command,
        stdout: &Path,
        referrals: impl FnOnce(&Path, &Path) -> Result<u64, String>,
    ) -> Result<Run, String> {
        let stderr = stdout.with_extension("stderr");
        let before = self.requests()?;
        let sandbox_before = procfs::cpu_ns(self.child.id()).map_err(|e| e.to_string())?;
        let database_before = procfs::named_cpu_ns(POSTGRES_PROCESS).map_err(|e| e.to_string())?;
        let machine_before = procfs::machine_ticks().map_err(|e| e.to_string())?;
        let (elapsed, peak_kb, cpu_ns) = run_measured(command, stdout, &stderr)?;
        let machine_after = procfs::machine_ticks().map_err(|e| e.to_string())?;
        let sandbox_cpu_ns =
            procfs::cpu_ns(self.child.id()).map_err(|e| e.to_string())? - sandbox_before;
        let database_cpu_ns = procfs::named_cpu_ns(POSTGRES_PROCESS)
            .map_err(|e| e.to_string())?
            .saturating_sub(database_before);
        let requests = self.requests()? - before;
        let referrals = referrals(stdout, &stderr);
        let _ = fs::remove_file(&stderr);
        let elapsed_ns = elapsed.as_nanos() as f64;
        let others_ns = machine_after.busy_cpus_since(&machine_before) * elapsed_ns
            - cpu_ns as f64
            - sandbox_cpu_ns as f64
            - database_cpu_ns as f64;
        Ok(Run {
            elapsed,
            peak_kb,
            requests,
            referrals: referrals?,
            cpu: Duration::from_nanos(cpu_ns),
            sandbox_cpu: Duration::from_nanos(sandbox_cpu_ns),
            database_cpu: Duration::from_nanos(database_cpu_ns),
            others_cpus: (others_ns / elapsed_ns).max(0.0),
        })
    }

    /// `partner-center sync --database URL`: the run, and its summary's count of new versions.
    fn sync_run(&self, cli: &Path, database: &str, work: &Path) -> Result<(Run, u64), String> {
        let stdout = work.join("sync.out");
        let mut new_versions = None;
        let run = self.measure(
            cli_command(cli, &self.base_url).args(["sync", "--database", database]),
            &stdout,
            |_, stderr| {
                let said = fs::read_to_string(stderr).map_err(|e| e.to_string())?;
                // The last line: the progress lines before it start alike.
                let summary = said
                    .lines()
                    .rev()
                    .find(|line| line.starts_with("sync ("))
                    .ok_or_else(|| format!("no summary from the sync: {said:?}"))?;
                new_versions = number_after(summary, "new versions");
                number_after(summary, "referrals seen")
                    .ok_or_else(|| format!("unexpected summary {summary:?}"))
            },
        )?;
        let _ = fs::remove_file(&stdout);
        Ok((run, new_versions.unwrap_or(0)))
    }

    fn sync(&self, cli: &Path, database: &str, work: &Path) -> Result<Run, String> {
        self.sync_run(cli, database, work).map(|(run, _)| run)
    }

    /// An incremental sync of `database` after `changed` referrals changed.
    fn incremental(
        &self,
        cli: &Path,
        database: &str,
        work: &Path,
        changed: u64,
    ) -> Result<Incremental, String> {
        let versions_before = versions(cli, database)?;
        let (run, new_versions) = self.sync_run(cli, database, work)?;
        Ok(Incremental {
            changed,
            run,
            new_versions,
            versions_before,
            versions_after: versions(cli, database)?,
        })
    }
}

/// The versions stored in `database`, as `partner-center sync status` reports them.
fn versions(cli: &Path, database: &str) -> Result<u64, String> {
    let output = Command::new(cli)
        .args(["sync", "--database", database, "status"])
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "sync status failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let status: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
    status["versions"]
        .as_u64()
        .ok_or_else(|| format!("sync status has no versions: {status}"))
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counts_of_a_sync_summary() {
        let summary = "sync (full): pages 1001, referrals seen 100001, new versions 100001, \
                       watermark 2025-06-02T09:00:00Z";
        assert_eq!(number_after(summary, "pages"), Some(1001));
        assert_eq!(number_after(summary, "referrals seen"), Some(100_001));
        assert_eq!(number_after(summary, "new versions"), Some(100_001));
        assert_eq!(number_after(summary, "requests"), None);
    }
}
