//! The tenant's webhook registration (`https://api.partnercenter.microsoft.com/webhooks/v1`,
//! the spec document `webhooks`): the [`Webhooks`] handler.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use partner_center_api::webhooks::types::{
    NewWebhookRegistration, NewWebhookRegistrationWebhookUrl, TestEventStatus,
};
use partner_center_api::webhooks::{self as api, enums::WebhookEvent, types::WebhookRegistration};

use crate::client::PartnerCenter;
use crate::error::{Error, Result};
use crate::policy::Headers;

/// The registration API's spec document.
const DOCUMENT: &str = "webhooks";

impl PartnerCenter {
    /// The tenant's webhook registration: which events Partner Center sends, and where.
    ///
    /// Its calls go to the registration API's own host with a token of its own audience
    /// ([`crate::auth::WEBHOOKS_SCOPE`]); see [`crate::PartnerCenterBuilder::document_base_url`].
    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks { client: self }
    }
}

/// The webhook registration API; [`PartnerCenter::webhooks`] makes one.
///
/// A tenant has one registration: one URL for all its events. Registering silently replaces
/// whatever was registered, Microsoft's own co-sell CRM connectors included, so
/// [`Webhooks::register`] refuses to when something is registered, unless told to.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sandbox = partner_center_sandbox::Sandbox::start().await?;
/// use partner_center::Error;
/// use partner_center::auth::StaticToken;
/// use partner_center::webhooks::WebhookEvent;
///
/// let client = partner_center::PartnerCenter::builder()
///     .base_url(sandbox.base_url())
///     .token_provider(StaticToken::for_every_scope("sandbox"))
///     .build()?;
/// let events = [WebhookEvent::ReferralCreated, WebhookEvent::ReferralUpdated];
/// let url = "https://partner.example.com/partner-center/events";
/// match client.webhooks().register(url, events).await {
///     Ok(registered) => println!("registered {:?}", registered.webhook_url),
///     // Someone's registration: leave it, or replace it knowingly (`replace_existing`).
///     Err(Error::WebhookRegistered(current)) => println!("{:?} is registered", current.webhook_url),
///     Err(e) => return Err(e.into()),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Webhooks<'c> {
    client: &'c PartnerCenter,
}

impl<'c> Webhooks<'c> {
    /// The event names a registration can ask for (`GET /registration/events`).
    pub async fn events(&self) -> Result<Vec<WebhookEvent>> {
        self.send(|api| async move { api.list_webhook_events(None, None).await })
            .await
    }

    /// What is registered (`GET /registration`), or `None` when nothing is.
    pub async fn registration(&self) -> Result<Option<WebhookRegistration>> {
        let view = self
            .send(|api| async move { api.get_webhook_registration(None, None).await })
            .await;
        match view {
            Ok(registration) => Ok(Some(registration)),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Registers `url` for `events` (`POST /registration`), only if nothing is registered:
    /// otherwise the call fails with [`Error::WebhookRegistered`], which holds what is
    /// registered now (it may be another application's: Microsoft's CRM connectors register
    /// too). [`Register::replace_existing`] replaces it instead.
    pub fn register(
        &self,
        url: impl Into<String>,
        events: impl IntoIterator<Item = WebhookEvent>,
    ) -> Register<'c> {
        Register {
            client: self.client,
            url: url.into(),
            events: events.into_iter().collect(),
            ms_signature_header: true,
            mode: Mode::Register,
        }
    }

    /// Replaces the registration with `url` and `events` (`PUT /registration`), whatever is
    /// registered now (nothing is read first).
    pub fn update(
        &self,
        url: impl Into<String>,
        events: impl IntoIterator<Item = WebhookEvent>,
    ) -> Register<'c> {
        Register {
            mode: Mode::Update,
            ..self.register(url, events)
        }
    }

    /// Asks Partner Center to send a `test-created` event to the registered URL
    /// (`POST /registration/validationEvents`; at most two a minute, and the registration must
    /// include `test-created`). Returns the test event's id, for [`Self::test_event`].
    pub async fn send_test_event(&self) -> Result<String> {
        let sent = self
            .send(|api| async move { api.send_webhook_test_event(None, None).await })
            .await?;
        Ok(sent.correlation_id)
    }

    /// How the delivery of the test event `id` went
    /// (`GET /registration/validationEvents/{id}`).
    pub async fn test_event(&self, id: &str) -> Result<TestEventStatus> {
        let id: api::types::GetWebhookTestEventCorrelationId = id
            .parse()
            .map_err(|e| Error::InvalidInput(format!("test event id {id:?}: {e}")))?;
        self.send(|api| async move { api.get_webhook_test_event(&id, None, None).await })
            .await
    }

    async fn put(&self, body: NewWebhookRegistration) -> Result<WebhookRegistration> {
        self.send(|api| async move { api.update_webhook_registration(None, None, &body).await })
            .await
    }

    /// Sends one call of the registration API through the client's policy.
    async fn send<T, F, Fut>(&self, operation: F) -> Result<T>
    where
        T: partner_center_api::lenient::Drifted,
        F: FnOnce(api::Client) -> Fut,
        Fut: Future<Output = api::GeneratedResult<T>>,
    {
        let base_url = self.client.document_base_url(DOCUMENT);
        let client = |http, policy| api::Client::new_with_client(base_url, http, policy);
        let response = self
            .client
            .send_with(api::TOKEN_SCOPE, client, operation, Headers::Dropped)
            .await?;
        Ok(*response.into_inner())
    }
}

/// A registration about to be written; [`Webhooks::register`] and [`Webhooks::update`] make
/// one, `.await` sends it.
#[derive(Debug)]
#[must_use = "a registration does nothing until it is awaited"]
pub struct Register<'c> {
    client: &'c PartnerCenter,
    url: String,
    events: Vec<WebhookEvent>,
    ms_signature_header: bool,
    mode: Mode,
}

/// What a [`Register`] does with a registration that exists.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// Refuses to replace it.
    Register,
    /// Replaces it, if there is one (`PUT`), else registers.
    Replace,
    /// Replaces it without a look (`PUT`).
    Update,
}

impl Register<'_> {
    /// Replaces what is registered, if anything is (`PUT`), instead of refusing to (no change
    /// to an update, which always replaces).
    pub fn replace_existing(mut self, replace: bool) -> Self {
        if self.mode != Mode::Update {
            self.mode = if replace {
                Mode::Replace
            } else {
                Mode::Register
            };
        }
        self
    }

    /// Whether the signature comes in `x-ms-signature` (the default, `true`) or in
    /// `Authorization` (where a proxy in front of the receiver may take it for credentials).
    pub fn ms_signature_header(mut self, yes: bool) -> Self {
        self.ms_signature_header = yes;
        self
    }

    async fn send(self) -> Result<WebhookRegistration> {
        let webhooks = self.client.webhooks();
        let body = new_registration(self.url, self.events, self.ms_signature_header)?;
        if self.mode == Mode::Update {
            return webhooks.put(body).await;
        }
        if let Some(current) = webhooks.registration().await? {
            return match self.mode {
                Mode::Register => Err(Error::WebhookRegistered(Box::new(current))),
                Mode::Replace | Mode::Update => webhooks.put(body).await,
            };
        }
        let register =
            |api: api::Client| async move { api.register_webhook(None, None, &body).await };
        match webhooks.send(register).await {
            // Registered by someone else since the look above.
            Err(Error::Service(e)) if e.status() == reqwest::StatusCode::CONFLICT => {
                match webhooks.registration().await? {
                    Some(current) => Err(Error::WebhookRegistered(Box::new(current))),
                    None => Err(Error::Service(e)),
                }
            }
            answer => answer,
        }
    }
}

impl<'c> IntoFuture for Register<'c> {
    type Output = Result<WebhookRegistration>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'c>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// The body of a register or an update, checked by the spec's types (an absolute http(s) URL,
/// at least one event) before anything is sent.
fn new_registration(
    url: String,
    events: Vec<WebhookEvent>,
    ms_signature_header: bool,
) -> Result<NewWebhookRegistration> {
    let webhook_url: NewWebhookRegistrationWebhookUrl = url
        .parse()
        .map_err(|e| Error::InvalidInput(format!("webhook URL {url:?}: {e}")))?;
    if reqwest::Url::parse(&url).is_err() {
        return Err(Error::InvalidInput(format!(
            "webhook URL {url:?} is not an absolute URL"
        )));
    }
    if events.is_empty() {
        return Err(Error::InvalidInput(
            "a registration needs at least one event".into(),
        ));
    }
    Ok(NewWebhookRegistration {
        signature_token_to_ms_signature_header: Some(ms_signature_header),
        webhook_events: events,
        webhook_url,
        extra: serde_json::Map::new(),
    })
}
