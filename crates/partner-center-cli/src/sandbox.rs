//! `partner-center sandbox ...` and `--sandbox`: the offline Partner Center.

use partner_center_sandbox::{OFFICIAL_REFERRAL_ID, Sandbox};

use std::time::Duration;

use crate::args::{Output, SandboxChanges, SandboxData};
use crate::failure::Failure;
use crate::output;

/// The token the CLI sends to a sandbox: any non-empty one is accepted.
pub(crate) const TOKEN: &str = "sandbox";

/// Starts the sandbox `--sandbox` calls: the default seed, on a free port.
pub(crate) async fn start() -> Result<Sandbox, Failure> {
    Sandbox::start()
        .await
        .map_err(|source| Failure::SandboxStart { port: None, source })
}

/// `sandbox ids`: the first `limit` (0: all) referrals a sandbox with `data` serves, without
/// starting one.
pub(crate) fn ids(data: &SandboxData, limit: usize, format: Output) -> Result<String, Failure> {
    let referrals = data.builder().referrals();
    let total = referrals.len();
    let end = if limit == 0 { total } else { limit.min(total) };
    let shown = &referrals[..end];
    let ids = || shown.iter().filter_map(|r| r.id.as_deref());
    match format {
        Output::Table => {
            let more = if shown.len() < total {
                format!(
                    "{} of {total} referrals; --limit 0 lists them all.\n",
                    shown.len()
                )
            } else {
                String::new()
            };
            Ok(format!(
                "{}\n{more}Get one: partner-center --sandbox referrals get {OFFICIAL_REFERRAL_ID}",
                output::referrals(shown, Output::Table)?
            ))
        }
        Output::Json => {
            serde_json::to_string_pretty(&ids().collect::<Vec<_>>()).map_err(Failure::Encode)
        }
        Output::Ndjson => ids()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map(|lines| lines.join("\n"))
            .map_err(Failure::Encode),
    }
}

/// `--change-every`: changes referrals for ever, a line on stderr each time; without it,
/// never ends.
async fn change(sandbox: &Sandbox, changes: &SandboxChanges) {
    let (Some(every), ids) = (changes.change_every, sandbox.referral_ids()) else {
        return std::future::pending().await;
    };
    let mut next = ids.iter().cycle();
    let mut ticks = tokio::time::interval(Duration::from_secs(every));
    // The first tick is at once: the first change comes one period after the start.
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let mut changed = Vec::with_capacity(changes.changes);
        for id in next.by_ref().take(changes.changes) {
            match sandbox.touch_referral(id) {
                Ok(_) => changed.push(id.as_str()),
                Err(error) => eprintln!("cannot change referral {id}: {error}"),
            }
        }
        eprintln!(
            "changed {} referrals: {}",
            changed.len(),
            changed.join(", ")
        );
    }
}

/// `sandbox serve`: runs until Ctrl-C, then stops cleanly.
pub(crate) async fn serve(
    port: u16,
    data: &SandboxData,
    changes: &SandboxChanges,
) -> Result<(), Failure> {
    let sandbox =
        data.builder()
            .port(port)
            .start()
            .await
            .map_err(|source| Failure::SandboxStart {
                port: Some(port),
                source,
            })?;
    let base = sandbox.base_url();
    // The base URL alone on the first line, for scripts; then how to use it, for people.
    output::print(&format!(
        "{base}\n\
         Partner Center sandbox with {count} referrals; any bearer token is accepted. Ctrl-C stops it.\n\
         Try:    curl -H 'Authorization: Bearer {TOKEN}' {base}/v1.0/engagements/referrals/{OFFICIAL_REFERRAL_ID}\n\
         List:   curl -H 'Authorization: Bearer {TOKEN}' '{base}/v1.0/engagements/referrals?$filter=status%20eq%20%27New%27&$top=5'\n\
         Faults: curl -X POST -d '{{\"fault\":\"throttle\",\"retryAfterSeconds\":2}}' {base}/_sandbox/faults\n\
         Change: curl -X PATCH -d '{{\"status\":\"Active\"}}' {base}/_sandbox/referrals/ID",
        count = sandbox.referral_ids().len(),
    ))?;
    tokio::select! {
        signal = tokio::signal::ctrl_c() => signal.map_err(Failure::Signal)?,
        () = change(&sandbox, changes) => {}
    }
    sandbox.shutdown().await.map_err(Failure::SandboxStop)?;
    eprintln!("sandbox stopped");
    Ok(())
}
