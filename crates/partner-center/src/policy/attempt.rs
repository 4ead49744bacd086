//! One attempt: the request sent, and the whole answer read, bounded.

use bytes::{Bytes, BytesMut};
use reqwest::{Request, Response, ResponseBuilderExt};

/// How one attempt went wrong before a complete answer came back.
pub(super) enum AttemptError {
    Transport(reqwest::Error),
    /// The body is over the limit: the answer's status and headers, without it.
    TooLarge(Response),
}

/// `request` as one attempt sends it; `None` for a streaming body, which cannot be sent twice
/// (the generated operations never send one). A request without a body is copied by hand:
/// `Request::try_clone` would also give it extensions, a map allocated on every attempt only to
/// say that it has no timeout of its own.
pub(super) fn copy(request: &Request) -> Option<Request> {
    if request.body().is_some() {
        return request.try_clone();
    }
    let mut copy = Request::new(request.method().clone(), request.url().clone());
    *copy.headers_mut() = request.headers().clone();
    *copy.version_mut() = request.version();
    Some(copy)
}

/// Sends one attempt and reads its whole body, refusing more than `limit` bytes.
pub(super) async fn send_bounded(
    client: &reqwest::Client,
    request: Request,
    limit: usize,
) -> Result<Response, AttemptError> {
    let mut response = client
        .execute(request)
        .await
        .map_err(AttemptError::Transport)?;
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(AttemptError::TooLarge(rebuilt(response, Bytes::new())));
    }
    // Most bodies come in one chunk: keep it as it is, and copy only to join several.
    let mut body = Bytes::new();
    let mut joined: Option<BytesMut> = None;
    while let Some(chunk) = response.chunk().await.map_err(AttemptError::Transport)? {
        let read = joined.as_ref().map_or(body.len(), BytesMut::len);
        if read + chunk.len() > limit {
            return Err(AttemptError::TooLarge(rebuilt(response, Bytes::new())));
        }
        match &mut joined {
            Some(buffer) => buffer.extend_from_slice(&chunk),
            None if body.is_empty() => body = chunk,
            None => {
                let mut buffer = BytesMut::from(&body[..]);
                buffer.extend_from_slice(&chunk);
                joined = Some(buffer);
            }
        }
    }
    Ok(rebuilt(response, joined.map_or(body, BytesMut::freeze)))
}

/// `response` with `body` as its whole body. The URL is handed on (in the extensions it already
/// has): without it reqwest parses a placeholder URL for every answer made this way.
fn rebuilt(mut response: Response, body: Bytes) -> Response {
    let mut answer = http::Response::builder()
        .status(response.status())
        .version(response.version());
    if let Some(extensions) = answer.extensions_mut() {
        *extensions = std::mem::take(response.extensions_mut());
    }
    let mut answer = answer
        .url(response.url().clone())
        .body(reqwest::Body::from(body))
        .expect("a received answer's status and version make an answer");
    *answer.headers_mut() = std::mem::take(response.headers_mut());
    Response::from(answer)
}
