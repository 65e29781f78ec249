//! Serves REST and gRPC on their own listeners from one [`AppState`], and shuts both down
//! gracefully: readiness and gRPC health flip first, in-flight requests finish (bounded by
//! `rest.shutdown_grace`), then the process may exit. `connections` holds the limits every
//! connection lives under; `around` wraps each edge's pipeline once around its whole router.

pub mod around;
pub mod connections;

use std::{future::Future, time::Duration};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

use crate::{
    config::Settings,
    edge::AppState,
    grpc::{self, SERVICE_NAMES},
    rest,
};
use connections::ConnectionLimits;

/// The sockets the gateway serves on.
pub struct Listeners {
    pub rest: TcpListener,
    pub grpc: TcpListener,
    /// `/metrics` alone (`metrics.listen`), when it is not on the REST listener.
    pub metrics: Option<TcpListener>,
}

pub async fn serve(
    listeners: Listeners,
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
    let grpc_router = grpc::router(state.clone(), health_service, settings.grpc.max_message_bytes)?;
    let rest_router = rest::router(state.clone(), settings);
    let limits = |http2_only| ConnectionLimits {
        max_connections: settings.limits.max_connections,
        header_read_timeout: settings.limits.header_read_timeout,
        idle_timeout: settings.limits.idle_timeout,
        max_streams_per_connection: settings.limits.max_streams_per_connection,
        keepalive_interval: settings.limits.keepalive_interval,
        keepalive_timeout: settings.limits.keepalive_timeout,
        http2_only,
    };
    let grpc_task = tokio::spawn(connections::serve(listeners.grpc, grpc_router, limits(true), "grpc", stop.clone()));
    let rest_task = tokio::spawn(connections::serve(listeners.rest, rest_router, limits(false), "rest", stop.clone()));
    if let Some(listener) = listeners.metrics {
        // Scrapes need no drain: this listener simply stops with the others.
        let router = rest::service::metrics_router(state.clone());
        tokio::spawn(connections::serve(listener, router, limits(false), "metrics", stop.clone()));
    }
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
            for (transport, joined) in [("grpc", grpc), ("rest", rest)] {
                if let Err(error) = joined {
                    tracing::error!(transport, %error, "server task failed");
                }
            }
        }
        Err(_) => {
            tracing::warn!(grace_seconds = grace.as_secs(), "in-flight requests did not finish within the grace period")
        }
    }
    Ok(())
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
