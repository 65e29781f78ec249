//! Accepting and serving connections with limits a hostile client cannot outlast:
//!
//! - at most `max_connections` open per listener; one more is closed as soon as it is accepted;
//! - a new connection must complete its first request's headers within `header_read_timeout`;
//! - a connection with no request in flight for `idle_timeout` is closed gracefully; on HTTP/1,
//!   once the first byte of the next request arrives, its headers must follow within
//!   `header_read_timeout` (so a load balancer's kept-alive connection lives `idle_timeout`, a
//!   trickler only `header_read_timeout`);
//! - HTTP/2: `max_streams_per_connection` advertised, keep-alive pings answered within
//!   `keepalive_timeout` or the connection is closed;
//! - a request may ask for its whole connection to be dropped ([`ConnectionControl`]): a streamed
//!   answer whose reader stalls does so, which frees everything the connection held.

use std::{
    convert::Infallible,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{body::Body, extract::Request, response::Response};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
    service::TowerToHyperService,
};
use parking_lot::Mutex;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
    time::Instant,
};
use tokio_util::sync::CancellationToken;
use tower::Service;

use crate::edge::{ConnectionControl, HoldWhileStreaming};

/// How long a connection being shut down gracefully (idle, or the server stopping) may take to
/// finish its requests before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// The limits of one listener.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_streams_per_connection: u32,
    pub keepalive_interval: Duration,
    pub keepalive_timeout: Duration,
    /// gRPC speaks only HTTP/2; REST both.
    pub http2_only: bool,
}

/// Requests in flight on one connection, since when none has been, and when the next request
/// started to arrive.
struct Activity {
    open: AtomicUsize,
    served_any: AtomicBool,
    http2: AtomicBool,
    quiet: Mutex<Quiet>,
}

#[derive(Clone, Copy)]
struct Quiet {
    since: Instant,
    /// The first byte read while no request was in flight.
    first_byte: Option<Instant>,
}

impl Activity {
    fn new() -> Self {
        Self {
            open: AtomicUsize::new(0),
            served_any: AtomicBool::new(false),
            http2: AtomicBool::new(false),
            quiet: Mutex::new(Quiet { since: Instant::now(), first_byte: None }),
        }
    }

    fn begin(self: &Arc<Self>, http2: bool) -> RequestInFlight {
        self.open.fetch_add(1, Ordering::AcqRel);
        self.served_any.store(true, Ordering::Release);
        self.http2.store(http2, Ordering::Release);
        RequestInFlight(self.clone())
    }

    /// Bytes came in: on a quiet connection, the next request has started to arrive.
    fn bytes_read(&self) {
        if self.open.load(Ordering::Acquire) == 0 {
            let mut quiet = self.quiet.lock();
            quiet.first_byte.get_or_insert_with(Instant::now);
        }
    }

    /// How long the connection may still stay without a request before it is closed; `None`
    /// while a request is in flight.
    fn quiet_left(&self, limits: &ConnectionLimits) -> Option<Duration> {
        if self.open.load(Ordering::Acquire) > 0 {
            return None;
        }
        let quiet = *self.quiet.lock();
        if !self.served_any.load(Ordering::Acquire) {
            return Some(limits.header_read_timeout.saturating_sub(quiet.since.elapsed()));
        }
        let idle_left = limits.idle_timeout.saturating_sub(quiet.since.elapsed());
        // HTTP/2 sends frames (pings, settings) between requests; only HTTP/1 bytes are a request.
        match quiet.first_byte {
            Some(first) if !self.http2.load(Ordering::Acquire) => {
                Some(idle_left.min(limits.header_read_timeout.saturating_sub(first.elapsed())))
            }
            _ => Some(idle_left),
        }
    }
}

/// Held from a request's arrival until its response body is done (or dropped).
struct RequestInFlight(Arc<Activity>);

impl Drop for RequestInFlight {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.0.quiet.lock() = Quiet { since: Instant::now(), first_byte: None };
        }
    }
}

/// The connection's socket, telling its [`Activity`] when bytes arrive.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The application, seen once per connection: marks requests in flight and hands each its
/// [`ConnectionControl`]. hyper clones it for every request, so the application is called on that
/// fresh copy rather than cloned once more.
#[derive(Clone)]
struct Tracked<S> {
    app: S,
    activity: Arc<Activity>,
    control: ConnectionControl,
}

impl<S> Service<Request<hyper::body::Incoming>> for Tracked<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.app.poll_ready(cx)
    }

    fn call(&mut self, request: Request<hyper::body::Incoming>) -> Self::Future {
        let in_flight = self.activity.begin(request.version() == http::Version::HTTP_2);
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(self.control.clone());
        let answer = self.app.call(request);
        Box::pin(async move {
            let response = answer.await?;
            Ok(response.map(|body| Body::new(HoldWhileStreaming::new(body, in_flight))))
        })
    }
}

/// Serves `app` on `listener` until `stop` is cancelled, then lets in-flight requests finish
/// (each connection for up to [`CLOSE_GRACE`]).
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: ConnectionLimits,
    transport: &'static str,
    stop: CancellationToken,
) where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Header deadlines are kept by this loop (see the module doc): hyper's own starts with the
    // idle wait and would cut every kept-alive connection at `header_read_timeout`.
    builder.http1().timer(TokioTimer::new()).header_read_timeout(None).keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_streams_per_connection)
        .keep_alive_interval(limits.keepalive_interval)
        .keep_alive_timeout(limits.keepalive_timeout)
        .max_header_list_size(64 * 1024);
    if limits.http2_only {
        builder = builder.http2_only();
    }
    let builder = Arc::new(builder);
    let open = metrics::gauge!("gateway_connections_open", "transport" => transport);
    let refused = metrics::counter!("gateway_connections_refused_total", "transport" => transport);
    let connections = tokio_util::task::TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(transport, %error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refused.increment(1);
            drop(stream);
            continue;
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
        let activity = Arc::new(Activity::new());
        let control = ConnectionControl::new();
        let service = Tracked { app: app.clone(), activity: activity.clone(), control: control.clone() };
        let (builder, limits, stop, open) = (builder.clone(), limits.clone(), stop.clone(), open.clone());
        connections.spawn(async move {
            open.increment(1.0);
            let connection = builder.serve_connection_with_upgrades(
                TokioIo::new(Watched { stream, activity: activity.clone() }),
                TowerToHyperService::new(service),
            );
            tokio::pin!(connection);
            let mut closing: Option<Instant> = None;
            loop {
                let check = match (closing, activity.quiet_left(&limits)) {
                    (Some(since), _) => since + CLOSE_GRACE,
                    // Looked at again within a header timeout: a request may start arriving.
                    (None, Some(left)) => Instant::now() + left.min(limits.header_read_timeout),
                    (None, None) => Instant::now() + limits.idle_timeout.min(limits.header_read_timeout),
                };
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(error) = result {
                            tracing::debug!(transport, %error, "connection ended with an error");
                        }
                        break;
                    }
                    () = control.aborted() => break,
                    () = stop.cancelled(), if closing.is_none() => {
                        connection.as_mut().graceful_shutdown();
                        closing = Some(Instant::now());
                    }
                    () = tokio::time::sleep_until(check) => {
                        match closing {
                            Some(_) => break,
                            // Nothing in flight: HTTP/2 is told to go away (GOAWAY); HTTP/1,
                            // possibly mid-way through trickled headers, is simply dropped.
                            None if activity.quiet_left(&limits).is_some_and(|left| left.is_zero()) => {
                                if !activity.http2.load(Ordering::Acquire) {
                                    break;
                                }
                                connection.as_mut().graceful_shutdown();
                                closing = Some(Instant::now());
                            }
                            None => {}
                        }
                    }
                }
            }
            open.decrement(1.0);
            drop(slot);
        });
    }
    connections.close();
    connections.wait().await;
}
