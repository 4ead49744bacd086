//! [`Receiver`]: an axum router that takes Partner Center's callbacks and hands their events on.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::StatusCode;
use http::header::CONTENT_LENGTH;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::mpsc;

use super::{Deduplicator, Event, Verifier};

/// The events a [`Receiver`] verified, in the order they came.
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub type Events = mpsc::Receiver<Event>;

/// An axum router for Partner Center's callbacks: `POST /` verifies each one ([`Verifier`])
/// and hands its event to a bounded channel ([`Events`]).
///
/// What it answers:
/// - `200` once the event is verified and queued, before anything is done with it (Partner
///   Center wants a quick answer); `200` too for a repeated delivery within the
///   [deduplication](Receiver::dedupe) window, which is not queued again;
/// - `413` for a body larger than [`Verifier::max_body_bytes`] (refused on its
///   `Content-Length`, or as soon as more arrives: it is never read whole);
/// - `408` when the body takes longer than the [read timeout](Receiver::read_timeout);
/// - the [`Rejection`](super::Rejection)'s status (401, 400, 503) when the callback is
///   refused, with its reason as text;
/// - `503` when the channel is full (or its receiver is gone): the event is not dropped
///   silently, Partner Center retries it later; nothing waits for room.
///
/// ```no_run
/// use std::time::Duration;
/// use partner_center::webhooks::{Receiver, Verifier};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (router, mut events) = Receiver::new(Verifier::new()?)
///     .dedupe(Duration::from_secs(3600), 10_000)
///     .router();
/// let app = axum::Router::new().nest("/webhooks/partner-center", router);
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
/// tokio::spawn(async move { axum::serve(listener, app).await });
/// while let Some(event) = events.recv().await {
///     println!("{}", serde_json::to_string(&event)?);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub struct Receiver {
    verifier: Verifier,
    dedupe: Option<Deduplicator>,
    channel_capacity: usize,
    read_timeout: Duration,
}

/// What the handler shares between requests.
struct Shared {
    verifier: Verifier,
    dedupe: Option<Deduplicator>,
    read_timeout: Duration,
    events: mpsc::Sender<Event>,
}

impl Receiver {
    /// The events queued before the channel is full, by default.
    pub const DEFAULT_CHANNEL_CAPACITY: usize = 64;
    /// How long a body may take to arrive, by default.
    pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);

    /// A receiver verifying with `verifier`, without deduplication.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier,
            dedupe: None,
            channel_capacity: Self::DEFAULT_CHANNEL_CAPACITY,
            read_timeout: Self::DEFAULT_READ_TIMEOUT,
        }
    }

    /// Answers a delivery seen within `window` with `200` without queuing it again,
    /// remembering up to `capacity` events ([`Deduplicator`]).
    pub fn dedupe(mut self, window: Duration, capacity: usize) -> Self {
        self.dedupe = Some(Deduplicator::new(window, capacity));
        self
    }

    /// How many verified events wait in the channel (at least 1; 64 by default) before
    /// callbacks are answered `503`.
    pub fn channel_capacity(mut self, capacity: usize) -> Self {
        self.channel_capacity = capacity.max(1);
        self
    }

    /// How long a body may take to arrive (10 s by default).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// The router (`POST /`; nest it where the registration points), and the channel its
    /// events come out of.
    pub fn router(self) -> (Router, Events) {
        let (sender, events) = mpsc::channel(self.channel_capacity);
        let shared = Arc::new(Shared {
            verifier: self.verifier,
            dedupe: self.dedupe,
            read_timeout: self.read_timeout,
            events: sender,
        });
        let router = Router::new().route("/", post(receive)).with_state(shared);
        (router, events)
    }
}

async fn receive(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let limit = shared.verifier.max_body_bytes();
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    let read = tokio::time::timeout(shared.read_timeout, Limited::new(body, limit).collect());
    let body = match read.await {
        Err(_) => {
            return answer(
                StatusCode::REQUEST_TIMEOUT,
                "the body took too long to arrive",
            );
        }
        Ok(Err(e)) if e.is::<LengthLimitError>() => return too_large(limit),
        Ok(Err(_)) => return answer(StatusCode::BAD_REQUEST, "the body could not be read"),
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let event = match shared.verifier.verify(&parts.headers, &body).await {
        Ok(event) => event,
        Err(rejection) => {
            tracing::debug!(status = %rejection.status(), "webhook refused: {rejection}");
            return answer(rejection.status(), &rejection.to_string());
        }
    };
    // Room first: an event marked as seen but not queued would be lost, its retry taken
    // for a repeat.
    let Ok(permit) = shared.events.try_reserve() else {
        tracing::debug!("webhook event not queued: the channel is full or closed");
        return answer(StatusCode::SERVICE_UNAVAILABLE, "busy: try again later");
    };
    if shared
        .dedupe
        .as_ref()
        .is_some_and(|d| !d.first_time(&event))
    {
        return StatusCode::OK.into_response();
    }
    permit.send(event);
    StatusCode::OK.into_response()
}

fn too_large(limit: usize) -> Response {
    answer(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the body is larger than {limit} bytes"),
    )
}

fn answer(status: StatusCode, reason: &str) -> Response {
    (status, reason.to_owned()).into_response()
}
