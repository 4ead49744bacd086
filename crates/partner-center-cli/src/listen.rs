//! `partner-center webhooks listen`: a verified receiver printing one event a line; the
//! receiver `sync --listen` follows.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::stream::{self, Stream};
use partner_center::PartnerCenter;
use partner_center::webhooks::{Event, Events, Receiver, Verifier};
use partner_center_sandbox::Sandbox;
use serde_json::{Value, json};

use crate::args::{ListenArgs, ReceiverArgs};
use crate::failure::Failure;
use crate::output;
use crate::webhooks::REFERRAL_EVENTS;

/// How long a repeated delivery is remembered, and how many events at most.
const DEDUPE_WINDOW: Duration = Duration::from_secs(3600);
const DEDUPE_CAPACITY: usize = 10_000;

/// Which sandbox the receiver trusts, if any: the one `--sandbox` started in this process, or
/// the one at `--base-url` with `--trust-sandbox`. Nothing else ever trusts the sandbox's CA.
pub(crate) enum Trust<'a> {
    PartnerCenter,
    InProcess(&'a Sandbox),
    At(&'a str),
}

impl<'a> Trust<'a> {
    /// The sandbox `--sandbox` started, else with `--trust-sandbox` the one at `base_url`,
    /// else Partner Center.
    pub(crate) fn of(sandbox: Option<&'a Sandbox>, trust_sandbox: bool, base_url: &'a str) -> Self {
        match (sandbox, trust_sandbox) {
            (Some(sandbox), _) => Self::InProcess(sandbox),
            (None, true) => Self::At(base_url),
            (None, false) => Self::PartnerCenter,
        }
    }
}

/// A verified receiver, started: its events, and the server (aborted on drop).
pub(crate) struct Receiving {
    pub(crate) events: Events,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Receiving {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Receiving {
    /// Starts the receiver `args` ask for, trusting `trust`, and says where on stderr; with an
    /// in-process sandbox, registers it there for every referral event.
    pub(crate) async fn start(
        client: &PartnerCenter,
        trust: Trust<'_>,
        args: &ReceiverArgs,
    ) -> Result<Self, Failure> {
        let verifier = match &trust {
            Trust::PartnerCenter => Verifier::new()?,
            Trust::InProcess(sandbox) => {
                let ca = sandbox.webhook_ca_pem();
                Verifier::builder()
                    .trust_sandbox(sandbox.base_url(), ca)
                    .build()?
            }
            Trust::At(base_url) => Verifier::builder()
                .trust_sandbox_at(base_url)
                .await?
                .build()?,
        };
        let (router, events) = Receiver::new(verifier)
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
        let receiving = Self { events, server };
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
        Ok(receiving)
    }

    /// The events as a stream, ending if the receiver stops.
    pub(crate) fn stream(self) -> impl Stream<Item = Event> + Send {
        stream::unfold(self, |mut receiving| async move {
            let event = receiving.events.recv().await?;
            Some((event, receiving))
        })
    }
}

/// Listens until Ctrl-C, printing each new verified event (and with `--fetch` its referral)
/// as one NDJSON line.
pub(crate) async fn listen(
    client: &PartnerCenter,
    trust: Trust<'_>,
    args: &ListenArgs,
) -> Result<(), Failure> {
    let mut receiving = Receiving::start(client, trust, &args.receiver).await?;
    let printing = async {
        while let Some(event) = receiving.events.recv().await {
            let line = line(client, event, args.fetch).await;
            if let Err(stopped) = output::write_out(&line.to_string()) {
                return stopped.into_outcome();
            }
        }
        Ok(())
    };
    tokio::select! {
        outcome = printing => outcome,
        signal = tokio::signal::ctrl_c() => signal.map_err(Failure::Signal),
    }
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
