//! The one line a user sees when the service is slow to answer: that the command is still
//! waiting, that slow attempts are retried, and which options bound the wait.

use std::cell::Cell;
use std::future::Future;
use std::io::{self, IsTerminal, Write};
use std::time::Duration;

/// How long a call may go unanswered before the user is told.
pub(crate) const NOTICE_AFTER: Duration = Duration::from_secs(5);

/// Watches the calls of one command; tells the user once when one is slow.
pub(crate) struct Waiting {
    /// The line to print, when the user is to see it.
    notice: Option<String>,
    /// Whether stderr is a terminal (where a progress line may need clearing first).
    terminal: bool,
    shown: Cell<bool>,
}

impl Waiting {
    /// A watch that speaks up on a terminal, or (`forced`) on any stderr; never when `quiet`
    /// (with `-v`, the log shows each attempt already).
    pub(crate) fn new(quiet: bool, forced: bool, attempt_timeout: u64, timeout: u64) -> Self {
        let terminal = io::stderr().is_terminal();
        let notice = (!quiet && (terminal || forced)).then(|| {
            format!(
                "waiting for Partner Center: no answer after {} s; a slow or failed attempt is \
                 retried (each attempt may take {attempt_timeout} s, the whole call \
                 {timeout} s: --attempt-timeout and --timeout change these, -v shows each \
                 attempt)",
                NOTICE_AFTER.as_secs()
            )
        });
        Self {
            notice,
            terminal,
            shown: Cell::new(false),
        }
    }

    /// Runs `call`; if it is still unanswered after [`NOTICE_AFTER`], says so (once a command).
    pub(crate) async fn on<F: Future>(&self, call: F) -> F::Output {
        let Some(notice) = self.notice.as_deref().filter(|_| !self.shown.get()) else {
            return call.await;
        };
        let mut call = std::pin::pin!(call);
        tokio::select! {
            outcome = &mut call => return outcome,
            () = tokio::time::sleep(NOTICE_AFTER) => {}
        }
        self.shown.set(true);
        let mut stderr = io::stderr().lock();
        // On a terminal, over a progress line that may be there.
        let clear = if self.terminal { "\r\x1b[K" } else { "" };
        // The notice is a courtesy: failing to show it is no reason to stop.
        let _ = writeln!(stderr, "{clear}{notice}").and_then(|()| stderr.flush());
        drop(stderr);
        call.await
    }
}
