//! [`Call`]: the policy applied to every request, whichever operation built it.

use std::sync::{Arc, Mutex, PoisonError};

use partner_center_api as api;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Response, StatusCode};
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::client::Shared;
use crate::error::{DecodeError, Error, RequestIds, ServiceError, TransportError};

const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");
const MS_REQUEST_ID: HeaderName = HeaderName::from_static("ms-requestid");
const MS_CORRELATION_ID: HeaderName = HeaderName::from_static("ms-correlationid");
/// progenitor sends `api-version: <info.version>` on every request; Partner Center has no use
/// for it, so it is not sent.
const API_VERSION: HeaderName = HeaderName::from_static("api-version");

/// One logical call: its ids, the headers every request carries, and what the service answered.
#[derive(Debug)]
pub(crate) struct Call {
    shared: Arc<Shared>,
    client_request_id: HeaderValue,
    correlation_id: HeaderValue,
    answered: Mutex<Option<Answer>>,
}

/// What the last response said about itself (its body goes to the generated code).
#[derive(Clone, Debug)]
struct Answer {
    status: StatusCode,
    request_id: Option<String>,
}

impl Call {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            client_request_id: guid_header(),
            correlation_id: guid_header(),
            answered: Mutex::new(None),
        }
    }

    fn authorization(&self) -> Option<HeaderValue> {
        let mut value =
            HeaderValue::try_from(format!("Bearer {}", self.shared.token.expose_secret())).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    fn ids(&self) -> RequestIds {
        let answer = self.answer();
        RequestIds {
            client_request_id: self
                .client_request_id
                .to_str()
                .unwrap_or_default()
                .to_owned(),
            request_id: answer.and_then(|a| a.request_id),
        }
    }

    fn answer(&self) -> Option<Answer> {
        self.answered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record(&self, response: &Response) {
        let answer = Answer {
            status: response.status(),
            request_id: header_text(response.headers(), "request-id"),
        };
        *self.answered.lock().unwrap_or_else(PoisonError::into_inner) = Some(answer);
    }

    /// Turns what a generated operation failed with into this crate's [`Error`].
    pub(crate) async fn map_error(&self, error: api::Error<api::types::ErrorResponse>) -> Error {
        use api::Error as E;
        match error {
            E::ErrorResponse(response) => {
                let status = response.status();
                let detail = response.into_inner().error;
                Error::from_service(ServiceError::new(status, Some(detail), self.ids()))
            }
            E::InvalidResponsePayload(body, source) => match self.answer().map(|a| a.status) {
                Some(status) if !status.is_success() => {
                    Error::from_service(ServiceError::from_body(status, &body, self.ids()))
                }
                status => Error::Decode(Box::new(DecodeError::new(
                    status.unwrap_or(StatusCode::OK),
                    source,
                    &body,
                    self.ids(),
                ))),
            },
            E::UnexpectedResponse(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(body) => {
                        Error::from_service(ServiceError::from_body(status, &body, self.ids()))
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

    fn transport(&self, source: reqwest::Error) -> Error {
        Error::Transport(Box::new(TransportError::new(source, self.ids())))
    }
}

impl api::Transport for Call {
    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        mut request: reqwest::Request,
        _operation_id: &'static str,
    ) -> api::ResponseFuture<'a> {
        let headers = request.headers_mut();
        headers.remove(API_VERSION);
        if let Some(authorization) = self.authorization() {
            headers.insert(AUTHORIZATION, authorization);
        }
        headers.insert(CLIENT_REQUEST_ID, self.client_request_id.clone());
        headers.insert(MS_REQUEST_ID, self.client_request_id.clone());
        headers.insert(MS_CORRELATION_ID, self.correlation_id.clone());
        Box::pin(async move {
            let response = client.execute(request).await?;
            self.record(&response);
            Ok(response)
        })
    }
}

fn guid_header() -> HeaderValue {
    let mut buffer = Uuid::encode_buffer();
    let text = Uuid::new_v4().hyphenated().encode_lower(&mut buffer);
    HeaderValue::from_str(text).expect("a hyphenated GUID is a valid header value")
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
