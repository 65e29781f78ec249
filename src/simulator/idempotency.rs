//! `MS-RequestId` replay. Partner Center: a call that timed out is retried with the same
//! `MS-RequestId` and must not be processed twice. For POST, PUT and PATCH with that header the
//! simulator remembers (partner tenant, MS-RequestId, method, path) → the completed response
//! (status, headers such as `Location`, body) and answers a repeat with it instead of processing
//! again. A repeat that arrives while the first is still being processed waits for it.
//!
//! 5xx and 429 answers are not remembered: retrying those with the same id is what a client is
//! told to do. Entries are forgotten a day (simulated clock) after they were written.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, SystemTime},
};

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::sync::watch;

use super::{SimState, aad::PartnerTenant, wire};

/// How long a response is kept for replays.
const KEEP_FOR: Duration = Duration::from_secs(24 * 3600);
/// Simulator answers are small; anything larger is not buffered for replay.
const MAX_BODY: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    partner_tenant: String,
    request_id: String,
    method: Method,
    path: String,
}

#[derive(Clone)]
struct Stored {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    at: SystemTime,
}

impl Stored {
    fn to_response(&self) -> Response {
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

enum Entry {
    /// Being processed; the receiver sees its sender dropped when the first attempt is over.
    InFlight(watch::Receiver<()>),
    Done(Stored),
}

#[derive(Default)]
pub struct IdempotencyState {
    entries: HashMap<Key, Entry>,
}

impl IdempotencyState {
    fn forget_old(&mut self, now: SystemTime) {
        self.entries.retain(|_, entry| match entry {
            Entry::InFlight(_) => true,
            Entry::Done(stored) => stored.at.checked_add(KEEP_FOR).is_some_and(|until| until > now),
        });
    }
}

/// Removes the in-flight mark when the first attempt ends without a stored answer (including
/// when its future is dropped because the client went away); dropping the sender wakes waiters.
struct InFlightGuard {
    state: Arc<SimState>,
    key: Option<Key>,
    _done: watch::Sender<()>,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut inner = self.state.lock();
            if matches!(inner.idempotency.entries.get(&key), Some(Entry::InFlight(_))) {
                inner.idempotency.entries.remove(&key);
            }
        }
    }
}

/// The middleware (inside the token check, which provides [`PartnerTenant`]).
pub async fn replay(State(state): State<Arc<SimState>>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    if !matches!(method, Method::POST | Method::PUT | Method::PATCH) {
        return next.run(request).await;
    }
    let request_id = request
        .headers()
        .get("MS-RequestId")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty());
    let (Some(request_id), Some(partner)) = (request_id, request.extensions().get::<PartnerTenant>()) else {
        return next.run(request).await;
    };
    let key = Key {
        partner_tenant: partner.tenant_id.to_ascii_lowercase(),
        request_id,
        method,
        path: request.uri().path().to_owned(),
    };
    let sender = loop {
        let waiting = {
            let now = state.now();
            let mut inner = state.lock();
            inner.idempotency.forget_old(now);
            match inner.idempotency.entries.get(&key) {
                Some(Entry::Done(stored)) => return stored.to_response(),
                Some(Entry::InFlight(receiver)) => receiver.clone(),
                None => {
                    let (sender, receiver) = watch::channel(());
                    inner.idempotency.entries.insert(key.clone(), Entry::InFlight(receiver));
                    break sender;
                }
            }
        };
        let mut waiting = waiting;
        // Returns once the first attempt's sender is gone; then look again.
        while waiting.changed().await.is_ok() {}
    };
    let mut guard = InFlightGuard { state: state.clone(), key: Some(key.clone()), _done: sender };
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return wire::error(StatusCode::INTERNAL_SERVER_ERROR, 800003, "The response could not be produced.");
    };
    let status = parts.status;
    if !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS) {
        let stored = Stored { status, headers: parts.headers.clone(), body: body.clone(), at: state.now() };
        state.lock().idempotency.entries.insert(key, Entry::Done(stored));
        guard.key = None;
    }
    drop(guard);
    Response::from_parts(parts, Body::from(body)).into_response()
}
