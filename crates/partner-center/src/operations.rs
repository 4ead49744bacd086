//! Any operation of the spec by its id, with parameters given by their spec names as text:
//! [`Call`] checks them against the operation's generated types, and
//! [`PartnerCenter::execute`] sends it through the client's whole policy (token, ids,
//! retries, timeouts, tracing, typed errors). What [`PartnerCenter::call`] does with the
//! generated method, for a tool that takes the operation from its user (the CLI's `api`
//! command) or a test that walks every operation.
//!
//! An operation added to the spec is here once `cargo xtask codegen` has run.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let sandbox = partner_center_sandbox::Sandbox::start().await?;
//! # let client = partner_center::PartnerCenter::builder().base_url(sandbox.base_url()).token("t").build()?;
//! use partner_center::operations::{Arguments, Call, DOCUMENTS};
//!
//! for operation in DOCUMENTS.iter().flat_map(|document| document.operations) {
//!     println!("{} {} {}", operation.id, operation.method, operation.path);
//! }
//! let id = "c5fbb3b6-be74-4795-9fb5-4324c73fed37";
//! let call = Call::new("getReferral", Arguments::new().param("id", id))?;
//! let answer = client.execute(&call).await?;
//! assert_eq!(answer.json.as_ref().unwrap()["id"], id);
//! # Ok(())
//! # }
//! ```

use futures_util::FutureExt;
use serde_json::Value;

pub use partner_center_api::AnyCall as Call;
pub use partner_center_api::operation::{
    Answer, ArgumentError, Arguments, Location, Operation, Paging, Parameter, RequestBody,
};
pub use partner_center_api::spec::DOCUMENTS;

use crate::client::PartnerCenter;
use crate::error::{Error, Result};
use crate::paging::{self, Pages, Parts, Start};
use crate::policy::Headers;
use crate::response::Response;

impl From<ArgumentError> for Error {
    fn from(e: ArgumentError) -> Self {
        Error::InvalidInput(e.to_string())
    }
}

impl PartnerCenter {
    /// Sends `call` through this client's policy, to its document's base URL (see
    /// [`crate::PartnerCenterBuilder::document_base_url`]); the answer's body is JSON, exactly
    /// as the service sent it (drifted fields are logged as for every call).
    pub async fn execute(&self, call: &Call) -> Result<Response<Answer>> {
        self.send_call(call, Headers::Kept).await
    }

    async fn send_call(&self, call: &Call, headers: Headers) -> Result<Response<Answer>> {
        let document = call.document();
        let base_url = self.document_base_url(document.name);
        // `AnyCall::send` makes the generated client: it knows the document.
        let client = |http, policy| (http, policy);
        let send = |(http, policy)| call.send(base_url, http, policy);
        self.send_with(document.token_scope, client, send, headers)
            .await
    }

    /// Every page of the list operation `call` (one the spec marks `x-ms-pageable`): the
    /// items of each page as JSON, following the next links as [`crate::paging`] does (only
    /// to the client's [`PartnerCenter::base_url`]: the next link of a list operation of a
    /// document served elsewhere is refused as untrusted).
    pub fn execute_pages(&self, call: Call) -> Result<Pages<Value>> {
        let operation = call.operation();
        let Some(names) = operation.paging else {
            return Err(Error::InvalidInput(format!(
                "{} is not a list operation (the spec gives it no x-ms-pageable)",
                operation.id
            )));
        };
        let client = self.clone();
        let first = async move {
            let answer = client.send_call(&call, Headers::Dropped).await?;
            Ok(answer.map(|answer| Box::new(answer.json.unwrap_or(Value::Null))))
        };
        let split = move |page: Value| json_parts(page, names);
        Ok(paging::paginate(
            self.clone(),
            Start::First(first.boxed()),
            self.max_pages(),
            Some(operation.name),
            std::sync::Arc::new(split),
        ))
    }
}

/// A JSON page's items and next link, by the names the spec gives them. A page whose items
/// are not a list is passed on whole, as its one item: nothing the service sent is dropped.
fn json_parts(mut page: Value, names: Paging) -> Parts<Value> {
    let next = match page.get(names.next_link) {
        Some(Value::String(link)) => Some(link.clone()),
        _ => None,
    };
    let items = match page.get_mut(names.items) {
        None => Vec::new(),
        Some(Value::Array(items)) => std::mem::take(items),
        Some(_) => vec![page],
    };
    (items, None, next)
}
