//! `BillingService`'s billing export RPCs (the trait methods in `billing` delegate here).

use futures::{Stream, StreamExt};

use super::{convert, input, pb};
use crate::{
    auth::Caller,
    context::RequestContext,
    edge::AppState,
    error::{Error, ErrorKind, Reason, Result},
    model::exports::{BillingExport, ExportArgs, ExportFields, ExportId, ExportLineItem, ExportRequest},
};

pub const EXPORT_FIELDS: ExportFields = ExportFields {
    kind: "kind",
    invoice_id: "invoice_id",
    billing_period: "billing_period",
    currency_code: "currency_code",
    attribute_set: "attribute_set",
};

fn export_id(raw: &str) -> Result<ExportId> {
    ExportId::parse("export_id", raw)
}

pub async fn start(
    state: &AppState,
    ctx: RequestContext,
    caller: Caller,
    req: pb::StartBillingExportRequest,
) -> Result<pb::BillingExport> {
    let args = ExportArgs {
        kind: Some(&req.kind),
        invoice_id: Some(&req.invoice_id),
        billing_period: Some(&req.billing_period),
        currency_code: Some(&req.currency_code),
        attribute_set: Some(&req.attribute_set),
    };
    let export = state.facade.start_export(&ctx, &caller, ExportRequest::parse(&args, &EXPORT_FIELDS)).await?;
    Ok(billing_export(export))
}

pub async fn get(
    state: &AppState,
    ctx: RequestContext,
    caller: Caller,
    req: pb::GetBillingExportRequest,
) -> Result<pb::BillingExport> {
    Ok(billing_export(state.facade.get_export(&ctx, &caller, &export_id(&req.export_id)?).await?))
}

pub async fn list(
    state: &AppState,
    ctx: RequestContext,
    caller: Caller,
    req: pb::ListBillingExportLineItemsRequest,
) -> Result<pb::ListBillingExportLineItemsResponse> {
    let id = export_id(&req.export_id)?;
    let page = input::page(req.page_size, req.page_token)?;
    let page = state.facade.export_line_items(&ctx, &caller, &id, &page).await?;
    Ok(pb::ListBillingExportLineItemsResponse {
        line_items: page.items.into_iter().map(line_item).collect::<Result<_>>()?,
        next_page_token: page.next_page_token.unwrap_or_default(),
    })
}

pub async fn stream(
    state: &AppState,
    ctx: RequestContext,
    caller: Caller,
    req: pb::StreamBillingExportLineItemsRequest,
) -> Result<impl Stream<Item = Result<pb::BillingExportLineItem>> + Send + use<>> {
    let items = state.facade.stream_export_line_items(&ctx, &caller, &export_id(&req.export_id)?).await?;
    Ok(items.map(|item| item.and_then(line_item)))
}

fn billing_export(e: BillingExport) -> pb::BillingExport {
    pb::BillingExport {
        export_id: e.id,
        kind: e.kind.as_str().to_owned(),
        status: e.status.as_str().to_owned(),
        invoice_id: e.invoice_id.unwrap_or_default(),
        billing_period: e.billing_period.map(|p| p.as_str().to_owned()).unwrap_or_default(),
        currency_code: e.currency_code.unwrap_or_default(),
        attribute_set: e.attribute_set.as_str().to_owned(),
        created_date_time: e.created_date_time.unwrap_or_default(),
        last_action_date_time: e.last_action_date_time.unwrap_or_default(),
        row_count: e.row_count,
        blob_count: e.blob_count,
        error: e.error.map(|error| pb::BillingExportError { code: error.code, message: error.message }),
        retry_after_seconds: e.retry_after_seconds.unwrap_or_default(),
    }
}

fn line_item(item: ExportLineItem) -> Result<pb::BillingExportLineItem> {
    let fields: serde_json::Map<String, serde_json::Value> = serde_json::from_str(item.raw.get()).map_err(|e| {
        Error::new(ErrorKind::UpstreamUnavailable, "an export line item is not an object")
            .with_reason(Reason::UpstreamMalformedResponse)
            .with_source(format!("line item: {e}"))
    })?;
    Ok(pb::BillingExportLineItem { fields: Some(convert::json_object(fields)) })
}
