//! The gRPC edge: `partnercenter.gateway.v1` services over tonic, plus `grpc.health.v1` and
//! server reflection (v1 and v1alpha). Each RPC authenticates, converts its request, calls the
//! same facade function as REST, and maps the one [`Error`] type to a `Status`.

pub mod billing;
pub mod catalog;
pub mod commerce;
pub mod convert;
pub mod customers;
pub mod subscriptions;
pub mod upgrades;
pub mod usage;

use std::time::{Duration, Instant};

use tonic::{Request, Response, Status, metadata::MetadataMap};
use tracing::Instrument;

use crate::{
    app::AppState,
    auth::Caller,
    context::{RequestContext, sanitize_header_value},
    error::{Error, Result},
    telemetry::{self, CountAndDuration, HandleCache},
};

/// Generated code for `proto/partnercenter/gateway/v1/*.proto`.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod pb {
    tonic::include_proto!("partnercenter.gateway.v1");

    /// The encoded descriptor set, served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/partnercenter_gateway_v1_descriptor.bin"));
}

/// Fully qualified names of every service this server registers (health reports each).
pub const SERVICE_NAMES: [&str; 7] = [
    "partnercenter.gateway.v1.CustomerService",
    "partnercenter.gateway.v1.CatalogService",
    "partnercenter.gateway.v1.CommerceService",
    "partnercenter.gateway.v1.SubscriptionService",
    "partnercenter.gateway.v1.ProductUpgradeService",
    "partnercenter.gateway.v1.UsageService",
    "partnercenter.gateway.v1.BillingService",
];

/// Runs one unary RPC: builds the context, authenticates, runs `op`, maps the result.
pub async fn unary<Req, Resp>(
    state: &AppState,
    method: &'static str,
    request: Request<Req>,
    op: impl AsyncFnOnce(RequestContext, Caller, Req) -> Result<Resp>,
) -> std::result::Result<Response<Resp>, Status> {
    let started = Instant::now();
    let ctx = context(state, request.metadata());
    let span = telemetry::request_span(&ctx, "grpc", &method);
    let result = async {
        let _admitted = state.admission.admit("grpc")?;
        let caller = authenticate(state, request.metadata()).await?;
        op(ctx.clone(), caller, request.into_inner()).await
    }
    .instrument(span.clone())
    .await;
    let _entered = span.enter();
    finish(method, &ctx, started, result).map(Response::new)
}

/// What server-streaming RPCs return.
pub type RpcStream<T> = std::pin::Pin<Box<dyn futures::Stream<Item = std::result::Result<T, Status>> + Send + 'static>>;

/// Runs one server-streaming RPC: authenticates and opens the stream (failures before the first
/// item are the RPC's status); item failures end the stream with their status.
pub async fn server_stream<Req, T, S>(
    state: &AppState,
    method: &'static str,
    request: Request<Req>,
    op: impl AsyncFnOnce(RequestContext, Caller, Req) -> Result<S>,
) -> std::result::Result<Response<RpcStream<T>>, Status>
where
    S: futures::Stream<Item = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    use futures::StreamExt;
    let started = Instant::now();
    // A stream over 100,000 items outlives any default deadline: only the caller's own bounds it
    // (each upstream page still has its attempt timeout).
    let ctx = context_with_default(request.metadata(), None);
    let span = telemetry::request_span(&ctx, "grpc", &method);
    let result = async {
        let admitted = state.admission.admit("grpc")?;
        let caller = authenticate(state, request.metadata()).await?;
        op(ctx.clone(), caller, request.into_inner()).await.map(|stream| (stream, admitted))
    }
    .instrument(span.clone())
    .await;
    let (stream, admitted) = {
        let _entered = span.enter();
        finish(method, &ctx, started, result)?
    };
    let request_id = ctx.request_id.clone();
    // The stream holds its admission until it ends, and its pages are fetched in the RPC's span.
    let stream = Box::pin(stream);
    let in_span = futures::stream::unfold((stream, span), |(mut stream, span)| async move {
        let item = stream.next().instrument(span.clone()).await?;
        Some((item, (stream, span)))
    });
    let mapped = in_span
        .map(move |item| {
            let _held = &admitted;
            item.map_err(|error| {
                metrics::counter!("gateway_request_errors_total", "transport" => "grpc", "operation" => method, "kind" => error.kind().spec().slug).increment(1);
                let error = error.map_fields(camel_to_snake);
                tracing::error!(method, request_id = %request_id, error = %error.chain(), "stream failed");
                error.to_status(Some(&request_id))
            })
        });
    Ok(Response::new(Box::pin(mapped)))
}

/// The request's ids, locale and deadline (`grpc-timeout`, else the configured default).
pub fn context(state: &AppState, metadata: &MetadataMap) -> RequestContext {
    context_with_default(metadata, Some(state.grpc_default_timeout))
}

fn context_with_default(metadata: &MetadataMap, default_timeout: Option<Duration>) -> RequestContext {
    let text = |key: &str, max: usize| {
        metadata.get(key).and_then(|v| v.to_str().ok()).and_then(|v| sanitize_header_value(v, max))
    };
    let timeout =
        metadata.get("grpc-timeout").and_then(|v| v.to_str().ok()).and_then(parse_grpc_timeout).or(default_timeout);
    let traceparent = metadata.get("traceparent").and_then(|v| v.to_str().ok());
    RequestContext::with_trace(text("x-request-id", 128), text("x-locale", 35), timeout, traceparent)
}

pub async fn authenticate(state: &AppState, metadata: &MetadataMap) -> Result<Caller> {
    let header = match metadata.get("authorization") {
        None => None,
        Some(value) => {
            Some(value.to_str().map_err(|_| Error::unauthenticated("the authorization metadata is not text"))?)
        }
    };
    let caller = state.authenticator.authenticate(header).await?;
    state.charge_caller(&caller).await?;
    Ok(caller)
}

/// Maps the result to a `Status` (field names in gRPC's snake_case), logs failures once and
/// records metrics.
pub fn finish<T>(
    method: &'static str,
    ctx: &RequestContext,
    started: Instant,
    result: Result<T>,
) -> std::result::Result<T, Status> {
    let code = match &result {
        Ok(_) => tonic::Code::Ok,
        Err(error) => error.kind().spec().grpc_code,
    };
    static HANDLES: std::sync::LazyLock<HandleCache<(&'static str, tonic::Code), CountAndDuration>> =
        std::sync::LazyLock::new(HandleCache::new);
    let (count, duration) = HANDLES.get((method, code), |_| {
        (
            metrics::counter!("gateway_requests_total", "transport" => "grpc", "operation" => method, "status" => format!("{code:?}")),
            metrics::histogram!("gateway_request_duration_seconds", "transport" => "grpc", "operation" => method),
        )
    });
    count.increment(1);
    duration.record(started.elapsed().as_secs_f64());
    result.map_err(|error| {
        metrics::counter!("gateway_request_errors_total", "transport" => "grpc", "operation" => method, "kind" => error.kind().spec().slug).increment(1);
        let error = error.map_fields(camel_to_snake);
        if error.kind().spec().http_status >= 500 {
            tracing::error!(method, request_id = %ctx.request_id, correlation_id = %ctx.correlation_id, error = %error.chain(), "rpc failed");
        } else {
            tracing::debug!(method, request_id = %ctx.request_id, error = %error.chain(), "rpc rejected");
        }
        error.to_status(Some(&ctx.request_id))
    })
}

/// `grpc-timeout`: up to 8 digits and a unit (H, M, S, m, u, n).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 || !value.is_ascii() {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// `lineItems[0].catalogItemId` → `line_items[0].catalog_item_id`.
pub fn camel_to_snake(field: &str) -> String {
    let mut out = String::with_capacity(field.len() + 4);
    for c in field.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() && !out.ends_with(['.', '[']) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_every_unit() {
        assert_eq!(parse_grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("x"), None);
        assert_eq!(parse_grpc_timeout("123456789S"), None);
        assert_eq!(parse_grpc_timeout("5s"), None);
        assert_eq!(parse_grpc_timeout("1Ѩ"), None, "found by the fuzzer");
    }

    #[test]
    fn field_names_become_snake_case() {
        assert_eq!(camel_to_snake("pageToken"), "page_token");
        assert_eq!(camel_to_snake("lineItems[0].catalogItemId"), "line_items[0].catalog_item_id");
        assert_eq!(camel_to_snake("customer_id"), "customer_id");
    }
}
