//! A sync's progress on stderr: a bar on a terminal, a line every [`LINE_EVERY`] pages
//! otherwise (a log, a pipe).

use std::io::{self, IsTerminal};
use std::sync::OnceLock;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use partner_center_sync::Progress;

/// Pages between two progress lines when stderr is not a terminal (1,000 referrals).
pub(crate) const LINE_EVERY: u64 = 10;

/// The bar, made on the first page on a terminal; one for the process (a sync runs one sweep at
/// a time).
static BAR: OnceLock<ProgressBar> = OnceLock::new();

/// The observer of [`partner_center_sync::Syncer::on_progress`] that shows the progress.
pub(crate) fn shown() -> impl Fn(&Progress) + Send + Sync + 'static {
    let terminal = io::stderr().is_terminal();
    move |progress: &Progress| {
        if terminal {
            bar(progress);
        } else if progress.pages.is_multiple_of(LINE_EVERY) {
            eprintln!("{}", line(progress));
        }
    }
}

/// Clears the bar (the run ended), so that the next line stands alone.
pub(crate) fn done() {
    if let Some(bar) = BAR.get() {
        bar.finish_and_clear();
        bar.reset();
    }
}

fn bar(progress: &Progress) {
    let bar = BAR.get_or_init(|| {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.enable_steady_tick(Duration::from_millis(250));
        bar
    });
    let style = match progress.total {
        Some(total) => {
            bar.set_length(total);
            ProgressStyle::with_template(
                "sync ({msg}) [{bar:30}] {human_pos}/{human_len} referrals, {per_sec}, {eta} left",
            )
        }
        None => {
            ProgressStyle::with_template("sync ({msg}) {spinner} {human_pos} referrals, {per_sec}")
        }
    };
    if let Ok(style) = style {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(progress.kind.as_str());
    bar.set_position(progress.seen);
}

/// `sync (full): 1000 of 2501 referrals, 1000 new versions, 10 pages`.
fn line(progress: &Progress) -> String {
    let of = progress
        .total
        .map_or_else(String::new, |total| format!(" of {total}"));
    format!(
        "sync ({}): {}{of} referrals, {} new versions, {} pages",
        progress.kind, progress.seen, progress.new_versions, progress.pages
    )
}
