//! [`Around`]: an async function wrapped once around a whole application (REST's request
//! context, gRPC's admission).
//!
//! axum's `Router::layer(from_fn(..))` wraps every route in its own copy of the layer, and each
//! call clones and boxes the rest of the stack behind it. Wrapped around the router instead, a
//! request clones the application once (a few reference counts) and boxes at most the future
//! `around` returns.

use std::{
    convert::Infallible,
    future::Future,
    task::{Context, Poll},
};

use axum::{extract::Request, response::Response};
use futures::FutureExt;
use tower::{Service, ServiceExt};

/// Runs `around(request, inner)` for every request; `inner` is the rest of the application,
/// ready to be called.
#[derive(Clone)]
pub struct Around<S, F> {
    inner: S,
    around: F,
}

impl<S, F> Around<S, F> {
    pub fn new(inner: S, around: F) -> Self {
        Self { inner, around }
    }
}

impl<S, F, Fut> Service<Request> for Around<S, F>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone,
    F: FnMut(Request, S) -> Fut,
    Fut: Future<Output = Response>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = futures::future::Map<Fut, fn(Response) -> Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The service made ready above goes with the request; a fresh clone stays for the next.
        let fresh = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, fresh);
        (self.around)(request, ready).map(Ok)
    }
}

/// The rest of the application's answer to `request` (it cannot fail: its error is `Infallible`).
pub async fn answer<S>(inner: S, request: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    match inner.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}
