//! Serves REST and gRPC on their own listeners from one [`AppState`], and shuts both down
//! gracefully: readiness and gRPC health flip first, in-flight requests finish (bounded by
//! `rest.shutdown_grace`), then the process may exit.

use std::{future::Future, time::Duration};

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

use crate::{
    config::Settings,
    edge::AppState,
    grpc::{
        SERVICE_NAMES,
        billing::BillingRpc,
        catalog::CatalogRpc,
        commerce::CommerceRpc,
        customers::CustomerRpc,
        pb::{
            self, billing_service_server::BillingServiceServer, catalog_service_server::CatalogServiceServer,
            commerce_service_server::CommerceServiceServer, customer_service_server::CustomerServiceServer,
            product_upgrade_service_server::ProductUpgradeServiceServer,
            subscription_service_server::SubscriptionServiceServer, usage_service_server::UsageServiceServer,
        },
        subscriptions::SubscriptionRpc,
        upgrades::ProductUpgradeRpc,
        usage::UsageRpc,
    },
    rest,
};

pub async fn serve(
    rest_listener: TcpListener,
    grpc_listener: TcpListener,
    state: AppState,
    settings: &Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stop = CancellationToken::new();
    let grace = settings.rest.shutdown_grace;

    let (health, health_service) = tonic_health::server::health_reporter();
    for name in SERVICE_NAMES {
        health.set_service_status(name, ServingStatus::Serving).await;
    }
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(std::io::Error::other)?;
    // Python's grpcio-reflection (and older grpcurl) speak only v1alpha.
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(std::io::Error::other)?;

    let grpc = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(CustomerServiceServer::new(CustomerRpc { state: state.clone() }))
        .add_service(CatalogServiceServer::new(CatalogRpc { state: state.clone() }))
        .add_service(CommerceServiceServer::new(CommerceRpc { state: state.clone() }))
        .add_service(SubscriptionServiceServer::new(SubscriptionRpc { state: state.clone() }))
        .add_service(ProductUpgradeServiceServer::new(ProductUpgradeRpc { state: state.clone() }))
        .add_service(UsageServiceServer::new(UsageRpc { state: state.clone() }))
        .add_service(BillingServiceServer::new(BillingRpc { state: state.clone() }))
        .serve_with_incoming_shutdown(incoming_without_delay(grpc_listener), stop.clone().cancelled_owned());
    // Small answers must leave at once: with Nagle's algorithm on, a response written in two parts
    // can wait for the client's delayed ACK (up to 40 ms).
    let rest_listener = rest_listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
    });
    // `into_make_service` shares one route table among all connections; handing `axum::serve`
    // the router itself rebuilds the table for every connection (80 KiB each in the benchmark).
    let router = rest::router(state.clone(), settings.rest.body_limit_bytes, &settings.cors);
    let rest =
        axum::serve(rest_listener, router.into_make_service()).with_graceful_shutdown(stop.clone().cancelled_owned());

    let grpc_task = tokio::spawn(grpc);
    let rest_task = tokio::spawn(async move { rest.await });
    state.readiness.set(true);
    tracing::info!("serving");

    let readiness = state.readiness.clone();
    let stopper = stop.clone();
    let delay = settings.rest.shutdown_delay;
    tokio::spawn(async move {
        shutdown.await;
        // Tell load balancers first and keep serving while they notice, then stop taking new work.
        readiness.set(false);
        health.set_service_status("", ServingStatus::NotServing).await;
        for name in SERVICE_NAMES {
            health.set_service_status(name, ServingStatus::NotServing).await;
        }
        tracing::info!(delay_ms = delay.as_millis() as u64, "shutting down: not ready, draining");
        tokio::time::sleep(delay).await;
        tracing::info!("shutting down: finishing in-flight requests");
        stopper.cancel();
    });

    stop.cancelled().await;
    let drained = tokio::time::timeout(grace + Duration::from_millis(100), async {
        let grpc = grpc_task.await;
        let rest = rest_task.await;
        (grpc, rest)
    })
    .await;
    match drained {
        Ok((grpc, rest)) => {
            if let Ok(Err(error)) = grpc {
                tracing::error!(%error, "grpc server failed");
            }
            if let Ok(Err(error)) = rest {
                tracing::error!(%error, "rest server failed");
            }
        }
        Err(_) => {
            tracing::warn!(grace_seconds = grace.as_secs(), "in-flight requests did not finish within the grace period")
        }
    }
    Ok(())
}

/// Accepted gRPC connections, with TCP_NODELAY (tonic sets it only on listeners it binds itself).
fn incoming_without_delay(
    listener: TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> + Send + 'static {
    use futures::StreamExt;
    TcpListenerStream::new(listener).map(|accepted| {
        accepted.inspect(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "TCP_NODELAY not set");
            }
        })
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
