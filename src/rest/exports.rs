//! Billing exports (Microsoft Graph's reconciliation API v2), partner-wide: `customers: "*"` plus
//! `invoices.read` (reconciliation) or `usage.read` (usage).

use axum::{
    Json,
    body::Body,
    extract::{FromRequestParts, RawPathParams, State},
    http::{HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use utoipa::{
    IntoParams, ToSchema,
    openapi::{
        Required,
        path::{Parameter, ParameterBuilder, ParameterIn},
        schema::{ObjectBuilder, Type},
    },
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::{PageQuery, page_request},
    extract::{AppJson, AppQuery},
    problem::{ProblemResponses, StateResponses},
};
use crate::{
    auth::Caller,
    context::RequestContext,
    edge::AppState,
    error::{Error, Result},
    model::{
        Page,
        exports::{BillingExport, ExportArgs, ExportFields, ExportId, ExportLineItem, ExportRequest},
    },
};

pub const EXPORT_FIELDS: ExportFields = ExportFields {
    kind: "kind",
    invoice_id: "invoiceId",
    billing_period: "billingPeriod",
    currency_code: "currencyCode",
    attribute_set: "attributeSet",
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_export))
        .routes(routes!(get_export))
        .routes(routes!(line_items))
        .routes(routes!(line_items_ndjson))
}

/// What to export. Billed kinds name an invoice; unbilled kinds a billing period and currency.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartExportBody {
    /// `billedReconciliation`, `unbilledReconciliation`, `billedUsage` or `unbilledUsage`.
    #[schema(example = "billedReconciliation")]
    kind: Option<String>,
    /// The invoice (billed kinds only), e.g. `G000024135`.
    invoice_id: Option<String>,
    /// `current` or `last` (unbilled kinds only; v1's `previous` is `last`).
    billing_period: Option<String>,
    /// Three-letter currency code (unbilled kinds only).
    currency_code: Option<String>,
    /// `full` (default) or `basic`: which attributes each line item carries.
    attribute_set: Option<String>,
}

fn retry_after(export: &BillingExport) -> Option<HeaderValue> {
    export.retry_after_seconds.map(HeaderValue::from)
}

/// Start a billing export.
///
/// Asks Microsoft to prepare the line items and answers at once with the export's id and
/// `Location`; poll that until its status is `succeeded`, then read the line items. Partner-wide:
/// needs `customers: "*"` and `invoices.read` (reconciliation) or `usage.read` (usage).
#[utoipa::path(post, path = "/v1/billing/exports", tag = "billing-exports", request_body = StartExportBody,
    responses(
        (status = 202, description = "The export started", body = BillingExport,
            headers(("Location" = String, description = "/v1/billing/exports/{exportId}"),
                    ("Retry-After" = u64, description = "Seconds to wait before polling"))),
        ProblemResponses))]
async fn start_export(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    AppJson(body): AppJson<StartExportBody>,
) -> Result<Response> {
    let args = ExportArgs {
        kind: body.kind.as_deref(),
        invoice_id: body.invoice_id.as_deref(),
        billing_period: body.billing_period.as_deref(),
        currency_code: body.currency_code.as_deref(),
        attribute_set: body.attribute_set.as_deref(),
    };
    let export = state.facade.start_export(&ctx, &caller, ExportRequest::parse(&args, &EXPORT_FIELDS)).await?;
    let mut response = (StatusCode::ACCEPTED, Json(&export)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/billing/exports/{}", export.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if let Some(wait) = retry_after(&export) {
        response.headers_mut().insert(header::RETRY_AFTER, wait);
    }
    Ok(response)
}

/// `{exportId}`, checked for shape before anything else (a bad one is 400 naming `exportId`).
struct ExportPath(ExportId);

impl<S: Send + Sync> FromRequestParts<S> for ExportPath {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| Error::invalid_field("path", e.body_text()))?;
        let raw = params
            .iter()
            .find_map(|(key, value)| (key == "exportId").then_some(value))
            .ok_or_else(|| Error::internal("route without the path parameter exportId"))?;
        ExportId::parse("exportId", raw).map(Self)
    }
}

impl IntoParams for ExportPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("^[A-Za-z0-9_-]{{1,{}}}$", ExportId::MAX_LEN)));
        vec![
            ParameterBuilder::new()
                .name("exportId")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("The export id `POST /v1/billing/exports` returned (opaque)."))
                .schema(Some(schema))
                .build(),
        ]
    }
}

/// A billing export's status.
///
/// `running` (with `Retry-After`), `succeeded` (read the line items), or `failed` (with
/// Microsoft's error; start a new export). The gateway polls Microsoft no more often than
/// Microsoft's `Retry-After` allows, so polling this often is cheap.
#[utoipa::path(get, path = "/v1/billing/exports/{exportId}", tag = "billing-exports", params(ExportPath),
    responses(
        (status = 200, description = "The export", body = BillingExport,
            headers(("Retry-After" = u64, description = "Running exports: seconds until it is worth asking again"))),
        ProblemResponses))]
async fn get_export(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    ExportPath(id): ExportPath,
) -> Result<Response> {
    let export = state.facade.get_export(&ctx, &caller, &id).await?;
    let mut response = Json(&export).into_response();
    if let Some(wait) = retry_after(&export) {
        response.headers_mut().insert(header::RETRY_AFTER, wait);
    }
    Ok(response)
}

/// A page of a billing export's line items.
///
/// Waits (within the request's timeout) for a running export to finish. `nextPageToken` records
/// the file and line where the next page starts; see docs/billing-exports.md for what resuming
/// costs.
#[utoipa::path(get, path = "/v1/billing/exports/{exportId}/line-items", tag = "billing-exports", operation_id = "export_line_items",
    params(ExportPath, PageQuery),
    responses((status = 200, description = "A page of line items", body = Page<ExportLineItem>), ProblemResponses, StateResponses))]
async fn line_items(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    ExportPath(id): ExportPath,
    AppQuery(query): AppQuery<PageQuery>,
) -> Result<Json<Page<ExportLineItem>>> {
    let page = page_request(query.page_size.as_deref(), query.page_token.clone())?;
    Ok(Json(state.facade.export_line_items(&ctx, &caller, &id, &page).await?))
}

/// Every line item of a billing export, streamed as NDJSON.
///
/// One JSON object per line (`application/x-ndjson`), in order, read from Microsoft's files as
/// the client reads: a slow client slows the download. A failure after the first byte ends the
/// body early (the last line then lacks its newline).
#[utoipa::path(get, path = "/v1/billing/exports/{exportId}/line-items.ndjson", tag = "billing-exports", operation_id = "export_line_items_ndjson",
    params(ExportPath),
    responses((status = 200, description = "The line items, one JSON object per line", content_type = "application/x-ndjson", body = ExportLineItem),
        ProblemResponses, StateResponses))]
async fn line_items_ndjson(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    ExportPath(id): ExportPath,
) -> Result<Response> {
    let stream = state.facade.export_ndjson(&ctx, &caller, &id).await?;
    let mut response = Body::from_stream(stream).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    Ok(response)
}
