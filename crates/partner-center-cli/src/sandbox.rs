//! `partner-center sandbox ...` and `--sandbox`: the offline Partner Center.

use partner_center_sandbox::{OFFICIAL_REFERRAL_ID, Sandbox};

use crate::args::{Output, SandboxData};
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

/// `sandbox serve`: runs until Ctrl-C, then stops cleanly.
pub(crate) async fn serve(port: u16, data: &SandboxData) -> Result<(), Failure> {
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
         Faults: curl -X POST -d '{{\"fault\":\"throttle\",\"retryAfterSeconds\":2}}' {base}/_sandbox/faults",
        count = sandbox.referral_ids().len(),
    ))?;
    tokio::signal::ctrl_c().await.map_err(Failure::Signal)?;
    sandbox.shutdown().await.map_err(Failure::SandboxStop)?;
    eprintln!("sandbox stopped");
    Ok(())
}
