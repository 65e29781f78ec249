//! Invoices, statements and reconciliation line items: partner-wide, so they need
//! `customers: "*"` and `invoices.read`.

use std::sync::Arc;

use futures::Stream;
use tracing::instrument;

use super::{Facade, paging::walk};
use crate::{
    auth::{Caller, Permission},
    context::RequestContext,
    error::{Error, Result},
    model::{
        InvoiceId, Page, PageRequest,
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
        caller.ensure_partner_wide(Permission::InvoicesRead)?;
        let size = self.page_size(page);
        let upstream_size = u32::try_from(size).unwrap_or(100);
        let binding = format!("invoices.list|{}", caller.partner());
        walk(
            &self.pages,
            &binding,
            page,
            size,
            |next| async move { self.pc.list_invoices(ctx, caller.partner(), upstream_size, next.as_ref()).await },
            |_| true,
        )
        .await
    }

    #[instrument(skip_all, fields(partner = caller.partner()))]
    pub async fn invoice_summaries(&self, ctx: &RequestContext, caller: &Caller) -> Result<Vec<InvoiceSummary>> {
        caller.ensure_partner_wide(Permission::InvoicesRead)?;
        self.pc.invoice_summaries(ctx, caller.partner()).await
    }

    #[instrument(skip_all, fields(partner = caller.partner()))]
    pub async fn estimate_links(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        currency: &str,
    ) -> Result<Vec<InvoiceEstimateLink>> {
        caller.ensure_partner_wide(Permission::InvoicesRead)?;
        let currency = parse_currency("currencyCode", currency)?;
        self.pc.estimate_links(ctx, caller.partner(), &currency).await
    }

    #[instrument(skip_all, fields(partner = caller.partner(), invoice = %invoice))]
    pub async fn get_invoice(&self, ctx: &RequestContext, caller: &Caller, invoice: &InvoiceId) -> Result<Invoice> {
        caller.ensure_partner_wide(Permission::InvoicesRead)?;
        self.pc.get_invoice(ctx, caller.partner(), invoice).await
    }

    /// The statement PDF, streamed from Partner Center without holding it whole.
    #[instrument(skip_all, fields(partner = caller.partner(), invoice = %invoice))]
    pub async fn invoice_statement(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        invoice: &InvoiceId,
    ) -> Result<Statement> {
        caller.ensure_partner_wide(Permission::InvoicesRead)?;
        self.pc.invoice_statement(ctx, caller.partner(), invoice).await
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
        caller.ensure_partner_wide(Permission::InvoicesRead)?;
        let size = self.page_size(page);
        let upstream_size = u32::try_from(size).unwrap_or(MAX_LINE_ITEM_PAGE).min(MAX_LINE_ITEM_PAGE);
        let binding =
            format!("invoices.line_items|{}|{}|{}", caller.partner(), invoice.path_segment(), query.binding());
        walk(
            &self.pages,
            &binding,
            page,
            size,
            |next| async move {
                self.pc.invoice_line_items(ctx, caller.partner(), invoice, query, upstream_size, next.as_ref()).await
            },
            |_| true,
        )
        .await
    }

    /// Every line item, one upstream page (2000 items) at a time: the next page is fetched only
    /// when the consumer has taken the previous one, so a slow client holds at most a page.
    pub fn stream_invoice_line_items(
        self: &Arc<Self>,
        ctx: RequestContext,
        caller: &Caller,
        invoice: InvoiceRef,
        query: LineItemQuery,
    ) -> Result<impl Stream<Item = Result<InvoiceLineItem>> + Send + use<>> {
        caller.ensure_partner_wide(Permission::InvoicesRead)?;
        let facade = self.clone();
        let partner = caller.partner().to_owned();
        Ok(async_stream::try_stream! {
            let mut next = None;
            loop {
                let page = facade.pc.invoice_line_items(&ctx, &partner, &invoice, &query, MAX_LINE_ITEM_PAGE, next.as_ref()).await?;
                for item in page.items {
                    yield item;
                }
                match page.next {
                    Some(link) => next = Some(link),
                    None => break,
                }
            }
        })
    }
}

/// A three-letter currency code, upper case.
pub fn parse_currency(field: &str, value: &str) -> Result<String> {
    if value.len() == 3 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(value.to_ascii_uppercase())
    } else {
        Err(Error::invalid_field(field, "must be a three-letter currency code such as USD"))
    }
}
