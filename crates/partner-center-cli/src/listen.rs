//! `partner-center webhooks listen`: a verified receiver printing one event a line.

use std::net::SocketAddr;
use std::time::Duration;

use partner_center::PartnerCenter;
use partner_center::webhooks::{Event, Receiver, Verifier};
use partner_center_sandbox::Sandbox;
use serde_json::{Value, json};

use crate::args::ListenArgs;
use crate::failure::Failure;
use crate::output;
use crate::webhooks::REFERRAL_EVENTS;

/// How long a repeated delivery is remembered, and how many events at most.
const DEDUPE_WINDOW: Duration = Duration::from_secs(3600);
const DEDUPE_CAPACITY: usize = 10_000;
/// The sandbox's CA certificate is a kilobyte or two.
const MAX_CA_BYTES: usize = 64 * 1024;

/// Which sandbox the receiver trusts, if any: the one `--sandbox` started in this process, or
/// the one at `--base-url` with `--trust-sandbox`. Nothing else ever trusts the sandbox's CA.
pub(crate) enum Trust<'a> {
    PartnerCenter,
    InProcess(&'a Sandbox),
    At(&'a str),
}

/// Listens until Ctrl-C, printing each new verified event (and with `--fetch` its referral)
/// as one NDJSON line.
pub(crate) async fn listen(
    client: &PartnerCenter,
    trust: Trust<'_>,
    args: &ListenArgs,
) -> Result<(), Failure> {
    let verifier = match &trust {
        Trust::PartnerCenter => Verifier::new()?,
        Trust::InProcess(sandbox) => {
            let ca = sandbox.webhook_ca_pem();
            Verifier::builder()
                .trust_sandbox(sandbox.base_url(), ca)
                .build()?
        }
        Trust::At(base_url) => {
            let ca = sandbox_ca(base_url).await?;
            Verifier::builder().trust_sandbox(base_url, ca).build()?
        }
    };
    let (router, mut events) = Receiver::new(verifier)
        .dedupe(DEDUPE_WINDOW, DEDUPE_CAPACITY)
        .router();
    let address = SocketAddr::new(args.host, args.port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| Failure::Listen { address, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| Failure::Listen { address, source })?;
    let url = format!("http://{local}/");
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    eprintln!("listening for Partner Center's webhooks on {url}; Ctrl-C stops");
    if let Trust::InProcess(sandbox) = &trust {
        // The in-process sandbox sends its events here; its referrals change through its API.
        let register = client.webhooks().register(&url, REFERRAL_EVENTS);
        register.replace_existing(true).await?;
        eprintln!(
            "sandbox at {base}, registered to send here; change a referral: curl -X PATCH -d '{{}}' {base}/_sandbox/referrals/ID",
            base = sandbox.base_url()
        );
    }
    let printing = async {
        while let Some(event) = events.recv().await {
            let line = line(client, event, args.fetch).await;
            if let Err(stopped) = output::write_out(&line.to_string()) {
                return stopped.into_outcome();
            }
        }
        Ok(())
    };
    let outcome = tokio::select! {
        outcome = printing => outcome,
        signal = tokio::signal::ctrl_c() => signal.map_err(Failure::Signal),
    };
    server.abort();
    outcome
}

/// One event's line: `{"event": ...}`, and with `fetch` the referral as the service sent it
/// (or why it could not be read: the receiver keeps listening).
async fn line(client: &PartnerCenter, event: Event, fetch: bool) -> Value {
    let mut line = json!({ "event": event });
    if let (true, Some(id)) = (fetch, event.referral_id()) {
        match client.referrals().get(id).await {
            Ok(referral) => line["referral"] = json!(referral),
            Err(e) => line["error"] = json!(partner_center::error::Report::new(&e).to_string()),
        }
    }
    line
}

/// The CA of the sandbox at `base_url`, read with a time and a size limit.
async fn sandbox_ca(base_url: &str) -> Result<Vec<u8>, Failure> {
    let url = format!(
        "{}/_sandbox/webhooks/ca.pem",
        base_url.trim_end_matches('/')
    );
    let failed = |why: String| Failure::SandboxCa {
        url: url.clone(),
        why,
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let mut response = http
        .get(&url)
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("answered {}", response.status())));
    }
    let mut pem = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| failed(e.to_string()))? {
        if pem.len() + chunk.len() > MAX_CA_BYTES {
            return Err(failed(format!("larger than {MAX_CA_BYTES} bytes")));
        }
        pem.extend_from_slice(&chunk);
    }
    Ok(pem)
}
