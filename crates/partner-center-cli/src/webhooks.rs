//! `partner-center webhooks ...`: the tenant's webhook registration.

use partner_center::PartnerCenter;
use partner_center::webhooks::WebhookEvent;
use partner_center_sandbox::Sandbox;
use serde::Serialize;

use crate::args::{RegistrationArgs, WebhooksCommand};
use crate::failure::Failure;
use crate::listen::{self, Trust};
use crate::output;

/// The events a registration asks for when the command names none: every referral event.
pub(crate) const REFERRAL_EVENTS: [WebhookEvent; 4] = [
    WebhookEvent::ReferralCreated,
    WebhookEvent::ReferralUpdated,
    WebhookEvent::RelatedReferralCreated,
    WebhookEvent::RelatedReferralUpdated,
];

/// Runs a `webhooks` command, printing its answer as JSON; `sandbox` is the one `--sandbox`
/// started, and `base_url` the one `--base-url` gave.
pub(crate) async fn run(
    client: &PartnerCenter,
    command: WebhooksCommand,
    sandbox: Option<&Sandbox>,
    base_url: &str,
) -> Result<(), Failure> {
    let webhooks = client.webhooks();
    match command {
        WebhooksCommand::Events => print(&webhooks.events().await?),
        WebhooksCommand::Show => print(&webhooks.registration().await?),
        WebhooksCommand::Register {
            registration,
            replace,
        } => {
            let (url, events, ms_signature_header) = parts(registration);
            let register = webhooks.register(url, events).replace_existing(replace);
            print(&register.ms_signature_header(ms_signature_header).await?)
        }
        WebhooksCommand::Update { registration } => {
            let (url, events, ms_signature_header) = parts(registration);
            let update = webhooks.update(url, events);
            print(&update.ms_signature_header(ms_signature_header).await?)
        }
        WebhooksCommand::Test { id: None } => {
            let id = webhooks.send_test_event().await?;
            print(&serde_json::json!({ "correlationId": id }))
        }
        WebhooksCommand::Test { id: Some(id) } => print(&webhooks.test_event(&id).await?),
        WebhooksCommand::Listen(args) => {
            let trust = Trust::of(sandbox, args.receiver.trust_sandbox, base_url);
            listen::listen(client, trust, &args).await
        }
    }
}

fn parts(registration: RegistrationArgs) -> (String, Vec<WebhookEvent>, bool) {
    let events = match registration.events.is_empty() {
        true => REFERRAL_EVENTS.to_vec(),
        false => registration.events,
    };
    (registration.url, events, !registration.authorization_header)
}

fn print(answer: &impl Serialize) -> Result<(), Failure> {
    let json = serde_json::to_string_pretty(answer).map_err(Failure::Encode)?;
    output::print(&json)
}
