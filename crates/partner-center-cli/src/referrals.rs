//! `partner-center referrals ...`: each command as SDK calls, and what it prints.

use std::path::Path;

use partner_center::models::Referral;
use partner_center::{
    PartnerCenter,
    models::NewReferral,
    referrals::{Filter, ListReferrals},
};
use partner_center_sandbox::spec::{Schema, UnknownFields};

use crate::args::{ListArgs, Output, ReferralsCommand};
use crate::failure::Failure;
use crate::input;
use crate::output::{self, PagePrinter, Progress, Stopped};
use crate::waiting::Waiting;

/// Runs one `referrals` command with `client`, each call watched by `waiting`.
pub(crate) async fn run(
    client: &PartnerCenter,
    command: ReferralsCommand,
    format: Output,
    waiting: &Waiting,
) -> Result<(), Failure> {
    let referrals = client.referrals();
    let printed = |referral: Option<Referral>| match referral {
        Some(referral) => output::print(&output::referral(&referral, format)?),
        None => Ok(()),
    };
    let get = |id: String| async move { waiting.on(referrals.get(&id)).await };
    match command {
        ReferralsCommand::Get { id } => printed(Some(get(id).await?)),
        ReferralsCommand::List(args) => {
            let query = query(client, &args);
            if args.all {
                let query = query.max_pages(args.paging.max_pages);
                output::print_pages(
                    query.pages(),
                    PagePrinter::new(format),
                    Progress::new(args.progress),
                    waiting,
                )
                .await
            } else {
                let page = waiting.on(query.send()).await?;
                let mut printer = PagePrinter::new(format);
                finished(printer.page(page.items).and_then(|()| printer.finish()))
            }
        }
        ReferralsCommand::Related { id, paging } => {
            let referral = get(id).await?;
            let related = referrals.related(&referral)?.max_pages(paging.max_pages);
            output::print_pages(
                related.pages(),
                PagePrinter::new(format),
                Progress::new(false),
                waiting,
            )
            .await
        }
        ReferralsCommand::Create { file } => {
            let created = waiting.on(referrals.create(new_referral(&file)?)).await?;
            printed(Some(created))
        }
        ReferralsCommand::Update {
            id,
            set,
            if_match,
            return_representation,
        } => {
            let mut update = referrals.update_by_id(&id);
            for (path, value) in set {
                update = update.replace(&path, value);
            }
            if let Some(etag) = if_match {
                update = update.if_match(etag);
            }
            if return_representation {
                update = update.return_representation();
            }
            printed(waiting.on(update.send()).await?.referral)
        }
        // Each verb reads the referral first: its eTag and status go with the update.
        ReferralsCommand::Lifecycle(command) => {
            let (id, verb) = command.into_verb();
            let referral = get(id).await?;
            printed(waiting.on(referrals.apply(&referral, verb)).await?.referral)
        }
    }
}

/// The listing the flags of `referrals list` ask for.
fn query(client: &PartnerCenter, args: &ListArgs) -> ListReferrals {
    let any = |filters: Vec<Filter>| filters.into_iter().reduce(Filter::or);
    let filters = [
        any(args.status.iter().cloned().map(Filter::status).collect()),
        any(args
            .substatus
            .iter()
            .cloned()
            .map(Filter::substatus)
            .collect()),
        any(args
            .direction
            .iter()
            .cloned()
            .map(Filter::direction)
            .collect()),
        any(args
            .referral_type
            .iter()
            .cloned()
            .map(Filter::referral_type)
            .collect()),
        any(args
            .qualification
            .iter()
            .cloned()
            .map(Filter::qualification)
            .collect()),
        args.engagement.as_deref().map(Filter::engagement_id),
        any(args.country.iter().map(|c| Filter::country(c)).collect()),
        args.team_email.as_deref().map(Filter::team_email),
        args.updated_since.map(Filter::updated_since),
        args.filter.clone().map(Filter::raw),
    ];
    let mut query = client.referrals().list();
    for filter in filters.into_iter().flatten() {
        query = query.filter(filter);
    }
    for (field, direction) in &args.order_by {
        query = query.order_by(field, *direction);
    }
    if let Some(top) = args.top {
        query = query.top(top);
    }
    query
}

/// How printing ended, as the command's outcome (a closed pipe: stop reading pages, quietly).
fn finished(outcome: Result<(), Stopped>) -> Result<(), Failure> {
    outcome.or_else(Stopped::into_outcome)
}

/// The referral to create, from a file (or stdin for `-`) holding a new referral's JSON. It is
/// held to the spec's `NewReferral` schema (the sandbox's check of a create) before anything is
/// sent, so that what is wrong is said with where it is.
fn new_referral(file: &Path) -> Result<NewReferral, Failure> {
    let path = || file.to_owned();
    let (text, json) = input::json_file(file)?;
    let schema = Schema::component("NewReferral", UnknownFields::Kept).map_err(Failure::Spec)?;
    if let Some(problem) = schema.problems(&json).into_iter().next() {
        return Err(Failure::NotNewReferral {
            path: path(),
            problem,
        });
    }
    // From the text, not the `Value`: numbers keep their digits (see partner_center_api). The
    // schema held, so this decodes; if it did not, serde's reason is the problem to show.
    serde_json::from_str(&text).map_err(|source| Failure::NotDecodable {
        path: path(),
        source,
    })
}
