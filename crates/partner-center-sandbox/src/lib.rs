//! An offline Partner Center Referrals service, for trying the API and testing integrations
//! without an Entra app, a partner tenant or a network.
//!
//! [`Sandbox::start`] runs a real HTTP server on `127.0.0.1` that speaks the contract of
//! `spec/partner-center.openapi.yaml`, with the same model types as the `partner-center` SDK:
//!
//! - every operation of the spec: list (`GET /v1.0/engagements/referrals` with an OData
//!   `$filter`, `$orderby`, `$top`, `$skip`, `$select`, `$count`, and server-side paging with
//!   `@odata.nextLink`), get, create (`POST`) and update (`PATCH`, a JSON Patch, with
//!   `If-Match` and `Prefer: return=representation`), following the referral lifecycle of
//!   [`partner_center_api::lifecycle`];
//! - every other operation of every document of [`partner_center_api::spec::DOCUMENTS`] (or
//!   of [your own](SandboxBuilder::document)), served from the document itself: the request
//!   is held to the operation's parameters and body schema, the answer is the success
//!   response's example (or a value made from its schema), checked against its schema; a
//!   method the document does not have for a path is a `405` with `Allow`;
//! - a seeded store: the official example referral ([`OFFICIAL_REFERRAL_ID`]) and
//!   [`DEFAULT_REFERRAL_COUNT`] realistic generated ones, the same for the same seed; writes
//!   change it for the life of the sandbox, and every write is checked against the [spec];
//! - the service's behaviour: `401 unauthenticated` without `Authorization: Bearer <token>`
//!   (any non-empty token is accepted), `404 itemNotFound` for an unknown id or route, a fresh
//!   `Request-ID` on every response, `client-request-id` echoed, `ETag` on referrals;
//! - the [webhooks](#webhooks) of `spec/webhooks.openapi.yaml`, with state: one registration,
//!   and signed events sent to it when a referral is created or changes;
//! - [fault injection](Faults): throttling, outages, slow answers and broken JSON on demand,
//!   from Rust or with `POST /_sandbox/faults`.
//!
//! The server stops when the [`Sandbox`] is dropped.
//!
//! # Listing
//!
//! `$filter` takes the OData subset of the [filter grammar](#the-filter-grammar);
//! a filter the sandbox cannot parse is a `400 invalidRequest` saying what and where.
//! `$orderby` sorts by date-time fields (`createdDateTime desc,updatedDateTime`), then by
//! creation. A page holds at most `$top` (1 to 100, default 100) referrals; when more match,
//! its `@odata.nextLink` points back at the sandbox (at the `Host` the request was sent to)
//! with the same query and a `$skiptoken`: a position in the listing, so that referrals created
//! while paging are neither repeated nor skipped. `$count=true` adds `@odata.count`;
//! `$select=status,details` keeps only those fields (and `id`).
//!
//! ## The filter grammar
//!
//! ```text
//! filter     = or
//! or         = and *( "or" and )
//! and        = unary *( "and" unary )
//! unary      = "not" unary / "(" or ")" / path-expr
//! path-expr  = path ( operator literal / "/" ( "any" / "all" ) "(" name ":" or ")" )
//! path       = name *( "/" name )        ; e.g. status, customerProfile/address/country
//! operator   = "eq" / "ne" / "gt" / "ge" / "lt" / "le"
//! literal    = string / date-time / "true" / "false" / "null"
//! string     = "'" *( any character but "'" / "''" ) "'"
//! date-time  = an unquoted RFC 3339 date-time, e.g. 2020-10-30T21:03:00Z
//! ```
//!
//! Fields named `...DateTime` are compared by instant with a date-time, and are the only ones
//! `gt`/`ge`/`lt`/`le` apply to; other fields are compared exactly with a string (or `true`,
//! `false`, `null`); a missing field is `null`. Inside `team/any(t: ...)`, `t/email` is a field
//! of each member of `team`; `all` needs every member to match.
//!
//! ```text
//! status eq 'New' and (direction eq 'Incoming' or qualification eq 'SalesQualified')
//! customerProfile/address/country eq 'US' and updatedDateTime ge 2025-05-01T00:00:00Z
//! team/any(t:t/email eq 'adele.vance@contoso.example') and name ne 'O''Brien'
//! ```
//!
//! # Writes
//!
//! Every request's headers are held to the operation's header parameters in the spec (a
//! `client-request-id` that is not a GUID is a `400 invalidRequest`), and a write's body to its
//! request schema. `POST` takes a `NewReferral`: `type`, `customerProfile`, `consent` and
//! `details` required, ISO country and currency codes, and status `New` (substatus `Pending`, the
//! default, or `Received`); what it says of the fields the service sets (the spec's `readOnly`
//! ones) is ignored. The sandbox sets `id`, `engagementId`, the dates and the `eTag`, and answers
//! `201` with the referral. `PATCH` applies `replace` and `add` operations (`/-` appends to an
//! array; `"value": null` clears a field), answers `412 preconditionFailed` when `If-Match` is
//! not the current `eTag`, and sets a new `eTag` and `updatedDateTime`. A well-formed patch that
//! does not fit the referral is a `409` (a parent that does not exist) or a `422` (a field the
//! service sets, a referral the spec would not allow, a status move the lifecycle forbids), as
//! RFC 5789 has them; a malformed one is a `400`.
//!
//! # Webhooks
//!
//! The registration API answers from the sandbox's state (one registration, as one URL a
//! tenant), in the spec's camelCase, with errors in the service's shape (`{"code",
//! "description"}`):
//!
//! | route | answer |
//! |---|---|
//! | `GET /webhooks/v1/registration/events` | the event names |
//! | `POST /webhooks/v1/registration` | `200` with the registration; `409` when one exists |
//! | `GET /webhooks/v1/registration` | `200` with it; `404` when there is none |
//! | `PUT /webhooks/v1/registration` | `200`: replaces it (keeping its `subscriberId`), or makes the first |
//! | `POST /webhooks/v1/registration/validationEvents` | `200 {"correlationId"}`, and a `test-created` event when registered for; the third in a minute is a `429` with `Retry-After` |
//! | `GET /webhooks/v1/registration/validationEvents/{correlationId}` | its `status` (`pending`, `completed`, `failed`; `notRegistered`, `notSubscribed` when nothing was sent) and one result an attempt |
//!
//! A registration body's keys are read in any case (`WebhookUrl` or `webhookUrl`); its URL must
//! be an absolute `http` or `https` one (the service takes `https` only), its events names the
//! service lists.
//!
//! A create (`POST`) sends `referral-created`, an update (`PATCH`, or the admin route below)
//! `referral-updated`, to a registration that asks for them; when other referrals share the
//! referral's `engagementId`, `related-referral-created`/`-updated` too, about the same
//! referral (every referral here is the partner's own; a create starts an engagement of its
//! own, so `related-referral-created` does not happen). The body is the service's,
//! `{"EventName","ResourceUri","ResourceName","AuditUri","ResourceChangeUtcDate"}` (the
//! referral's `updatedDateTime`); it is signed as the service signs it: RSA PKCS#1 v1.5 SHA-256
//! over the body's bytes, base64 in `Authorization: Signature <base64>` (or `x-ms-signature`
//! with `SignatureTokenToMsSignatureHeader: true`), with `X-MS-Certificate-Url` and
//! `X-MS-Signature-Algorithm: rsa-sha256`. The certificate is a leaf of a test CA made for the
//! process ([`Sandbox::webhook_ca_pem`]). Events are sent in the background, up to 10 attempts
//! each with a doubling wait ([`SandboxBuilder::webhook_retry_delay`]), to loopback addresses
//! only unless [told otherwise](SandboxBuilder::webhook_remote_hosts); every attempt is
//! recorded ([`Sandbox::webhook_deliveries`]).
//!
//! # The admin routes
//!
//! They need no token and take no fault:
//!
//! | route | what it does |
//! |---|---|
//! | `POST /_sandbox/faults`, `DELETE /_sandbox/faults` | queues a fault, clears the queue (below) |
//! | `PATCH /_sandbox/referrals/{id}` | changes a referral with a JSON merge patch, as [`Sandbox::change_referral`] does (an empty body or `{}` touches it): `200` with the referral |
//! | `GET /_sandbox/requests` | `{"requests": N}`: how many API requests (every route but these) it has answered, for counting what a client sends |
//! | `GET /_sandbox/webhooks/deliveries` | the delivery log: `{"recorded", "pending", "deliveries": [{"eventName", "resourceUri", "correlationId", "url", "attempt", "status", "error", "outcome", "at"}]}` |
//! | `GET /_sandbox/webhooks/ca.pem` | the test CA, PEM |
//! | `GET /cert/sandbox.cer` | the signing certificate, DER (`application/pkix-cert`): where `X-MS-Certificate-Url` points |
//!
//! `POST /_sandbox/faults` queues a fault for tools that are not written in Rust. Its body names
//! the fault and how many requests get it (`times`, default 1):
//!
//! | body | effect |
//! |---|---|
//! | `{"fault":"throttle","retryAfterSeconds":2,"times":3}` | [`Fault::Throttle`] (`retryAfterSeconds` default 1) |
//! | `{"fault":"unavailable","retryAfterSeconds":5}` | [`Fault::Unavailable`] (no `Retry-After` without `retryAfterSeconds`) |
//! | `{"fault":"delay","delayMillis":1500}` | [`Fault::Delay`] |
//! | `{"fault":"malformedJson"}` | [`Fault::MalformedJson`] |
//!
//! It answers `{"pending": N}`, the number of requests that will get a fault;
//! `DELETE /_sandbox/faults` clears the queue.
//!
//! ```sh
//! curl -X POST -d '{"fault":"throttle","retryAfterSeconds":2}' http://127.0.0.1:PORT/_sandbox/faults
//! ```

#![deny(missing_docs, missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod example;
mod faults;
mod filter;
mod parameters;
mod patch;
mod query;
mod seed;
mod served;
mod server;
pub mod spec;
mod store;
mod webhooks;
mod write;

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use partner_center_api::types::Referral;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use faults::{Fault, Faults};
pub use webhooks::{DeliveryOutcome, WebhookDeliveries, WebhookDelivery};

use served::Routes;
use server::AppState;
use spec::{Parsed, SpecError};
use store::Store;
use webhooks::Webhooks;

/// The id of the official example referral, which every sandbox serves.
pub const OFFICIAL_REFERRAL_ID: &str = "c5fbb3b6-be74-4795-9fb5-4324c73fed37";
/// The seed [`Sandbox::start`] uses.
pub const DEFAULT_SEED: u64 = 0;
/// How many referrals [`Sandbox::start`] generates besides the official example: enough for
/// 26 pages of 100.
pub const DEFAULT_REFERRAL_COUNT: usize = 2_500;

/// A running sandbox: a Partner Center Referrals service on `127.0.0.1`.
///
/// Dropping it stops the server (without waiting); [`Sandbox::shutdown`] stops it and waits.
pub struct Sandbox {
    base_url: String,
    addr: SocketAddr,
    store: Store,
    faults: Faults,
    webhooks: Webhooks,
    shutdown: CancellationToken,
    server: Option<JoinHandle<io::Result<()>>>,
}

impl Sandbox {
    /// Starts a sandbox with the default seed on an ephemeral port of `127.0.0.1`.
    ///
    /// Call it inside a tokio runtime: the server runs as a task of that runtime (a
    /// `#[tokio::test]`'s current-thread runtime is fine).
    ///
    /// ```
    /// use partner_center_sandbox::{OFFICIAL_REFERRAL_ID, Sandbox};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sandbox = Sandbox::start().await?;
    /// let url = format!(
    ///     "{}/v1.0/engagements/referrals/{OFFICIAL_REFERRAL_ID}",
    ///     sandbox.base_url()
    /// );
    /// let response = reqwest::Client::new()
    ///     .get(url)
    ///     .bearer_auth("any-token")
    ///     .send()
    ///     .await?;
    /// assert_eq!(response.status(), 200);
    /// assert!(response.headers().contains_key("request-id"));
    /// let referral: serde_json::Value = response.json().await?;
    /// assert_eq!(referral["customerProfile"]["name"], "Fabrikam Customer Inc");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start() -> io::Result<Self> {
        Self::builder().start().await
    }

    /// Configures a sandbox: seed, port, number of referrals.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use partner_center_sandbox::Sandbox;
    ///
    /// let sandbox = Sandbox::builder().seed(7).referral_count(3).start().await?;
    /// assert_eq!(sandbox.referral_ids().len(), 4); // the official example, then 3 more
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// Where the sandbox listens, e.g. `http://127.0.0.1:49152`: the base URL of a client.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address the sandbox listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The ids of the referrals the sandbox serves, the official example first, then the
    /// generated ones, then those created since, in order.
    pub fn referral_ids(&self) -> Vec<String> {
        self.store.ids()
    }

    /// The referrals the sandbox serves, as they are now (updates included), in the order of
    /// [`Sandbox::referral_ids`].
    pub fn referrals(&self) -> Vec<Referral> {
        self.store.all()
    }

    /// The fault queue: what the next requests will suffer.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Changes the referral `id` with a JSON merge patch (RFC 7396), as the service would
    /// change it, without the API's rules: any field but `id`, any status. It gets a new
    /// `eTag` and an `updatedDateTime` later than the last one, and a registration gets
    /// `referral-updated`. The same as `PATCH /_sandbox/referrals/{id}`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use partner_center_sandbox::{OFFICIAL_REFERRAL_ID, Sandbox};
    /// use serde_json::json;
    ///
    /// let sandbox = Sandbox::builder().referral_count(0).start().await?;
    /// let before = sandbox.referrals().remove(0);
    /// let after = sandbox.change_referral(OFFICIAL_REFERRAL_ID, &json!({"details": {"notes": "Called"}}))?;
    /// assert_eq!(after.details.and_then(|d| d.notes).as_deref(), Some("Called"));
    /// assert_ne!(after.e_tag, before.e_tag);
    /// assert!(after.updated_date_time.unwrap().instant() > before.updated_date_time.unwrap().instant());
    /// # Ok(())
    /// # }
    /// ```
    pub fn change_referral(
        &self,
        id: &str,
        merge_patch: &serde_json::Value,
    ) -> Result<Referral, ChangeError> {
        let changed = server::change(&self.store, &self.webhooks, id, merge_patch)
            .ok_or(ChangeError::NotFound)?;
        let refused = |message: String| ChangeError::Refused(message);
        let changed = changed.map_err(|refusal| {
            refused(match refusal {
                write::Refusal::Invalid { message, .. }
                | write::Refusal::Conflict { message, .. }
                | write::Refusal::Unprocessable { message, .. }
                | write::Refusal::Internal(message) => message,
            })
        })?;
        store::typed(&changed).map_err(|e| refused(e.to_string()))
    }

    /// Touches the referral `id`: a new `eTag` and `updatedDateTime`, nothing else, and
    /// `referral-updated` ([`Sandbox::change_referral`] with `{}`).
    pub fn touch_referral(&self, id: &str) -> Result<Referral, ChangeError> {
        self.change_referral(id, &serde_json::json!({}))
    }

    /// The log of webhook deliveries: every attempt at every event, to wait on in tests.
    pub fn webhook_deliveries(&self) -> WebhookDeliveries {
        self.webhooks.deliveries.clone()
    }

    /// The test CA that issues the certificate webhook events are signed with, in PEM: what a
    /// receiver under test trusts (also at `GET /_sandbox/webhooks/ca.pem`). Its subject is
    /// `CN=Partner Center Sandbox Webhook CA, O=Partner Center Sandbox`; the leaf's is
    /// `CN=webhooks.sandbox.invalid, O=Partner Center Sandbox`. Both are made once a process,
    /// on first use (two RSA 2048 keys: a fraction of a second), valid from yesterday for a
    /// year.
    ///
    /// # Panics
    ///
    /// If the keys or the certificates cannot be made: aws-lc-rs failing to generate an RSA
    /// key.
    pub fn webhook_ca_pem(&self) -> String {
        match webhooks::ca_pem() {
            Ok(pem) => pem,
            Err(e) => panic!("{e}"),
        }
    }

    /// Where the signing certificate is served (DER), `{base_url}/cert/sandbox.cer`: what
    /// every event's `X-MS-Certificate-Url` says.
    pub fn webhook_certificate_url(&self) -> &str {
        &self.webhooks.certificate_url
    }

    /// Stops the server and waits until it has: requests in flight get their answers (a
    /// [`Fault::Delay`] is cut short with a 503), idle connections are closed.
    pub async fn shutdown(mut self) -> io::Result<()> {
        self.shutdown.cancel();
        match self.server.take() {
            Some(server) => server.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

/// Why [`Sandbox::change_referral`] did not change a referral.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeError {
    /// The sandbox has no referral with this id.
    NotFound,
    /// The patch is not an object, changes the `id`, or makes a referral that breaks the spec:
    /// what is wrong.
    Refused(String),
}

impl fmt::Display for ChangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("the referral was not found"),
            Self::Refused(message) => write!(f, "the referral was not changed: {message}"),
        }
    }
}

impl std::error::Error for ChangeError {}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Only a signal: dropping must not block, and may happen outside the runtime.
        self.shutdown.cancel();
    }
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.base_url)
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Sandbox`]; [`Sandbox::builder`] makes one.
#[derive(Clone, Debug)]
pub struct SandboxBuilder {
    seed: u64,
    port: u16,
    referral_count: usize,
    /// `None`: the built-in documents.
    documents: Option<Documents>,
    webhooks: webhooks::Settings,
}

/// OpenAPI documents, by name, in YAML.
#[derive(Clone, Default)]
struct Documents(Vec<(String, String)>);

impl fmt::Debug for Documents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The names: the text of a document is pages long.
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

impl Documents {
    fn built_in() -> Self {
        let documents = partner_center_api::spec::DOCUMENTS.iter();
        Self(
            documents
                .map(|document| (document.name.to_owned(), document.yaml.to_owned()))
                .collect(),
        )
    }

    fn routes(&self) -> Result<Routes, SpecError> {
        let parsed = self.0.iter().map(|(name, yaml)| Parsed::new(name, yaml));
        let parsed = parsed.collect::<Result<Vec<_>, _>>()?;
        Routes::new(&parsed, &server::hand_written())
    }
}

/// The routes of the built-in documents, made once: most sandboxes serve those.
fn built_in_routes() -> Result<Arc<Routes>, SpecError> {
    static ROUTES: OnceLock<Result<Arc<Routes>, SpecError>> = OnceLock::new();
    ROUTES
        .get_or_init(|| Documents::built_in().routes().map(Arc::new))
        .clone()
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        Self {
            seed: DEFAULT_SEED,
            port: 0,
            referral_count: DEFAULT_REFERRAL_COUNT,
            documents: None,
            webhooks: webhooks::Settings::default(),
        }
    }
}

impl SandboxBuilder {
    /// The seed of the generated referrals (default [`DEFAULT_SEED`]): the same seed and count
    /// give the same referrals, on any machine.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The port to listen on, on `127.0.0.1` (default 0: any free port; read it back with
    /// [`Sandbox::base_url`]).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// How many referrals to generate besides the official example (default
    /// [`DEFAULT_REFERRAL_COUNT`]). From 7 on, every status/substatus pair appears.
    pub fn referral_count(mut self, count: usize) -> Self {
        self.referral_count = count;
        self
    }

    /// Serves `yaml`, an OpenAPI 3.0 document, as the document `name`: in place of the
    /// built-in document of that name (`partner-center`, see
    /// [`partner_center_api::spec::DOCUMENTS`]), or beside them. For trying an edit of the spec
    /// before generating a client from it, or an API of your own on the same origin.
    ///
    /// Every operation of every document is served. The referral operations the sandbox has
    /// handlers for (list, get, create, update) keep them, and the built-in spec's rules;
    /// each other operation is served from its document: the request is held to the
    /// operation's parameters and body schema (a `400 invalidRequest` naming what is wrong),
    /// and the answer is its lowest success response with its example (else the first of its
    /// `examples`, its schema's `example`, or a value made from the schema: see
    /// [`spec::example`]), checked against its schema first (a `500 generalException` saying
    /// what breaks it). Tokens and faults work as on every route.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use partner_center_sandbox::Sandbox;
    /// use serde_json::json;
    ///
    /// let notes = r#"
    /// openapi: 3.0.3
    /// info: {title: Notes, version: "1"}
    /// paths:
    ///   /notes/v1/notes/{id}:
    ///     get:
    ///       operationId: getNote
    ///       parameters:
    ///         - {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
    ///       responses:
    ///         "200":
    ///           description: The note.
    ///           content:
    ///             application/json:
    ///               schema:
    ///                 type: object
    ///                 required: [id, text]
    ///                 properties: {id: {type: integer}, text: {type: string}}
    ///               example: {id: 1, text: Call Fabrikam back}
    /// "#;
    /// let sandbox = Sandbox::builder().referral_count(0).document("notes", notes).start().await?;
    /// let client = reqwest::Client::new();
    /// let url = |id| format!("{}/notes/v1/notes/{id}", sandbox.base_url());
    /// let note = client.get(url("1")).bearer_auth("t").send().await?;
    /// assert_eq!(note.json::<serde_json::Value>().await?, json!({"id": 1, "text": "Call Fabrikam back"}));
    /// let refused = client.get(url("one")).bearer_auth("t").send().await?;
    /// assert_eq!(refused.status(), 400);
    /// # Ok(())
    /// # }
    /// ```
    pub fn document(mut self, name: impl Into<String>, yaml: impl Into<String>) -> Self {
        let (name, yaml) = (name.into(), yaml.into());
        let documents = self.documents.get_or_insert_with(Documents::built_in);
        match documents.0.iter_mut().find(|(known, _)| *known == name) {
            Some(document) => document.1 = yaml,
            None => documents.0.push((name, yaml)),
        }
        self
    }

    /// Serves these OpenAPI documents (name, YAML) and no others: not the built-in ones
    /// (but for the referral operations the sandbox has handlers for). See
    /// [`SandboxBuilder::document`].
    pub fn documents<N, Y>(mut self, documents: impl IntoIterator<Item = (N, Y)>) -> Self
    where
        N: Into<String>,
        Y: Into<String>,
    {
        let documents = documents.into_iter().map(|(n, y)| (n.into(), y.into()));
        self.documents = Some(Documents(documents.collect()));
        self
    }

    /// How long a webhook delivery waits after its first failed attempt (default 1 s); the wait
    /// doubles after each failed attempt (at most 10 minutes), for 10 attempts in all. Tests
    /// set a few milliseconds.
    pub fn webhook_retry_delay(mut self, delay: Duration) -> Self {
        self.webhooks.retry_delay = delay;
        self
    }

    /// How long one webhook delivery attempt may take, the receiver's answer included
    /// (default 10 s); past that it failed.
    pub fn webhook_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.webhooks.attempt_timeout = timeout;
        self
    }

    /// Whether webhook events may go to hosts other than this machine's (default `false`):
    /// the sandbox is offline, and sends only to `localhost` and loopback addresses unless
    /// told otherwise. An event for another host is recorded as not sent.
    pub fn webhook_remote_hosts(mut self, allowed: bool) -> Self {
        self.webhooks.remote_hosts = allowed;
        self
    }

    /// The referrals a sandbox built with these settings starts with, without starting one.
    pub fn referrals(&self) -> Vec<Referral> {
        seed::referrals(self.seed, self.referral_count)
    }

    /// Binds the port and starts serving. Fails when the port cannot be bound, or a document
    /// is not an OpenAPI document the sandbox can route (not YAML, no `paths`, a path template
    /// with a parameter that is not a whole segment's text between literal text).
    pub async fn start(self) -> io::Result<Sandbox> {
        let routes = match &self.documents {
            None => built_in_routes(),
            Some(documents) => documents.routes().map(Arc::new),
        }
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, self.port)).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let (store, faults, shutdown) = (
            Store::new(seed::generate(self.seed, self.referral_count)).map_err(io::Error::other)?,
            Faults::default(),
            CancellationToken::new(),
        );
        let webhooks = Webhooks::start(self.webhooks, &base_url, shutdown.clone());
        let app = server::router(AppState {
            store: store.clone(),
            faults: faults.clone(),
            base_url: base_url.clone(),
            shutdown: shutdown.clone(),
            routes,
            webhooks: webhooks.clone(),
            requests: Arc::default(),
        });
        let stopped = shutdown.clone().cancelled_owned();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
        });
        Ok(Sandbox {
            base_url,
            addr,
            store,
            faults,
            webhooks,
            shutdown,
            server: Some(server),
        })
    }
}

/// What the fuzz targets of `fuzz/` reach that is not public: built only by `cargo fuzz`
/// (`--cfg fuzzing`), never part of the API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    /// Parses `text` as a `$filter` and evaluates it on `referral` (its JSON): whether it
    /// matches, or the refusal the client would get.
    pub fn filter(text: &str, referral: &serde_json::Value) -> Result<bool, String> {
        crate::filter::Filter::parse(text)
            .map(|filter| filter.matches(referral))
            .map_err(|e| e.to_string())
    }
}
