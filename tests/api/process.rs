//! The real binary as a separate process: SIGTERM under load, memory at 1,000 connections, and
//! no secret in its logs, errors or metrics.

use std::{
    io::Read,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::{StreamExt, stream};
use partner_center_simulator::{FaultKind, FaultRule, seed};

use serde_json::json;

const BINARY: &str = env!("CARGO_BIN_EXE_partner-center-gateway");

/// The address the process logged for `key` (`rest=…` in text logs, `"rest":"…"` in JSON).
fn logged_addr(output: &str, key: &str) -> Option<String> {
    for marker in [format!("{key}="), format!("\"{key}\":\"")] {
        if let Some(at) = output.find(&marker) {
            let rest = &output[at + marker.len()..];
            let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':')).unwrap_or(rest.len());
            return Some(rest[..end].to_owned());
        }
    }
    None
}

/// The URL the process logged for `key` in text logs (`simulator_url=http://…/`).
fn logged_url(output: &str, key: &str) -> Option<String> {
    let at = output.find(&format!("{key}="))?;
    let rest = &output[at + key.len() + 1..];
    Some(rest.split_whitespace().next().unwrap_or_default().to_owned()).filter(|url| url.starts_with("http"))
}

pub struct GatewayProcess {
    child: Child,
    pub rest: String,
    /// `host:port` of the gRPC listener.
    pub grpc: String,
    pub simulator: String,
    output: Arc<Mutex<Vec<u8>>>,
    http: reqwest::Client,
}

impl GatewayProcess {
    pub async fn start(extra: &[&str]) -> Self {
        // Port 0 everywhere; the process logs what it bound. Extra settings go beside the first,
        // before the subcommand: clap lets a global `--set` given after it replace the ones
        // given before, which would put the simulator on its fixed default port.
        let (mut settings, mut serve_args) = (Vec::new(), Vec::new());
        let mut args = extra.iter();
        while let Some(&arg) = args.next() {
            if arg == "--set" {
                settings.extend([arg, args.next().copied().unwrap_or_default()]);
            } else {
                serve_args.push(arg);
            }
        }
        let mut command = Command::new(BINARY);
        command
            .args(["--set", "simulator.listen=127.0.0.1:0"])
            .args(settings)
            .args(["serve", "--rest-listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"])
            .args(serve_args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the binary starts");
        let output = Arc::new(Mutex::new(Vec::new()));
        for pipe in [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
            child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let sink = output.clone();
            std::thread::spawn(move || {
                let mut pipe = pipe;
                let mut buffer = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(&buffer[..n]);
                }
            });
        }
        let mut process = Self {
            child,
            rest: String::new(),
            grpc: String::new(),
            simulator: String::new(),
            output,
            http: reqwest::Client::builder().pool_max_idle_per_host(1024).build().expect("client"),
        };
        for _ in 0..300 {
            let output = process.output();
            let simulator = logged_addr(&output, "simulator")
                .filter(|addr| !addr.is_empty())
                .map(|addr| format!("http://{addr}"))
                .or_else(|| logged_url(&output, "simulator_url"));
            if let (Some(rest), Some(grpc), Some(simulator)) =
                (logged_addr(&output, "rest"), logged_addr(&output, "grpc"), simulator)
            {
                process.rest = format!("http://{rest}");
                process.grpc = grpc;
                process.simulator = simulator.trim_end_matches('/').to_owned();
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for _ in 0..300 {
            if let Ok(r) = process.http.get(format!("{}/readyz", process.rest)).send().await
                && r.status() == 200
            {
                return process;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the gateway process did not become ready: {}", process.output());
    }

    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// A dev token from the `dev-token` subcommand.
    pub fn token(&self) -> String {
        let out = Command::new(BINARY).args(["dev-token", "--customer", "*"]).output().expect("dev-token");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    pub fn sigterm(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(status.success());
    }

    pub fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub async fn inject(&self, rule: FaultRule) {
        let response =
            self.http.post(format!("{}/_simulator/faults", self.simulator)).json(&rule).send().await.expect("fault");
        assert_eq!(response.status(), 201);
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn sigterm_under_load_flips_readiness_first_and_fails_no_request() {
    let mut gateway = GatewayProcess::start(&[
        "--set",
        "rest.shutdown_delay=1s",
        "--set",
        "limits.caller_requests_per_minute=0",
        "--set",
        "partner_center.budget_per_minute=0",
        "--set",
        "limits.max_in_flight_per_caller=200",
    ])
    .await;
    let token = gateway.token();
    gateway
        .inject(FaultRule::new(FaultKind::Delay { delay_ms: 700, delay_max_ms: None }).on("GET", "/v1/customers/"))
        .await;
    let url = format!("{}/v1/customers/{}", gateway.rest, seed::CUSTOMER_FABRIKAM);
    let http = reqwest::Client::new();
    let in_flight: Vec<_> = (0..200).map(|_| tokio::spawn(http.get(&url).bearer_auth(&token).send())).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    gateway.sigterm();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ready = reqwest::Client::new()
        .get(format!("{}/readyz", gateway.rest))
        .send()
        .await
        .expect("still serving while draining");
    assert_eq!(ready.status(), 503, "readiness flips first");
    let mut failed = 0;
    for request in in_flight {
        match request.await.expect("task") {
            Ok(response) if response.status() == 200 => {}
            _ => failed += 1,
        }
    }
    assert_eq!(failed, 0, "requests in flight at SIGTERM all complete");
    let status = gateway.wait(Duration::from_secs(10)).expect("the process exits");
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn a_thousand_connections_keep_the_gateway_responsive_and_its_memory_bounded() {
    // One caller holds all of them: its share is raised to the whole gateway for this test.
    let gateway = GatewayProcess::start(&[
        "--set",
        "limits.caller_requests_per_minute=0",
        "--set",
        "partner_center.budget_per_minute=0",
        "--set",
        "limits.max_in_flight_per_caller=1024",
        "--set",
        "limits.max_connections=1100",
    ])
    .await;
    let token = gateway.token();
    let idle = gateway.rss_bytes();
    // 1,000 clients, each with its own connection, each holding a slow request open.
    gateway
        .inject(FaultRule::new(FaultKind::Delay { delay_ms: 1_500, delay_max_ms: None }).on("GET", "/v1/customers/"))
        .await;
    let clients: Vec<reqwest::Client> =
        (0..1000).map(|_| reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("client")).collect();
    let url = format!("{}/v1/customers/{}", gateway.rest, seed::CUSTOMER_FABRIKAM);
    let requests: Vec<_> = clients.iter().map(|c| tokio::spawn(c.get(&url).bearer_auth(&token).send())).collect();
    tokio::time::sleep(Duration::from_millis(700)).await;

    let started = Instant::now();
    let live = reqwest::Client::new().get(format!("{}/livez", gateway.rest)).send().await.expect("livez");
    let probe_latency = started.elapsed();
    let loaded = gateway.rss_bytes();
    assert_eq!(live.status(), 200);
    assert!(probe_latency < Duration::from_millis(500), "livez took {probe_latency:?} under load");

    let outcomes: Vec<u16> = stream::iter(requests)
        .then(|r| async move { r.await.ok().and_then(|r| r.ok()).map_or(0, |r| r.status().as_u16()) })
        .collect()
        .await;
    let ok = outcomes.iter().filter(|s| **s == 200).count();
    println!(
        "1,000 connections: RSS idle {} MiB, loaded {} MiB, livez {probe_latency:?}, {ok} of 1000 ok",
        idle / (1024 * 1024),
        loaded / (1024 * 1024)
    );
    assert_eq!(ok, 1000, "{:?}", outcomes.iter().filter(|s| **s != 200).collect::<Vec<_>>());
    assert!(loaded < idle + 150 * 1024 * 1024, "memory grew from {idle} to {loaded} bytes");
}

#[tokio::test]
async fn no_secret_or_token_reaches_logs_errors_or_metrics() {
    let gateway = GatewayProcess::start(&[
        "--log-format",
        "json",
        "--set",
        "log.filter=debug",
        "--set",
        "simulator.token_lifetime=2s",
    ])
    .await;
    let token = gateway.token();
    let http = reqwest::Client::new();
    let customer = seed::CUSTOMER_FABRIKAM;
    let mut answers = String::new();
    // A full flow: reads, app+user operations (refresh-token grant, rotated each time), a
    // purchase, failures and bad input.
    let calls = [
        ("GET", format!("/v1/customers/{customer}"), None),
        ("GET", "/v1/catalog/azure-plan?country=US".to_owned(), None),
        ("GET", format!("/v1/customers/{customer}/usage/summary"), None),
        ("POST", format!("/v1/customers/{customer}/azure-plans"), None),
        ("GET", format!("/v1/customers/{customer}/orders"), None),
        ("GET", format!("/v1/customers/{customer}/agreements"), None),
        ("GET", "/v1/invoices/D02005YFHI".to_owned(), None),
        (
            "POST",
            format!("/v1/customers/{customer}/carts"),
            Some(json!({ "lineItems": [{ "catalogItemId": "x", "quantity": "1" }] })),
        ),
        ("GET", "/v1/customers/not-a-guid".to_owned(), None),
    ];
    for round in 0..2 {
        for (method, path, body) in &calls {
            let mut request = http
                .request(method.parse().expect("method"), format!("{}{path}", gateway.rest))
                .bearer_auth(&token)
                .header("Idempotency-Key", format!("k{round}"));
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.expect("send");
            answers.push_str(&format!("{:?}", response.headers()));
            answers.push_str(&response.text().await.unwrap_or_default());
        }
        // Let the 2 s tokens expire so both grants run again.
        tokio::time::sleep(Duration::from_millis(1_200)).await;
    }
    // Partner Center rejecting the gateway's token, and the token endpoint failing.
    gateway.inject(FaultRule::new(FaultKind::RejectToken).on("GET", "/v1/").times(3)).await;
    let response =
        http.get(format!("{}/v1/customers/{customer}", gateway.rest)).bearer_auth(&token).send().await.expect("send");
    answers.push_str(&response.text().await.unwrap_or_default());
    answers.push_str(
        &http.get(format!("{}/metrics", gateway.rest)).send().await.expect("metrics").text().await.unwrap_or_default(),
    );
    tokio::time::sleep(Duration::from_millis(200)).await;

    let logs = gateway.output();
    let sim_counters: serde_json::Value = http
        .get(format!("{}/_simulator/counters", gateway.simulator))
        .send()
        .await
        .expect("counters")
        .json()
        .await
        .expect("json");
    assert!(
        sim_counters["tokenRequests"]["refresh_token"].as_u64().unwrap_or(0) >= 2,
        "the app+user flow ran: {sim_counters}"
    );
    assert!(logs.contains("partner center call"), "debug logging was on");
    let banner_free_logs: String = logs.lines().filter(|l| l.starts_with('{')).collect::<Vec<_>>().join("\n");
    for (what, secret) in [
        ("client secret", seed::CONTOSO_CLIENT_SECRET.to_owned()),
        ("seeded refresh token", seed::CONTOSO_REFRESH_TOKEN.to_owned()),
        ("rotated refresh tokens", "sim-refresh-".to_owned()),
        ("Partner Center access tokens", "sim-at-".to_owned()),
        ("the caller's token", token.clone()),
        ("the caller's token signature", token.rsplit('.').next().unwrap_or_default().to_owned()),
    ] {
        assert!(!banner_free_logs.contains(&secret), "{what} found in the logs");
        assert!(!answers.contains(&secret), "{what} found in answers or metrics");
    }
}

/// An OTLP/gRPC collector that keeps the spans it receives.
#[cfg(feature = "otlp")]
mod collector {
    use std::sync::{Arc, Mutex};

    use opentelemetry_proto::tonic::{
        collector::trace::v1::{
            ExportTraceServiceRequest, ExportTraceServiceResponse,
            trace_service_server::{TraceService, TraceServiceServer},
        },
        trace::v1::Span,
    };

    #[derive(Clone, Default)]
    pub struct Collector {
        pub spans: Arc<Mutex<Vec<(String, Span)>>>,
    }

    #[tonic::async_trait]
    impl TraceService for Collector {
        async fn export(
            &self,
            request: tonic::Request<ExportTraceServiceRequest>,
        ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
            let mut spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
            for resource in request.into_inner().resource_spans {
                let service = resource
                    .resource
                    .iter()
                    .flat_map(|r| &r.attributes)
                    .find(|a| a.key == "service.name")
                    .and_then(|a| a.value.as_ref())
                    .map(|v| format!("{v:?}"))
                    .unwrap_or_default();
                for scope in resource.scope_spans {
                    spans.extend(scope.spans.into_iter().map(|span| (service.clone(), span)));
                }
            }
            Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
        }
    }

    /// Starts the collector on a free port; returns its address.
    pub async fn start(collector: Collector) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(collector))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        addr
    }
}

#[cfg(feature = "otlp")]
// Waiting for the process blocks a thread; the collector needs another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_over_otlp_in_the_callers_trace() {
    let collector = collector::Collector::default();
    let addr = collector::start(collector.clone()).await;
    let endpoint = format!("tracing.otlp_endpoint=http://{addr}");
    let mut gateway =
        GatewayProcess::start(&["--set", &endpoint, "--set", "tracing.service_name=gateway-under-test"]).await;
    let token = gateway.token();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = reqwest::Client::new()
        .get(format!("{}/v1/customers/{}", gateway.rest, seed::CUSTOMER_FABRIKAM))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    // Shutdown flushes the batch of spans.
    gateway.sigterm();
    assert!(gateway.wait(Duration::from_secs(10)).is_some_and(|s| s.success()), "{}", gateway.output());
    let spans = collector.spans.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let request =
        spans.iter().find(|(_, span)| span.name == "request" && hex(&span.trace_id) == trace_id).unwrap_or_else(|| {
            panic!("no request span in the caller's trace among {} spans: {}", spans.len(), gateway.output())
        });
    assert!(request.0.contains("gateway-under-test"), "service.name: {}", request.0);
    assert_eq!(hex(&request.1.parent_span_id), "00f067aa0ba902b7", "the caller's span is the parent");
    let operation = request.1.attributes.iter().find(|a| a.key == "operation").and_then(|a| a.value.as_ref());
    assert!(format!("{operation:?}").contains("GET /v1/customers/{customerId}"), "{operation:?}");
}

#[cfg(feature = "otlp")]
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
