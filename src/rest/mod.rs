//! The REST edge: axum handlers under `/v1`, the OpenAPI 3.1 document and Swagger UI.
//!
//! Handlers extract and validate, call one facade function, and return JSON or an [`Error`]
//! that `problem` renders as problem+json. The `pipeline` around the whole router (outermost first):
//! preflight refusal and CORS, request context and problem finishing (panics caught), body
//! deadline and limit.

pub mod agreements;
pub mod billing;
pub mod catalog;
pub mod commerce;
pub mod cors;
pub mod customers;
pub mod dto;
pub mod exports;
pub mod extract;
pub mod middleware;
pub mod paths;
pub mod pipeline;
pub mod problem;
pub mod service;
pub mod subscriptions;
pub mod upgrades;
pub mod usage;

use std::{convert::Infallible, sync::Arc};

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    http::{HeaderValue, header},
    response::Response,
};
use tower::{Layer, Service};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::{
    config::{Environment, Settings},
    edge::AppState,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Partner Center Gateway",
        description = "Tenant-scoped access to Microsoft Partner Center: customers, catalog, Azure plans, subscriptions, usage and invoices. \
                       Every operation needs a bearer token whose `customers` claim grants the customer and whose `scp`/`roles` grant the permission. \
                       Errors are RFC 9457 problem details. Lists take `pageSize` and `pageToken` and return `nextPageToken`.",
        license(name = "MIT", identifier = "MIT")
    ),
    // Relative to where the document is served, so Swagger UI's "Try it out" also works when a
    // reverse proxy serves the gateway under a path prefix.
    servers((url = ".", description = "This gateway (relative to the document's own URL)")),
    modifiers(&BearerSecurity),
    security(("bearer" = [])),
    components(schemas(
        problem::ProblemDetails,
        crate::error::FieldViolation,
        crate::error::PreconditionViolation,
        crate::model::catalog::TargetView,
        crate::model::catalog::Segment
    )),
    tags(
        (name = "customers", description = "Customers of the partner tenant"),
        (name = "agreements", description = "The Microsoft Customer Agreement"),
        (name = "catalog", description = "Products, SKUs and availabilities (cached)"),
        (name = "orders", description = "Carts, checkout, orders and one-call Azure plan purchase"),
        (name = "subscriptions", description = "Subscriptions, Azure entitlements, suspend and reactivate"),
        (name = "product-upgrades", description = "Transition from MS-AZR-0145P to an Azure plan"),
        (name = "usage", description = "Azure usage estimates and spending budgets"),
        (name = "invoices", description = "Invoices, statements and reconciliation line items (partner-wide)"),
        (name = "billing-exports", description = "New-commerce reconciliation and daily usage as Microsoft Graph billing exports (API v2; partner-wide)"),
        (name = "service", description = "Health and metrics")
    )
)]
struct ApiDoc;

struct BearerSecurity;

impl Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A JWT with `sub`, `partner`, `customers` and `scp` or `roles` claims"))
                    .build(),
            ),
        );
    }
}

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(customers::router())
        .merge(agreements::router())
        .merge(catalog::router())
        .merge(commerce::router())
        .merge(subscriptions::router())
        .merge(upgrades::router())
        .merge(usage::router())
        .merge(billing::router())
        .merge(exports::router())
        .merge(service::router())
}

/// The OpenAPI document (also `partner-center-gateway openapi`, and `openapi/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}

/// A `201 Created` answer: the body, and `Location` pointing at what was created.
pub(crate) fn created(location: &str, body: impl serde::Serialize) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = (axum::http::StatusCode::CREATED, axum::Json(body)).into_response();
    // Built from parsed ids only, so always a valid header value.
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Swagger UI at `/swagger-ui/`, reading the document from `../openapi.json`: relative, so both
/// keep working behind a reverse proxy that serves the gateway under a path prefix.
fn swagger_ui() -> Router<AppState> {
    let config = utoipa_swagger_ui::Config::new(["../openapi.json"]).validator_url("none").persist_authorization(true);
    Router::from(SwaggerUi::new("/swagger-ui").config(config)).layer(axum::middleware::map_response(
        |mut response: axum::response::Response| async move {
            // `/swagger-ui` redirects to `/swagger-ui/`; relative, so a path prefix survives.
            if response.status().is_redirection()
                && response.headers().get(header::LOCATION).is_some_and(|l| l == "/swagger-ui/")
            {
                response.headers_mut().insert(header::LOCATION, HeaderValue::from_static("swagger-ui/"));
            }
            response
        },
    ))
}

/// The complete REST application: the routes, and around them (outermost first) refusal of
/// unknown origins' preflights, CORS, the request context (with panic catching), the body
/// deadline and the body limit, wrapped once around the whole router (see [`pipeline`]).
pub fn router(
    state: AppState,
    settings: &Settings,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send + 'static> + Clone + Send + Sync + 'static
{
    let (mut app, openapi) = api().split_for_parts();
    let mut templates: Vec<String> = openapi.paths.paths.keys().cloned().collect();
    if settings.rest.openapi_json {
        // Rendered once; the document never changes while the process runs.
        let document = openapi.to_json().unwrap_or_default();
        app = app.route(
            "/openapi.json",
            axum::routing::get(move || {
                std::future::ready(([(header::CONTENT_TYPE, "application/json")], document.clone()))
            }),
        );
        templates.push("/openapi.json".to_owned());
    }
    if settings.rest.swagger_ui {
        app = app.merge(swagger_ui());
        templates.extend(["/swagger-ui", "/swagger-ui/", "/swagger-ui/{*rest}"].map(str::to_owned));
    }
    let routes = Arc::new(pipeline::RouteTemplates::new(templates.iter().map(String::as_str)));
    let limits = &settings.limits;
    let body_limit = settings.rest.body_limit_bytes;
    let development = settings.environment == Environment::Development;
    let policy = cors::CorsPolicy::new(&settings.cors, settings.cors_allows_localhost(), development);
    let app = app
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .with_state(state.clone());
    let inner = tower::ServiceBuilder::new()
        // A body trickled in slowly must not hold its slots: it has this long, in all.
        .layer(tower_http::timeout::RequestBodyDeadlineLayer::new(limits.request_body_timeout))
        .layer(axum::Extension(extract::BodyLimit(body_limit)))
        .layer(DefaultBodyLimit::max(body_limit))
        .service(app);
    // Ids, deadline, panics caught, and the final problem+json for every error, the layers' own
    // included.
    let with_context = pipeline::with_request_context(inner, state, routes);
    // Browsers' preflights are answered before anything else (and need no token); one from an
    // origin that may not call hears which setting would allow it.
    let cors = tower::util::option_layer(policy.layer(settings.cors.max_age)).layer(with_context);
    pipeline::RefuseUnknownOrigins::new(cors, policy)
}
