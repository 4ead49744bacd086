//! The loopback server: hyper 1 on one tokio thread, answering every
//! `GET /v1.0/engagements/referrals/{id}` with the official example, as Partner Center would
//! (`Content-Type: application/json`, a `Request-ID`).

use std::convert::Infallible;
use std::io::{Read, Write};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const PATH_PREFIX: &str = "/v1.0/engagements/referrals/";
const REQUEST_ID: HeaderValue = HeaderValue::from_static("0f4c3c9f-7a3e-4cb6-9b4c-7f0d2f1e5a11");

/// Serves until stdin closes (the benchmark holds it), after printing the address on stdout.
pub(crate) fn serve() -> Result<(), String> {
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    // One thread for everything, like a server given one core: the clients are measured, the
    // server must just keep up.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "http://{address}")
            .and_then(|()| stdout.flush())
            .map_err(|e| e.to_string())?;
        loop {
            let (stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                // A client closing its connections at exit is not an error worth reporting.
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(answer))
                    .await;
            });
        }
    })
}

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let found = request.uri().path().starts_with(PATH_PREFIX);
    let mut response = Response::new(Full::new(if found {
        Bytes::from_static(crate::EXAMPLE)
    } else {
        Bytes::new()
    }));
    if found {
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert("request-id", REQUEST_ID);
    } else {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    Ok(response)
}
