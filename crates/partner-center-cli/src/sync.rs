//! `partner-center sync ...`: keep a database in step with the referrals
//! (`partner-center-sync`), and read it back.

use std::io::{self, Write};
use std::path::PathBuf;

use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use partner_center::error::Report;
use partner_center::text::one_line;
use partner_center_sync::{COLUMNS, Followed, Store, Syncer};

use crate::args::{ExportFormat, Global, SyncArgs, SyncCommand};
use crate::failure::Failure;
use crate::listen::{Receiving, Trust};
use crate::output::{self, Stopped};
use crate::progress;

/// Runs `sync` (`--listen`: until Ctrl-C), `sync status` or `sync export`.
pub(crate) async fn run(cli: &Global, args: SyncArgs) -> Result<(), Failure> {
    let url = database(cli.sandbox, args.database.clone())?;
    // Only a sync creates the database: `status` or `export` of a wrong path fails.
    let store = if args.command.is_none() {
        Store::open(&url).await?
    } else {
        Store::open_existing(&url).await?
    };
    let outcome = match &args.command {
        None => {
            // With --sandbox, the sandbox lives until the sync is done.
            let (client, sandbox) = crate::connect(cli, None).await?;
            let syncer = Syncer::new(client.clone(), store.clone()).on_progress(progress::shown());
            if args.listen {
                let trust = Trust::of(sandbox.as_ref(), args.receiver.trust_sandbox, &cli.base_url);
                follow(
                    &syncer,
                    Receiving::start(&client, trust, &args.receiver).await?,
                    &args,
                )
                .await
            } else {
                match syncer.run().await {
                    Ok(summary) => {
                        progress::done();
                        eprintln!("{summary}");
                        Ok(())
                    }
                    Err(partner_center_sync::Error::SweepInProgress) => {
                        eprintln!("{ANOTHER_SYNC}");
                        Ok(())
                    }
                    Err(error) => Err(error.into()),
                }
            }
        }
        Some(SyncCommand::Status) => {
            let status = store.status().await?;
            output::print(&serde_json::to_string_pretty(&status).map_err(Failure::Encode)?)
        }
        Some(SyncCommand::Export { format }) => {
            export(&store, *format).await.or_else(Stopped::into_outcome)
        }
    };
    store.close().await;
    outcome
}

/// What a sync says, and does, when another holds the database's sweep lock: nothing (the other
/// stores what this one would), and it succeeds, so that a scheduled sync overlapping a long
/// one is not an alarm.
const ANOTHER_SYNC: &str =
    "another sync is running on this database: this one did nothing (it stores the same referrals)";

/// `sync --listen`: each verified event's referral fetched and stored, a sweep at once and
/// after each pause; one line on stderr for each, until Ctrl-C.
async fn follow(syncer: &Syncer, receiving: Receiving, args: &SyncArgs) -> Result<(), Failure> {
    let changed = receiving
        .stream()
        .filter_map(|event| std::future::ready(event.referral_id().map(str::to_owned)));
    let every = Duration::from_secs(args.reconcile_every);
    let mut followed = std::pin::pin!(syncer.follow(changed, every, args.fetch_concurrency.into()));
    let lines = async {
        while let Some(item) = followed.next().await {
            progress::done();
            eprintln!("{}", followed_line(&item));
        }
    };
    tokio::select! {
        () = lines => Ok(()),
        signal = tokio::signal::ctrl_c() => signal.map_err(Failure::Signal),
    }
}

/// One line of `sync --listen`; service text in it is the SDK's, bounded and escaped.
fn followed_line(item: &Followed) -> String {
    let report = |error: &partner_center_sync::Error| Report::new(error).to_string();
    match item {
        Followed::Stored { id, new_versions } => {
            format!(
                "event: referral {} stored ({new_versions} new version{})",
                one_line(id),
                plural(*new_versions)
            )
        }
        Followed::Missed { id, error } => format!(
            "event: referral {} not read (the next sweep stores it): {}",
            one_line(id),
            report(error)
        ),
        Followed::Swept(summary) => format!("reconciliation {summary}"),
        Followed::SweepFailed(partner_center_sync::Error::SweepInProgress) => {
            format!("reconciliation skipped: {ANOTHER_SYNC}")
        }
        Followed::SweepFailed(error) => format!(
            "reconciliation failed (tried again later): {}",
            report(error)
        ),
        _ => format!("{item:?}"),
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
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
