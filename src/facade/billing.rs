//! Invoices, statements and reconciliation line items: partner-wide, so they need
//! `customers: "*"` and `invoices.read`.

use std::sync::Arc;

use futures::Stream;
use tracing::instrument;

use super::{
    Facade,
    paging::{PageBinding, walk},
    stream_pages,
};
use crate::{
    auth::{Caller, Permission},
    context::RequestContext,
    error::Result,
    model::{
        CurrencyCode, InvoiceId, Page, PageRequest,
        billing::{
            Invoice, InvoiceEstimateLink, InvoiceLineItem, InvoiceRef, InvoiceSummary, LineItemQuery, Statement,
        },
    },
    partner_center::invoices::MAX_LINE_ITEM_PAGE,
};

impl Facade {
    #[instrument(skip_all, fields(partner = caller.partner()))]
    pub async fn list_invoices(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        page: &PageRequest,
    ) -> Result<Page<Invoice>> {
        let partner = caller.ensure_partner_wide(Permission::InvoicesRead)?;
        let size = self.page_size(page);
        let upstream_size = u32::try_from(size).unwrap_or(100);
        let binding = PageBinding::new("invoices.list", partner.partner());
        walk(
            &self.pages,
            &binding,
            page,
            size,
            |next| self.pc.list_invoices(ctx, &partner, upstream_size, next),
            |_| true,
        )
        .await
    }

    #[instrument(skip_all, fields(partner = caller.partner()))]
    pub async fn invoice_summaries(&self, ctx: &RequestContext, caller: &Caller) -> Result<Vec<InvoiceSummary>> {
        let partner = caller.ensure_partner_wide(Permission::InvoicesRead)?;
        self.pc.invoice_summaries(ctx, &partner).await
    }

    #[instrument(skip_all, fields(partner = caller.partner()))]
    pub async fn estimate_links(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        currency: &CurrencyCode,
    ) -> Result<Vec<InvoiceEstimateLink>> {
        let partner = caller.ensure_partner_wide(Permission::InvoicesRead)?;
        self.pc.estimate_links(ctx, &partner, currency.as_str()).await
    }

    #[instrument(skip_all, fields(partner = caller.partner(), invoice = %invoice))]
    pub async fn get_invoice(&self, ctx: &RequestContext, caller: &Caller, invoice: &InvoiceId) -> Result<Invoice> {
        let partner = caller.ensure_partner_wide(Permission::InvoicesRead)?;
        self.pc.get_invoice(ctx, &partner, invoice).await
    }

    /// The statement PDF, streamed from Partner Center without holding it whole.
    #[instrument(skip_all, fields(partner = caller.partner(), invoice = %invoice))]
    pub async fn invoice_statement(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        invoice: &InvoiceId,
    ) -> Result<Statement> {
        let partner = caller.ensure_partner_wide(Permission::InvoicesRead)?;
        self.pc.invoice_statement(ctx, &partner, invoice).await
    }

    #[instrument(skip_all, fields(partner = caller.partner()))]
    pub async fn invoice_line_items(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        invoice: &InvoiceRef,
        query: &LineItemQuery,
        page: &PageRequest,
    ) -> Result<Page<InvoiceLineItem>> {
        let partner = caller.ensure_partner_wide(Permission::InvoicesRead)?;
        let size = self.page_size(page);
        let upstream_size = u32::try_from(size).unwrap_or(MAX_LINE_ITEM_PAGE).min(MAX_LINE_ITEM_PAGE);
        let binding = PageBinding::new("invoices.line_items", partner.partner())
            .with(invoice.path_segment())
            .with(query.binding());
        walk(
            &self.pages,
            &binding,
            page,
            size,
            |next| self.pc.invoice_line_items(ctx, &partner, invoice, query, upstream_size, next),
            |_| true,
        )
        .await
    }

    /// Every line item, one upstream page (2000 items) at a time.
    pub fn stream_invoice_line_items(
        self: &Arc<Self>,
        ctx: RequestContext,
        caller: &Caller,
        invoice: InvoiceRef,
        query: LineItemQuery,
    ) -> Result<impl Stream<Item = Result<InvoiceLineItem>> + Send + use<>> {
        let partner = caller.ensure_partner_wide(Permission::InvoicesRead)?;
        let pc = self.pc.clone();
        Ok(stream_pages(move |next| {
            let (pc, ctx, partner, invoice, query) =
                (pc.clone(), ctx.clone(), partner.clone(), invoice.clone(), query.clone());
            async move { pc.invoice_line_items(&ctx, &partner, &invoice, &query, MAX_LINE_ITEM_PAGE, next).await }
        }))
    }
}
