//! `cargo xtask bench`: how fast the `partner-center` SDK decodes and fetches a referral,
//! measured against `serde_json::Value`, a raw hyper client and bare reqwest, and how the
//! `partner-center` CLI syncs a sandbox's referrals into a database. It prints the results
//! and writes them to `BENCHMARKS.md`.
//!
//! One binary plays three roles so that the server and each client run are separate processes
//! (pinned to separate CPUs, with their CPU time read from `/proc`): without a subcommand it
//! runs the whole benchmark; `serve` and `client` are the processes it starts.

mod client;
mod counts;
mod decode;
mod procfs;
mod report;
mod server;
mod sync;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};

use clap::{Args, Parser, Subcommand};

use crate::client::Kind;
use crate::report::{Report, Stats, TripRow};

/// The official example response of `GET /v1.0/engagements/referrals/{id}`.
const EXAMPLE: &[u8] = partner_center_api::spec::OFFICIAL_EXAMPLE.as_bytes();
/// The `id` in [`EXAMPLE`]: every client asks for it and checks that it got it.
const EXAMPLE_ID: &str = "c5fbb3b6-be74-4795-9fb5-4324c73fed37";
/// Other processes may use this much of a CPU (0.1: 10%) during a run that counts.
const QUIET: f64 = 0.1;
/// How many times a disturbed run is measured before it is kept anyway (and flagged).
const MAX_TRIES: usize = 4;
/// The numbers of requests in flight measured.
const IN_FLIGHT: [usize; 2] = [1, 32];

#[derive(Parser)]
#[command(
    name = "partner-center-bench",
    about = "Decode and loopback round-trip benchmarks of the partner-center SDK"
)]
struct Cli {
    #[command(subcommand)]
    role: Option<Role>,
    #[command(flatten)]
    options: Options,
}

#[derive(Subcommand)]
enum Role {
    /// Serve the official example on 127.0.0.1: print the address, stop when stdin closes.
    #[command(hide = true)]
    Serve,
    /// One measured client run (started by the benchmark itself).
    #[command(hide = true)]
    Client(client::RunSpec),
    /// Decode the example `--iterations` times, untimed: for
    /// `valgrind --tool=callgrind --toggle-collect='*decode_loop*'`.
    #[command(hide = true)]
    DecodeLoop(decode::LoopSpec),
}

#[derive(Args)]
struct Options {
    /// A short run to check that everything works: fewer rounds and requests, numbers not for
    /// comparison, and nothing written unless --out is given.
    #[arg(long)]
    quick: bool,
    /// Measure the decode only (no round trips), print it, write nothing.
    #[arg(long)]
    decode_only: bool,
    /// Run the sync benchmark only (section 4), print it, write nothing unless --out is given.
    #[arg(long, conflicts_with = "decode_only")]
    sync_only: bool,
    /// The numbers of generated referrals the sync benchmark runs at, smallest first (default
    /// 10000,100000; 1000,5000 with --quick).
    #[arg(long, value_delimiter = ',', value_name = "N,N")]
    sync_sizes: Option<Vec<usize>>,
    /// How many times the sync benchmark's first runs are made at each size, the median is
    /// reported (default 3; 1 with --quick).
    #[arg(long)]
    sync_runs: Option<usize>,
    /// Where to write the results (default: BENCHMARKS.md at the workspace root).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Requests per measured client run (default 4000; 3000 with --quick).
    #[arg(long)]
    requests: Option<usize>,
    /// Measured rounds (a run of every client at every concurrency each); the median of the
    /// rounds' ratios is reported (default 45; 2 with --quick). Many short rounds rather than
    /// a few long ones: the host's noise moves each ratio by a third, and only more of them
    /// narrow the median's interval.
    #[arg(long)]
    runs: Option<usize>,
    /// Pin the server process to this CPU with taskset; the clients run on the CPUs this
    /// process may use (`cargo xtask bench` pins it to another one).
    #[arg(long)]
    server_cpu: Option<usize>,
}

/// How much a run measures.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    quick: bool,
    decode_rounds: usize,
    decode_iterations: usize,
    runs: usize,
    requests: usize,
    warmup: usize,
    sync_sizes: Vec<usize>,
    sync_runs: usize,
}

impl Plan {
    fn new(options: &Options) -> Self {
        let quick = options.quick;
        let requests = options
            .requests
            .unwrap_or(if quick { 3_000 } else { 4_000 })
            .max(1);
        Self {
            quick,
            decode_rounds: if quick { 4 } else { 21 },
            decode_iterations: if quick { 2_000 } else { 10_000 },
            runs: options.runs.unwrap_or(if quick { 2 } else { 45 }).max(1),
            requests,
            // Enough to open every connection and settle the allocator before measuring.
            warmup: (requests / 10).max(IN_FLIGHT[1] * 10),
            sync_runs: options
                .sync_runs
                .unwrap_or(if quick { 1 } else { 3 })
                .max(1),
            sync_sizes: options.sync_sizes.clone().unwrap_or_else(|| {
                if quick {
                    vec![1_000, 5_000]
                } else {
                    vec![10_000, 100_000]
                }
            }),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.role {
        Some(Role::Serve) => server::serve(),
        Some(Role::Client(spec)) => client::run(&spec),
        Some(Role::DecodeLoop(spec)) => decode::repeat(&spec),
        None => bench(&cli.options),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn bench(options: &Options) -> Result<(), String> {
    let plan = Plan::new(options);
    let machine = procfs::Machine::describe(options.server_cpu);
    eprintln!("{}", machine.summary());
    if !machine.pinned() {
        eprintln!(
            "warning: server and client are not pinned to separate CPUs; ratios from unpinned \
             runs are not evidence (use `cargo xtask bench`)"
        );
    }

    if options.sync_only {
        let sync = sync::run(&plan.sync_sizes, plan.sync_runs, options.server_cpu)?;
        let text = report::render_sync(&sync);
        println!("{text}");
        if let Some(out) = &options.out {
            std::fs::write(out, text)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        }
        return Ok(());
    }

    eprintln!(
        "decode: {} rounds of {} parses",
        plan.decode_rounds, plan.decode_iterations
    );
    let mut decode = decode::run(plan.decode_rounds, plan.decode_iterations)?;
    for _ in 1..MAX_TRIES {
        if decode.others_cpus <= QUIET {
            break;
        }
        eprintln!(
            "decode disturbed (others {:.0}% of a CPU): again",
            decode.others_cpus * 100.0
        );
        decode = decode::run(plan.decode_rounds, plan.decode_iterations)?;
    }
    if options.decode_only {
        println!("{}", report::render_decode(&decode));
        return Ok(());
    }

    let server = Server::start(options.server_cpu)?;
    eprintln!(
        "round trips: server on {}, {} runs x {} requests (+{} warm-up)",
        server.address, plan.runs, plan.requests, plan.warmup
    );
    let mut samples: Vec<(Kind, usize, Vec<Sample>)> = IN_FLIGHT
        .iter()
        .flat_map(|&n| Kind::ALL.iter().map(move |&kind| (kind, n, Vec::new())))
        .collect();
    // Interleaved in rounds (every client once a round, the order reversed every other round)
    // so that drift on the machine hits every client alike; ratios are taken round by round.
    for run in 1..=plan.runs {
        let round: Box<dyn Iterator<Item = _>> = if run % 2 == 1 {
            Box::new(samples.iter_mut())
        } else {
            Box::new(samples.iter_mut().rev())
        };
        for (kind, in_flight, runs) in round {
            let mut sample = measure(&server, *kind, *in_flight, &plan)?;
            // Other engineers' builds share these CPUs: a disturbed run is measured again.
            for _ in 1..MAX_TRIES {
                if sample.others_cpus <= QUIET {
                    break;
                }
                eprintln!(
                    "  run {run}: {} {in_flight} in flight disturbed (others {:.0}% of a CPU): again",
                    kind.label(),
                    sample.others_cpus * 100.0
                );
                sample = measure(&server, *kind, *in_flight, &plan)?;
            }
            eprintln!(
                "  run {run}: {:<22} {in_flight:>2} in flight: {:>8.0} req/s, client {:>5.2} us/req, \
                 server {:>5.2} us/req, others {:>3.0}% of a CPU",
                kind.label(),
                sample.per_second,
                sample.client_cpu_us,
                sample.server_cpu_us,
                sample.others_cpus * 100.0
            );
            runs.push(sample);
        }
    }
    let counts = if plan.quick {
        Err("not measured with --quick".into())
    } else {
        eprintln!(
            "counts: each client under callgrind and DHAT, {} and {} requests",
            counts::SHORT,
            counts::LONG
        );
        counts::run(&server.address)
    };
    drop(server);

    eprintln!("sync: at {:?} referrals", plan.sync_sizes);
    let sync = sync::run(&plan.sync_sizes, plan.sync_runs, options.server_cpu)?;

    let trips = samples
        .into_iter()
        .map(|(kind, in_flight, runs)| TripRow {
            kind,
            in_flight,
            per_second: runs.iter().map(|s| s.per_second).collect(),
            client_cpu_us: runs.iter().map(|s| s.client_cpu_us).collect(),
            server_cpu_us: Stats::of(runs.iter().map(|s| s.server_cpu_us)),
            others_cpus: Stats::of(runs.iter().map(|s| s.others_cpus)),
            disturbed_runs: runs.iter().filter(|s| s.others_cpus > QUIET).count(),
        })
        .collect();
    let report = Report {
        machine,
        plan,
        decode,
        trips,
        counts,
        sync,
    };
    let text = report.render();
    println!("{text}");

    let out = match (&options.out, report.plan.quick) {
        (Some(out), _) => Some(out.clone()),
        (None, false) => Some(workspace_root().join("BENCHMARKS.md")),
        (None, true) => None,
    };
    if let Some(out) = out {
        std::fs::write(&out, text).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // crates/partner-center-bench -> the workspace root.
    manifest_dir
        .ancestors()
        .nth(2)
        .unwrap_or(manifest_dir)
        .to_path_buf()
}

/// One measured client run.
struct Sample {
    per_second: f64,
    client_cpu_us: f64,
    server_cpu_us: f64,
    /// The CPU time every other process used meanwhile, in CPUs (0.25: a quarter of one).
    others_cpus: f64,
}

/// Starts a client process, lets it warm up, and measures its requests: the client times
/// itself (wall clock and its own CPU time), the server's and the machine's CPU time are
/// read around it.
fn measure(server: &Server, kind: Kind, in_flight: usize, plan: &Plan) -> Result<Sample, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .arg("client")
        .args(["--kind", kind.arg(), "--address", &server.address])
        .args(["--in-flight", &in_flight.to_string()])
        .args(["--requests", &plan.requests.to_string()])
        .args(["--warmup", &plan.warmup.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start a client: {e}"))?;
    let result = drive_client(&mut child, server.pid);
    if result.is_err() {
        // It may be waiting for us; its own error, if any, is already on stderr.
        let _ = child.kill();
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let window =
        result.map_err(|e| format!("the {} client failed ({status}): {e}", kind.label()))?;
    if !status.success() {
        return Err(format!("the {} client failed ({status})", kind.label()));
    }
    let requests = plan.requests as f64;
    let elapsed_ns = window.elapsed_ns as f64;
    let others_ns = window.machine_busy * elapsed_ns
        - window.client_cpu_ns as f64
        - window.server_cpu_ns as f64;
    Ok(Sample {
        per_second: requests / (elapsed_ns / 1e9),
        client_cpu_us: window.client_cpu_ns as f64 / requests / 1e3,
        server_cpu_us: window.server_cpu_ns as f64 / requests / 1e3,
        others_cpus: (others_ns / elapsed_ns).max(0.0),
    })
}

/// What was measured around a client's requests.
struct Window {
    elapsed_ns: u64,
    client_cpu_ns: u64,
    server_cpu_ns: u64,
    /// How many CPUs were busy on average, whoever used them.
    machine_busy: f64,
}

/// The handshake with a client process: it says `warm`, we read the server's and the
/// machine's CPU time and say `go`, it answers `<elapsed ns> <cpu ns>` once done.
fn drive_client(child: &mut Child, server_pid: u32) -> Result<Window, String> {
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err("no pipes to the client".into());
    };
    let mut lines = BufReader::new(stdout).lines();
    let mut next_line = || -> Result<String, String> {
        match lines.next() {
            Some(line) => line.map_err(|e| e.to_string()),
            None => Err("the client stopped early".into()),
        }
    };
    if next_line()? != "warm" {
        return Err("unexpected client output".into());
    }
    let server_before = procfs::cpu_ns(server_pid).map_err(|e| e.to_string())?;
    let machine_before = procfs::machine_ticks().map_err(|e| e.to_string())?;
    writeln!(stdin, "go").map_err(|e| e.to_string())?;
    let answer = next_line()?;
    let machine_after = procfs::machine_ticks().map_err(|e| e.to_string())?;
    let server_after = procfs::cpu_ns(server_pid).map_err(|e| e.to_string())?;
    let mut numbers = answer.split(' ').map(str::parse::<u64>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(elapsed_ns)), Some(Ok(client_cpu_ns))) => Ok(Window {
            elapsed_ns,
            client_cpu_ns,
            server_cpu_ns: server_after - server_before,
            machine_busy: machine_after.busy_cpus_since(&machine_before),
        }),
        _ => Err(format!("unexpected client output {answer:?}")),
    }
}

/// The server process; it stops when dropped (its stdin closes).
struct Server {
    child: Child,
    /// Closing it stops the server.
    stdin: Option<ChildStdin>,
    pid: u32,
    address: String,
}

impl Server {
    fn start(cpu: Option<usize>) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        // taskset execs the program, so the child's pid is the server's.
        let mut command = match cpu {
            Some(cpu) => {
                let mut command = Command::new("taskset");
                command.args(["-c", &cpu.to_string()]).arg(exe);
                command
            }
            None => Command::new(exe),
        };
        let mut child = command
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let stdin = child.stdin.take();
        let address = read_address(child.stdout.take())?;
        Ok(Self {
            pid: child.id(),
            child,
            stdin,
            address,
        })
    }
}

fn read_address(stdout: Option<ChildStdout>) -> Result<String, String> {
    let mut line = String::new();
    BufReader::new(stdout.ok_or("no pipe from the server")?)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    match line.trim() {
        "" => Err("the server did not start".into()),
        address => Ok(address.to_owned()),
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
