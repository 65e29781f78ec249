//! The REST pipeline, wrapped once around the whole router.
//!
//! Wrapped around the router rather than each route (see [`Around`]), the request context runs
//! before routing, so it names the operation from its own match of the same route templates
//! ([`RouteTemplates`]) instead of axum's `MatchedPath`.

use std::{
    convert::Infallible,
    panic::AssertUnwindSafe,
    sync::Arc,
    task::{Context, Poll},
};

use axum::{extract::Request, response::Response};
use futures::{FutureExt, future::BoxFuture};
use tower::Service;

use super::cors::CorsPolicy;
use crate::{
    edge::AppState,
    server::around::{self, Around},
};

/// The route templates the operation label is taken from: the OpenAPI document's paths and the
/// documents' own routes, matched as axum matches them (the same `matchit` syntax).
pub struct RouteTemplates(matchit::Router<&'static str>);

impl RouteTemplates {
    pub fn new<'a>(templates: impl IntoIterator<Item = &'a str>) -> Self {
        let mut router = matchit::Router::new();
        for template in templates {
            let template = crate::telemetry::intern(template);
            // A template axum accepted is one matchit accepts: both routers are matchit.
            if let Err(error) = router.insert(template, template) {
                tracing::debug!(template, %error, "route template left out of operation labels");
            }
        }
        Self(router)
    }

    /// The template `path` matches, if any.
    pub fn matched(&self, path: &str) -> Option<&'static str> {
        self.0.at(path).ok().map(|matched| *matched.value)
    }
}

/// The request context (see [`super::middleware::request_context`]) around `inner`, with a panic
/// inside it turned into a 500 problem.
pub fn with_request_context<S>(
    inner: S,
    state: AppState,
    routes: Arc<RouteTemplates>,
) -> Around<S, impl FnMut(Request, S) -> BoxFuture<'static, Response> + Clone>
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    Around::new(inner, move |request: Request, inner: S| {
        let (state, routes) = (state.clone(), routes.clone());
        async move {
            let route = routes.matched(request.uri().path());
            let run = |request| catching_panics(inner, request);
            super::middleware::request_context(&state, route, request, run).await
        }
        .boxed()
    })
}

/// `inner`'s answer, or a 500 problem when it panics (rather than a dropped connection).
async fn catching_panics<S>(inner: S, request: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    match AssertUnwindSafe(around::answer(inner, request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => super::middleware::panic_response(panic),
    }
}

/// Answers a browser's preflight from an origin the policy does not allow with a 403 problem
/// (see [`super::cors::refusal`]); everything else goes to `inner`.
#[derive(Clone)]
pub struct RefuseUnknownOrigins<S> {
    inner: S,
    policy: CorsPolicy,
}

impl<S> RefuseUnknownOrigins<S> {
    pub fn new(inner: S, policy: CorsPolicy) -> Self {
        Self { inner, policy }
    }
}

impl<S> Service<Request> for RefuseUnknownOrigins<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = futures::future::Either<std::future::Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match super::cors::refusal(&self.policy, &request) {
            Some(refused) => futures::future::Either::Left(std::future::ready(Ok(refused))),
            None => futures::future::Either::Right(self.inner.call(request)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_route_names_itself() {
        let document = super::super::openapi();
        let templates: Vec<&str> = document.paths.paths.keys().map(String::as_str).collect();
        let routes = RouteTemplates::new(templates.iter().copied());
        for template in &templates {
            // Each parameter replaced by a value, as a caller sends it.
            let path: String = template
                .split('/')
                .map(|segment| if segment.starts_with('{') { "x-1" } else { segment })
                .collect::<Vec<_>>()
                .join("/");
            assert_eq!(routes.matched(&path), Some(*template), "{path}");
        }
        assert_eq!(routes.matched("/v1/nothing-here"), None);
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_500_problem_that_keeps_its_text_to_itself() {
        let panics = tower::service_fn(|_: Request| async move {
            if true {
                panic!("secret-token-123 leaked into a panic");
            }
            Ok::<Response, Infallible>(Response::default())
        });
        let response = catching_panics(panics, Request::new(axum::body::Body::empty())).await;
        assert_eq!(response.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024).await.expect("a body");
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains("secret-token-123"), "{text}");
    }
}
