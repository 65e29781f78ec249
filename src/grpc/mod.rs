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

use std::{collections::HashSet, sync::Arc, time::Duration};

use axum::{extract::Request as HttpRequest, response::Response as HttpResponse};
use futures::FutureExt;
use prost::Message;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::{
    auth::Caller,
    context::RequestContext,
    edge::{self, AppState, CallerSlot, ConnectionControl, Inbound, StreamProgress, Transport},
    error::Result,
    server::around::{self, Around},
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

/// The gRPC application: the gateway's services behind [`admit_rpc`] (the caller is verified
/// before any message is read), plus health and reflection, which need no token.
pub fn router(
    state: AppState,
    health: tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
    max_message_bytes: usize,
) -> std::io::Result<
    impl tower::Service<HttpRequest, Response = HttpResponse, Error = std::convert::Infallible, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static,
> {
    use pb::{
        billing_service_server::BillingServiceServer, catalog_service_server::CatalogServiceServer,
        commerce_service_server::CommerceServiceServer, customer_service_server::CustomerServiceServer,
        product_upgrade_service_server::ProductUpgradeServiceServer,
        subscription_service_server::SubscriptionServiceServer, usage_service_server::UsageServiceServer,
    };
    macro_rules! service {
        ($server:ident, $rpc:expr) => {
            $server::new($rpc).max_decoding_message_size(max_message_bytes)
        };
    }
    let gateway = tonic::service::Routes::from(axum::Router::new())
        .add_service(service!(CustomerServiceServer, customers::CustomerRpc { state: state.clone() }))
        .add_service(service!(CatalogServiceServer, catalog::CatalogRpc { state: state.clone() }))
        .add_service(service!(CommerceServiceServer, commerce::CommerceRpc { state: state.clone() }))
        .add_service(service!(SubscriptionServiceServer, subscriptions::SubscriptionRpc { state: state.clone() }))
        .add_service(service!(ProductUpgradeServiceServer, upgrades::ProductUpgradeRpc { state: state.clone() }))
        .add_service(service!(UsageServiceServer, usage::UsageRpc { state: state.clone() }))
        .add_service(service!(BillingServiceServer, billing::BillingRpc { state: state.clone() }))
        .into_axum_router();
    let reflection = |v1: bool| {
        let builder = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
        if v1 {
            builder.build_v1().map(|s| Routes::from(axum::Router::new()).add_service(s))
        } else {
            // Python's grpcio-reflection (and older grpcurl) speak only v1alpha.
            builder.build_v1alpha().map(|s| Routes::from(axum::Router::new()).add_service(s))
        }
    };
    use tonic::service::Routes;
    let open = Routes::from(axum::Router::new()).add_service(health).into_axum_router();
    let all = gateway
        .merge(open)
        .merge(reflection(true).map_err(std::io::Error::other)?.into_axum_router())
        .merge(reflection(false).map_err(std::io::Error::other)?.into_axum_router())
        .fallback(|| async { Status::unimplemented("no such service or method").into_http::<axum::body::Body>() });
    Ok(Around::new(all, move |request: HttpRequest, all: axum::Router| {
        let state = state.clone();
        async move {
            if is_gateway_rpc(request.uri().path()) {
                admit_rpc(&state, request, all).await
            } else {
                // Health and reflection need no token.
                around::answer(all, request).await
            }
        }
        .boxed()
    }))
}

/// Whether `path` (`/package.Service/Method`) names one of the gateway's own services.
fn is_gateway_rpc(path: &str) -> bool {
    let service = path.trim_start_matches('/').split_once('/').map_or("", |(service, _)| service);
    SERVICE_NAMES.contains(&service)
}

/// The caller a request was admitted as, with the slot it holds (taken by the RPC's wrapper).
#[derive(Clone)]
struct AdmittedCaller {
    caller: Caller,
    slot: Arc<CallerSlot>,
}

/// Every gateway RPC is authenticated, charged and given a caller slot here, from its headers,
/// before its message is read: an unauthenticated stream is answered at once and never buffers.
async fn admit_rpc(state: &AppState, mut request: HttpRequest, next: axum::Router) -> HttpResponse {
    match state.admit_caller(request.headers()).await {
        Ok((caller, slot)) => {
            request.extensions_mut().insert(AdmittedCaller { caller, slot: Arc::new(slot) });
            around::answer(next, request).await
        }
        Err(error) => {
            let inbound = state.begin(Transport::Grpc, method_label(request.uri().path()), request.headers(), None);
            inbound.finish(edge::grpc_code_label(error.kind().spec().grpc_code), Some(&error));
            error.to_status(Some(&inbound.ctx.request_id)).into_http()
        }
    }
}

/// `Service/Method` for the `operation` label when `path` is one of the gateway's methods,
/// `unknown` otherwise: callers cannot mint label values.
fn method_label(path: &str) -> &'static str {
    static METHODS: std::sync::LazyLock<HashSet<&'static str>> = std::sync::LazyLock::new(|| {
        let Ok(descriptors) = prost_types::FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET) else {
            return HashSet::new();
        };
        descriptors
            .file
            .iter()
            .flat_map(|file| {
                file.service.iter().flat_map(|service| {
                    service
                        .method
                        .iter()
                        .map(|method| &*Box::leak(format!("{}/{}", service.name(), method.name()).into_boxed_str()))
                })
            })
            .collect()
    });
    let name = path.rsplit_once('/').map(|(service, method)| {
        let service = service.trim_start_matches('/').rsplit('.').next().unwrap_or_default();
        format!("{service}/{method}")
    });
    name.and_then(|name| METHODS.get(name.as_str()).copied()).unwrap_or("unknown")
}

/// The caller admitted by [`admit_rpc`], or (outside the router, as in unit tests) admitted now.
async fn admitted<Req>(state: &AppState, request: &Request<Req>) -> Result<(Caller, Arc<CallerSlot>)> {
    match request.extensions().get::<AdmittedCaller>() {
        Some(admitted) => Ok((admitted.caller.clone(), admitted.slot.clone())),
        None => state.admit_caller(request.metadata()).await.map(|(caller, slot)| (caller, Arc::new(slot))),
    }
}

/// Runs one unary RPC: builds the context, admits and authenticates, runs `op`, maps the result.
pub async fn unary<Req, Resp>(
    state: &AppState,
    method: &'static str,
    request: Request<Req>,
    op: impl AsyncFnOnce(RequestContext, Caller, Req) -> Result<Resp>,
) -> std::result::Result<Response<Resp>, Status> {
    let inbound = begin(state, method, &request, Some(state.grpc_default_timeout));
    let result = async {
        let (caller, _slot) = admitted(state, &request).await?;
        let _admitted = state.admit(Transport::Grpc)?;
        op(for_caller(&inbound.ctx, &caller), caller, request.into_inner()).await
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
    let connection = request.extensions().get::<ConnectionControl>().cloned();
    let result = async {
        let (caller, slot) = admitted(state, &request).await?;
        let admitted = state.admit(Transport::Grpc)?;
        op(for_caller(&inbound.ctx, &caller), caller, request.into_inner())
            .await
            .map(|stream| (stream, (admitted, slot)))
    }
    .instrument(inbound.span.clone())
    .await;
    let (stream, admitted) = finish(&inbound, result)?;
    // The stream holds its admission and caller slot until it ends, its pages are fetched in the
    // RPC's span, and a reader that stops taking items loses the stream and its connection.
    let progress = StreamProgress::watch(state.streams, connection, Transport::Grpc);
    let stream = Box::pin(stream);
    let in_span = futures::stream::unfold((stream, inbound, progress), |(mut stream, inbound, progress)| async move {
        progress.tick();
        let item = stream.next().instrument(inbound.span.clone()).await?;
        let item = item.map_err(|error| {
            inbound.record_failure(&error);
            error.to_status(Some(&inbound.ctx.request_id))
        });
        Some((item, (stream, inbound, progress)))
    });
    let mapped = in_span.map(move |item| {
        let _held = &admitted;
        item
    });
    Ok(Response::new(Box::pin(mapped)))
}

/// The request's context, naming the caller its upstream calls are made for.
fn for_caller(ctx: &RequestContext, caller: &Caller) -> RequestContext {
    RequestContext { caller: Some(Arc::from(caller.subject())), ..ctx.clone() }
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
