//! What the commands print, and printing it.

use std::io::{self, Write};

use comfy_table::{CellAlignment, Table, presets};
use partner_center::models::{Referral, Timestamp};

use crate::args::Output;

/// A referral as `format` asks: JSON exactly as the service sent it, or a one-row table.
pub(crate) fn referral(referral: &Referral, format: Output) -> Result<String, String> {
    match format {
        Output::Json => serde_json::to_string_pretty(referral).map_err(|e| e.to_string()),
        Output::Table => Ok(table(std::slice::from_ref(referral))),
    }
}

/// A summary of referrals: one row each.
pub(crate) fn table(referrals: &[Referral]) -> String {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED).set_header([
        "ID",
        "Customer",
        "Status",
        "Deal value",
        "Currency",
        "Closing date",
    ]);
    for referral in referrals {
        let details = referral.details.as_ref();
        table.add_row([
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
        ]);
    }
    if let Some(deal_value) = table.column_mut(3) {
        deal_value.set_cell_alignment(CellAlignment::Right);
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
pub(crate) fn print(output: &str) -> Result<(), String> {
    let mut stdout = io::stdout().lock();
    match writeln!(stdout, "{output}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write the output: {e}")),
    }
}
