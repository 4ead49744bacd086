//! The work of a request, counted rather than timed: the instructions and first-level data
//! cache misses (valgrind's callgrind, its cache simulation) and heap allocations (valgrind's
//! DHAT) of each client's get-by-id at each concurrency.
//! Counts hold on a busy machine, where req/s and CPU time do not. Each client runs twice under
//! each tool, [`SHORT`] and [`LONG`] measured requests after the same warm-up: the difference
//! over the extra requests leaves start-up out (connections, the runtime).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::IN_FLIGHT;
use crate::client::Kind;

/// Requests before the counted ones (they open the connections).
const WARMUP: usize = 400;
/// The measured requests of the two runs.
pub(crate) const SHORT: usize = 1_000;
pub(crate) const LONG: usize = 3_000;

/// One client at one concurrency.
#[derive(Debug)]
pub(crate) struct CountRow {
    pub(crate) kind: Kind,
    pub(crate) in_flight: usize,
    pub(crate) instructions: f64,
    /// Reads and writes that missed the simulated L1 data cache: the memory a request touches,
    /// which costs time on a real CPU, not instructions.
    pub(crate) l1_data_misses: f64,
    pub(crate) allocations: f64,
}

/// Every client at every concurrency, against the loopback server at `address`; an error
/// (shown in the report) if valgrind is missing or a run fails.
pub(crate) fn run(address: &str) -> Result<Vec<CountRow>, String> {
    let installed = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !installed {
        return Err("not measured: valgrind is not installed".into());
    }
    let dir = std::env::temp_dir().join(format!("partner-center-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let rows = rows(&dir, address);
    // The tools' files are large; a failed run's are of no use either.
    let _ = std::fs::remove_dir_all(&dir);
    rows
}

fn rows(dir: &Path, address: &str) -> Result<Vec<CountRow>, String> {
    let mut rows = Vec::new();
    for in_flight in IN_FLIGHT {
        for kind in Kind::ALL {
            let client = Client {
                dir,
                address,
                kind,
                in_flight,
            };
            let (short, long) = (client.callgrind(SHORT)?, client.callgrind(LONG)?);
            rows.push(CountRow {
                kind,
                in_flight,
                instructions: per_request(short.instructions, long.instructions),
                l1_data_misses: per_request(short.l1_data_misses, long.l1_data_misses),
                allocations: per_request(client.allocations(SHORT)?, client.allocations(LONG)?),
            });
        }
    }
    Ok(rows)
}

/// The count of one request: of the long run less the short one, over the extra requests.
fn per_request(short: u64, long: u64) -> f64 {
    long.saturating_sub(short) as f64 / (LONG - SHORT) as f64
}

/// What callgrind counted in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Callgrind {
    instructions: u64,
    l1_data_misses: u64,
}

/// One client process of the bench, run under a valgrind tool.
struct Client<'a> {
    dir: &'a Path,
    address: &'a str,
    kind: Kind,
    in_flight: usize,
}

impl Client<'_> {
    /// The counts of a run of `requests`, from callgrind's output file.
    fn callgrind(&self, requests: usize) -> Result<Callgrind, String> {
        let file = self.file("callgrind", requests);
        // The caches simulated are this machine's (valgrind reads their sizes from the CPU).
        self.run_under("callgrind", &["--cache-sim=yes"], &file, requests)?;
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        callgrind_counts(&text).ok_or_else(|| format!("no counts in {}", file.display()))
    }

    /// The heap blocks allocated in a run of `requests`, from DHAT's log.
    fn allocations(&self, requests: usize) -> Result<u64, String> {
        let file = self.file("dhat", requests);
        let log = self.run_under("dhat", &[], &file, requests)?;
        dhat_blocks(&log)
            .ok_or_else(|| format!("no allocation count in DHAT's output for {}", self.what()))
    }

    fn file(&self, tool: &str, requests: usize) -> PathBuf {
        self.dir.join(format!(
            "{tool}.{}.{}.{requests}",
            self.kind.arg(),
            self.in_flight
        ))
    }

    fn what(&self) -> String {
        format!("{} at {} in flight", self.kind.label(), self.in_flight)
    }

    /// Runs the client under `tool` with `options` (its output file `file`): says `go` at
    /// once, so it measures right after its warm-up. Returns valgrind's log (stderr).
    fn run_under(
        &self,
        tool: &str,
        options: &[&str],
        file: &Path,
        requests: usize,
    ) -> Result<String, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new("valgrind")
            .arg(format!("--tool={tool}"))
            .args(options)
            .arg(format!("--{tool}-out-file={}", file.display()))
            .arg(exe)
            .arg("client")
            .args(["--kind", self.kind.arg(), "--address", self.address])
            .args(["--in-flight", &self.in_flight.to_string()])
            .args(["--requests", &requests.to_string()])
            .args(["--warmup", &WARMUP.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start valgrind: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            writeln!(stdin, "go").map_err(|e| e.to_string())?;
        }
        let output = child.wait_with_output().map_err(|e| e.to_string())?;
        let log = String::from_utf8_lossy(&output.stderr).into_owned();
        if output.status.success() {
            Ok(log)
        } else {
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            Err(format!(
                "{} under {tool} failed ({}): {}",
                self.what(),
                output.status,
                tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
            ))
        }
    }
}

/// The counts of a callgrind output file: its `summary:` line (`totals:` in older versions),
/// in the order of its `events:` line.
fn callgrind_counts(text: &str) -> Option<Callgrind> {
    let events: Vec<&str> = text
        .lines()
        .find_map(|line| line.strip_prefix("events:"))?
        .split_whitespace()
        .collect();
    let values: Vec<u64> = text
        .lines()
        .find_map(|line| {
            line.strip_prefix("summary:")
                .or_else(|| line.strip_prefix("totals:"))
        })?
        .split_whitespace()
        .map(|value| value.parse().ok())
        .collect::<Option<_>>()?;
    let count = |event| {
        let at = events.iter().position(|name| *name == event)?;
        values.get(at).copied()
    };
    Some(Callgrind {
        instructions: count("Ir")?,
        l1_data_misses: count("D1mr")? + count("D1mw")?,
    })
}

/// The blocks of DHAT's `Total: N bytes in M blocks` line.
fn dhat_blocks(log: &str) -> Option<u64> {
    log.lines()
        .filter(|line| line.contains("Total:"))
        .find_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let blocks = words.iter().position(|word| *word == "blocks")?;
            words
                .get(blocks.checked_sub(1)?)?
                .replace(',', "")
                .parse()
                .ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counts_are_read_from_the_tools_output() {
        let callgrind = "events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\nfl=(1) x.rs\n16 3\n\
                         summary: 862489588 200 100 7 30 12 1 0 0\n";
        let counts = Callgrind {
            instructions: 862_489_588,
            l1_data_misses: 42,
        };
        assert_eq!(callgrind_counts(callgrind), Some(counts));
        let older = "events: Ir D1mr D1mw\ntotals: 42 1 2\n";
        assert_eq!(callgrind_counts(older).map(|c| c.l1_data_misses), Some(3));
        // Without the cache simulation there are no misses to report.
        assert_eq!(callgrind_counts("events: Ir\nsummary: 42\n"), None);
        assert_eq!(callgrind_counts("events: Ir D1mr D1mw\n"), None);

        let dhat = "==28651== DHAT, a dynamic heap analysis tool\n\
                    ==28651== Total:     1,234,567 bytes in 12,345 blocks\n\
                    ==28651== At t-gmax: 99 bytes in 3 blocks\n";
        assert_eq!(dhat_blocks(dhat), Some(12_345));
        assert_eq!(dhat_blocks("==1== Total: lost\n"), None);
    }
}
