//! `BillingService`.

use futures::StreamExt;
use tonic::{Request, Response, Status};

use super::{
    RpcStream, convert, exports, input,
    pb::{self, billing_service_server::BillingService},
    server_stream, unary,
};
use crate::{
    edge::{AppState, GRPC_FIELDS},
    error::Result,
    model::CurrencyCode,
    model::{
        InvoiceId,
        billing::{InvoiceRef, LineItemArgs, LineItemQuery},
    },
};

pub struct BillingRpc {
    pub state: AppState,
}

fn query(provider: &str, line_item_type: &str, currency: &str, period: &str, unbilled: bool) -> Result<LineItemQuery> {
    let args = LineItemArgs {
        provider: Some(provider),
        line_item_type: Some(line_item_type),
        currency_code: Some(currency),
        period: Some(period),
    };
    LineItemQuery::parse(&args, &GRPC_FIELDS.line_items, unbilled)
}

/// Statement PDFs go out in chunks of at most this many bytes.
const STATEMENT_CHUNK: usize = 64 * 1024;

#[tonic::async_trait]
impl BillingService for BillingRpc {
    async fn list_invoices(
        &self,
        request: Request<pb::ListInvoicesRequest>,
    ) -> Result<Response<pb::ListInvoicesResponse>, Status> {
        unary(&self.state, "BillingService/ListInvoices", request, async |ctx, caller, req| {
            let page = input::page(req.page_size, req.page_token)?;
            let page = self.state.facade.list_invoices(&ctx, &caller, &page).await?;
            Ok(pb::ListInvoicesResponse {
                invoices: page.items.into_iter().map(convert::invoice).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        })
        .await
    }

    async fn list_invoice_summaries(
        &self,
        request: Request<pb::ListInvoiceSummariesRequest>,
    ) -> Result<Response<pb::ListInvoiceSummariesResponse>, Status> {
        unary(&self.state, "BillingService/ListInvoiceSummaries", request, async |ctx, caller, _req| {
            let summaries = self.state.facade.invoice_summaries(&ctx, &caller).await?;
            Ok(pb::ListInvoiceSummariesResponse {
                summaries: summaries.into_iter().map(convert::invoice_summary).collect(),
            })
        })
        .await
    }

    async fn list_invoice_estimate_links(
        &self,
        request: Request<pb::ListInvoiceEstimateLinksRequest>,
    ) -> Result<Response<pb::ListInvoiceEstimateLinksResponse>, Status> {
        unary(&self.state, "BillingService/ListInvoiceEstimateLinks", request, async |ctx, caller, req| {
            let links = self
                .state
                .facade
                .estimate_links(&ctx, &caller, &CurrencyCode::parse("currency_code", &req.currency_code)?)
                .await?;
            Ok(pb::ListInvoiceEstimateLinksResponse { links: links.into_iter().map(convert::estimate_link).collect() })
        })
        .await
    }

    async fn get_invoice(&self, request: Request<pb::GetInvoiceRequest>) -> Result<Response<pb::Invoice>, Status> {
        unary(&self.state, "BillingService/GetInvoice", request, async |ctx, caller, req| {
            let invoice = InvoiceId::parse("invoice_id", &req.invoice_id)?;
            Ok(convert::invoice(self.state.facade.get_invoice(&ctx, &caller, &invoice).await?))
        })
        .await
    }

    async fn get_invoice_statement(
        &self,
        request: Request<pb::GetInvoiceStatementRequest>,
    ) -> Result<Response<RpcStream<pb::InvoiceStatementChunk>>, Status> {
        server_stream(&self.state, "BillingService/GetInvoiceStatement", request, async |ctx, caller, req| {
            let invoice = InvoiceId::parse("invoice_id", &req.invoice_id)?;
            let statement = self.state.facade.invoice_statement(&ctx, &caller, &invoice).await?;
            let (content_type, file_name) = (statement.content_type, statement.file_name);
            let mut first = true;
            let chunks = statement.body.flat_map(|bytes| {
                let pieces: Vec<Result<bytes::Bytes>> = match bytes {
                    Ok(bytes) => (0..bytes.len())
                        .step_by(STATEMENT_CHUNK)
                        .map(|at| Ok(bytes.slice(at..(at + STATEMENT_CHUNK).min(bytes.len()))))
                        .collect(),
                    Err(error) => vec![Err(error)],
                };
                futures::stream::iter(pieces)
            });
            Ok(chunks.map(move |piece| {
                piece.map(|data| {
                    let chunk = pb::InvoiceStatementChunk {
                        content_type: if first { content_type.clone() } else { String::new() },
                        file_name: if first { file_name.clone() } else { String::new() },
                        data: data.to_vec(),
                    };
                    first = false;
                    chunk
                })
            }))
        })
        .await
    }

    async fn list_invoice_line_items(
        &self,
        request: Request<pb::ListInvoiceLineItemsRequest>,
    ) -> Result<Response<pb::ListInvoiceLineItemsResponse>, Status> {
        unary(&self.state, "BillingService/ListInvoiceLineItems", request, async |ctx, caller, req| {
            let invoice = InvoiceRef::Billed(InvoiceId::parse("invoice_id", &req.invoice_id)?);
            let query = query(&req.provider, &req.r#type, &req.currency_code, &req.period, false)?;
            let page = input::page(req.page_size, req.page_token)?;
            let page = self.state.facade.invoice_line_items(&ctx, &caller, &invoice, &query, &page).await?;
            Ok(pb::ListInvoiceLineItemsResponse {
                line_items: page.items.into_iter().map(convert::line_item).collect::<Result<_>>()?,
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        })
        .await
    }

    async fn stream_invoice_line_items(
        &self,
        request: Request<pb::StreamInvoiceLineItemsRequest>,
    ) -> Result<Response<RpcStream<pb::InvoiceLineItem>>, Status> {
        server_stream(&self.state, "BillingService/StreamInvoiceLineItems", request, async |ctx, caller, req| {
            let invoice = InvoiceRef::Billed(InvoiceId::parse("invoice_id", &req.invoice_id)?);
            let query = query(&req.provider, &req.r#type, &req.currency_code, &req.period, false)?;
            let stream = self.state.facade.stream_invoice_line_items(ctx, &caller, invoice, query).await?;
            Ok(stream.map(|item| item.and_then(convert::line_item)))
        })
        .await
    }

    async fn list_unbilled_line_items(
        &self,
        request: Request<pb::ListUnbilledLineItemsRequest>,
    ) -> Result<Response<pb::ListInvoiceLineItemsResponse>, Status> {
        unary(&self.state, "BillingService/ListUnbilledLineItems", request, async |ctx, caller, req| {
            let query = query(&req.provider, &req.r#type, &req.currency_code, &req.period, true)?;
            let page = input::page(req.page_size, req.page_token)?;
            let page =
                self.state.facade.invoice_line_items(&ctx, &caller, &InvoiceRef::Unbilled, &query, &page).await?;
            Ok(pb::ListInvoiceLineItemsResponse {
                line_items: page.items.into_iter().map(convert::line_item).collect::<Result<_>>()?,
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        })
        .await
    }

    async fn stream_unbilled_line_items(
        &self,
        request: Request<pb::StreamUnbilledLineItemsRequest>,
    ) -> Result<Response<RpcStream<pb::InvoiceLineItem>>, Status> {
        server_stream(&self.state, "BillingService/StreamUnbilledLineItems", request, async |ctx, caller, req| {
            let query = query(&req.provider, &req.r#type, &req.currency_code, &req.period, true)?;
            let stream = self.state.facade.stream_invoice_line_items(ctx, &caller, InvoiceRef::Unbilled, query).await?;
            Ok(stream.map(|item| item.and_then(convert::line_item)))
        })
        .await
    }

    async fn start_billing_export(
        &self,
        request: Request<pb::StartBillingExportRequest>,
    ) -> Result<Response<pb::BillingExport>, Status> {
        unary(&self.state, "BillingService/StartBillingExport", request, async |ctx, caller, req| {
            exports::start(&self.state, ctx, caller, req).await
        })
        .await
    }

    async fn get_billing_export(
        &self,
        request: Request<pb::GetBillingExportRequest>,
    ) -> Result<Response<pb::BillingExport>, Status> {
        unary(&self.state, "BillingService/GetBillingExport", request, async |ctx, caller, req| {
            exports::get(&self.state, ctx, caller, req).await
        })
        .await
    }

    async fn list_billing_export_line_items(
        &self,
        request: Request<pb::ListBillingExportLineItemsRequest>,
    ) -> Result<Response<pb::ListBillingExportLineItemsResponse>, Status> {
        unary(&self.state, "BillingService/ListBillingExportLineItems", request, async |ctx, caller, req| {
            exports::list(&self.state, ctx, caller, req).await
        })
        .await
    }

    async fn stream_billing_export_line_items(
        &self,
        request: Request<pb::StreamBillingExportLineItemsRequest>,
    ) -> Result<Response<RpcStream<pb::BillingExportLineItem>>, Status> {
        server_stream(&self.state, "BillingService/StreamBillingExportLineItems", request, async |ctx, caller, req| {
            exports::stream(&self.state, ctx, caller, req).await
        })
        .await
    }
}
