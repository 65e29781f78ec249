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
    auth::{Authorized, Caller, PartnerWide, Permission},
    context::RequestContext,
    error::{Error, ErrorKind, Reason, Result},
    model::{
        CurrencyCode, InvoiceId, Page, PageRequest,
        billing::{
            Invoice, InvoiceEstimateLink, InvoiceLineItem, InvoiceRef, InvoiceSummary, LineItemQuery, Period, Provider,
            Statement,
        },
        exports::{V1LineItems, unbilled_period_start, v1_line_items},
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
        self.ensure_v1_serves(ctx, &partner, invoice, query).await?;
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
    pub async fn stream_invoice_line_items(
        self: &Arc<Self>,
        ctx: RequestContext,
        caller: &Caller,
        invoice: InvoiceRef,
        query: LineItemQuery,
    ) -> Result<impl Stream<Item = Result<InvoiceLineItem>> + Send + use<>> {
        let partner = caller.ensure_partner_wide(Permission::InvoicesRead)?;
        self.ensure_v1_serves(&ctx, &partner, &invoice, &query).await?;
        let pc = self.pc.clone();
        Ok(stream_pages(move |next| {
            let (pc, ctx, partner, invoice, query) =
                (pc.clone(), ctx.clone(), partner.clone(), invoice.clone(), query.clone());
            async move { pc.invoice_line_items(&ctx, &partner, &invoice, &query, MAX_LINE_ITEM_PAGE, next).await }
        }))
    }

    /// Refuses (409) new-commerce line items Partner Center's v1 routes no longer serve, naming
    /// the billing export to use (see `model::exports::v1_line_items`). A billed invoice's period
    /// comes from the invoice itself (read once, then remembered); when it cannot be read, v1
    /// answers for itself.
    async fn ensure_v1_serves(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<PartnerWide>,
        invoice: &InvoiceRef,
        query: &LineItemQuery,
    ) -> Result<()> {
        if query.provider != Provider::OneTime {
            return Ok(());
        }
        let (period_start, billed) = match invoice {
            InvoiceRef::Unbilled => {
                let today = time::OffsetDateTime::now_utc().date();
                (unbilled_period_start(query.period.unwrap_or(Period::Current), today), false)
            }
            InvoiceRef::Billed(id) => match self.invoice_period(ctx, partner, id).await {
                Some(start) => (start, true),
                None => return Ok(()),
            },
        };
        match v1_line_items(query, billed, period_start) {
            V1LineItems::Served => Ok(()),
            V1LineItems::MovedTo(kind) => Err(Error::new(
                ErrorKind::FailedPrecondition,
                format!(
                    "Partner Center's v1 line items no longer serve new-commerce {} for billing periods from April \
                     2025 on: read them as a billing export of kind {} (REST POST /v1/billing/exports, gRPC \
                     BillingService.StartBillingExport)",
                    if query.line_item_type == crate::model::billing::LineItemType::Usage {
                        "daily rated usage"
                    } else {
                        "reconciliation line items"
                    },
                    kind.as_str()
                ),
            )
            .with_reason(Reason::MovedToBillingExports)
            .with_precondition_violation(
                "MOVED_TO_BILLING_EXPORTS",
                kind.as_str(),
                "start a billing export of this kind (POST /v1/billing/exports or StartBillingExport)",
            )),
        }
    }

    /// The first day of an invoice's billing period, when Partner Center tells it.
    async fn invoice_period(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<PartnerWide>,
        invoice: &InvoiceId,
    ) -> Option<time::Date> {
        let key = (std::sync::Arc::from(partner.partner()), invoice.as_str().to_ascii_uppercase());
        if let Some(start) = self.invoice_periods.get(&key) {
            return Some(start);
        }
        match self.pc.get_invoice(ctx, partner, invoice).await {
            Ok(found) => {
                let start = found.billing_period_start_date?.date();
                self.invoice_periods.insert(key, start);
                Some(start)
            }
            Err(error) => {
                tracing::debug!(reason = %error.reason(), "invoice period unknown; v1 answers for itself");
                None
            }
        }
    }
}
