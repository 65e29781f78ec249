//! Logs, traces and metrics. Logs are JSON in production and human-readable in development;
//! tests stay silent unless `TEST_LOG` is set. With the `otlp` feature and
//! `tracing.otlp_endpoint`, spans are exported over OTLP/gRPC, continuing the caller's W3C trace.
//! Metrics use one process-wide Prometheus recorder.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::{
    EnvFilter, Layer, Registry, filter::FilterExt, fmt, layer::SubscriberExt, util::SubscriberInitExt,
};

use crate::{
    config::{LogFormat, Settings},
    context::RequestContext,
};

/// Keeps trace export running; [`TelemetryGuard::shutdown`] flushes it at exit.
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    #[cfg(feature = "otlp")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Sends the spans still batched. The exporter's connection runs on the async runtime, so
    /// the blocking flush must run beside it, not on one of its workers.
    pub async fn shutdown(self) {
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.provider {
            let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
            if let Ok(Err(error)) = flushed {
                eprintln!("trace export did not shut down cleanly: {error}");
            }
        }
    }
}

/// Installs logging (and trace export when configured) for the process.
pub fn init(settings: &Settings) -> TelemetryGuard {
    let (export, guard) = trace_export(settings);
    install(settings.log_format(), &settings.log.filter, export);
    guard
}

/// Installs the global subscriber once; later calls (tests start many apps) do nothing.
pub fn init_logging(format: LogFormat, filter: &str) {
    install(format, filter, None);
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

fn install(format: LogFormat, filter: &str, export: Option<BoxedLayer>) {
    let env_filter = || EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // Each layer carries its own complete filter (not one filter around all of them), so a
    // callsite no layer wants is disabled outright.
    let logs: BoxedLayer = match format {
        // Production logs are events only: each event that matters names its request itself, and
        // a log layer that records spans formats every span's fields on every request (8% of the
        // gateway's CPU in the benchmark), used or not. Spans go to trace export.
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_filter(env_filter().and(EventsOnly))
            .boxed(),
        LogFormat::Text => fmt::layer()
            .with_target(false)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .with_filter(env_filter())
            .boxed(),
    };
    let export = export.map(|layer| layer.with_filter(env_filter()).boxed());
    let layers: Vec<BoxedLayer> = std::iter::once(logs).chain(export).collect();
    let _ = tracing_subscriber::registry().with(layers).try_init();
}

/// A per-layer filter passing events and no spans, decided per callsite: when no other layer
/// wants spans (no trace export), span creation costs nothing at all.
struct EventsOnly;

impl<S> tracing_subscriber::layer::Filter<S> for EventsOnly {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: &tracing_subscriber::layer::Context<'_, S>) -> bool {
        metadata.is_event()
    }

    fn callsite_enabled(&self, metadata: &'static tracing::Metadata<'static>) -> tracing::subscriber::Interest {
        if metadata.is_event() {
            tracing::subscriber::Interest::always()
        } else {
            tracing::subscriber::Interest::never()
        }
    }
}

#[cfg(feature = "otlp")]
fn trace_export(settings: &Settings) -> (Option<BoxedLayer>, TelemetryGuard) {
    use opentelemetry::trace::TracerProvider;
    use opentelemetry_otlp::WithExportConfig;
    use opentelemetry_sdk::trace::Sampler;

    let Some(endpoint) = &settings.tracing.otlp_endpoint else { return (None, TelemetryGuard { provider: None }) };
    let exporter =
        match opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(endpoint.as_str()).build() {
            Ok(exporter) => exporter,
            Err(error) => {
                eprintln!("trace export disabled: {error}");
                return (None, TelemetryGuard { provider: None });
            }
        };
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        // Every request span has a (remote) parent, so the ratio for new traces is applied in
        // `request_span`; this sampler only follows that decision.
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
        .with_resource(
            opentelemetry_sdk::Resource::builder().with_service_name(settings.tracing.service_name.clone()).build(),
        )
        .build();
    let _ = NEW_TRACE_SAMPLE_RATIO.set(settings.tracing.sample_ratio);
    let tracer = provider.tracer("partner-center-gateway");
    let layer = tracing_opentelemetry::layer().with_tracer(tracer).boxed();
    (Some(layer), TelemetryGuard { provider: Some(provider) })
}

#[cfg(not(feature = "otlp"))]
fn trace_export(_settings: &Settings) -> (Option<BoxedLayer>, TelemetryGuard) {
    (None, TelemetryGuard {})
}

/// The span one inbound request runs in, carrying its ids. With trace export on, it continues
/// the request's W3C trace (the caller's, or the one the gateway started, whose id is also the
/// `MS-CorrelationId`), so exported spans, logs and Partner Center's correlation id line up.
pub fn request_span(ctx: &RequestContext, transport: &'static str, operation: &dyn std::fmt::Display) -> tracing::Span {
    let span = tracing::info_span!(
        "request",
        transport,
        operation = %operation,
        request_id = %ctx.request_id,
        trace_id = %ctx.trace.trace_id_hex()
    );
    #[cfg(feature = "otlp")]
    if !span.is_disabled() {
        use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        // A new trace has no caller span: a random parent id keeps the trace id ours, and the
        // configured ratio decides whether it is exported. A caller's decision is kept.
        let (parent, sampled) = match ctx.trace.parent_span_id {
            Some(parent) => (parent, ctx.trace.sampled),
            None => {
                let ratio = NEW_TRACE_SAMPLE_RATIO.get().copied().unwrap_or(1.0);
                (rand::random(), samples_new_trace(&ctx.trace.trace_id, ratio))
            }
        };
        let flags = if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
        let remote = SpanContext::new(
            TraceId::from_bytes(ctx.trace.trace_id),
            SpanId::from_bytes(parent),
            flags,
            true,
            TraceState::default(),
        );
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }
    span
}

/// `tracing.sample_ratio`, once trace export is set up.
#[cfg(feature = "otlp")]
static NEW_TRACE_SAMPLE_RATIO: OnceLock<f64> = OnceLock::new();

/// Whether a trace the gateway started is exported: decided by its id (like OpenTelemetry's
/// `TraceIdRatioBased`), so every replica decides the same for the same trace.
#[cfg(feature = "otlp")]
fn samples_new_trace(trace_id: &[u8; 16], ratio: f64) -> bool {
    let mut low = [0u8; 8];
    low.copy_from_slice(&trace_id[8..]);
    // The low 63 bits against the ratio's share of them.
    ((u64::from_be_bytes(low) >> 1) as f64) < ratio * (1u64 << 63) as f64
}

/// Logging for tests: silent unless `TEST_LOG` is set.
pub fn init_test_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        init_logging(LogFormat::Text, "debug,hyper=info,h2=info,reqwest=info,tower=info");
    }
}

/// Metric handles by label values already seen. `metrics::counter!` with labels builds a key
/// (allocating the label strings) and searches the recorder's registry on every call; on paths
/// taken by every request the handle is looked up here instead. Keys are small values (interned
/// strings, status codes) from bounded sets: routes, RPC methods, partners, statuses.
pub struct HandleCache<K, H> {
    // foldhash, not SipHash: the keys are never chosen by a caller.
    handles: parking_lot::RwLock<foldhash::HashMap<K, H>>,
}

impl<K: Eq + std::hash::Hash, H: Clone> HandleCache<K, H> {
    pub fn new() -> Self {
        Self { handles: parking_lot::RwLock::new(foldhash::HashMap::default()) }
    }

    /// The handle for `key`, made (once) by `make`.
    pub fn get(&self, key: K, make: impl FnOnce(&K) -> H) -> H {
        if let Some(handle) = self.handles.read().get(&key) {
            return handle.clone();
        }
        self.handles.write().entry(key).or_insert_with_key(|key| make(key)).clone()
    }
}

impl<K: Eq + std::hash::Hash, H: Clone> Default for HandleCache<K, H> {
    fn default() -> Self {
        Self::new()
    }
}

/// A request counter and its duration histogram.
pub type CountAndDuration = (metrics::Counter, metrics::Histogram);

/// `text` as a `&'static str`, stored once: for label values from small, fixed sets (route
/// templates, partner ids) that [`HandleCache`] keys use.
pub fn intern(text: &str) -> &'static str {
    static INTERNED: OnceLock<parking_lot::RwLock<foldhash::HashSet<&'static str>>> = OnceLock::new();
    let interned = INTERNED.get_or_init(Default::default);
    if let Some(found) = interned.read().get(text) {
        return found;
    }
    let mut interned = interned.write();
    match interned.get(text) {
        Some(found) => found,
        None => {
            let leaked: &'static str = Box::leak(text.to_owned().into_boxed_str());
            interned.insert(leaked);
            leaked
        }
    }
}

/// The process-wide Prometheus handle (the `metrics` recorder is global).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0])
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may be installed already (an embedding application): then this
            // handle renders only what is recorded through it, which is nothing, and says so.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            crate::metrics_catalog::describe();
            handle
        })
        .clone()
}

#[cfg(all(test, feature = "otlp"))]
mod tests {
    use super::samples_new_trace;

    #[test]
    fn the_sample_ratio_keeps_about_that_share_of_new_traces() {
        let traces: Vec<[u8; 16]> = (0..10_000).map(|_| rand::random()).collect();
        let kept = |ratio| traces.iter().filter(|t| samples_new_trace(t, ratio)).count();
        assert_eq!(kept(1.0), 10_000);
        assert_eq!(kept(0.0), 0);
        let quarter = kept(0.25);
        assert!((2_200..2_800).contains(&quarter), "{quarter}");
        // The same trace gets the same decision (on every replica).
        assert!(traces.iter().all(|t| samples_new_trace(t, 0.5) == samples_new_trace(t, 0.5)));
    }
}
