//! The connections to Partner Center: hyper's pooled HTTP/1.1 and HTTP/2 client over rustls
//! (the platform's trust store, as before with reqwest), through an `HTTPS_PROXY` tunnel when
//! the environment names one for Partner Center's host (`NO_PROXY` honoured).
//!
//! Every Partner Center call crosses this, so it is hyper's client alone: reqwest's redirect and
//! retry layers and its `Url`↔`Uri` round trips cost about a fifth of the gateway's CPU per
//! pass-through read (BENCHMARKS.md), and the gateway follows no redirects and retries itself.

use std::{
    error::Error as StdError,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::{
    client::legacy::{
        Client,
        connect::{HttpConnector, proxy::Tunnel},
    },
    rt::{TokioExecutor, TokioIo, TokioTimer},
};
use tokio::net::TcpStream;

type BoxError = Box<dyn StdError + Send + Sync>;

/// How connections are opened and kept.
#[derive(Debug, Clone, Copy)]
pub struct TransportSettings {
    pub connect_timeout: Duration,
    /// An idle pooled connection is closed after this long.
    pub pool_idle_timeout: Duration,
}

impl Default for TransportSettings {
    fn default() -> Self {
        Self { connect_timeout: Duration::from_secs(5), pool_idle_timeout: Duration::from_secs(90) }
    }
}

/// Sends requests to Partner Center over pooled connections. Cheap to clone.
#[derive(Clone)]
pub struct UpstreamHttp {
    client: Client<hyper_rustls::HttpsConnector<Dialer>, Full<Bytes>>,
    user_agent: HeaderValue,
    /// The proxy the connections tunnel through, for the startup log (credentials left out).
    proxy: Option<Arc<str>>,
}

/// Why a request got no answer.
#[derive(Debug)]
pub struct TransportError {
    /// No connection could be made (nothing was sent).
    pub connect: bool,
    /// The error and its causes; no URL, so nothing of a query string reaches a log.
    pub text: String,
}

impl UpstreamHttp {
    /// Connections to `base` (Partner Center's API root): through the environment's proxy for its
    /// host, if any.
    pub fn new(base: &url::Url, settings: TransportSettings) -> Result<Self, String> {
        let base_uri: Uri = base.as_str().parse().map_err(|e| format!("partner center url: {e}"))?;
        Self::with_proxy(&base_uri, settings, &hyper_util::client::proxy::matcher::Matcher::from_env())
    }

    fn with_proxy(
        base: &Uri,
        settings: TransportSettings,
        proxies: &hyper_util::client::proxy::matcher::Matcher,
    ) -> Result<Self, String> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(settings.connect_timeout));
        let (dialer, proxy) = match proxies.intercept(base) {
            None => (Dialer::Direct(http), None),
            Some(intercept) => {
                let mut tunnel = Tunnel::new(intercept.uri().clone(), http);
                if let Some(auth) = intercept.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                let shown = format!(
                    "{}://{}",
                    intercept.uri().scheme_str().unwrap_or("http"),
                    intercept.uri().authority().map(|a| a.as_str().rsplit('@').next().unwrap_or("")).unwrap_or("")
                );
                (Dialer::Tunnel(tunnel), Some(Arc::from(shown)))
            }
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
            .map_err(|e| format!("the platform's TLS trust store: {e}"))?;
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("tls: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(dialer);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(settings.pool_idle_timeout)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        let user_agent = HeaderValue::from_static(concat!("partner-center-gateway/", env!("CARGO_PKG_VERSION")));
        Ok(Self { client, user_agent, proxy })
    }

    /// The proxy connections go through, as `scheme://host:port`.
    pub fn proxy(&self) -> Option<&str> {
        self.proxy.as_deref()
    }

    /// Sends `request` (absolute URI) and returns the answer with its body still to be read.
    pub async fn send(&self, mut request: Request<Full<Bytes>>) -> Result<Response<Incoming>, TransportError> {
        request.headers_mut().entry(http::header::USER_AGENT).or_insert_with(|| self.user_agent.clone());
        self.client.request(request).await.map_err(|error| TransportError {
            connect: error.is_connect(),
            text: crate::error::error_chain_text(&error),
        })
    }
}

/// The length an answer declares in `Content-Length`, if it is a number.
pub fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok())
}

/// Opens the TCP connection, directly or through a proxy's `CONNECT` tunnel.
#[derive(Clone)]
enum Dialer {
    Direct(HttpConnector),
    Tunnel(Tunnel<HttpConnector>),
}

impl tower_service::Service<Uri> for Dialer {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        match self {
            Self::Direct(http) => http.poll_ready(cx).map_err(Into::into),
            Self::Tunnel(tunnel) => tunnel.poll_ready(cx).map_err(Into::into),
        }
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        match self {
            Self::Direct(http) => {
                let connecting = http.call(uri);
                Box::pin(async move { connecting.await.map_err(Into::into) })
            }
            Self::Tunnel(tunnel) => {
                let connecting = tunnel.call(uri);
                Box::pin(async move { connecting.await.map_err(Into::into) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environments_proxy_is_used_for_partner_center_unless_no_proxy_names_it() {
        let base: Uri = "https://api.partnercenter.microsoft.com/".parse().expect("uri");
        let proxies = hyper_util::client::proxy::matcher::Matcher::builder()
            .https("http://user:secret@proxy.internal:3128")
            .build();
        let through = UpstreamHttp::with_proxy(&base, TransportSettings::default(), &proxies).expect("client");
        assert_eq!(through.proxy(), Some("http://proxy.internal:3128"), "no credentials in what is shown");

        let excluded = hyper_util::client::proxy::matcher::Matcher::builder()
            .https("http://proxy.internal:3128")
            .no("partnercenter.microsoft.com")
            .build();
        let direct = UpstreamHttp::with_proxy(&base, TransportSettings::default(), &excluded).expect("client");
        assert_eq!(direct.proxy(), None);
    }

    /// A forward proxy that only tunnels: it answers `CONNECT host:port` with 200 and then copies
    /// bytes both ways, remembering each request head it was sent.
    async fn connect_proxy() -> (std::net::SocketAddr, Arc<parking_lot::Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let heads = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let seen = Arc::clone(&heads);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && client.read_exact(&mut byte).await.is_ok() {
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let target = head.split_whitespace().nth(1).unwrap_or_default().to_owned();
                    seen.lock().push(head);
                    let Ok(mut upstream) = TcpStream::connect(target).await else { return };
                    if client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.is_ok() {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
            }
        });
        (address, heads)
    }

    #[tokio::test]
    async fn calls_tunnel_through_the_proxy_with_its_credentials() {
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::path("/v1/customers"))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_string("{}"))
            .mount(&server)
            .await;
        let (proxy, heads) = connect_proxy().await;
        let base: Uri = format!("{}/", server.uri()).parse().expect("uri");
        let proxies =
            hyper_util::client::proxy::matcher::Matcher::builder().all(format!("http://gw:s3cret@{proxy}")).build();
        let http = UpstreamHttp::with_proxy(&base, TransportSettings::default(), &proxies).expect("client");
        let request =
            Request::get(format!("{}/v1/customers", server.uri())).body(Full::new(Bytes::new())).expect("request");
        let response = http.send(request).await.expect("an answer through the tunnel");
        assert_eq!(response.status(), http::StatusCode::OK);

        let heads = heads.lock();
        assert_eq!(heads.len(), 1, "one tunnel: {heads:?}");
        let authority = server.uri().trim_start_matches("http://").to_owned();
        assert!(heads[0].starts_with(&format!("CONNECT {authority} HTTP/1.1")), "{}", heads[0]);
        // gw:s3cret, base64.
        assert!(heads[0].to_ascii_lowercase().contains("proxy-authorization: basic z3c6cznjcmv0"), "{}", heads[0]);
    }

    #[tokio::test]
    async fn an_unreachable_partner_center_is_a_connect_error_without_the_url() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port");
        let base: Uri = format!("http://{closed}/").parse().expect("uri");
        let http = UpstreamHttp::with_proxy(
            &base,
            TransportSettings::default(),
            &hyper_util::client::proxy::matcher::Matcher::builder().build(),
        )
        .expect("client");
        let request = Request::get(format!("http://{closed}/v1/customers?continuationToken=secret-token"))
            .body(Full::new(Bytes::new()));
        let error = http.send(request.expect("request")).await.expect_err("nothing listens there");
        assert!(error.connect, "{error:?}");
        assert!(!error.text.contains("secret-token"), "{}", error.text);
    }
}
