//! `partner-center sync ...`: keep a database in step with the referrals
//! (`partner-center-sync`), and read it back.

use std::io::{self, Write};
use std::path::PathBuf;

use futures_util::TryStreamExt;
use partner_center_sync::{COLUMNS, Store, Syncer};

use crate::args::{ExportFormat, Global, SyncArgs, SyncCommand};
use crate::failure::Failure;
use crate::output::{self, Stopped};

/// Runs `sync`, `sync status` or `sync export`.
pub(crate) async fn run(cli: &Global, args: SyncArgs) -> Result<(), Failure> {
    let url = database(cli.sandbox, args.database)?;
    // Only a sync creates the database: `status` or `export` of a wrong path fails.
    let store = if args.command.is_none() {
        Store::open(&url).await?
    } else {
        Store::open_existing(&url).await?
    };
    let outcome = match args.command {
        None => {
            // With --sandbox, the sandbox lives until the sync is done.
            let (client, _sandbox) = crate::connect(cli, None).await?;
            let summary = Syncer::new(client, store.clone()).run().await?;
            eprintln!("{summary}");
            Ok(())
        }
        Some(SyncCommand::Status) => {
            let status = store.status().await?;
            output::print(&serde_json::to_string_pretty(&status).map_err(Failure::Encode)?)
        }
        Some(SyncCommand::Export { format }) => {
            export(&store, format).await.or_else(Stopped::into_outcome)
        }
    };
    store.close().await;
    outcome
}

/// The database URL: `--database`, or (without --sandbox) a file in the user's data
/// directory, its folder created if missing.
fn database(sandbox: bool, given: Option<String>) -> Result<String, Failure> {
    if let Some(url) = given {
        return Ok(url);
    }
    // A sandbox's made-up referrals must never land in the user's real database.
    if sandbox {
        return Err(Failure::SandboxDatabase);
    }
    let folder = dirs::data_dir()
        .ok_or(Failure::NoDataDirectory)?
        .join("partner-center");
    std::fs::create_dir_all(&folder).map_err(|source| Failure::CreateDirectory {
        path: folder.clone(),
        source,
    })?;
    Ok(sqlite_url(folder.join("sync.db")))
}

fn sqlite_url(path: PathBuf) -> String {
    format!("sqlite:{}", path.display())
}

/// The current referrals on stdout, as they are read: one JSON document a line, or CSV with
/// the filter columns.
async fn export(store: &Store, format: ExportFormat) -> Result<(), Stopped> {
    let failed = |e: partner_center_sync::Error| Stopped::Failed(e.into());
    let mut referrals = store.referrals();
    let stdout = io::stdout();
    match format {
        ExportFormat::Ndjson => {
            let mut out = io::BufWriter::new(stdout.lock());
            while let Some(referral) = referrals.try_next().await.map_err(failed)? {
                writeln!(out, "{}", referral.json).map_err(stopped)?;
            }
            out.flush().map_err(stopped)
        }
        ExportFormat::Csv => {
            let mut out = csv::Writer::from_writer(stdout.lock());
            out.write_record(COLUMNS).map_err(csv_stopped)?;
            while let Some(referral) = referrals.try_next().await.map_err(failed)? {
                out.write_record(referral.fields()).map_err(csv_stopped)?;
            }
            out.flush().map_err(stopped)
        }
    }
}

/// A write error: a closed pipe (`| head`) is the reader's choice.
fn stopped(error: io::Error) -> Stopped {
    match error.kind() {
        io::ErrorKind::BrokenPipe => Stopped::ReaderGone,
        _ => Stopped::Failed(Failure::Output(error)),
    }
}

fn csv_stopped(error: csv::Error) -> Stopped {
    match error.into_kind() {
        csv::ErrorKind::Io(error) => stopped(error),
        other => Stopped::Failed(Failure::Output(io::Error::other(format!("{other:?}")))),
    }
}
