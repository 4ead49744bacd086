//! What the binary's end-to-end tests share.

// Each test file is its own crate and uses a part of this module.
#![allow(dead_code)]

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, ChildStdout};

/// A guard against a hang, not a wait: each step ends as soon as its line arrives.
pub const GUARD: Duration = Duration::from_secs(60);

/// The official example response of "Get a lead or co-sell opportunity by ID", byte for byte.
pub const OFFICIAL_EXAMPLE: &str = partner_center_api::spec::OFFICIAL_EXAMPLE;
/// The id of the official example.
pub const OFFICIAL_ID: &str = "c5fbb3b6-be74-4795-9fb5-4324c73fed37";

/// What the command printed on stdout.
pub fn stdout_of(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// What the command printed on stderr.
pub fn stderr_of(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// A running `webhooks listen` or `sync --listen`, its output read line by line.
pub struct Listener {
    pub child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: Lines<BufReader<ChildStderr>>,
}

impl Listener {
    pub fn start(command: Command) -> Self {
        let mut command = tokio::process::Command::from(command);
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        Self {
            child,
            stdout,
            stderr,
        }
    }

    pub async fn stderr_line(&mut self) -> String {
        let line = tokio::time::timeout(GUARD, self.stderr.next_line()).await;
        line.expect("a line on stderr")
            .unwrap()
            .expect("the listener is running")
    }

    pub async fn stdout_line(&mut self) -> String {
        let line = tokio::time::timeout(GUARD, self.stdout.next_line()).await;
        line.expect("a line on stdout")
            .unwrap()
            .expect("the process is running")
    }

    /// The next event `webhooks listen` prints: a JSON line on stdout.
    pub async fn event(&mut self) -> Value {
        serde_json::from_str(&self.stdout_line().await).unwrap()
    }

    /// The URL it listens on, from its first line on stderr.
    pub async fn url(&mut self) -> String {
        let line = self.stderr_line().await;
        let url = line.split_whitespace().find(|w| w.starts_with("http://"));
        url.expect("the address").trim_end_matches(';').to_owned()
    }
}
