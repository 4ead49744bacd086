//! What the commands print, and printing it.

use std::io::{self, IsTerminal, Write};

use comfy_table::{CellAlignment, ColumnConstraint, LineStyle, Table, TableStyle, Width, presets};
use futures_util::TryStreamExt;
use partner_center::models::{Referral, Timestamp};
use partner_center::paging::Pages;
use partner_center::text::one_line;
use serde::Serialize;

use crate::args::Output;
use crate::failure::Failure;
use crate::waiting::Waiting;

/// A referral as `format` asks: JSON exactly as the service sent it, one JSON line, or a
/// one-row table.
pub(crate) fn referral(referral: &Referral, format: Output) -> Result<String, Failure> {
    match format {
        Output::Json => serde_json::to_string_pretty(referral).map_err(Failure::Encode),
        Output::Ndjson | Output::Table => referrals(std::slice::from_ref(referral), format),
    }
}

/// Referrals as `format` asks: a JSON array, one JSON line each, or a table.
pub(crate) fn referrals(referrals: &[Referral], format: Output) -> Result<String, Failure> {
    match format {
        Output::Json => serde_json::to_string_pretty(referrals).map_err(Failure::Encode),
        Output::Ndjson => ndjson(referrals),
        Output::Table => Ok(table(referrals, Part::Whole)),
    }
}

fn ndjson<T: Serialize>(items: &[T]) -> Result<String, Failure> {
    let lines = items
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::Encode)?;
    Ok(lines.join("\n"))
}

/// Which part of a table to draw.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Header, rows and borders.
    Whole,
    /// Rows only: the continuation of a table drawn earlier.
    Rows,
}

/// The columns: header and width (padding included). Fixed widths keep the pages of a
/// streamed table aligned.
const COLUMNS: [(&str, u16); 6] = [
    ("ID", 38),
    ("Customer", 32),
    ("Status", 19),
    ("Deal value", 14),
    ("Currency", 10),
    ("Closing date", 14),
];

/// A summary of referrals: one row each. Every cell is service text, shown with
/// [`one_line`]: a line break would break the row, an escape sequence would reach the
/// terminal.
fn table(referrals: &[Referral], part: Part) -> String {
    let mut table = Table::new();
    let style: TableStyle = match part {
        Part::Whole => presets::UTF8_FULL_CONDENSED,
        Part::Rows => presets::UTF8_FULL_CONDENSED
            .top_border(LineStyle::none())
            .bottom_border(LineStyle::none()),
    };
    table.load_style(style);
    if part == Part::Whole {
        table.set_header(COLUMNS.map(|(name, _)| name));
    }
    for referral in referrals {
        let details = referral.details.as_ref();
        let cells = [
            text(referral.id.as_deref()),
            text(
                referral
                    .customer_profile
                    .as_ref()
                    .and_then(|c| c.name.as_deref()),
            ),
            status(referral),
            text(
                details
                    .and_then(|d| d.deal_value.as_ref())
                    .map(ToString::to_string)
                    .as_deref(),
            ),
            text(details.and_then(|d| d.currency.as_deref())),
            text(
                details
                    .and_then(|d| d.closing_date_time.as_ref())
                    .map(date)
                    .as_deref(),
            ),
        ];
        table.add_row(cells.map(|cell| one_line(&cell).into_owned()));
    }
    // Without rows or a header there are no columns to constrain.
    if table.column_count() == COLUMNS.len() {
        table.set_constraints(
            COLUMNS.map(|(_, width)| ColumnConstraint::Absolute(Width::Fixed(width))),
        );
    }
    if let Some(deal_value) = table.column_mut(3) {
        deal_value.set_cell_alignment(CellAlignment::Right);
        // A deal value keeps its digits on one line: the column widens for a longer one (the
        // rows of that page of a streamed table then sit wider than its header).
        deal_value.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(COLUMNS[3].1)));
    }
    table.to_string()
}

/// `New / Pending`, or whichever part is known.
fn status(referral: &Referral) -> String {
    match (&referral.status, &referral.substatus) {
        (Some(status), Some(substatus)) => format!("{status} / {substatus}"),
        (Some(status), None) => status.to_string(),
        (None, Some(substatus)) => substatus.to_string(),
        (None, None) => "-".to_owned(),
    }
}

/// The day of a date-time (UTC), or its text when it is not one.
fn date(timestamp: &Timestamp) -> String {
    match timestamp.instant() {
        Some(instant) => instant.date_naive().to_string(),
        None => timestamp.as_str().to_owned(),
    }
}

fn text(value: Option<&str>) -> String {
    value.unwrap_or("-").to_owned()
}

/// Writes `output` and a newline on stdout.
pub(crate) fn print(output: &str) -> Result<(), Failure> {
    write_out(output).or_else(Stopped::into_outcome)
}

/// Why output stopped.
pub(crate) enum Stopped {
    /// The reader closed the pipe (`| head`): nothing more is wanted.
    ReaderGone,
    Failed(Failure),
}

impl Stopped {
    /// How printing ended, as the command's outcome: a closed pipe (`| head`) is the reader's
    /// choice, not a failure.
    pub(crate) fn into_outcome(self) -> Result<(), Failure> {
        match self {
            Self::ReaderGone => Ok(()),
            Self::Failed(failure) => Err(failure),
        }
    }
}

/// Writes `output` and a newline on stdout, saying why it could not.
pub(crate) fn write_out(output: &str) -> Result<(), Stopped> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{output}")
        .and_then(|()| stdout.flush())
        .map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => Stopped::ReaderGone,
            _ => Stopped::Failed(Failure::Output(e)),
        })
}

/// Prints the pages of a listing as they come. ndjson and table output keep nothing (a table's
/// rows are aligned by fixed column widths); JSON, one array, collects the items.
pub(crate) struct PagePrinter<T = Referral> {
    format: Output,
    collected: Vec<T>,
    /// How to draw the items as a table, for the items that have one (referrals).
    table: Option<fn(&[T], Part) -> String>,
    /// The table's bottom border, once its top has been printed.
    table_end: Option<String>,
}

impl PagePrinter {
    /// A printer of referrals.
    pub(crate) fn new(format: Output) -> Self {
        Self {
            format,
            collected: Vec::new(),
            table: Some(table),
            table_end: None,
        }
    }
}

impl<T: Serialize> PagePrinter<T> {
    /// A printer of JSON items, which have no table: `table` prints them as ndjson.
    pub(crate) fn json(format: Output) -> Self {
        Self {
            format,
            collected: Vec::new(),
            table: None,
            table_end: None,
        }
    }

    /// Prints (or keeps) one page.
    pub(crate) fn page(&mut self, items: Vec<T>) -> Result<(), Stopped> {
        match (self.format, self.table) {
            (Output::Json, _) => {
                self.collected.extend(items);
                Ok(())
            }
            (Output::Ndjson, _) | (Output::Table, None) if items.is_empty() => Ok(()),
            (Output::Ndjson, _) | (Output::Table, None) => {
                write_out(&ndjson(&items).map_err(Stopped::Failed)?)
            }
            (Output::Table, Some(table)) if self.table_end.is_none() => {
                let whole = table(&items, Part::Whole);
                let (top, end) = whole.rsplit_once('\n').unwrap_or((whole.as_str(), ""));
                self.table_end = Some(end.to_owned());
                write_out(top)
            }
            (Output::Table, Some(_)) if items.is_empty() => Ok(()),
            (Output::Table, Some(table)) => write_out(&table(&items, Part::Rows)),
        }
    }

    /// Prints what is left: the JSON array, the table's bottom border.
    pub(crate) fn finish(self) -> Result<(), Stopped> {
        match (self.format, self.table) {
            (Output::Json, _) => write_out(
                &serde_json::to_string_pretty(&self.collected)
                    .map_err(|e| Stopped::Failed(Failure::Encode(e)))?,
            ),
            (Output::Ndjson, _) | (Output::Table, None) => Ok(()),
            (Output::Table, Some(table)) => match self.table_end {
                Some(end) => write_out(&end),
                // No page at all: an empty table.
                None => write_out(&table(&[], Part::Whole)),
            },
        }
    }
}

/// Every page of `pages`, printed by `printer` as it comes, with `progress` on stderr.
pub(crate) async fn print_pages<T: Serialize>(
    pages: Pages<T>,
    mut printer: PagePrinter<T>,
    mut progress: Progress,
    waiting: &Waiting,
) -> Result<(), Failure> {
    let mut pages = std::pin::pin!(pages);
    let outcome = loop {
        let page = match waiting.on(pages.try_next()).await {
            Ok(Some(page)) => page,
            Ok(None) => break printer.finish(),
            Err(e) => {
                progress.clear();
                return Err(e.into());
            }
        };
        progress.clear();
        let count = page.items.len();
        if let Err(stopped) = printer.page(page.items) {
            break Err(stopped);
        }
        progress.page(count);
    };
    progress.clear();
    // A closed pipe (`| head`): stop reading pages, quietly.
    outcome.or_else(Stopped::into_outcome)
}

/// Pages and referrals read so far, on stderr: a line rewritten in place on a terminal, a line
/// per page when asked for elsewhere, nothing otherwise.
pub(crate) struct Progress {
    mode: ProgressMode,
    pages: usize,
    referrals: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ProgressMode {
    Off,
    InPlace,
    Lines,
}

impl Progress {
    /// No progress shown.
    pub(crate) fn off() -> Self {
        Self {
            mode: ProgressMode::Off,
            pages: 0,
            referrals: 0,
        }
    }

    /// Progress for a terminal, or (`forced`) for a log.
    pub(crate) fn new(forced: bool) -> Self {
        let mode = if io::stderr().is_terminal() {
            ProgressMode::InPlace
        } else if forced {
            ProgressMode::Lines
        } else {
            ProgressMode::Off
        };
        Self {
            mode,
            pages: 0,
            referrals: 0,
        }
    }

    /// Counts a page of `referrals` and shows the totals.
    pub(crate) fn page(&mut self, referrals: usize) {
        self.pages += 1;
        self.referrals += referrals;
        let (pages, plural) = (self.pages, if self.pages == 1 { "" } else { "s" });
        let mut stderr = io::stderr().lock();
        // Progress is a courtesy: failing to show it is no reason to stop.
        let _ = match self.mode {
            ProgressMode::Off => Ok(()),
            ProgressMode::InPlace => write!(
                stderr,
                "\r\x1b[K{pages} page{plural}, {} referrals...",
                self.referrals
            ),
            ProgressMode::Lines => {
                writeln!(stderr, "{pages} page{plural}, {} referrals", self.referrals)
            }
        }
        .and_then(|()| stderr.flush());
    }

    /// Takes the in-place line away, before other output or at the end.
    pub(crate) fn clear(&self) {
        if self.mode == ProgressMode::InPlace && self.pages > 0 {
            let mut stderr = io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[K").and_then(|()| stderr.flush());
        }
    }
}
