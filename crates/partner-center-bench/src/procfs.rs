//! What `/proc` says about CPU time and the machine.

use std::fs;
use std::io;
use std::process::Command;

/// The CPU time (user + system) that every live thread of process `pid` has used so far, in
/// nanoseconds: the sum of the first field of `/proc/<pid>/task/*/schedstat`.
///
/// `/proc/<pid>/stat` has the same total in clock ticks (10 ms here, 3% of a 20,000-request
/// run), too coarse; schedstat counts nanoseconds. Threads that have exited are not counted:
/// the processes measured keep theirs for the whole run (a current-thread runtime, an IP
/// address so no resolver thread).
pub(crate) fn cpu_ns(pid: u32) -> io::Result<u64> {
    let mut total = 0;
    for task in fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = task?.path().join("schedstat");
        // A thread may end between the listing and the read.
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        total += parse_schedstat(&text).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {text:?}", path.display()),
            )
        })?;
    }
    Ok(total)
}

/// The CPU time of every process whose name (`/proc/<pid>/comm`) is `name`, e.g. the
/// `postgres` server's, in nanoseconds: each one's own and its children's that have ended
/// (`/proc/<pid>/stat`: utime, stime, cutime, cstime), so that a server's connection
/// processes count though they end with the client. Clock ticks of 10 ms (`USER_HZ`), coarser
/// than [`cpu_ns`], which loses the threads that have ended.
pub(crate) fn named_cpu_ns(name: &str) -> io::Result<u64> {
    let mut ticks = 0;
    for process in fs::read_dir("/proc")? {
        let path = process?.path();
        if path
            .file_name()
            .and_then(|n| n.to_str()?.parse::<u32>().ok())
            .is_none()
        {
            continue;
        }
        // A process may end between the listing and the reads.
        if fs::read_to_string(path.join("comm")).is_ok_and(|comm| comm.trim() == name) {
            let stat = fs::read_to_string(path.join("stat")).unwrap_or_default();
            ticks += parse_times(&stat).unwrap_or(0);
        }
    }
    Ok(ticks * 10_000_000)
}

/// utime + stime + cutime + cstime of a `/proc/<pid>/stat` line, in clock ticks: fields 14 to
/// 17, counted after the command name (in brackets, and may hold spaces).
fn parse_times(stat: &str) -> Option<u64> {
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    // After the name, the first field is the 3rd (state): the 14th is at index 11.
    fields
        .get(11..15)?
        .iter()
        .map(|field| field.parse::<u64>().ok())
        .sum()
}

/// The value of the memory line `field` of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in kB.
pub(crate) fn status_kb(pid: u32, field_name: &str) -> io::Result<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status"))?;
    field(&text, field_name)
        .and_then(|value| value.trim_end_matches(" kB").trim().parse().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("/proc/{pid}/status has no {field_name}"),
            )
        })
}

/// The machine's CPU time so far, from the `cpu` line of `/proc/stat` (clock ticks, all CPUs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MachineTicks {
    busy: u64,
    total: u64,
}

impl MachineTicks {
    /// How many CPUs were busy on average since `earlier` (0 to the number of CPUs).
    pub(crate) fn busy_cpus_since(&self, earlier: &MachineTicks) -> f64 {
        let total = self.total.saturating_sub(earlier.total);
        if total == 0 {
            return 0.0;
        }
        let busy = self.busy.saturating_sub(earlier.busy) as f64 / total as f64;
        busy * online_cpus() as f64
    }
}

pub(crate) fn machine_ticks() -> io::Result<MachineTicks> {
    let text = fs::read_to_string("/proc/stat")?;
    parse_stat(&text)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "/proc/stat has no cpu line"))
}

/// The `cpu` line: user nice system idle iowait irq softirq steal (guest time is in user).
/// Busy is everything but idle and iowait; steal counts as busy, it is time taken from us.
fn parse_stat(text: &str) -> Option<MachineTicks> {
    let line = text.lines().find(|line| line.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let total: u64 = fields.iter().sum();
    let idle = fields.get(3)? + fields.get(4)?;
    Some(MachineTicks {
        busy: total - idle,
        total,
    })
}

fn online_cpus() -> usize {
    fs::read_to_string("/proc/cpuinfo")
        .map(|info| count_processors(&info))
        .unwrap_or(1)
        .max(1)
}

fn count_processors(cpuinfo: &str) -> usize {
    cpuinfo
        .lines()
        .filter(|line| line.starts_with("processor"))
        .count()
}

/// The first field of a schedstat line: nanoseconds spent on a CPU.
fn parse_schedstat(text: &str) -> Option<u64> {
    text.split_whitespace().next()?.parse().ok()
}

/// The machine and how the benchmark is placed on it.
#[derive(Debug)]
pub(crate) struct Machine {
    pub(crate) cpu_model: String,
    pub(crate) cpus: usize,
    pub(crate) memory: String,
    pub(crate) kernel: String,
    pub(crate) rustc: String,
    /// The CPUs the clients may run on (this process's affinity, which they inherit).
    pub(crate) client_cpus: String,
    pub(crate) server_cpu: Option<usize>,
    /// `(crate, version)` from Cargo.lock for the crates that matter here.
    pub(crate) versions: Vec<(&'static str, String)>,
    pub(crate) date: String,
}

impl Machine {
    pub(crate) fn describe(server_cpu: Option<usize>) -> Self {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
        let lock =
            fs::read_to_string(crate::workspace_root().join("Cargo.lock")).unwrap_or_default();
        Self {
            cpu_model: field(&cpuinfo, "model name")
                .unwrap_or("unknown")
                .to_owned(),
            cpus: count_processors(&cpuinfo),
            memory: field(&meminfo, "MemTotal")
                .and_then(|kb| kb.trim_end_matches(" kB").parse::<u64>().ok())
                .map_or_else(
                    || "unknown".into(),
                    |kb| format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0),
                ),
            kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or_else(|_| "unknown".into(), |k| k.trim().to_owned()),
            rustc: command_output("rustc", &["--version"]),
            client_cpus: field(&status, "Cpus_allowed_list")
                .unwrap_or("unknown")
                .to_owned(),
            server_cpu,
            versions: [
                "tokio",
                "hyper",
                "hyper-util",
                "reqwest",
                "serde",
                "serde_json",
                "progenitor-client",
            ]
            .into_iter()
            .map(|name| (name, locked_versions(&lock, name)))
            .collect(),
            date: httpdate::fmt_http_date(std::time::SystemTime::now()),
        }
    }

    /// Whether server and clients are pinned to different CPUs.
    pub(crate) fn pinned(&self) -> bool {
        match (self.server_cpu, parse_cpu_list(&self.client_cpus)) {
            (Some(server), Some(clients)) => !clients.contains(&server),
            _ => false,
        }
    }

    /// One line for the console.
    pub(crate) fn summary(&self) -> String {
        format!(
            "{} x {}, {}; server CPU {}, client CPUs {}",
            self.cpus,
            self.cpu_model,
            self.kernel,
            self.server_cpu
                .map_or_else(|| "unpinned".into(), |cpu| cpu.to_string()),
            self.client_cpus
        )
    }
}

/// The value of the first `name: value` line of a /proc file.
fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim())
    })
}

/// The versions of package `name` in a Cargo.lock, comma separated.
fn locked_versions(lock: &str, name: &str) -> String {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    let mut versions = Vec::new();
    while let Some(line) = lines.next() {
        if line == wanted
            && let Some(version) = lines
                .next()
                .and_then(|v| v.strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'))
        {
            versions.push(version);
        }
    }
    if versions.is_empty() {
        "unknown".into()
    } else {
        versions.join(", ")
    }
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map_or_else(
            || "unknown".into(),
            |output| String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        )
}

/// The CPUs of a list such as `0-2,5` (the kernel's format for affinities).
fn parse_cpu_list(list: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in list.split(',') {
        match part.split_once('-') {
            Some((first, last)) => cpus.extend(first.parse::<usize>().ok()?..=last.parse().ok()?),
            None => cpus.push(part.parse().ok()?),
        }
    }
    Some(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedstat_lines_give_their_first_field() {
        assert_eq!(parse_schedstat("196539100 171564 21\n"), Some(196_539_100));
        assert_eq!(parse_schedstat("0 0 1"), Some(0));
        assert_eq!(parse_schedstat(""), None);
        assert_eq!(parse_schedstat("x 1 2"), None);
    }

    #[test]
    fn proc_fields_and_locked_versions() {
        let cpuinfo = "processor\t: 0\nmodel name\t: Some CPU @ 2.0GHz\nprocessor\t: 1\n";
        assert_eq!(field(cpuinfo, "model name"), Some("Some CPU @ 2.0GHz"));
        assert_eq!(field(cpuinfo, "flags"), None);

        let lock = "[[package]]\nname = \"hyper\"\nversion = \"0.14.32\"\n\n[[package]]\n\
                    name = \"hyper\"\nversion = \"1.12.0\"\n\n[[package]]\nname = \"hyper-util\"\n\
                    version = \"0.1.21\"\n";
        assert_eq!(locked_versions(lock, "hyper"), "0.14.32, 1.12.0");
        assert_eq!(locked_versions(lock, "hyper-util"), "0.1.21");
        assert_eq!(locked_versions(lock, "tokio"), "unknown");
    }

    #[test]
    fn the_cpu_line_of_proc_stat() {
        let stat = "cpu  100 5 50 800 20 3 2 20 0 0\ncpu0 50 2 25 400 10 1 1 10 0 0\n";
        assert_eq!(
            parse_stat(stat),
            Some(MachineTicks {
                busy: 180,
                total: 1000
            })
        );
        assert_eq!(parse_stat("intr 1 2 3\n"), None);
        let later = MachineTicks {
            busy: 230,
            total: 1100,
        };
        let earlier = parse_stat(stat).unwrap();
        assert_eq!(later.busy_cpus_since(&earlier) / online_cpus() as f64, 0.5);
        assert_eq!(earlier.busy_cpus_since(&earlier), 0.0);
    }

    #[test]
    fn the_cpu_times_of_a_stat_line_with_its_children() {
        let stat = "10307 (postgres) S 1 10307 10307 0 -1 4194560 2364 41890 0 0 12 20 300 \
                    400 20 0 1 0 3563830 225402880 7292 18446744073709551615";
        assert_eq!(parse_times(stat), Some(12 + 20 + 300 + 400));
        assert_eq!(
            parse_times("1 (a b) c) S 1 2 3 4 5 6 7 8 9 10 1 2 3 4 5"),
            Some(10)
        );
        assert_eq!(parse_times("1 (short) S 1 2"), None);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("1"), Some(vec![1]));
        assert_eq!(parse_cpu_list("0-2,5"), Some(vec![0, 1, 2, 5]));
        assert_eq!(parse_cpu_list("unknown"), None);
    }
}
