//! Invoices, statements and reconciliation line items (partner-wide).

use axum::{
    Json,
    body::Body,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::{Items, PageQuery, page_request},
    extract::AppQuery,
    paths::InvoicePath,
    problem::{ProblemResponses, StateResponses},
};
use crate::{
    auth::Caller,
    context::RequestContext,
    edge::{AppState, REST_FIELDS},
    error::{Error, Result},
    model::{
        CurrencyCode, Page, PageRequest,
        billing::{
            Invoice, InvoiceEstimateLink, InvoiceLineItem, InvoiceRef, InvoiceSummary, LineItemArgs, LineItemQuery,
        },
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_invoices))
        .routes(routes!(summaries))
        .routes(routes!(estimate_links))
        .routes(routes!(get_invoice))
        .routes(routes!(statement))
        .routes(routes!(line_items))
        .routes(routes!(unbilled_line_items))
}

/// Invoices of the partner, newest first.
///
/// Partner-wide: needs `customers: "*"` and `invoices.read`.
#[utoipa::path(get, path = "/v1/invoices", tag = "invoices", params(PageQuery),
    responses((status = 200, description = "A page of invoices", body = Page<Invoice>), ProblemResponses))]
async fn list_invoices(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    AppQuery(query): AppQuery<PageQuery>,
) -> Result<Json<Page<Invoice>>> {
    Ok(Json(state.facade.list_invoices(&ctx, &caller, &query.parse()?).await?))
}

/// The account balance per currency.
#[utoipa::path(get, path = "/v1/invoices/summaries", tag = "invoices",
    responses((status = 200, description = "One summary per currency", body = Items<InvoiceSummary>), ProblemResponses))]
async fn summaries(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
) -> Result<Json<Items<InvoiceSummary>>> {
    Ok(Json(Items { items: state.facade.invoice_summaries(&ctx, &caller).await? }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CurrencyQuery {
    /// Three-letter currency code, e.g. USD.
    #[param(required = true, pattern = r"^[A-Za-z]{3}$")]
    currency_code: Option<String>,
}

/// Where the current and previous unbilled line items can be read (this gateway's queries).
#[utoipa::path(get, path = "/v1/invoices/estimate-links", tag = "invoices", params(CurrencyQuery),
    responses((status = 200, description = "Estimate links", body = Items<InvoiceEstimateLink>), ProblemResponses))]
async fn estimate_links(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    AppQuery(query): AppQuery<CurrencyQuery>,
) -> Result<Json<Items<InvoiceEstimateLink>>> {
    let currency = query.currency_code.ok_or_else(|| Error::invalid_field("currencyCode", "is required"))?;
    let currency = CurrencyCode::parse("currencyCode", &currency)?;
    Ok(Json(Items { items: state.facade.estimate_links(&ctx, &caller, &currency).await? }))
}

/// One invoice.
#[utoipa::path(get, path = "/v1/invoices/{invoiceId}", tag = "invoices",
    params(InvoicePath),
    responses((status = 200, description = "The invoice", body = Invoice), ProblemResponses))]
async fn get_invoice(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    InvoicePath { invoice }: InvoicePath,
) -> Result<Json<Invoice>> {
    Ok(Json(state.facade.get_invoice(&ctx, &caller, &invoice).await?))
}

/// The invoice statement as a PDF, streamed.
#[utoipa::path(get, path = "/v1/invoices/{invoiceId}/statement", tag = "invoices",
    params(InvoicePath),
    responses((status = 200, description = "The PDF", content_type = "application/pdf", body = Vec<u8>), ProblemResponses))]
async fn statement(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    InvoicePath { invoice }: InvoicePath,
) -> Result<Response> {
    let statement = state.facade.invoice_statement(&ctx, &caller, &invoice).await?;
    let mut response = Body::from_stream(statement.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&statement.content_type).unwrap_or(HeaderValue::from_static("application/pdf")),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", statement.file_name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Some(length) = statement.content_length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    Ok(response)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct LineItemsQuery {
    /// office, azure or onetime.
    #[param(required = true, pattern = r"^([Oo]ffice|[Aa]zure|[Oo]ne_?[Tt]ime)$")]
    provider: Option<String>,
    /// billing_line_items or usage_line_items.
    #[param(required = true, rename = "type", pattern = r"^([Bb]illing|[Uu]sage)_?([Ll]ine_?[Ii]tems)?$")]
    r#type: Option<String>,
    /// Three-letter currency code; required for onetime.
    #[param(pattern = r"^[A-Za-z]{3}$")]
    currency_code: Option<String>,
    /// current or previous; required for unbilled items.
    #[param(pattern = r"^([Cc]urrent|[Pp]revious)$")]
    period: Option<String>,
    /// Items per page; 0 or absent: the default (100); above the maximum (1000): the maximum.
    #[param(value_type = Option<i32>, minimum = 0)]
    page_size: Option<String>,
    page_token: Option<String>,
}

impl LineItemsQuery {
    fn parse(&self, unbilled: bool) -> Result<(LineItemQuery, PageRequest)> {
        let args = LineItemArgs {
            provider: self.provider.as_deref(),
            line_item_type: self.r#type.as_deref(),
            currency_code: match self.currency_code.as_deref() {
                Some("") => return Err(Error::invalid_field("currencyCode", "must be a three-letter currency code")),
                other => other,
            },
            // An empty `period` is no period over gRPC (proto3's default), but a REST caller who
            // sends `period=` sent a value that is neither current nor previous.
            period: match self.period.as_deref() {
                Some("") => return Err(Error::invalid_field("period", "must be current or previous")),
                other => other,
            },
        };
        let query = LineItemQuery::parse(&args, &REST_FIELDS.line_items, unbilled)?;
        let page = page_request(self.page_size.as_deref(), self.page_token.clone())?;
        Ok((query, page))
    }
}

/// Billed reconciliation line items of an invoice, in Partner Center's own shape per kind.
#[utoipa::path(get, path = "/v1/invoices/{invoiceId}/line-items", tag = "invoices",
    params(InvoicePath, LineItemsQuery),
    responses((status = 200, description = "A page of line items", body = Page<InvoiceLineItem>), ProblemResponses, StateResponses))]
async fn line_items(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    InvoicePath { invoice }: InvoicePath,
    AppQuery(query): AppQuery<LineItemsQuery>,
) -> Result<Json<Page<InvoiceLineItem>>> {
    let invoice = InvoiceRef::Billed(invoice);
    let (query, page) = query.parse(false)?;
    Ok(Json(state.facade.invoice_line_items(&ctx, &caller, &invoice, &query, &page).await?))
}

/// Unbilled line items of the current or previous period (onetime only).
#[utoipa::path(get, path = "/v1/invoices/unbilled/line-items", tag = "invoices", params(LineItemsQuery),
    responses((status = 200, description = "A page of line items", body = Page<InvoiceLineItem>), ProblemResponses, StateResponses))]
async fn unbilled_line_items(
    State(state): State<AppState>,
    caller: Caller,
    ctx: RequestContext,
    AppQuery(query): AppQuery<LineItemsQuery>,
) -> Result<Json<Page<InvoiceLineItem>>> {
    let (query, page) = query.parse(true)?;
    Ok(Json(state.facade.invoice_line_items(&ctx, &caller, &InvoiceRef::Unbilled, &query, &page).await?))
}
