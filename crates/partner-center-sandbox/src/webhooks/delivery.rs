//! Sending events: a bounded queue in front of a few delivery tasks, each event tried up to
//! [`MAX_ATTEMPTS`] times with a doubling delay, every attempt recorded in a log that tests wait
//! on ([`WebhookDeliveries`]).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderName, Uri};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::{Settings, Webhooks, signing};

/// Partner Center's: after the 10th failed attempt an event is not sent again.
pub(crate) const MAX_ATTEMPTS: u32 = 10;
/// Events waiting for a delivery task; past that an event is dropped (and recorded as such)
/// rather than hold up the API.
pub(crate) const QUEUE_CAPACITY: usize = 256;
/// Events being delivered at once.
const CONCURRENT_DELIVERIES: usize = 8;
/// The longest wait between two attempts, whatever the retry delay doubles to.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(600);
/// How much of a receiver's answer is kept (a test event's `responseMessage`).
const MESSAGE_LIMIT: usize = 1024;
/// How many attempts the log keeps: the oldest go first.
const LOG_CAPACITY: usize = 10_000;

const MS_SIGNATURE: HeaderName = HeaderName::from_static("x-ms-signature");
const CERTIFICATE_URL: HeaderName = HeaderName::from_static("x-ms-certificate-url");
const SIGNATURE_ALGORITHM: HeaderName = HeaderName::from_static("x-ms-signature-algorithm");

/// One event to send, as it was when it happened: the registration's URL and header choice
/// then, the body signed as it is.
#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) name: String,
    pub(crate) resource_uri: String,
    /// A test event's id.
    pub(crate) correlation_id: Option<String>,
    pub(crate) url: String,
    /// The signature goes in `x-ms-signature` rather than `Authorization`.
    pub(crate) ms_signature_header: bool,
    pub(crate) body: Bytes,
    /// Counts the event as pending while it exists: queued, being sent, or waiting to retry.
    pub(crate) _pending: Pending,
}

/// One attempt to deliver an event (or an event that was never sent: see [`Self::attempt`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebhookDelivery {
    /// The event's name, e.g. `referral-updated`.
    pub event_name: String,
    /// The event's `ResourceUri`.
    pub resource_uri: String,
    /// The test event's id, for a `test-created` event.
    pub correlation_id: Option<String>,
    /// Where it was sent.
    pub url: String,
    /// 1 for the first attempt, up to 10; 0 for an event that was not sent at all (the
    /// queue was full, or the URL is not one the sandbox sends to): see `error`.
    pub attempt: u32,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why there is no status (a connection error, a timeout, ...), or why it was not sent.
    pub error: Option<String>,
    /// What became of the event after this attempt.
    pub outcome: DeliveryOutcome,
    /// When the attempt ended.
    #[serde(serialize_with = "rfc3339")]
    pub at: SystemTime,
}

/// What became of an event after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx: the event is delivered.
    Delivered,
    /// It failed, and will be tried again.
    Retrying,
    /// It failed for the last time (the 10th attempt, or it could not be sent at all).
    GivenUp,
}

fn rfc3339<S: Serializer>(at: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    DateTime::<Utc>::from(*at)
        .to_rfc3339_opts(SecondsFormat::Micros, true)
        .serialize(serializer)
}

/// The log of delivery attempts of one sandbox; [`crate::Sandbox::webhook_deliveries`] gives
/// it. Clones share it.
///
/// Wait on it instead of sleeping: [`Self::wait_for`] returns once that many attempts are
/// recorded, [`Self::wait_idle`] once no event is queued, being sent or waiting to be retried.
/// Neither gives up: wrap them in `tokio::time::timeout` so that a test fails rather than
/// hangs.
#[derive(Clone, Debug)]
pub struct WebhookDeliveries {
    log: Arc<Log>,
}

#[derive(Debug)]
struct Log {
    /// The latest [`LOG_CAPACITY`] attempts, in the order they ended.
    records: Mutex<VecDeque<WebhookDelivery>>,
    progress: watch::Sender<Progress>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    /// Attempts recorded since the sandbox started (more than the log keeps, in time).
    recorded: u64,
    /// Events queued, being sent or waiting to retry.
    pending: usize,
}

impl WebhookDeliveries {
    /// An empty log, for a new sandbox.
    pub(crate) fn new() -> Self {
        Self {
            log: Arc::new(Log {
                records: Mutex::default(),
                progress: watch::Sender::new(Progress::default()),
            }),
        }
    }

    /// The attempts so far (the latest 10,000), in the order they ended.
    pub fn all(&self) -> Vec<WebhookDelivery> {
        self.records().iter().cloned().collect()
    }

    /// How many attempts were recorded since the sandbox started.
    pub fn recorded(&self) -> u64 {
        self.log.progress.borrow().recorded
    }

    /// How many events are queued, being sent or waiting to be retried.
    pub fn pending(&self) -> usize {
        self.log.progress.borrow().pending
    }

    /// Waits until at least `count` attempts were recorded since the sandbox started, then
    /// returns [`Self::all`].
    pub async fn wait_for(&self, count: u64) -> Vec<WebhookDelivery> {
        self.wait(|progress| progress.recorded >= count).await
    }

    /// Waits until no event is queued, being sent or waiting to be retried, then returns
    /// [`Self::all`]: after it, the attempts of every event that happened so far are there.
    pub async fn wait_idle(&self) -> Vec<WebhookDelivery> {
        self.wait(|progress| progress.pending == 0).await
    }

    async fn wait(&self, done: impl FnMut(&Progress) -> bool) -> Vec<WebhookDelivery> {
        // The sender lives as long as `self`: waiting cannot fail.
        let _ = self.log.progress.subscribe().wait_for(done).await;
        self.all()
    }

    pub(crate) fn record(&self, delivery: WebhookDelivery) {
        {
            let mut records = self.records();
            if records.len() == LOG_CAPACITY {
                records.pop_front();
            }
            records.push_back(delivery);
        }
        self.log.progress.send_modify(|p| p.recorded += 1);
    }

    fn records(&self) -> MutexGuard<'_, VecDeque<WebhookDelivery>> {
        // Every change is one call: a poisoned lock still guards a consistent log.
        self.log
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts an event as pending from its creation until it is dropped: delivered, given up, or
/// never sent because the sandbox stopped.
#[derive(Debug)]
pub(crate) struct Pending(WebhookDeliveries);

impl Pending {
    pub(crate) fn new(deliveries: &WebhookDeliveries) -> Self {
        deliveries.log.progress.send_modify(|p| p.pending += 1);
        Self(deliveries.clone())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.log.progress.send_modify(|p| p.pending -= 1);
    }
}

/// Takes events off `queue` and delivers each in a task of its own, at most
/// [`CONCURRENT_DELIVERIES`] at once, until the sandbox stops.
pub(crate) async fn run(
    mut queue: mpsc::Receiver<Event>,
    webhooks: Webhooks,
    settings: Settings,
    shutdown: CancellationToken,
) {
    // No redirects (a receiver is one URL) and no proxy from the environment (the receivers
    // are local): events go straight to the registered URL.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build();
    let slots = Arc::new(Semaphore::new(CONCURRENT_DELIVERIES));
    loop {
        let event = tokio::select! {
            event = queue.recv() => event,
            () = shutdown.cancelled() => None,
        };
        let Some(event) = event else { return };
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            () = shutdown.cancelled() => return,
        };
        let Ok(slot) = slot else { return };
        let client = client.as_ref().map_err(|e| e.to_string()).cloned();
        let (webhooks, shutdown) = (webhooks.clone(), shutdown.clone());
        tokio::spawn(async move {
            tokio::select! {
                () = deliver(event, client, &webhooks, settings) => {}
                () = shutdown.cancelled() => {}
            }
            drop(slot);
        });
    }
}

/// Tries `event` until it is delivered or [`MAX_ATTEMPTS`] have failed.
async fn deliver(
    event: Event,
    client: Result<reqwest::Client, String>,
    webhooks: &Webhooks,
    settings: Settings,
) {
    let not_sent = |error: String| webhooks.record(&event, 0, Err(error), DeliveryOutcome::GivenUp);
    if !settings.remote_hosts
        && let Err(error) = loopback(&event.url)
    {
        return not_sent(error);
    }
    let signature = signing::signer_async()
        .await
        .and_then(|signer| signer.sign(&event.body));
    let (client, signature) = match (client, signature) {
        (Ok(client), Ok(signature)) => (client, format!("Signature {signature}")),
        (Err(error), _) | (_, Err(error)) => return not_sent(error),
    };
    let signature_header = match event.ms_signature_header {
        true => MS_SIGNATURE,
        false => AUTHORIZATION,
    };
    for attempt in 1..=MAX_ATTEMPTS {
        let request = client
            .post(&event.url)
            .header(CONTENT_TYPE, "application/json")
            .header(&signature_header, &signature)
            .header(CERTIFICATE_URL, &*webhooks.certificate_url)
            .header(SIGNATURE_ALGORITHM, "rsa-sha256")
            .body(event.body.clone());
        let answer = send(request, settings.attempt_timeout).await;
        let outcome = match &answer {
            Ok((status, _)) if (200..300).contains(status) => DeliveryOutcome::Delivered,
            _ if attempt == MAX_ATTEMPTS => DeliveryOutcome::GivenUp,
            _ => DeliveryOutcome::Retrying,
        };
        webhooks.record(&event, attempt, answer, outcome);
        if outcome != DeliveryOutcome::Retrying {
            return;
        }
        tokio::time::sleep(retry_delay(settings.retry_delay, attempt)).await;
    }
}

/// Sends one attempt: the receiver's status and the start of its answer, or why there is
/// none. The whole exchange (connection, request, answer) has `timeout`.
async fn send(
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<(u16, String), String> {
    let exchange = async {
        let mut response = request.send().await.map_err(|e| chain(&e))?;
        let status = response.status().as_u16();
        let mut message = Vec::new();
        // Only the start of the answer: a receiver can send anything.
        while message.len() < MESSAGE_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MESSAGE_LIMIT - message.len();
                    message.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) | Err(_) => break,
            }
        }
        Ok((status, String::from_utf8_lossy(&message).into_owned()))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} ms", timeout.as_millis())))
}

/// An error with its causes, `: `-separated (reqwest's own text rarely says what failed).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    // A chain is short; the bound is against a cycle.
    for _ in 0..8 {
        let Some(cause) = source else { break };
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The wait after failed attempt number `attempt`: `base`, doubled after each attempt, at most
/// [`MAX_RETRY_DELAY`].
fn retry_delay(base: Duration, attempt: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(MAX_RETRY_DELAY)
}

/// Refuses a URL whose host is not this machine's: the sandbox is offline unless told
/// otherwise ([`crate::SandboxBuilder::webhook_remote_hosts`]). A name other than
/// `localhost` is not looked up: that would already be traffic.
fn loopback(url: &str) -> Result<(), String> {
    let host = url.parse::<Uri>().ok().and_then(|uri| {
        let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
        Some(host.to_ascii_lowercase())
    });
    let local = host.as_deref().is_some_and(|host| {
        host == "localhost"
            || host.ends_with(".localhost")
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    });
    match local {
        true => Ok(()),
        false => Err(format!(
            "not sent: {} is not a loopback address, and the sandbox sends events to this \
             machine only (SandboxBuilder::webhook_remote_hosts allows others)",
            host.unwrap_or_else(|| url.to_owned())
        )),
    }
}

impl Webhooks {
    /// Records one attempt at `event` (number `attempt`, 0 when it was not sent): in the log,
    /// and in the status of a test event.
    pub(crate) fn record(
        &self,
        event: &Event,
        attempt: u32,
        answer: Result<(u16, String), String>,
        outcome: DeliveryOutcome,
    ) {
        let at = SystemTime::now();
        if let Some(id) = &event.correlation_id {
            self.test_event_attempt(id, &answer, outcome, at);
        }
        let (status, error) = match answer {
            Ok((status, _)) => (Some(status), None),
            Err(error) => (None, Some(error)),
        };
        self.deliveries.record(WebhookDelivery {
            event_name: event.name.clone(),
            resource_uri: event.resource_uri.clone(),
            correlation_id: event.correlation_id.clone(),
            url: event.url.clone(),
            attempt,
            status,
            error,
            outcome,
            at,
        });
    }

    /// Queues `event` without waiting: when the queue is full, the event is recorded as not
    /// sent instead.
    pub(crate) fn enqueue(&self, event: Event) {
        if let Err(error) = self.queue.try_send(event) {
            let (mpsc::error::TrySendError::Full(event) | mpsc::error::TrySendError::Closed(event)) =
                error;
            let why = format!("not sent: {QUEUE_CAPACITY} events were already waiting");
            self.record(&event, 0, Err(why), DeliveryOutcome::GivenUp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_delay_doubles_up_to_a_bound() {
        let base = Duration::from_millis(100);
        assert_eq!(retry_delay(base, 1), base);
        assert_eq!(retry_delay(base, 2), base * 2);
        assert_eq!(retry_delay(base, 4), base * 8);
        assert_eq!(retry_delay(base, 40), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(Duration::MAX, 3), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(Duration::ZERO, 9), Duration::ZERO);
    }

    #[test]
    fn events_go_to_loopback_addresses_only() {
        for local in [
            "http://127.0.0.1:8080/events",
            "http://127.3.4.5/",
            "https://localhost/x",
            "http://LOCALHOST:1/",
            "http://api.localhost/",
            "http://[::1]:9000/events",
        ] {
            assert_eq!(loopback(local), Ok(()), "{local}");
        }
        for remote in [
            "https://partner.example.com/partner-center/events",
            "http://10.0.0.1/",
            "http://[::2]/",
            "http://localhost.example/",
            "not a url",
        ] {
            let error = loopback(remote).unwrap_err();
            assert!(
                error.contains("not a loopback address"),
                "{remote}: {error}"
            );
        }
    }

    #[test]
    fn the_error_chain_names_every_cause() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("sending failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let error = Outer(std::io::Error::other("connection refused"));
        assert_eq!(chain(&error), "sending failed: connection refused");
    }
}
