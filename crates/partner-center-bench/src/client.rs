//! One measured client run: a current-thread tokio runtime fetching the example referral
//! `requests` times, `in_flight` at a time, with one of the clients compared.

use std::future::Future;
use std::io::{BufRead, Write};
use std::time::Instant;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use http::header::{ACCEPT, HeaderValue};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use partner_center::PartnerCenter;
use partner_center_api::types::Referral;

/// The clients compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Kind {
    /// The SDK: `client.referrals().get(id)`, every policy on.
    Sdk,
    /// A hyper-util client, the body collected and decoded into the same `Referral`.
    Hyper,
    /// reqwest as it comes: `.get(url).send().await?.json::<Referral>()`.
    Reqwest,
}

impl Kind {
    pub(crate) const ALL: [Kind; 3] = [Kind::Sdk, Kind::Hyper, Kind::Reqwest];

    /// The value of `--kind` that selects it.
    pub(crate) fn arg(self) -> &'static str {
        match self {
            Kind::Sdk => "sdk",
            Kind::Hyper => "hyper",
            Kind::Reqwest => "reqwest",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Kind::Sdk => "partner-center SDK",
            Kind::Hyper => "raw hyper + decode",
            Kind::Reqwest => "bare reqwest + .json()",
        }
    }
}

/// What one client process does.
#[derive(clap::Args, Debug)]
pub(crate) struct RunSpec {
    #[arg(long, value_enum)]
    kind: Kind,
    /// The server's base URL (`http://127.0.0.1:<port>`).
    #[arg(long)]
    address: String,
    #[arg(long)]
    in_flight: usize,
    /// Requests measured.
    #[arg(long)]
    requests: usize,
    /// Requests made before measuring.
    #[arg(long)]
    warmup: usize,
}

/// Runs the client `spec` names: warms up, says `warm`, waits for `go` on stdin, then
/// measures and prints `<elapsed ns> <cpu ns>`.
pub(crate) fn run(spec: &RunSpec) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let base_url = spec.address.as_str();
    let id = crate::EXAMPLE_ID;
    let url = || format!("{base_url}/v1.0/engagements/referrals/{id}");
    // One closure per client, so that each in-flight request holds only its own client's
    // future (a shared enum-dispatching future would be as large as the largest).
    runtime.block_on(async {
        match spec.kind {
            // Defaults everywhere: ids, retries, timeouts, tracing spans (no subscriber, as in
            // an application that does not log), bounded body read, lossless decode.
            Kind::Sdk => {
                let client = PartnerCenter::builder()
                    .base_url(base_url)
                    .token("bench-token")
                    .build()
                    .map_err(|e| e.to_string())?;
                measure(spec, || async {
                    client.referrals().get(id).await.map_err(|e| e.to_string())
                })
                .await
            }
            Kind::Hyper => {
                let mut connector = HttpConnector::new();
                // As reqwest does by default.
                connector.set_nodelay(true);
                let client: HyperClient<_, Empty<Bytes>> =
                    HyperClient::builder(TokioExecutor::new()).build(connector);
                measure(spec, || async {
                    // The URL is built per request, as the other clients do.
                    let uri: http::Uri = url()
                        .parse()
                        .map_err(|e: http::uri::InvalidUri| e.to_string())?;
                    let request = http::Request::get(uri)
                        .header(ACCEPT, HeaderValue::from_static("application/json"))
                        .body(Empty::new())
                        .map_err(|e| e.to_string())?;
                    let response = client.request(request).await.map_err(|e| e.to_string())?;
                    if !response.status().is_success() {
                        return Err(format!("status {}", response.status()));
                    }
                    let body = response
                        .into_body()
                        .collect()
                        .await
                        .map_err(|e| e.to_string())?
                        .to_bytes();
                    serde_json::from_slice(&body).map_err(|e| e.to_string())
                })
                .await
            }
            Kind::Reqwest => {
                let client = reqwest::Client::new();
                measure(spec, || async {
                    let response = client.get(url()).send().await.map_err(|e| e.to_string())?;
                    response.json().await.map_err(|e| e.to_string())
                })
                .await
            }
        }
    })
}

/// Warms up, says `warm`, waits for `go` on stdin, then fetches `spec.requests` times and
/// prints `<elapsed ns> <cpu ns>`.
async fn measure<F, Fut>(spec: &RunSpec, fetch: F) -> Result<(), String>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Referral, String>>,
{
    fetch_all(&fetch, spec.warmup, spec.in_flight).await?;

    let mut stdout = std::io::stdout();
    writeln!(stdout, "warm")
        .and_then(|()| stdout.flush())
        .map_err(|e| e.to_string())?;
    let mut go = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut go)
        .map_err(|e| e.to_string())?;

    let pid = std::process::id();
    let cpu_before = crate::procfs::cpu_ns(pid).map_err(|e| e.to_string())?;
    let started = Instant::now();
    fetch_all(&fetch, spec.requests, spec.in_flight).await?;
    let elapsed = started.elapsed();
    let cpu = crate::procfs::cpu_ns(pid).map_err(|e| e.to_string())? - cpu_before;
    writeln!(stdout, "{} {cpu}", elapsed.as_nanos()).map_err(|e| e.to_string())
}

/// Fetches the example `requests` times, `in_flight` at a time, checking every answer.
async fn fetch_all<F, Fut>(fetch: &F, requests: usize, in_flight: usize) -> Result<(), String>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Referral, String>>,
{
    let mut answers = stream::iter(0..requests)
        .map(|_| fetch())
        .buffer_unordered(in_flight.max(1));
    while let Some(answer) = answers.next().await {
        let referral = answer?;
        if referral.id.as_deref() != Some(crate::EXAMPLE_ID) {
            return Err(format!("unexpected referral id {:?}", referral.id));
        }
    }
    Ok(())
}
