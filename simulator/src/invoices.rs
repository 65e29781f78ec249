//! Invoices and reconciliation (I1–I9): the partner's invoices, estimate links, the statement PDF,
//! summaries per currency, and billed/unbilled line items in the three documented paging styles.
//!
//! Invoices and line items come from [`billing_data`]: nothing is stored per item, a page is
//! generated when it is asked for. Seek paging (OneTime provider) uses signed, self-contained
//! continuation tokens, so memory does not grow with the pages served either.
//!
//! Codes chosen where the docs are silent:
//! - unknown invoice: 404/1000 (the general "not found");
//! - provider/type combination that does not exist, or a provider the invoice does not have:
//!   400/3000 ("invalid property"); a provider or type value that is not one at all: 400/900126
//!   ("enum value could not be parsed");
//! - missing required parameter, bad `size`/`offset`/`currencycode`: 400/3000;
//! - bad or foreign continuation token: 400/400, as the customer list answers it.

use std::{convert::Infallible, sync::Arc};

use axum::{
    Extension, Json, Router,
    body::{Body, Bytes},
    extract::{Path, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};

use super::{
    SimState,
    aad::PartnerTenant,
    billing_data::{
        self as data, Cursor, InvoiceSpec, InvoiceType, LINE_ITEM_PAGE_MAX, LineKind, LineScope, NO_DATE, Period,
        add_days, iso, link, num, param, query_pairs, round2,
    },
    wire::{self, PcError},
};

/// `GET /v1/invoices` page size when none is given (the docs' example asks for 200) and the most
/// we serve in one page: our choice, the docs are silent.
pub const INVOICE_PAGE_DEFAULT: usize = 200;
pub const INVOICE_PAGE_MAX: usize = 1000;
/// Bytes per chunk of the streamed statement PDF.
const PDF_CHUNK: usize = 256;

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/v1/invoices", get(list))
        // Static segments win over `{invoice_id}`.
        .route("/v1/invoices/summaries", get(summaries))
        .route("/v1/invoices/estimates/links", get(estimate_links))
        .route("/v1/invoices/{invoice_id}", get(get_one))
        .route("/v1/invoices/{invoice_id}/documents/statement", get(statement))
        // `/v1/invoices/unbilled/lineitems` (I7, I9) is this route with `invoice_id` = `unbilled`.
        .route("/v1/invoices/{invoice_id}/lineitems", get(line_items))
        .route("/v1/invoices/{invoice_id}/lineitems/{provider}/{line_item_type}", get(line_items_by_path))
}

fn not_found(id: &str) -> PcError {
    PcError::new(StatusCode::NOT_FOUND, 1000, format!("Invoice {id} was not found."))
}

fn bad_request(description: impl Into<String>) -> PcError {
    PcError::new(StatusCode::BAD_REQUEST, 3000, description)
}

// ---------------------------------------------------------------------------------------------
// Invoices (I1, I3).

fn invoice_wire(invoice: &InvoiceSpec, by_id: bool) -> Value {
    let kind = invoice.invoice_type.wire();
    let id = &*invoice.id;
    let details: Vec<Value> = invoice
        .lines
        .iter()
        .map(|(line, _)| {
            json!({
                "invoiceLineItemType": line.line_type_wire(),
                "billingProvider": line.provider_wire(),
                "links": { "self": link(&format!("/invoices/{kind}-{id}/lineitems/{}", line.path_segments())) },
                "attributes": { "objectType": "InvoiceDetail" }
            })
        })
        .collect();
    let amendments: Vec<Value> = invoice
        .amendment
        .iter()
        .map(|a| {
            let first = invoice.lines.first().map_or(LineKind::OfficeBilling, |(line, _)| *line);
            json!({
                "id": a.id,
                "invoiceDate": iso(a.invoice_date),
                "totalCharges": num(a.total_charges),
                "paidAmount": 0,
                "currencyCode": invoice.currency,
                "currencySymbol": invoice.currency_symbol,
                "invoiceDetails": [{
                    "invoiceLineItemType": first.line_type_wire(),
                    "billingProvider": first.provider_wire(),
                    "attributes": { "objectType": "InvoiceDetail" }
                }],
                "documentType": "adjustment_note",
                "amendsOf": id,
                "invoiceType": kind,
                "attributes": { "objectType": "Invoice" }
            })
        })
        .collect();
    let mut value = json!({
        "id": id,
        "invoiceDate": iso(invoice.invoice_date),
        "totalCharges": num(invoice.total_charges),
        "paidAmount": num(invoice.paid_amount),
        "currencyCode": invoice.currency,
        "currencySymbol": invoice.currency_symbol,
        // The table says only get-by-id fills it; the list example has it too, so both do.
        "pdfDownloadLink": format!("/invoices/{id}/documents/statement"),
        "taxReceipts": [],
        "invoiceDetails": details,
        "documentType": "invoice",
        "invoiceType": kind,
        "links": { "self": link(&format!("/invoices/{kind}-{id}")) },
        "attributes": { "objectType": "Invoice" }
    });
    // Like the examples, only invoices that have amendments list them.
    if !amendments.is_empty() {
        value["amendments"] = json!(amendments);
    }
    if by_id {
        value["billingPeriodStartDate"] = json!(iso(invoice.period_start));
        value["billingPeriodEndDate"] = json!(iso(invoice.period_end));
    }
    value
}

/// I1 (app-only allowed): offset paging, newest first.
async fn list(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PcError> {
    let query = query_pairs(raw.as_deref());
    let size = data::page_size(&query, INVOICE_PAGE_DEFAULT, INVOICE_PAGE_MAX)?;
    let offset = data::page_offset(&query)?;
    let invoices = data::invoices_of(&partner.tenant_id, state.now());
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(invoices.len());
    let page = &invoices[start..invoices.len().min(start.saturating_add(size))];
    let items = page.iter().map(|i| invoice_wire(i, false)).collect();
    let next_offset = start + page.len();
    let next = (next_offset < invoices.len()).then(|| link(&format!("/invoices?size={size}&offset={next_offset}")));
    Ok(Json(wire::collection(items, &format!("/invoices?size={size}&offset={offset}"), next)).into_response())
}

/// I3 (app+user only).
async fn get_one(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path(invoice_id): Path<String>,
) -> Result<Response, PcError> {
    partner.require_app_user()?;
    let invoice = data::invoice(&partner.tenant_id, &invoice_id, state.now()).ok_or_else(|| not_found(&invoice_id))?;
    Ok(Json(invoice_wire(&invoice, true)).into_response())
}

// ---------------------------------------------------------------------------------------------
// Statement (I4).

fn pdf_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

/// A one-page PDF 1.4 naming the invoice, with a correct cross-reference table.
pub fn statement_pdf(invoice: &InvoiceSpec) -> Vec<u8> {
    let title = format!("Invoice {}", invoice.id);
    let lines = [
        format!("Invoice date: {}", iso(invoice.invoice_date)),
        format!("Billing period: {} to {}", iso(invoice.period_start), iso(invoice.period_end)),
        format!("Invoice type: {}", invoice.invoice_type.wire()),
        format!("Total charges: {:.2} {}", invoice.total_charges, invoice.currency),
        format!("Paid amount: {:.2} {}", invoice.paid_amount, invoice.currency),
        format!("Partner: {} ({})", data::PARTNER_NAME, data::INVOICE_PARTNER_TENANT),
        "Generated by the Partner Center simulator.".to_owned(),
    ];
    let mut content = format!("BT\n/F1 20 Tf\n72 720 Td\n({}) Tj\n/F1 11 Tf\n0 -16 Td", pdf_escape(&title));
    for line in &lines {
        content.push_str(&format!("\n0 -18 Td\n({}) Tj", pdf_escape(line)));
    }
    content.push_str("\nET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
            .to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        format!("<< /Title ({}) /Producer (partner-center-gateway simulator) >>", pdf_escape(&title)),
    ];
    let mut pdf: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (n, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", n + 1).as_bytes());
    }
    let xref = pdf.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        tail.push_str(&format!("{offset:010} 00000 n \n"));
    }
    tail.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R /Info {} 0 R >>\nstartxref\n{xref}\n%%EOF",
        objects.len() + 1,
        objects.len()
    ));
    pdf.extend_from_slice(tail.as_bytes());
    pdf
}

/// I4 (app+user only): the statement PDF, streamed in chunks.
async fn statement(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path(invoice_id): Path<String>,
) -> Result<Response, PcError> {
    partner.require_app_user()?;
    let invoice = data::invoice(&partner.tenant_id, &invoice_id, state.now()).ok_or_else(|| not_found(&invoice_id))?;
    let pdf = Bytes::from(statement_pdf(&invoice));
    let length = pdf.len();
    let chunks: Vec<Result<Bytes, Infallible>> =
        (0..length).step_by(PDF_CHUNK).map(|start| Ok(pdf.slice(start..length.min(start + PDF_CHUNK)))).collect();
    let mut response = Response::new(Body::from_stream(futures::stream::iter(chunks)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=Invoice_{}.pdf", invoice.id)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// Summaries (I5) and estimate links (I2).

fn summary_fields(invoices: &[&InvoiceSpec], accounting: &str) -> Value {
    let balance: f64 = invoices
        .iter()
        .map(|i| i.total_charges + i.paid_amount + i.amendment.as_ref().map_or(0.0, |a| a.total_charges))
        .sum();
    let first = invoices.iter().map(|i| i.invoice_date).min();
    let latest = invoices.iter().map(|i| i.invoice_date).max();
    let last_paid = invoices.iter().filter(|i| i.paid_amount != 0.0).max_by_key(|i| i.invoice_date);
    let (currency, symbol) = invoices.first().map_or(("", ""), |i| (i.currency, i.currency_symbol));
    json!({
        "balanceAmount": num(round2(balance)),
        "currencyCode": currency,
        "currencySymbol": symbol,
        "accountingDate": accounting,
        "firstInvoiceCreationDate": first.map_or(NO_DATE.to_owned(), iso),
        // Payments arrive two weeks after the invoice; the amount is reported positive, as in the example.
        "lastPaymentDate": last_paid.map_or(NO_DATE.to_owned(), |i| iso(add_days(i.invoice_date, 14))),
        "lastPaymentAmount": num(last_paid.map_or(0.0, |i| -i.paid_amount)),
        "latestInvoiceDate": latest.map_or(NO_DATE.to_owned(), iso),
    })
}

/// I5 (app+user only): one `InvoiceSummary` per currency, with details per invoice type.
async fn summaries(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
) -> Result<Response, PcError> {
    partner.require_app_user()?;
    let accounting = iso(data::today(state.now()));
    let invoices = data::invoices_of(&partner.tenant_id, state.now());
    let mut currencies: Vec<&str> = Vec::new();
    for invoice in &invoices {
        if !currencies.contains(&invoice.currency) {
            currencies.push(invoice.currency);
        }
    }
    let items = currencies
        .iter()
        .map(|currency| {
            let all: Vec<&InvoiceSpec> = invoices.iter().map(|i| &**i).filter(|i| i.currency == *currency).collect();
            let details: Vec<Value> = [InvoiceType::Recurring, InvoiceType::OneTime]
                .into_iter()
                .filter_map(|kind| {
                    let some: Vec<&InvoiceSpec> = all.iter().copied().filter(|i| i.invoice_type == kind).collect();
                    (!some.is_empty()).then(|| {
                        let mut summary = summary_fields(&some, &accounting);
                        summary["attributes"] = json!({ "objectType": "InvoiceSummary" });
                        json!({ "invoiceType": kind.wire(), "summary": summary })
                    })
                })
                .collect();
            let mut summary = summary_fields(&all, &accounting);
            summary["details"] = json!(details);
            summary["links"] = json!({ "self": link("/invoices/summary") });
            summary["attributes"] = json!({ "objectType": "InvoiceSummary" });
            summary
        })
        .collect();
    Ok(Json(wire::collection(items, "/invoices/summaries", None)).into_response())
}

/// `currencycode` if present: three ASCII letters, upper-cased.
fn currency_param(query: &[(String, String)]) -> Result<Option<String>, PcError> {
    match param(query, "currencyCode") {
        None => Ok(None),
        Some(code) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Ok(Some(code.to_ascii_uppercase()))
        }
        Some(_) => Err(bad_request("The currencyCode parameter must be a three-letter ISO 4217 code.")),
    }
}

fn period_param(query: &[(String, String)]) -> Result<Option<Period>, PcError> {
    match param(query, "period") {
        None => Ok(None),
        Some(value) => Period::parse(value)
            .map(Some)
            .ok_or_else(|| PcError::new(StatusCode::BAD_REQUEST, 900126, "The value of period could not be parsed.")),
    }
}

/// I2 (app-only allowed): the four links of the documented example, verbatim but for the
/// currency — consumption as `provider=Marketplace&invoicelineitemtype=UsageLineItems`,
/// reconciliation as `provider=all&invoicelineitemtype=billinglineitems` (both served by
/// [`line_items`] as the OneTime usage and billing items). Like the example, no `links`.
async fn estimate_links(RawQuery(raw): RawQuery) -> Result<Response, PcError> {
    let query = query_pairs(raw.as_deref());
    let currency = currency_param(&query)?.ok_or_else(|| bad_request("The currencyCode parameter is required."))?;
    let mut items = Vec::new();
    for (provider, line_type, kind_type, title, description) in [
        (
            "Marketplace",
            "UsageLineItems",
            "daily_rated_usage",
            "Daily rated usage unbilled",
            "This invoice line items includes unbilled consumption based data only.",
        ),
        (
            "all",
            "billinglineitems",
            "non_consumption",
            "Unbilled reconciliation line items",
            "This includes reconciliation line items for unbilled data only.",
        ),
    ] {
        for period in [Period::Current, Period::Previous] {
            items.push(json!({
                "type": kind_type,
                "title": title,
                "description": description,
                "period": period.title(),
                "link": link(&format!(
                    "/invoices/unbilled/lineitems?provider={provider}&invoicelineitemtype={line_type}&currencycode={currency}&period={}&size={LINE_ITEM_PAGE_MAX}",
                    period.query()
                ))
            }));
        }
    }
    Ok(Json(json!({ "totalCount": items.len(), "items": items, "attributes": { "objectType": "Collection" } }))
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// Line items (I6–I9).

/// The kind a (provider, type) pair asks for. Values are case-insensitive and may be written
/// with underscores (`one_time`, `billing_line_items`). `marketplace` (usage) and `all` (billing)
/// are the aliases the documented estimate links use.
fn line_kind(provider: &str, line_type: &str) -> Result<LineKind, PcError> {
    let normalize = |s: &str| s.chars().filter(|c| *c != '_').collect::<String>().to_ascii_lowercase();
    let unparsable =
        |what: &str| PcError::new(StatusCode::BAD_REQUEST, 900126, format!("The value of {what} could not be parsed."));
    let provider = normalize(provider);
    let usage = match normalize(line_type).as_str() {
        "billinglineitems" => false,
        "usagelineitems" => true,
        _ => return Err(unparsable("invoiceLineItemType")),
    };
    match (provider.as_str(), usage) {
        ("office", false) => Ok(LineKind::OfficeBilling),
        ("azure", false) => Ok(LineKind::AzureBilling),
        ("azure", true) => Ok(LineKind::AzureUsage),
        ("onetime" | "all", false) => Ok(LineKind::OneTimeBilling),
        ("onetime" | "marketplace", true) => Ok(LineKind::OneTimeUsage),
        ("office" | "marketplace" | "all", _) => {
            Err(bad_request("This combination of provider and invoiceLineItemType is not supported."))
        }
        _ => Err(unparsable("provider")),
    }
}

/// I6, I8 (billed) and I7, I9 (`invoice_id` = `unbilled`), query form.
async fn line_items(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path(invoice_id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PcError> {
    let query = query_pairs(raw.as_deref());
    let provider = param(&query, "provider").ok_or_else(|| bad_request("The provider parameter is required."))?;
    let line_type = param(&query, "invoiceLineItemType")
        .ok_or_else(|| bad_request("The invoiceLineItemType parameter is required."))?;
    let kind = line_kind(provider, line_type)?;
    serve_line_items(&state, &partner, &invoice_id, kind, &query, &headers)
}

/// The legacy path form `/v1/invoices/{id}/lineitems/{provider}/{type}`.
async fn line_items_by_path(
    State(state): State<Arc<SimState>>,
    Extension(partner): Extension<PartnerTenant>,
    Path((invoice_id, provider, line_type)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PcError> {
    let query = query_pairs(raw.as_deref());
    let kind = line_kind(&provider, &line_type)?;
    serve_line_items(&state, &partner, &invoice_id, kind, &query, &headers)
}

/// What a continuation token of a line-item collection pins: `lineitems/{invoice}/{kind}/{currency}/{period}`.
struct LineCursorScope {
    invoice: String,
    kind: LineKind,
    currency: Option<String>,
    period: Option<Period>,
}

impl LineCursorScope {
    fn encode(&self) -> String {
        format!(
            "lineitems/{}/{}/{}/{}",
            self.invoice,
            self.kind.tag(),
            self.currency.as_deref().unwrap_or_default(),
            self.period.map_or("", Period::query)
        )
    }

    fn decode(scope: &str) -> Option<Self> {
        let mut parts = scope.split('/');
        if parts.next()? != "lineitems" {
            return None;
        }
        let invoice = parts.next()?.to_owned();
        let kind = LineKind::from_tag(parts.next()?)?;
        let currency = Some(parts.next()?).filter(|c| !c.is_empty()).map(str::to_owned);
        let period = match parts.next()? {
            "" => None,
            p => Some(Period::parse(p)?),
        };
        parts.next().is_none().then_some(Self { invoice, kind, currency, period })
    }
}

fn serve_line_items(
    state: &SimState,
    partner: &PartnerTenant,
    invoice_id: &str,
    kind: LineKind,
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Result<Response, PcError> {
    let mut currency = currency_param(query)?;
    let mut period = period_param(query)?;
    if let Some(flag) = param(query, "hasPartnerEarnedCredit")
        && !flag.eq_ignore_ascii_case("true")
        && !flag.eq_ignore_ascii_case("false")
    {
        // Accepted and validated, but not applied as a filter (the simulator's choice).
        return Err(PcError::new(
            StatusCode::BAD_REQUEST,
            900126,
            "The value of hasPartnerEarnedCredit could not be parsed.",
        ));
    }
    let unbilled = invoice_id.eq_ignore_ascii_case("unbilled");
    let invoice = if unbilled {
        None
    } else {
        Some(data::invoice(&partner.tenant_id, invoice_id, state.now()).ok_or_else(|| not_found(invoice_id))?)
    };
    let canonical_id = invoice.as_ref().map_or("unbilled", |i| &*i.id);

    // On `seekOperation=Next` the token is authoritative: it fills in what the request leaves
    // out, and what the request does say must agree with it.
    let next = data::wants_next(query)?;
    if next && !kind.seek_paged() {
        return Err(bad_request("seekOperation is only supported for the OneTime provider; use offset."));
    }
    let cursor = if next {
        let cursor = data::redeem_header(&state.lock().billing, &partner.tenant_id, headers)?;
        let pinned = LineCursorScope::decode(&cursor.scope).ok_or_else(data::invalid_token)?;
        let agrees = pinned.invoice == canonical_id
            && pinned.kind == kind
            && currency.as_ref().is_none_or(|c| pinned.currency.as_ref() == Some(c))
            && period.is_none_or(|p| pinned.period == Some(p));
        if !agrees {
            return Err(data::invalid_token());
        }
        currency = pinned.currency;
        period = pinned.period;
        Some(cursor)
    } else {
        None
    };

    let (scope, total) = match &invoice {
        None => {
            if !kind.seek_paged() {
                return Err(bad_request("Unbilled line items are only available for the OneTime provider."));
            }
            let code = currency.as_deref().ok_or_else(|| bad_request("The currencyCode parameter is required."))?;
            let when = period.ok_or_else(|| bad_request("The period parameter is required."))?;
            (LineScope::unbilled(code, when, state.now()), data::unbilled_count(&partner.tenant_id, code, when, kind))
        }
        Some(invoice) => {
            let count = invoice.count(kind).ok_or_else(|| {
                bad_request(format!(
                    "Invoice {} has no {} {} line items.",
                    invoice.id,
                    kind.provider_wire(),
                    kind.line_type_wire()
                ))
            })?;
            if kind == LineKind::OneTimeUsage && currency.is_none() {
                return Err(bad_request("The currencyCode parameter is required."));
            }
            // A currency filter other than the invoice's matches nothing (our reading).
            let matches = currency.as_deref().is_none_or(|c| c == invoice.currency);
            (invoice.scope(), if matches { count } else { 0 })
        }
    };

    let mut base = format!(
        "/invoices/{canonical_id}/lineitems?provider={}&invoicelineitemtype={}",
        kind.provider_query(),
        kind.line_type_query()
    );
    if let Some(code) = &currency {
        base.push_str(&format!("&currencycode={code}"));
    }
    if let Some(when) = period {
        base.push_str(&format!("&period={}", when.query()));
    }

    if kind.seek_paged() {
        let (size, offset) = match &cursor {
            Some(cursor) => (cursor.size, cursor.offset),
            None => (data::page_size(query, LINE_ITEM_PAGE_MAX, LINE_ITEM_PAGE_MAX)?, 0),
        };
        let items = data::line_items(&scope, kind, total, offset, size);
        let next_offset = offset + items.len() as u64;
        let first_uri = format!("{base}&size={size}");
        let next_uri = format!("{first_uri}&seekOperation=Next");
        let next_link = (next_offset < total).then(|| {
            let pinned = LineCursorScope { invoice: canonical_id.to_owned(), kind, currency: currency.clone(), period };
            let token = state.lock().billing.issue(&Cursor {
                partner: partner.tenant_id.clone(),
                scope: pinned.encode(),
                size,
                offset: next_offset,
            });
            data::seek_next_link(&next_uri, &token)
        });
        let self_uri = if cursor.is_some() { next_uri.as_str() } else { first_uri.as_str() };
        Ok(Json(wire::collection(items, self_uri, next_link)).into_response())
    } else {
        let size = data::page_size(query, LINE_ITEM_PAGE_MAX, LINE_ITEM_PAGE_MAX)?;
        let offset = data::page_offset(query)?;
        let items = data::line_items(&scope, kind, total, offset, size);
        let next_offset = offset.saturating_add(items.len() as u64);
        let next = (next_offset < total).then(|| link(&format!("{base}&size={size}&offset={next_offset}")));
        Ok(Json(wire::collection(items, &format!("{base}&size={size}&offset={offset}"), next)).into_response())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::{Value, json};

    use crate::{
        billing_data::{self as data, INVOICE_LARGE, INVOICE_LARGE_ITEMS, INVOICE_ONETIME, INVOICE_RECURRING},
        seed,
        testing::TestSim,
    };

    async fn get(sim: &TestSim, token: &str, path: &str) -> (u16, Value) {
        let response = sim.http.get(sim.url(path)).bearer_auth(token).send().await.expect("send");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    fn v1(uri: &str) -> String {
        format!("/v1/{}", uri.trim_start_matches('/'))
    }

    /// Walks a seek-paged collection to the end; checks the link shapes on the way.
    async fn walk_seek(sim: &TestSim, token: &str, first: &str) -> (Vec<Value>, usize) {
        let mut items = Vec::new();
        let mut pages = 0;
        let mut request = sim.http.get(sim.url(first)).bearer_auth(token);
        loop {
            let response = request.send().await.expect("page");
            assert_eq!(response.status(), 200);
            let page: Value = response.json().await.expect("json");
            pages += 1;
            let page_items = page["items"].as_array().expect("items");
            assert_eq!(page["totalCount"].as_u64(), Some(page_items.len() as u64));
            items.extend(page_items.iter().cloned());
            assert!(page["links"]["self"]["uri"].is_string());
            let Some(next) = page["links"].get("next") else {
                break;
            };
            let uri = next["uri"].as_str().expect("uri");
            assert!(uri.contains("seekOperation=Next"), "{uri}");
            assert_eq!(next["method"], "GET");
            assert_eq!(next["headers"][0]["key"], "MS-ContinuationToken");
            let value = next["headers"][0]["value"].as_str().expect("token");
            request = sim.http.get(sim.url(&v1(uri))).bearer_auth(token).header("MS-ContinuationToken", value);
        }
        (items, pages)
    }

    /// Walks an offset-paged collection to the end.
    async fn walk_offset(sim: &TestSim, token: &str, first: &str) -> (Vec<Value>, usize) {
        let mut items = Vec::new();
        let mut pages = 0;
        let mut uri = first.to_owned();
        loop {
            let (status, page) = get(sim, token, &uri).await;
            assert_eq!(status, 200, "{uri}");
            pages += 1;
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            let Some(next) = page["links"].get("next") else {
                break;
            };
            assert_eq!(next["headers"], json!([]), "offset paging needs no token");
            let next = next["uri"].as_str().expect("uri");
            assert!(next.contains("offset="), "{next}");
            uri = v1(next);
        }
        (items, pages)
    }

    async fn northwind_app_token(sim: &TestSim) -> String {
        let response = sim
            .http
            .post(sim.url(&format!("{}/oauth2/token", seed::NORTHWIND_TENANT_ID)))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", seed::NORTHWIND_CLIENT_ID),
                ("client_secret", seed::NORTHWIND_CLIENT_SECRET),
                ("resource", "https://api.partnercenter.microsoft.com"),
            ])
            .send()
            .await
            .expect("token");
        let body: Value = response.json().await.expect("json");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    #[tokio::test]
    async fn invoices_page_by_offset_and_carry_details_and_amendments() {
        let sim = TestSim::start().await;
        let app = sim.app_token().await;
        let (status, first) = get(&sim, &app, "/v1/invoices?size=2&offset=0").await;
        assert_eq!(status, 200);
        assert_eq!(first["links"]["self"]["uri"], "/invoices?size=2&offset=0");
        assert_eq!(first["links"]["next"]["uri"], "/invoices?size=2&offset=2");
        let (all, pages) = walk_offset(&sim, &app, "/v1/invoices?size=2").await;
        let issued = data::invoices_of(data::INVOICE_PARTNER_TENANT, std::time::SystemTime::now()).len();
        assert!(issued > data::INVOICES.len(), "monthly invoices continue after the fixed history");
        assert_eq!((all.len(), pages), (issued, issued.div_ceil(2)));
        let ids: HashSet<&str> = all.iter().filter_map(|i| i["id"].as_str()).collect();
        assert_eq!(ids.len(), issued);

        let recurring = all.iter().find(|i| i["id"] == INVOICE_RECURRING).expect("recurring");
        assert_eq!(recurring["invoiceType"], "Recurring");
        assert_eq!(recurring["documentType"], "invoice");
        assert_eq!(recurring["attributes"]["objectType"], "Invoice");
        assert_eq!(recurring["links"]["self"]["uri"], format!("/invoices/Recurring-{INVOICE_RECURRING}"));
        assert_eq!(recurring["pdfDownloadLink"], format!("/invoices/{INVOICE_RECURRING}/documents/statement"));
        let details = recurring["invoiceDetails"].as_array().expect("details");
        let pairs: Vec<(String, String)> = details
            .iter()
            .map(|d| {
                (
                    d["billingProvider"].as_str().unwrap_or("").into(),
                    d["invoiceLineItemType"].as_str().unwrap_or("").into(),
                )
            })
            .collect();
        assert_eq!(
            pairs,
            [("office", "billing_line_items"), ("azure", "billing_line_items"), ("azure", "usage_line_items")]
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
        assert_eq!(
            details[0]["links"]["self"]["uri"],
            format!("/invoices/Recurring-{INVOICE_RECURRING}/lineitems/Office/BillingLineItems")
        );
        assert_eq!(details[0]["attributes"]["objectType"], "InvoiceDetail");
        let amendment = &recurring["amendments"][0];
        assert_eq!(amendment["documentType"], "adjustment_note");
        assert_eq!(amendment["amendsOf"], INVOICE_RECURRING);
        assert_eq!(amendment["id"], data::INVOICE_RECURRING_AMENDMENT);

        let onetime = all.iter().find(|i| i["id"] == INVOICE_ONETIME).expect("onetime");
        assert_eq!(onetime["invoiceType"], "OneTime");
        let providers: Vec<&Value> =
            onetime["invoiceDetails"].as_array().expect("details").iter().map(|d| &d["billingProvider"]).collect();
        assert_eq!(providers, [&json!("one_time"), &json!("one_time")]);

        // Past the end: empty, no next. Bad paging values: Partner Center's error shape.
        let (status, past) = get(&sim, &app, "/v1/invoices?size=2&offset=50").await;
        assert_eq!(status, 200);
        assert_eq!(past["items"], json!([]));
        assert!(past["links"].get("next").is_none());
        for bad in ["size=0", "size=x", "offset=-1", "size=100000"] {
            let (status, body) = get(&sim, &app, &format!("/v1/invoices?{bad}")).await;
            assert_eq!((status, body["code"].clone()), (400, json!(3000)), "{bad}");
        }

        // Another partner has no invoices and cannot read Contoso's line items.
        let northwind = northwind_app_token(&sim).await;
        let (status, theirs) = get(&sim, &northwind, "/v1/invoices").await;
        assert_eq!(status, 200);
        assert_eq!(theirs["items"], json!([]));
        let (status, _) = get(
            &sim,
            &northwind,
            &format!("/v1/invoices/{INVOICE_RECURRING}/lineitems?provider=office&invoicelineitemtype=billinglineitems"),
        )
        .await;
        assert_eq!(status, 404);
    }

    #[tokio::test]
    async fn invoice_by_id_statement_and_summaries_need_app_user() {
        let sim = TestSim::start().await;
        let app = sim.app_token().await;
        for path in [
            format!("/v1/invoices/{INVOICE_RECURRING}"),
            format!("/v1/invoices/{INVOICE_RECURRING}/documents/statement"),
            "/v1/invoices/summaries".to_owned(),
        ] {
            let (status, body) = get(&sim, &app, &path).await;
            assert_eq!((status, body["code"].clone()), (403, json!(900329)), "{path}");
        }
        let user = sim.user_token().await;
        let (status, invoice) = get(&sim, &user, &format!("/v1/invoices/{INVOICE_ONETIME}")).await;
        assert_eq!(status, 200);
        assert_eq!(invoice["billingPeriodStartDate"], "2024-12-01T00:00:00Z");
        assert_eq!(invoice["billingPeriodEndDate"], "2024-12-31T00:00:00Z");
        assert_eq!(invoice["pdfDownloadLink"], format!("/invoices/{INVOICE_ONETIME}/documents/statement"));
        // The documented self-link form with its type prefix resolves too.
        let (status, same) = get(&sim, &user, &format!("/v1/invoices/OneTime-{INVOICE_ONETIME}")).await;
        assert_eq!((status, &same["id"]), (200, &json!(INVOICE_ONETIME)));
        let (status, body) = get(&sim, &user, "/v1/invoices/D000000000").await;
        assert_eq!((status, body["code"].clone()), (404, json!(1000)));
        let (status, _) = get(&sim, &user, "/v1/invoices/D000000000/documents/statement").await;
        assert_eq!(status, 404);

        let (status, summaries) = get(&sim, &user, "/v1/invoices/summaries").await;
        assert_eq!(status, 200);
        let items = summaries["items"].as_array().expect("items");
        let currencies: Vec<&str> = items.iter().filter_map(|s| s["currencyCode"].as_str()).collect();
        assert_eq!(currencies, ["USD", "EUR"]);
        for summary in items {
            assert_eq!(summary["attributes"]["objectType"], "InvoiceSummary");
            assert_eq!(summary["links"]["self"]["uri"], "/invoices/summary");
            for field in [
                "balanceAmount",
                "currencySymbol",
                "accountingDate",
                "firstInvoiceCreationDate",
                "lastPaymentDate",
                "lastPaymentAmount",
                "latestInvoiceDate",
            ] {
                assert!(summary.get(field).is_some(), "{field}");
            }
            let details = summary["details"].as_array().expect("details");
            assert_eq!(details.len(), 2);
            assert_eq!(details[0]["invoiceType"], "Recurring");
            assert_eq!(details[0]["summary"]["attributes"]["objectType"], "InvoiceSummary");
        }
        // USD: the unpaid next-month recurring and the large one-time invoice make up the balance.
        let usd = &items[0];
        assert!(usd["balanceAmount"].as_f64().is_some_and(|b| b > 0.0));
        assert_eq!(usd["firstInvoiceCreationDate"], "2025-01-08T00:00:00Z");
        let newest = data::invoices_of(data::INVOICE_PARTNER_TENANT, std::time::SystemTime::now())[0].invoice_date;
        assert_eq!(usd["latestInvoiceDate"], data::iso(newest).as_str(), "the monthly invoices run up to today");
    }

    #[tokio::test]
    async fn the_statement_answers_pdf_to_the_documented_json_accept_header() {
        // get-invoice-statement.md sends `Accept: application/json`; its answer's content (the
        // HttpContent dump) is `application/pdf` with `attachment; filename=Invoice_<id>.pdf`.
        let sim = TestSim::start().await;
        let user = sim.user_token().await;
        for accept in ["application/json", "application/pdf", "*/*"] {
            let response = sim
                .http
                .get(sim.url(&format!("/v1/invoices/{INVOICE_ONETIME}/documents/statement")))
                .bearer_auth(&user)
                .header("Accept", accept)
                .send()
                .await
                .expect("statement");
            assert_eq!(response.status(), 200, "{accept}");
            assert_eq!(response.headers()["content-type"], "application/pdf", "{accept}");
            assert_eq!(
                response.headers()["content-disposition"],
                format!("attachment; filename=Invoice_{INVOICE_ONETIME}.pdf").as_str()
            );
            assert!(response.bytes().await.expect("pdf").starts_with(b"%PDF-"));
        }
    }

    #[tokio::test]
    async fn statement_is_a_valid_streamed_pdf() {
        let sim = TestSim::start().await;
        let user = sim.user_token().await;
        let response = sim
            .http
            .get(sim.url(&format!("/v1/invoices/Recurring-{INVOICE_RECURRING}/documents/statement")))
            .bearer_auth(&user)
            .send()
            .await
            .expect("statement");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/pdf");
        assert_eq!(
            response.headers()["content-disposition"],
            format!("attachment; filename=Invoice_{INVOICE_RECURRING}.pdf").as_str()
        );
        let pdf = response.bytes().await.expect("bytes").to_vec();
        assert!(pdf.starts_with(b"%PDF-1.4"));
        assert!(pdf.ends_with(b"%%EOF"));
        let text = String::from_utf8_lossy(&pdf).into_owned();
        assert!(text.contains(&format!("(Invoice {INVOICE_RECURRING})")));
        assert!(pdf.len() > super::PDF_CHUNK, "more than one chunk");
        check_xref(&pdf);
    }

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).rposition(|w| w == needle)
    }

    /// Every xref entry points at its `N 0 obj`, `startxref` at the table, `/Length` is exact.
    /// (Works on bytes: the header's binary comment is not UTF-8.)
    fn check_xref(pdf: &[u8]) {
        let startxref = rfind(pdf, b"startxref\n").expect("startxref") + 10;
        let line_end = startxref + find(&pdf[startxref..], b"\n").expect("line");
        let xref: usize = std::str::from_utf8(&pdf[startxref..line_end]).expect("ascii").parse().expect("number");
        assert!(pdf[xref..].starts_with(b"xref\n0 7\n"));
        let table = std::str::from_utf8(&pdf[xref..]).expect("ascii tail");
        let entries: Vec<&str> = table.split('\n').skip(2).take(7).collect();
        assert_eq!(entries[0], "0000000000 65535 f ");
        for (n, entry) in entries.iter().enumerate().skip(1) {
            assert_eq!(entry.len(), 19, "entries are 20 bytes with the newline");
            let offset: usize = entry[..10].parse().expect("offset");
            assert!(pdf[offset..].starts_with(format!("{n} 0 obj\n").as_bytes()), "object {n}");
        }
        let stream = find(pdf, b"stream\n").expect("stream") + 7;
        let at = find(pdf, b"/Length ").expect("length") + 8;
        let digits: String = pdf[at..].iter().take_while(|b| b.is_ascii_digit()).map(|b| char::from(*b)).collect();
        let length: usize = digits.parse().expect("number");
        assert!(pdf[stream + length..].starts_with(b"\nendstream"));
        let other = super::statement_pdf(
            &data::invoice(data::INVOICE_PARTNER_TENANT, INVOICE_ONETIME, std::time::SystemTime::now())
                .expect("invoice"),
        );
        assert_ne!(other, pdf, "each invoice has its own statement");
    }

    #[tokio::test]
    async fn billed_consumption_pages_by_continuation_token() {
        let sim = TestSim::start().await;
        let app = sim.app_token().await;
        let first = format!(
            "/v1/invoices/{INVOICE_ONETIME}/lineitems?provider=onetime&invoicelineitemtype=usagelineitems&currencycode=usd&period=previous&size=2000"
        );
        let (status, page) = get(&sim, &app, &first).await;
        assert_eq!(status, 200);
        assert_eq!(page["items"].as_array().map(Vec::len), Some(2000));
        assert!(page.get("continuationToken").is_none());
        let item = &page["items"][0];
        assert_eq!(item["attributes"]["objectType"], "DailyRatedUsageLineItem");
        assert_eq!(item["invoiceLineItemType"], "usage_line_items");
        assert_eq!(item["invoiceNumber"], INVOICE_ONETIME);
        let (items, pages) = walk_seek(&sim, &app, &first).await;
        assert_eq!((items.len() as u64, pages), (data::ONETIME_USAGE_ITEMS, 2));
        // Default size is 2000 as well.
        let (_, default) = get(&sim, &app, &first.replace("&size=2000", "")).await;
        assert_eq!(default["items"].as_array().map(Vec::len), Some(2000));
        // Another currency than the invoice's matches nothing.
        let (status, eur) = get(&sim, &app, &first.replace("usd", "EUR")).await;
        assert_eq!(status, 200);
        assert_eq!(eur["items"], json!([]));
        // The currency is required here.
        let (status, body) = get(&sim, &app, &first.replace("&currencycode=usd", "")).await;
        assert_eq!((status, body["code"].clone()), (400, json!(3000)));
        let (status, body) = get(&sim, &app, &first.replace("size=2000", "size=2001")).await;
        assert_eq!((status, body["code"].clone()), (400, json!(3000)));
    }

    #[tokio::test]
    async fn continuation_tokens_are_checked() {
        let sim = TestSim::start().await;
        let app = sim.app_token().await;
        let first = format!(
            "/v1/invoices/{INVOICE_ONETIME}/lineitems?provider=onetime&invoicelineitemtype=usagelineitems&currencycode=USD&period=previous&size=500"
        );
        let (_, page) = get(&sim, &app, &first).await;
        let next = page["links"]["next"]["uri"].as_str().expect("next").to_owned();
        let token = page["links"]["next"]["headers"][0]["value"].as_str().expect("token").to_owned();
        let send = |uri: String, token: Option<&str>| {
            let mut request = sim.http.get(sim.url(&uri)).bearer_auth(&app);
            if let Some(token) = token {
                request = request.header("MS-ContinuationToken", token);
            }
            request.send()
        };
        let ok = send(v1(&next), Some(&token)).await.expect("send");
        assert_eq!(ok.status(), 200);
        let second: Value = ok.json().await.expect("json");
        assert_eq!(second["items"].as_array().map(Vec::len), Some(500));
        assert_ne!(second["items"][0], page["items"][0]);
        // The same token can be replayed (retries), and yields the same page.
        let again: Value = send(v1(&next), Some(&token)).await.expect("send").json().await.expect("json");
        assert_eq!(again["items"][0], second["items"][0]);
        for (uri, token) in [
            (v1(&next), None),
            (v1(&next), Some("AQAAAA==")),
            (v1(&next), Some("garbage.0000000000000000")),
            // Same token, other collection / other filter values.
            (v1(&next).replace("usagelineitems", "billinglineitems"), Some(token.as_str())),
            (v1(&next).replace(INVOICE_ONETIME, INVOICE_LARGE), Some(token.as_str())),
            (v1(&next).replace("currencycode=USD", "currencycode=EUR"), Some(token.as_str())),
        ] {
            let response = send(uri.clone(), token).await.expect("send");
            assert_eq!(response.status(), 400, "{uri} {token:?}");
            let body: Value = response.json().await.expect("json");
            assert_eq!(body["code"], 400);
            assert_eq!(body["source"], "PartnerFD");
        }
        // The Next request may leave the filters out: the token remembers them.
        let bare = format!("/v1/invoices/{INVOICE_ONETIME}/lineitems/OneTime/UsageLineItems?seekOperation=Next");
        let response = send(bare, Some(&token)).await.expect("send");
        assert_eq!(response.status(), 200);
        let (status, body) = get(&sim, &app, &format!("{first}&seekOperation=Previous")).await;
        assert_eq!((status, body["code"].clone()), (400, json!(900126)));
    }

    #[tokio::test]
    async fn large_invoice_delivers_every_one_time_item_exactly_once() {
        let sim = TestSim::start().await;
        let app = sim.app_token().await;
        let first = format!(
            "/v1/invoices/{INVOICE_LARGE}/lineitems?provider=onetime&invoicelineitemtype=billinglineitems&size=2000"
        );
        let (items, pages) = walk_seek(&sim, &app, &first).await;
        assert_eq!(items.len() as u64, INVOICE_LARGE_ITEMS);
        assert_eq!(pages as u64, INVOICE_LARGE_ITEMS / 2000);
        let keys: HashSet<&str> = items.iter().filter_map(|i| i["referenceId"].as_str()).collect();
        assert_eq!(keys.len() as u64, INVOICE_LARGE_ITEMS);
        let alternate: HashSet<&str> = items.iter().filter_map(|i| i["alternateId"].as_str()).collect();
        assert_eq!(alternate.len() as u64, INVOICE_LARGE_ITEMS);
        let item = &items[0];
        assert_eq!(item["attributes"]["objectType"], "OneTimeInvoiceLineItem");
        assert_eq!(item["billingProvider"], "one_time");
        assert_eq!(item["invoiceLineItemType"], "billing_line_items");
        assert_eq!(item["invoiceNumber"], INVOICE_LARGE);
        assert!(items.iter().any(|i| i["chargeType"] == "Cancel") && items.iter().any(|i| i["chargeType"] == "New"));
    }

    #[tokio::test]
    async fn large_invoice_delivers_every_consumption_item_exactly_once() {
        let sim = TestSim::start().await;
        let app = sim.app_token().await;
        let first = format!(
            "/v1/invoices/{INVOICE_LARGE}/lineitems?provider=onetime&invoicelineitemtype=usagelineitems&currencycode=USD&period=previous&size=2000"
        );
        let (items, pages) = walk_seek(&sim, &app, &first).await;
        assert_eq!(items.len() as u64, INVOICE_LARGE_ITEMS);
        assert_eq!(pages as u64, INVOICE_LARGE_ITEMS / 2000);
        let keys: HashSet<String> =
            items.iter().map(|i| format!("{}|{}|{}", i["resourceUri"], i["meterId"], i["usageDate"])).collect();
        assert_eq!(keys.len() as u64, INVOICE_LARGE_ITEMS);
        assert!(items.iter().all(|i| i["usageDate"].as_str().is_some_and(|d| d.starts_with("2025-02-"))));
    }

    #[tokio::test]
    async fn unbilled_consumption_and_reconciliation_follow_the_estimate_links() {
        let sim = TestSim::start().await;
        let app = sim.app_token().await;
        let (status, links) = get(&sim, &app, "/v1/invoices/estimates/links?currencycode=usd").await;
        assert_eq!(status, 200);
        let items = links["items"].as_array().expect("items");
        assert_eq!(items.len(), 4);
        assert_eq!(links["totalCount"], 4);
        let uris: Vec<&str> = items.iter().filter_map(|i| i["link"]["uri"].as_str()).collect();
        assert_eq!(
            uris,
            [
                "/invoices/unbilled/lineitems?provider=Marketplace&invoicelineitemtype=UsageLineItems&currencycode=USD&period=current&size=2000",
                "/invoices/unbilled/lineitems?provider=Marketplace&invoicelineitemtype=UsageLineItems&currencycode=USD&period=previous&size=2000",
                "/invoices/unbilled/lineitems?provider=all&invoicelineitemtype=billinglineitems&currencycode=USD&period=current&size=2000",
                "/invoices/unbilled/lineitems?provider=all&invoicelineitemtype=billinglineitems&currencycode=USD&period=previous&size=2000",
            ]
        );
        assert!(links.get("links").is_none());
        let mut walked = Vec::new();
        for link in items {
            let uri = link["link"]["uri"].as_str().expect("uri");
            assert!(uri.starts_with("/invoices/unbilled/lineitems?") && uri.contains("currencycode=USD"), "{uri}");
            let (got, _) = walk_seek(&sim, &app, &v1(uri)).await;
            walked.push((
                link["type"].as_str().unwrap_or("").to_owned(),
                link["period"].as_str().unwrap_or("").to_owned(),
                got,
            ));
        }
        for (kind, period, got) in &walked {
            let (billing, usage) = match period.as_str() {
                "Current" => (data::UNBILLED[0].2, data::UNBILLED[0].3),
                _ => (data::UNBILLED[1].2, data::UNBILLED[1].3),
            };
            let expected = if kind == "daily_rated_usage" { usage } else { billing };
            assert_eq!(got.len() as u64, expected, "{kind} {period}");
            let object = if kind == "daily_rated_usage" { "DailyRatedUsageLineItem" } else { "OneTimeInvoiceLineItem" };
            assert!(got.iter().all(|i| i["attributes"]["objectType"] == object && i["invoiceNumber"] == ""));
        }
        let consumption = &walked[0].2;
        let keys: HashSet<String> =
            consumption.iter().map(|i| format!("{}|{}|{}", i["resourceUri"], i["meterId"], i["usageDate"])).collect();
        assert_eq!(keys.len(), consumption.len());

        // Any casing and spelling of the providers and types the links name.
        for (query, object) in [
            ("provider=MARKETPLACE&invoicelineitemtype=usagelineitems", "DailyRatedUsageLineItem"),
            ("provider=marketplace&invoicelineitemtype=usage_line_items", "DailyRatedUsageLineItem"),
            ("provider=All&invoicelineitemtype=BillingLineItems", "OneTimeInvoiceLineItem"),
            ("provider=ALL&invoicelineitemtype=billing_line_items", "OneTimeInvoiceLineItem"),
        ] {
            let (status, page) = get(
                &sim,
                &app,
                &format!("/v1/invoices/unbilled/lineitems?{query}&currencycode=usd&period=current&size=5"),
            )
            .await;
            assert_eq!(status, 200, "{query}");
            assert_eq!(page["items"][0]["attributes"]["objectType"], object, "{query}");
        }
        // The documented aliases (`Marketplace`, `all`) and errors.
        let (status, page) = get(
            &sim,
            &app,
            "/v1/invoices/unbilled/lineitems?provider=Marketplace&invoicelineitemtype=UsageLineItems&currencycode=EUR&period=previous&size=100",
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(page["items"].as_array().map(Vec::len), Some(100));
        assert_eq!(page["items"][0]["billingCurrency"], "EUR");
        let (status, page) = get(
            &sim,
            &app,
            "/v1/invoices/unbilled/lineitems?provider=all&invoicelineitemtype=billinglineitems&currencycode=JPY&period=current",
        )
        .await;
        assert_eq!((status, page["items"].clone()), (200, json!([])));
        for (query, code) in [
            ("provider=onetime&invoicelineitemtype=usagelineitems&period=current", 3000),
            ("provider=onetime&invoicelineitemtype=usagelineitems&currencycode=USD", 3000),
            ("provider=onetime&invoicelineitemtype=usagelineitems&currencycode=USD&period=someday", 900126),
            ("provider=onetime&invoicelineitemtype=usagelineitems&currencycode=DOLLARS&period=current", 3000),
            ("provider=office&invoicelineitemtype=billinglineitems&currencycode=USD&period=current", 3000),
        ] {
            let (status, body) = get(&sim, &app, &format!("/v1/invoices/unbilled/lineitems?{query}")).await;
            assert_eq!((status, body["code"].clone()), (400, json!(code)), "{query}");
        }
        let (status, body) = get(&sim, &app, "/v1/invoices/estimates/links").await;
        assert_eq!((status, body["code"].clone()), (400, json!(3000)));
    }

    #[tokio::test]
    async fn legacy_line_items_page_by_offset_in_both_path_forms() {
        let sim = TestSim::start().await;
        let app = sim.app_token().await;
        for (query, path, expected, object) in [
            (
                "provider=Office&invoicelineitemtype=BillingLineItems",
                "Office/BillingLineItems",
                data::RECURRING_OFFICE_ITEMS,
                "LicenseBasedLineItem",
            ),
            (
                "provider=azure&invoicelineitemtype=billinglineitems",
                "Azure/BillingLineItems",
                data::RECURRING_AZURE_BILLING_ITEMS,
                "UsageBasedLineItem",
            ),
            (
                "provider=AZURE&invoicelineitemtype=usage_line_items",
                "azure/usagelineitems",
                data::RECURRING_AZURE_USAGE_ITEMS,
                "DailyUsageLineItem",
            ),
        ] {
            let (items, pages) = walk_offset(
                &sim,
                &app,
                &format!("/v1/invoices/{INVOICE_RECURRING}/lineitems?{query}&size=40&offset=0"),
            )
            .await;
            assert_eq!(items.len() as u64, expected, "{query}");
            assert_eq!(pages as u64, expected.div_ceil(40), "{query}");
            let distinct: HashSet<String> = items.iter().map(Value::to_string).collect();
            assert_eq!(distinct.len(), items.len());
            assert!(items.iter().all(|i| i["attributes"]["objectType"] == object));
            assert!(items.iter().all(|i| i["invoiceNumber"].as_str().is_none_or(|n| n == INVOICE_RECURRING)));
            // The legacy path form, with the documented `Recurring-` prefix, serves the same items.
            let (path_items, _) = walk_offset(
                &sim,
                &app,
                &format!("/v1/invoices/Recurring-{INVOICE_RECURRING}/lineitems/{path}?size=500"),
            )
            .await;
            assert_eq!(path_items, items);
        }
        let (_, office) =
            get(&sim, &app, &format!("/v1/invoices/{INVOICE_RECURRING}/lineitems/office/billinglineitems?size=1"))
                .await;
        let item = &office["items"][0];
        assert_eq!(item["billingProvider"], "office");
        assert_eq!(item["billingCycleType"], "MONTHLY");
        assert_eq!(item["tier2MpnId"], -1);
        assert!(item["mpnId"].is_u64());
        let orders: HashSet<String> =
            walk_offset(&sim, &app, &format!("/v1/invoices/{INVOICE_RECURRING}/lineitems/office/billinglineitems"))
                .await
                .0
                .iter()
                .map(|i| i["orderId"].to_string())
                .collect();
        assert_eq!(orders.len() as u64, data::RECURRING_OFFICE_ITEMS);
        let (_, azure) =
            get(&sim, &app, &format!("/v1/invoices/{INVOICE_RECURRING}/lineitems/azure/billinglineitems?size=1")).await;
        for field in ["pretaxCharges", "pretaxEffectiveRate", "customerCompanyName", "detailLineItemId", "postTaxTotal"]
        {
            assert!(azure["items"][0].get(field).is_some(), "{field}");
        }
        assert_eq!(azure["items"][0]["customerId"], seed::CUSTOMER_LITWARE);

        // Onetime billing on a one-time invoice pages by token, in both path forms.
        let (items, pages) = walk_seek(
            &sim,
            &app,
            &format!("/v1/invoices/{INVOICE_ONETIME}/lineitems/OneTime/BillingLineItems?size=50"),
        )
        .await;
        assert_eq!(
            (items.len() as u64, pages as u64),
            (data::ONETIME_BILLING_ITEMS, data::ONETIME_BILLING_ITEMS.div_ceil(50))
        );

        for (path, code) in [
            // Not on this invoice.
            (
                format!(
                    "/v1/invoices/{INVOICE_RECURRING}/lineitems?provider=onetime&invoicelineitemtype=billinglineitems"
                ),
                3000,
            ),
            (
                format!(
                    "/v1/invoices/{INVOICE_ONETIME}/lineitems?provider=office&invoicelineitemtype=billinglineitems"
                ),
                3000,
            ),
            // No such combination.
            (
                format!(
                    "/v1/invoices/{INVOICE_RECURRING}/lineitems?provider=office&invoicelineitemtype=usagelineitems"
                ),
                3000,
            ),
            // Not a provider or type at all.
            (
                format!(
                    "/v1/invoices/{INVOICE_RECURRING}/lineitems?provider=xbox&invoicelineitemtype=billinglineitems"
                ),
                900126,
            ),
            (format!("/v1/invoices/{INVOICE_RECURRING}/lineitems/office/everything"), 900126),
            // Missing parameters, bad offsets, seek on an offset collection.
            (format!("/v1/invoices/{INVOICE_RECURRING}/lineitems?provider=office"), 3000),
            (format!("/v1/invoices/{INVOICE_RECURRING}/lineitems?invoicelineitemtype=billinglineitems"), 3000),
            (format!("/v1/invoices/{INVOICE_RECURRING}/lineitems/office/billinglineitems?offset=abc"), 3000),
            (format!("/v1/invoices/{INVOICE_RECURRING}/lineitems/office/billinglineitems?seekOperation=Next"), 3000),
            (
                format!(
                    "/v1/invoices/{INVOICE_RECURRING}/lineitems/office/billinglineitems?hasPartnerEarnedCredit=maybe"
                ),
                900126,
            ),
        ] {
            let (status, body) = get(&sim, &app, &path).await;
            assert_eq!((status, body["code"].clone()), (400, json!(code)), "{path}");
        }
        let (status, body) =
            get(&sim, &app, "/v1/invoices/D000000000/lineitems?provider=office&invoicelineitemtype=billinglineitems")
                .await;
        assert_eq!((status, body["code"].clone()), (404, json!(1000)));
    }
}
