//! Every metric the gateway exports, in one place: its `# HELP` text, the series that exist from
//! the start (at zero, so `rate()` and alerts see them before the first event), and the
//! Prometheus-standard `process_*` metrics read from `/proc` at each scrape.

/// What a metric is, for its `# TYPE` (the recorder writes that) and which `describe_*` applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// (kind, name, help) of every metric the gateway records. A test checks that every
/// `metrics::counter!`/`gauge!`/`histogram!` in the source is listed here and documented in
/// docs/operations.md.
pub const METRICS: &[(Kind, &str, &str)] = &[
    (Kind::Counter, "gateway_requests_total", "Requests answered, by transport, operation and status."),
    (
        Kind::Histogram,
        "gateway_request_duration_seconds",
        "Time to answer a request, upstream retries and waits included.",
    ),
    (
        Kind::Counter,
        "gateway_request_errors_total",
        "Failed requests by the gateway's error kind (the problem type's slug).",
    ),
    (Kind::Gauge, "gateway_requests_in_flight", "Requests being served now."),
    (
        Kind::Counter,
        "gateway_upstream_requests_total",
        "Attempts towards Partner Center, by operation, partner and HTTP status (or transport_error).",
    ),
    (Kind::Histogram, "gateway_upstream_request_duration_seconds", "Time of one attempt towards Partner Center."),
    (
        Kind::Counter,
        "gateway_upstream_retries_total",
        "Retries towards Partner Center after a timeout, connect error, 429 or 503.",
    ),
    (
        Kind::Counter,
        "gateway_upstream_retries_refused_total",
        "Retries the per-partner retry budget refused: the caller got Partner Center's error at once.",
    ),
    (
        Kind::Counter,
        "gateway_upstream_reads_total",
        "Buffered upstream reads by operation and how each was answered (sent, coalesced, cached).",
    ),
    (Kind::Counter, "gateway_upstream_throttled_total", "429 answers from Partner Center, by partner."),
    (Kind::Gauge, "gateway_circuit_state", "Circuit to Partner Center per partner: 0 closed, 1 half-open, 2 open."),
    (Kind::Counter, "gateway_token_requests_total", "Azure AD token requests by partner, flow and outcome."),
    (
        Kind::Counter,
        "gateway_token_cache_total",
        "Token cache lookups by partner, flow and outcome (hit, miss, refresh).",
    ),
    (Kind::Counter, "gateway_catalog_cache_total", "Catalog cache lookups by entry kind and outcome (hit, miss)."),
    (
        Kind::Counter,
        "gateway_graph_requests_total",
        "Requests to Microsoft Graph (billing exports) by operation and status.",
    ),
    (
        Kind::Counter,
        "gateway_rate_limited_total",
        "Requests the gateway refused with 429 itself, by scope (caller, caller_concurrency, caller_share, partner).",
    ),
    (
        Kind::Counter,
        "gateway_load_shed_total",
        "Requests refused with 503 because the replica was at its concurrency limit.",
    ),
    (Kind::Gauge, "gateway_connections_open", "Open client connections by listener."),
    (
        Kind::Counter,
        "gateway_connections_refused_total",
        "Connections refused because the listener was at limits.max_connections.",
    ),
    (
        Kind::Counter,
        "gateway_streams_ended_total",
        "Streamed answers the gateway ended, by why (stalled: the reader took nothing; too_long: past the limit).",
    ),
    (Kind::Gauge, "gateway_shared_state_up", "1 while this replica reaches Redis, 0 while it does not."),
    (Kind::Counter, "gateway_shared_state_errors_total", "Failed or timed-out Redis commands by store."),
    (
        Kind::Counter,
        "gateway_shared_state_fallback_total",
        "Throttled calls budgeted by this replica's share because Redis was unreachable.",
    ),
    (Kind::Histogram, "gateway_shared_state_command_duration_seconds", "Time of one Redis round trip by store."),
];

/// Gives every metric its `# HELP` line. Call once the recorder is installed.
pub fn describe() {
    for &(kind, name, help) in METRICS {
        match kind {
            Kind::Counter => metrics::describe_counter!(name, help),
            Kind::Gauge => metrics::describe_gauge!(name, help),
            Kind::Histogram => metrics::describe_histogram!(name, help),
        }
    }
}

/// Creates, at zero, the series whose labels come from closed sets known at start-up, so they are
/// scraped before anything happens. `partners` are the configured partner ids. Call it once the
/// gateway's recorder is installed (`telemetry::metrics_handle`), or the series go nowhere.
pub fn register_at_zero(partners: &[&str]) {
    for transport in ["rest", "grpc"] {
        metrics::counter!("gateway_load_shed_total", "transport" => transport).increment(0);
        metrics::counter!("gateway_connections_refused_total", "transport" => transport).increment(0);
        for why in ["stalled", "too_long"] {
            metrics::counter!("gateway_streams_ended_total", "transport" => transport, "why" => why).increment(0);
        }
    }
    for scope in ["caller", "caller_concurrency", "caller_share", "partner"] {
        metrics::counter!("gateway_rate_limited_total", "scope" => scope).increment(0);
    }
    for &partner in partners {
        let partner = partner.to_owned();
        metrics::counter!("gateway_upstream_throttled_total", "partner" => partner.clone()).increment(0);
        metrics::counter!("gateway_upstream_retries_refused_total", "partner" => partner.clone()).increment(0);
        for flow in ["app_only", "app_user"] {
            for outcome in ["ok", "error"] {
                metrics::counter!("gateway_token_requests_total", "partner" => partner.clone(), "flow" => flow, "outcome" => outcome)
                    .increment(0);
            }
        }
    }
}

/// The `process_*` metrics of the Prometheus client conventions, in the text format, read now.
/// Empty where `/proc` is not there (not Linux).
pub fn process_text() -> String {
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: Option<f64>| {
        if let Some(value) = value {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"));
        }
    };
    let stat = std::fs::read_to_string("/proc/self/stat").ok();
    // Fields after the command, which is in parentheses and may hold spaces: state is field 3.
    let fields: Vec<&str> = stat
        .as_deref()
        .and_then(|s| s.rsplit_once(')'))
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let status_kib = |key: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
    };
    // utime (14) + stime (15), in clock ticks; USER_HZ is 100 on every Linux architecture.
    let cpu = field(14).zip(field(15)).map(|(user, system)| (user + system) / TICKS_PER_SECOND);
    metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpu);
    metric(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        status_kib("VmRSS:").map(|kib| kib * 1024.0),
    );
    metric(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        status_kib("VmSize:").map(|kib| kib * 1024.0),
    );
    let open_fds = std::fs::read_dir("/proc/self/fd").ok().map(|dir| dir.count() as f64);
    metric("process_open_fds", "gauge", "Number of open file descriptors.", open_fds);
    let max_fds = std::fs::read_to_string("/proc/self/limits").ok().and_then(|limits| {
        limits
            .lines()
            .find_map(|line| line.strip_prefix("Max open files"))
            .and_then(|rest| rest.split_whitespace().next().and_then(|soft| soft.parse::<f64>().ok()))
    });
    metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", max_fds);
    metric("process_threads", "gauge", "Number of OS threads in the process.", status_kib("Threads:"));
    // starttime (22) is in ticks after boot; boot time (`btime`) is in /proc/stat.
    let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
        s.lines().find_map(|line| line.strip_prefix("btime ")).and_then(|v| v.trim().parse::<f64>().ok())
    });
    let start = field(22).zip(boot).map(|(ticks, boot)| boot + ticks / TICKS_PER_SECOND);
    metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", start);
    out
}

const TICKS_PER_SECOND: f64 = 100.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_prometheus_shaped() {
        let mut seen = std::collections::HashSet::new();
        for (kind, name, help) in METRICS {
            assert!(seen.insert(name), "{name} twice");
            assert!(
                name.starts_with("gateway_") && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
            assert_eq!(*kind == Kind::Counter, name.ends_with("_total"), "{name}");
            assert!(!help.is_empty() && !help.contains('\n'), "{name}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn process_metrics_are_read_from_proc() {
        let text = process_text();
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_virtual_memory_bytes",
            "process_open_fds",
            "process_max_fds",
            "process_threads",
            "process_start_time_seconds",
        ] {
            let value = text
                .lines()
                .find_map(|line| line.strip_prefix(&format!("{name} ")))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("{name} missing in\n{text}"));
            assert!(value >= 0.0, "{name} = {value}");
            assert!(text.contains(&format!("# HELP {name} ")), "{name}");
        }
        let rss = text.lines().find_map(|l| l.strip_prefix("process_resident_memory_bytes ")).unwrap_or_default();
        assert!(rss.parse::<f64>().unwrap_or_default() > 1_000_000.0, "a test process holds more than 1 MB: {rss}");
        let start = text.lines().find_map(|l| l.strip_prefix("process_start_time_seconds ")).unwrap_or_default();
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        let start = start.parse::<f64>().unwrap_or_default();
        assert!(start <= now + 1.0 && start > now - 24.0 * 3600.0, "started at {start}, now {now}");
    }
}
