//! The REST edge: axum handlers under `/v1`, the OpenAPI 3.1 document and Swagger UI.
//!
//! Handlers extract and validate, call one facade function, and return JSON or an [`Error`]
//! that `problem` renders as problem+json. Middleware (outermost first): request context and
//! problem finishing, panic catching, body limit.

pub mod agreements;
pub mod billing;
pub mod catalog;
pub mod commerce;
pub mod customers;
pub mod dto;
pub mod exports;
pub mod extract;
pub mod middleware;
pub mod paths;
pub mod problem;
pub mod service;
pub mod subscriptions;
pub mod upgrades;
pub mod usage;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, Method, header},
};
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::{
    config::{CorsSettings, LimitSettings},
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

/// CORS for the configured origins (none: no CORS headers at all).
fn cors(settings: &CorsSettings) -> Option<CorsLayer> {
    if settings.allowed_origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> =
        settings.allowed_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("x-locale"),
                HeaderName::from_static("traceparent"),
            ])
            .expose_headers([header::RETRY_AFTER, header::CONTENT_DISPOSITION, HeaderName::from_static("x-request-id")])
            .max_age(settings.max_age),
    )
}

/// The complete REST application.
pub fn router(state: AppState, body_limit: usize, cors_settings: &CorsSettings, limits: &LimitSettings) -> Router {
    let (api, openapi) = api().split_for_parts();
    let swagger = SwaggerUi::new("/swagger-ui")
        .url("/openapi.json", openapi)
        .config(utoipa_swagger_ui::Config::default().validator_url("none"));
    api.merge(swagger)
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        // A body trickled in slowly must not hold its slots: it has this long, in all.
        .layer(tower_http::timeout::RequestBodyDeadlineLayer::new(limits.request_body_timeout))
        // A panic becomes a 500 problem, not a dropped connection.
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        // Outermost: ids, deadline and the final problem+json for every error, the layers' own included.
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::request_context))
        // Browsers' preflights are answered before anything else (and need no token).
        .layer(tower::util::option_layer(cors(cors_settings)))
        .with_state(state)
}
