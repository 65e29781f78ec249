//! Invoices and reconciliation line items (I1–I9), partner-wide.

use futures::TryStreamExt;
use serde_json::value::RawValue;

use super::{
    PartnerCenter, TokenFlow, UpstreamPage, UpstreamRequest,
    models::{
        Collection,
        billing::{WireEstimateLink, WireInvoice, WireInvoiceSummary},
        malformed,
    },
    paging::NextLink,
};
use crate::{
    auth::{Authorized, PartnerWide},
    context::RequestContext,
    error::{Error, ErrorKind, Result},
    model::{
        InvoiceId,
        billing::{
            Invoice, InvoiceEstimateLink, InvoiceLineItem, InvoiceRef, InvoiceSummary, LineItemQuery, Statement,
        },
    },
};

/// Largest line-item page Partner Center serves.
pub const MAX_LINE_ITEM_PAGE: u32 = 2000;

impl PartnerCenter {
    /// I1 `GET /v1/invoices?size=&offset=0` (or the page `next` points to).
    pub(super) async fn list_invoices(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<PartnerWide>,
        size: u32,
        next: Option<NextLink>,
    ) -> Result<UpstreamPage<Invoice>> {
        let first =
            UpstreamRequest::get("invoices.list", "/v1/invoices").query("size", size.to_string()).query("offset", "0");
        self.page(ctx, partner.partner(), first, next, |w: WireInvoice| Ok(w.into())).await
    }

    /// I5 `GET /v1/invoices/summaries`.
    pub(super) async fn invoice_summaries(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<PartnerWide>,
    ) -> Result<Vec<InvoiceSummary>> {
        let request = UpstreamRequest::get("invoices.summaries", "/v1/invoices/summaries").flow(TokenFlow::AppUser);
        let collection: Collection<WireInvoiceSummary> = self.client().json(ctx, partner.partner(), &request).await?;
        Ok(collection.items.into_iter().map(Into::into).collect())
    }

    /// I2 `GET /v1/invoices/estimates/links?currencycode=`.
    pub(super) async fn estimate_links(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<PartnerWide>,
        currency: &str,
    ) -> Result<Vec<InvoiceEstimateLink>> {
        let request = UpstreamRequest::get("invoices.estimate_links", "/v1/invoices/estimates/links")
            .query("currencycode", currency);
        let collection: Collection<WireEstimateLink> = self.client().json(ctx, partner.partner(), &request).await?;
        Ok(collection.items.into_iter().map(|l| estimate_link(l, currency)).collect())
    }

    /// I3 `GET /v1/invoices/{id}`.
    pub(super) async fn get_invoice(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<PartnerWide>,
        invoice: &InvoiceId,
    ) -> Result<Invoice> {
        let request = UpstreamRequest::get("invoices.get", format!("/v1/invoices/{invoice}")).flow(TokenFlow::AppUser);
        let wire: WireInvoice = self.client().json(ctx, partner.partner(), &request).await?;
        Ok(wire.into())
    }

    /// I4 `GET /v1/invoices/{id}/documents/statement`, streamed.
    pub(super) async fn invoice_statement(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<PartnerWide>,
        invoice: &InvoiceId,
    ) -> Result<Statement> {
        // The documented request sends the default `Accept: application/json`; the examples
        // disagree on what comes back, so the answer's own type is passed on.
        let request = UpstreamRequest::get("invoices.statement", format!("/v1/invoices/{invoice}/documents/statement"))
            .flow(TokenFlow::AppUser);
        let response = self.client().execute_streaming(ctx, partner.partner(), &request).await?;
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.trim().is_empty())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let extension = if content_type.starts_with("application/pdf") { ".pdf" } else { "" };
        let content_length = super::transport::declared_length(response.headers());
        let body = http_body_util::BodyDataStream::new(response.into_body()).map_err(|e| {
            Error::new(ErrorKind::UpstreamUnavailable, "the statement download from Partner Center broke off")
                .with_source(format!("statement body: {}", crate::error::error_chain_text(&e)))
        });
        Ok(Statement {
            content_type,
            file_name: format!("Invoice_{invoice}{extension}"),
            content_length,
            body: Box::pin(body),
        })
    }

    /// I6–I9: line items of an invoice, or unbilled ones, in whichever paging style Partner
    /// Center uses for that combination (offset or continuation token), by following next links.
    pub(super) async fn invoice_line_items(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<PartnerWide>,
        invoice: &InvoiceRef,
        query: &LineItemQuery,
        size: u32,
        next: Option<NextLink>,
    ) -> Result<UpstreamPage<InvoiceLineItem>> {
        let first =
            UpstreamRequest::get("invoices.line_items", format!("/v1/invoices/{}/lineitems", invoice.path_segment()))
                .query("provider", query.provider.wire())
                .query("invoicelineitemtype", query.line_item_type.wire())
                .query_opt("currencycode", query.currency_code.clone())
                .query_opt("period", query.period.map(|p| p.wire()))
                .query("size", size.min(MAX_LINE_ITEM_PAGE).to_string());
        self.page(ctx, partner.partner(), first, next, line_item).await
    }
}

/// A line item kept verbatim, with its kind read from `attributes.objectType`.
pub(super) fn line_item(raw: Box<RawValue>) -> Result<InvoiceLineItem> {
    #[derive(serde::Deserialize)]
    struct Kind {
        #[serde(default)]
        attributes: Option<Attributes>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Attributes {
        #[serde(default)]
        object_type: Option<String>,
    }
    let kind: Kind = serde_json::from_str(raw.get()).map_err(|e| malformed(format!("line item: {e}")))?;
    let kind = kind.attributes.and_then(|a| a.object_type).unwrap_or_default();
    Ok(InvoiceLineItem { kind, raw })
}

/// Partner Center's estimate link points at its own URI; callers get this gateway's query.
pub(super) fn estimate_link(wire: WireEstimateLink, currency: &str) -> InvoiceEstimateLink {
    let uri = wire.link.map(|l| l.uri).unwrap_or_default();
    let query: std::collections::HashMap<String, String> = uri
        .split_once('?')
        .map(|(_, q)| {
            url::form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned())).collect()
        })
        .unwrap_or_default();
    let provider = query.get("provider").cloned().unwrap_or_else(|| "onetime".to_owned()).to_ascii_lowercase();
    let line_item_type = match query.get("invoicelineitemtype").map(|t| t.to_ascii_lowercase()).as_deref() {
        Some("usagelineitems") => "usage_line_items",
        _ => "billing_line_items",
    };
    let currency_code = query.get("currencycode").cloned().unwrap_or_else(|| currency.to_owned()).to_ascii_uppercase();
    let period = query.get("period").cloned().unwrap_or_else(|| wire.period.clone()).to_ascii_lowercase();
    let href = format!(
        "/v1/invoices/unbilled/line-items?provider={provider}&type={line_item_type}&currencyCode={currency_code}&period={period}"
    );
    InvoiceEstimateLink {
        link_type: wire.link_type,
        title: wire.title,
        description: wire.description,
        period,
        provider,
        line_item_type: line_item_type.to_owned(),
        currency_code,
        href,
    }
}
