//! [`CallPolicy`]: the SDK's per-call policy hook, the one place every generated operation
//! sends its request through.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

/// The future a [`CallPolicy`] returns: the final answer of the call.
pub type ResponseFuture<'a> =
    Pin<Box<dyn Future<Output = reqwest::Result<reqwest::Response>> + Send + 'a>>;

/// What happens to each request the generated operations build: the policy of one call.
///
/// The generated [`Client`](crate::Client) of each spec document carries one (its "inner"
/// value) and hands it every request through progenitor's `ClientHooks::exec`. The `partner-center` crate supplies one per call that adds
/// authentication and the Partner Center headers, retries, applies the timeouts, and records
/// the answers for its errors; so that policy is written once for every operation, generated
/// or not.
pub trait CallPolicy: Send + Sync + Debug {
    /// Sends `request` (built by the operation `operation_id`) with `client`, as many times as
    /// the policy decides, and returns the final answer.
    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        operation_id: &'static str,
    ) -> ResponseFuture<'a>;
}

/// Implements progenitor's `ClientHooks` for a generated `Client`: every request it builds goes
/// to its [`CallPolicy`]. Each generated module invokes it for its own client.
macro_rules! call_policy_hooks {
    ($client:ty) => {
        impl ::progenitor_client::ClientHooks<::std::sync::Arc<dyn crate::CallPolicy>> for $client {
            async fn exec(
                &self,
                request: ::reqwest::Request,
                info: &::progenitor_client::OperationInfo,
            ) -> ::reqwest::Result<::reqwest::Response> {
                self.inner
                    .execute(&self.client, request, info.operation_id)
                    .await
            }
        }
    };
}
pub(crate) use call_policy_hooks;
