//! `partner-center api [OPERATION_ID]`: any operation of the spec the CLI was built with, by
//! its id, its parameters by their spec names and checked by the operation's types, through
//! the same client (and so the same policy and errors) as the other commands.

use comfy_table::{Table, presets};
use partner_center::PartnerCenter;
use partner_center::operations::{ArgumentError, Arguments, Call, DOCUMENTS, Operation};
use partner_center_sandbox::spec;
use serde_json::{Value, json};

use crate::args::{ApiArgs, Output};
use crate::failure::Failure;
use crate::input;
use crate::output::{self, PagePrinter, Progress};
use crate::waiting::Waiting;

/// Every operation of every spec document: id, method, path, summary and document (a table
/// by default).
pub(crate) fn list(format: Option<Output>) -> Result<(), Failure> {
    let operations = || {
        DOCUMENTS.iter().flat_map(|document| {
            document
                .operations
                .iter()
                .map(move |operation: &Operation| (document.name, operation))
        })
    };
    let rows = operations().map(|(document, operation)| {
        json!({
            "id": operation.id,
            "method": operation.method,
            "path": operation.path,
            "summary": operation.summary,
            "document": document,
        })
    });
    match format.unwrap_or(Output::Table) {
        Output::Table => {
            let mut table = Table::new();
            table.load_style(presets::UTF8_FULL_CONDENSED);
            table.set_header(["operation", "method", "path", "summary"]);
            for (_, operation) in operations() {
                table.add_row([
                    operation.id,
                    operation.method,
                    operation.path,
                    operation.summary,
                ]);
            }
            output::print(&table.to_string())
        }
        Output::Json => {
            let rows: Vec<Value> = rows.collect();
            output::print(&serde_json::to_string_pretty(&rows).map_err(Failure::Encode)?)
        }
        Output::Ndjson => {
            let lines: Vec<String> = rows.map(|row| row.to_string()).collect();
            output::print(&lines.join("\n"))
        }
    }
}

/// The call `args` describe (`args.operation` is set), checked before anything is sent.
pub(crate) fn call(operation: &str, args: &ApiArgs) -> Result<Call, Failure> {
    let mut arguments = Arguments::new();
    for (name, value) in &args.params {
        arguments = arguments.param(name, value);
    }
    if let Some(file) = &args.body {
        let (_, body) = input::json_file(file)?;
        arguments = arguments.body(body);
    }
    let call = Call::new(operation, arguments)?;
    // The types hold most of the spec's rules; the schemas hold the rest (a maximum, a pattern
    // of a parameter whose type is a plain number or string).
    let operation = call.operation();
    let document = spec::document_named(call.document().name).map_err(Failure::Spec)?;
    let method = operation.method.to_ascii_lowercase();
    for (name, value) in &args.params {
        spec::check_parameter(document, operation.path, &method, name, value).map_err(
            |reason| ArgumentError {
                operation: operation.id.to_owned(),
                reason,
            },
        )?;
    }
    Ok(call)
}

/// Sends `call` and prints its answer's body as the service sent it (nothing for none); with
/// `all`, every item of every page.
pub(crate) async fn run(
    client: &PartnerCenter,
    call: Call,
    all: bool,
    format: Output,
    waiting: &Waiting,
) -> Result<(), Failure> {
    if all {
        let pages = client.execute_pages(call)?;
        return output::print_pages(pages, PagePrinter::json(format), Progress::off(), waiting)
            .await;
    }
    let answer = waiting.on(client.execute(&call)).await?.into_inner();
    let Some(body) = answer.json else {
        return Ok(());
    };
    let text = match format {
        Output::Ndjson => serde_json::to_string(&body),
        Output::Json | Output::Table => serde_json::to_string_pretty(&body),
    };
    output::print(&text.map_err(Failure::Encode)?)
}
