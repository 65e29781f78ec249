//! The gRPC edge: `partnercenter.gateway.v1` services over tonic, plus `grpc.health.v1` and
//! server reflection (v1 and v1alpha). Each RPC authenticates, converts its request, calls the
//! same facade function as REST, and maps the one [`Error`] type to a `Status`.

pub mod billing;
pub mod catalog;
pub mod commerce;
pub mod convert;
pub mod customers;
pub mod exports;
pub mod input;
pub mod subscriptions;
pub mod upgrades;
pub mod usage;

use std::time::Duration;

use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::{
    auth::Caller,
    context::RequestContext,
    edge::{self, AppState, Inbound, Transport},
    error::Result,
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

/// Runs one unary RPC: builds the context, admits and authenticates, runs `op`, maps the result.
pub async fn unary<Req, Resp>(
    state: &AppState,
    method: &'static str,
    request: Request<Req>,
    op: impl AsyncFnOnce(RequestContext, Caller, Req) -> Result<Resp>,
) -> std::result::Result<Response<Resp>, Status> {
    let inbound = begin(state, method, &request, Some(state.grpc_default_timeout));
    let result = async {
        let _admitted = state.admit(Transport::Grpc)?;
        let caller = state.authenticate(request.metadata()).await?;
        op(inbound.ctx.clone(), caller, request.into_inner()).await
    }
    .instrument(inbound.span.clone())
    .await;
    finish(&inbound, result).map(Response::new)
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
    // A stream over 100,000 items outlives any default deadline: only the caller's own bounds it
    // (each upstream page still has its attempt timeout).
    let inbound = begin(state, method, &request, None);
    let result = async {
        let admitted = state.admit(Transport::Grpc)?;
        let caller = state.authenticate(request.metadata()).await?;
        op(inbound.ctx.clone(), caller, request.into_inner()).await.map(|stream| (stream, admitted))
    }
    .instrument(inbound.span.clone())
    .await;
    let (stream, admitted) = finish(&inbound, result)?;
    // The stream holds its admission until it ends, and its pages are fetched in the RPC's span.
    let stream = Box::pin(stream);
    let in_span = futures::stream::unfold((stream, inbound), |(mut stream, inbound)| async move {
        let item = stream.next().instrument(inbound.span.clone()).await?;
        let item = item.map_err(|error| {
            inbound.record_failure(&error);
            error.to_status(Some(&inbound.ctx.request_id))
        });
        Some((item, (stream, inbound)))
    });
    let mapped = in_span.map(move |item| {
        let _held = &admitted;
        item
    });
    Ok(Response::new(Box::pin(mapped)))
}

/// The request's context: ids, locale, trace, and deadline (`grpc-timeout`, else `default_timeout`).
fn begin<Req>(
    state: &AppState,
    method: &'static str,
    request: &Request<Req>,
    default_timeout: Option<Duration>,
) -> Inbound {
    let metadata = request.metadata();
    let timeout =
        metadata.get("grpc-timeout").and_then(|v| v.to_str().ok()).and_then(parse_grpc_timeout).or(default_timeout);
    state.begin(Transport::Grpc, method, metadata, timeout)
}

/// Maps the result to a `Status` and records the outcome.
fn finish<T>(inbound: &Inbound, result: Result<T>) -> std::result::Result<T, Status> {
    let code = match &result {
        Ok(_) => tonic::Code::Ok,
        Err(error) => error.kind().spec().grpc_code,
    };
    inbound.finish(edge::grpc_code_label(code), result.as_ref().err());
    result.map_err(|error| error.to_status(Some(&inbound.ctx.request_id)))
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
}
