//! What a failed call reports: the generated code's error mapped to an [`Error`], with the
//! call's ids and attempts, the service's text masked.

use partner_center_api as api;
use reqwest::StatusCode;
use serde::Serialize;

use super::Call;
use super::headers::header_text;
use crate::error::{DecodeError, Error, ServiceError, TransportError};
use crate::transport::Failure;

impl Call {
    /// `error`, from an operation of any document, as an [`Error`] with the call's ids and
    /// attempts: its error body, whatever its type, is read as the error bodies Partner Center
    /// sends (see [`ServiceError`]).
    pub(crate) async fn map_error<B: Serialize>(&self, error: api::Error<B>) -> Error {
        use api::Error as E;
        match error {
            E::ErrorResponse(response) => {
                let status = response.status();
                let body = serde_json::to_vec(&response.into_inner()).unwrap_or_default();
                self.service_error(ServiceError::from_body(status, &body, self.info()))
            }
            E::InvalidResponsePayload(body, source) => {
                // Bound first: a guard held across the match would deadlock `self.info()`.
                let status = self.state().status;
                match status {
                    Some(status) if !status.is_success() => {
                        self.service_error(ServiceError::from_body(status, &body, self.info()))
                    }
                    status => Error::Decode(Box::new(DecodeError::new(
                        status.unwrap_or(StatusCode::OK),
                        source,
                        &body,
                        self.info(),
                        &self.secrets(),
                    ))),
                }
            }
            E::UnexpectedResponse(response) => {
                let status = response.status();
                // The body was read (bounded) by `execute`: this is a copy in memory.
                match response.bytes().await {
                    Ok(body) => {
                        self.service_error(ServiceError::from_body(status, &body, self.info()))
                    }
                    Err(e) => self.transport(e),
                }
            }
            E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e) => {
                self.transport(e)
            }
            E::InvalidRequest(message) | E::Custom(message) => Error::InvalidInput(message),
        }
    }

    fn service_error(&self, error: ServiceError) -> Error {
        let (retry_after, www_authenticate) = {
            let state = self.state();
            (
                state.retry_after,
                header_text(state.www_authenticate.as_ref()),
            )
        };
        let error = error
            .with_headers(retry_after, www_authenticate)
            .masked(&self.secrets());
        Error::from_service(error)
    }

    fn transport(&self, source: reqwest::Error) -> Error {
        let failure = Failure::Reqwest(source);
        Error::Transport(Box::new(TransportError::new(failure, self.info())))
    }
}
