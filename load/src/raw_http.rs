//! A plain-HTTP (`http://`) transport straight on hyper's HTTP/1.1 connection: one TCP connection per
//! VU, kept alive, with the request's URI and headers prepared once. It does per request only what
//! the protocol needs, which is what keeps the generator from being the bottleneck on loopback
//! (reqwest's pool, redirect and proxy machinery cost about as much CPU again per request).
//! `https://` URLs (real API Gateway) keep using reqwest.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::sync::Mutex;

use super::local_timing::LocalTiming;

/// Why a request failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No answer within the timeout.
    Timeout,
    /// Connecting, sending or reading failed.
    Connection(String),
}

/// One VU's connection to an `http://` URL.
pub(crate) struct RawHttp {
    addr: SocketAddr,
    host: HeaderValue,
    path: Uri,
    timeout: Duration,
    sender: Mutex<Option<SendRequest<Full<Bytes>>>>,
    /// What the local stack's headers say of each answer.
    local: Arc<LocalTiming>,
}

impl RawHttp {
    /// Prepares a connection to `url` (resolved now; connected on first use).
    pub(crate) fn new(url: &str, timeout: Duration, local: Arc<LocalTiming>) -> Result<Self> {
        let uri: Uri = url.parse().with_context(|| format!("invalid URL {url}"))?;
        if uri.scheme_str() != Some("http") {
            bail!("{url} is not an http:// URL");
        }
        let authority = uri.authority().context("URL without a host")?.clone();
        let port = authority.port_u16().unwrap_or(80);
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&(authority.host(), port))
            .with_context(|| format!("cannot resolve {}", authority.host()))?
            .next()
            .with_context(|| format!("{} has no address", authority.host()))?;
        let path: Uri = uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .parse()
            .context("invalid path")?;
        Ok(Self {
            addr,
            host: HeaderValue::from_str(authority.as_str()).context("invalid host")?,
            path,
            timeout,
            sender: Mutex::new(None),
            local,
        })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, Failure> {
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| Failure::Connection(format!("connect {}: {e}", self.addr)))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| Failure::Connection(format!("handshake: {e}")))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// POSTs `body`; returns the status and the whole answer.
    pub(crate) async fn post(&self, body: &Bytes) -> Result<(StatusCode, Bytes), Failure> {
        match tokio::time::timeout(self.timeout, self.exchange(body)).await {
            Ok(result) => result,
            Err(_) => {
                // The connection may still carry the late answer: start afresh next time.
                *self.sender.lock().await = None;
                Err(Failure::Timeout)
            }
        }
    }

    async fn exchange(&self, body: &Bytes) -> Result<(StatusCode, Bytes), Failure> {
        let mut slot = self.sender.lock().await;
        let reusable = match slot.as_mut() {
            Some(s) => s.ready().await.is_ok(),
            None => false,
        };
        if !reusable {
            *slot = Some(self.connect().await?);
        }
        let sender = slot.as_mut().expect("connected above");
        let mut request = Request::new(Full::new(body.clone()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.path.clone();
        let headers = request.headers_mut();
        headers.insert(HOST, self.host.clone());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let result = async {
            let sent = Instant::now();
            let response = sender.send_request(request).await?;
            let status = response.status();
            let (parts, body) = response.into_parts();
            let bytes = body.collect().await?.to_bytes();
            self.local.record(sent.elapsed(), &parts.headers);
            Ok::<_, hyper::Error>((status, bytes))
        }
        .await;
        result.map_err(|e| {
            *slot = None;
            Failure::Connection(e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls() {
        assert!(RawHttp::new(
            "http://127.0.0.1:9/x?y=1",
            Duration::from_secs(1),
            Default::default()
        )
        .is_ok());
        assert!(RawHttp::new(
            "https://example.com/",
            Duration::from_secs(1),
            Default::default()
        )
        .is_err());
        assert!(RawHttp::new("not a url", Duration::from_secs(1), Default::default()).is_err());
    }
}
