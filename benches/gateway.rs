//! What the gateway costs per request, measured against what a caller would otherwise use.
//!
//! ```text
//! cargo bench --bench gateway                          # the full run, 6–7 minutes
//! PCG_BENCH_SECONDS=1 cargo bench --bench gateway      # shorter measurement windows
//! PCG_BENCH_ONLY=get,latency,dashboard cargo bench --bench gateway   # chosen sections
//! ```
//!
//! Sections: `get` (one GET direct, through nginx, through the gateway; CPU per request of both
//! proxies), `catalog`, `purchase`, `tokens`, `memory`, `latency` (Partner Center's 100-300 ms at
//! c=256: what the hop adds) and `dashboard` (200 callers polling 20 customers: upstream calls per
//! caller request with and without coalescing and the response cache).
//!
//! Everything runs on this machine as separate processes built in release mode: the Partner Center
//! simulator (`partner-center-gateway simulate`), the gateway (`serve`, in `jwt` mode with RS256
//! tokens and the tenant check on, pointed at the simulator as at Partner Center), and nginx
//! (`proxy_pass` with upstream keep-alive) when it is installed. The load generator is this
//! process: fixed concurrency, closed loop, every response read to the end. Each figure is printed
//! next to its baseline from the same run, as a ratio: absolute numbers vary with the machine, the
//! ratios much less. See BENCHMARKS.md for the figures and what they led to.

use std::{
    future::Future,
    io::Read,
    path::{Path, PathBuf},
    pin::Pin,
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use partner_center_gateway::grpc::pb::{GetCustomerRequest, customer_service_client::CustomerServiceClient};
use partner_center_simulator::{FaultKind, FaultRule, seed};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::Channel;

const BINARY: &str = env!("CARGO_BIN_EXE_partner-center-gateway");
const ISSUER: &str = "https://issuer.bench.example/";
const AUDIENCE: &str = "api://partner-center-gateway-bench";
const CUSTOMER: &str = seed::CUSTOMER_FABRIKAM;
const LEVELS: [usize; 3] = [1, 16, 128];
/// Alternating windows of nginx and the gateway's REST hop per level, for CPU per request.
const CPU_ROUNDS: usize = 3;

fn main() {
    // The load generator gets one thread: the servers under test share the other cores with it,
    // the same way in every scenario.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let seconds = std::env::var("PCG_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let window = Duration::from_secs_f64(seconds);
    let work = tempdir();
    println!("partner-center-gateway benchmark: {} cores, {seconds} s per measurement", cores());
    println!("work directory {}", work.display());

    let only: Option<Vec<String>> = std::env::var("PCG_BENCH_ONLY")
        .ok()
        .map(|list| list.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect());
    let wanted = |section: &str| only.as_ref().is_none_or(|list| list.iter().any(|s| s == section));

    let sim = Simulator::start();
    // A pass-through hop: every read its own upstream call, as through nginx.
    let gateway = Gateway::start(&work, "main", &sim, &["partner_center.coalesce_reads=false"]);
    let idle_rss = rss_kib(gateway.process.id());
    let jwt = caller_token();
    let aad = sim.access_token().await;
    let aad_user = sim.app_user_token().await;
    let nginx = Nginx::start(&work, &sim);

    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().expect("client");
    let mut report = Report::default();

    // 1. The same GET: straight to the simulator, through nginx, through the gateway.
    if wanted("get") {
        report.section("GET one customer (Partner Center A3 / gateway GET /v1/customers/{id})");
        // The same hop with a worker thread per core, beside the default single event loop.
        let threads = cores().to_string();
        let per_core = Gateway::start(
            &work,
            "per-core",
            &sim,
            &["partner_center.coalesce_reads=false", &format!("runtime.worker_threads={threads}")],
        );
        for &concurrency in &LEVELS {
            let direct = format!("{}v1/customers/{CUSTOMER}", sim.url);
            let baseline = measure(concurrency, window, get_op(&http, &direct, &aad)).await;
            report.row("direct to the simulator", concurrency, &baseline, None);
            // nginx and the gateway's REST hop alternate for CPU_ROUNDS windows each, and the ratio is
            // the median of each round's pair: a window's CPU per request moves with where the
            // scheduler puts the processes on few cores (most at c=1, where each request wakes every
            // process from idle), and adjacent windows share that drift.
            let nginx_url = nginx.as_ref().map(|nginx| format!("{}/v1/customers/{CUSTOMER}", nginx.url));
            let url = format!("{}/v1/customers/{CUSTOMER}", gateway.rest);
            let mut nginx_cpu = Vec::new();
            let mut rest_cpu = Vec::new();
            let mut rest = None;
            for round in 0..CPU_ROUNDS {
                if let (Some(nginx), Some(nginx_url)) = (&nginx, &nginx_url) {
                    let before = nginx.cpu();
                    let stats = measure(concurrency, window, get_op(&http, nginx_url, &aad)).await;
                    nginx_cpu.push(cpu_per_request(nginx.cpu() - before, &stats));
                    if round == 0 {
                        report.row("nginx proxy_pass", concurrency, &stats, Some(&baseline));
                    }
                }
                let before = gateway.cpu();
                let stats = measure(concurrency, window, get_op(&http, &url, &jwt)).await;
                rest_cpu.push(cpu_per_request(gateway.cpu() - before, &stats));
                if round == 0 {
                    report.row("gateway REST", concurrency, &stats, Some(&baseline));
                    rest = Some(stats);
                }
            }
            let rest = rest.expect("CPU_ROUNDS is at least one");
            let rest_cpu_per_request = median(&rest_cpu);
            let nginx_cpu_per_request = (!nginx_cpu.is_empty()).then(|| median(&nginx_cpu));
            let round_ratios: Vec<f64> = rest_cpu.iter().zip(&nginx_cpu).map(|(rest, nginx)| rest / nginx).collect();
            let channels = grpc_channels(&gateway.grpc, concurrency.div_ceil(32)).await;
            let before = gateway.cpu();
            let grpc = measure(concurrency, window, grpc_op(channels, &jwt)).await;
            let grpc_cpu_per_request = cpu_per_request(gateway.cpu() - before, &grpc);
            report.row("gateway gRPC", concurrency, &grpc, Some(&baseline));
            let url = format!("{}/v1/customers/{CUSTOMER}", per_core.rest);
            let before = per_core.cpu();
            let spread = measure(concurrency, window, get_op(&http, &url, &jwt)).await;
            let spread_cpu_per_request = cpu_per_request(per_core.cpu() - before, &spread);
            report.row(&format!("gateway REST, {threads} worker threads"), concurrency, &spread, Some(&baseline));
            // What the hop adds to the direct call's p50, as a multiple of that call.
            let added =
                |stats: &Stats| (stats.p50.as_secs_f64() - baseline.p50.as_secs_f64()) / baseline.p50.as_secs_f64();
            report.note(format!(
            "c={concurrency}: gateway CPU per request {rest_cpu_per_request:.0} µs (REST, median of {CPU_ROUNDS} windows: {}), {grpc_cpu_per_request:.0} µs (gRPC), \
             {spread_cpu_per_request:.0} µs (REST, {threads} worker threads){}; gRPC/REST p50 {:.2}, throughput {:.2}; \
             p50 added to the direct call's: REST {:.2}×, gRPC {:.2}× of it",
            listed(&rest_cpu, 0),
            nginx_cpu_per_request.map_or(String::new(), |nginx| format!(
                "; nginx {nginx:.0} µs (windows: {}; gateway/nginx: REST {:.2}× [rounds {}], gRPC {:.2}×, REST with {threads} threads {:.2}×)",
                listed(&nginx_cpu, 0),
                median(&round_ratios),
                listed(&round_ratios, 2),
                grpc_cpu_per_request / nginx,
                spread_cpu_per_request / nginx
            )),
            grpc.p50.as_secs_f64() / rest.p50.as_secs_f64(),
            grpc.per_second / rest.per_second,
            added(&rest),
            added(&grpc),
        ));
        }
        drop(per_core);
    }
    if nginx.is_none() {
        report.note(
            "nginx is not installed, so the proxy baseline was skipped (Debian: apt-get install nginx-light)"
                .to_owned(),
        );
    }

    // 2. Catalog reads, cached by the gateway or not.
    if wanted("catalog") {
        report.section("Catalog reads (c=16)");
        let uncached = Gateway::start(&work, "uncached", &sim, &["catalog.cache_ttl=0s"]);
        let product = format!("{}v1/products/{}?country=US", sim.url, seed::AZURE_PLAN_PRODUCT_ID);
        let baseline = measure(16, window, get_op(&http, &product, &aad)).await;
        report.row("product, direct to the simulator", 16, &baseline, None);
        let path = format!("/v1/catalog/products/{}?country=US", seed::AZURE_PLAN_PRODUCT_ID);
        let stats = measure(16, window, get_op(&http, &format!("{}{path}", uncached.rest), &jwt)).await;
        report.row("product, gateway uncached", 16, &stats, Some(&baseline));
        let stats = measure(16, window, get_op(&http, &format!("{}{path}", gateway.rest), &jwt)).await;
        report.row("product, gateway cached", 16, &stats, Some(&baseline));
        let baseline = measure(16, window, azure_plan_lookup_op(&http, &sim.url, &aad)).await;
        report.row("Azure plan item, 3 calls direct", 16, &baseline, None);
        let path = "/v1/catalog/azure-plan?country=US";
        let stats = measure(16, window, get_op(&http, &format!("{}{path}", uncached.rest), &jwt)).await;
        report.row("Azure plan item, gateway uncached", 16, &stats, Some(&baseline));
        let stats = measure(16, window, get_op(&http, &format!("{}{path}", gateway.rest), &jwt)).await;
        report.row("Azure plan item, gateway cached", 16, &stats, Some(&baseline));
        drop(uncached);
    }

    // 3. Buying an Azure plan: the documented six-call flow against one gateway call.
    if wanted("purchase") {
        report.section("Azure plan purchase");
        for concurrency in [1, 8] {
            let calls_before = sim.partner_center_calls(&http).await;
            let naive = measure(concurrency, window, naive_purchase_op(&http, &sim.url, &aad, &aad_user)).await;
            let naive_calls = sim.partner_center_calls(&http).await - calls_before;
            report.row("six calls direct to the simulator", concurrency, &naive, None);
            let calls_before = sim.partner_center_calls(&http).await;
            let warm = measure(concurrency, window, gateway_purchase_op(&http, &gateway.rest, &jwt)).await;
            let warm_calls = sim.partner_center_calls(&http).await - calls_before;
            report.row("gateway CreateAzurePlan (warm)", concurrency, &warm, Some(&naive));
            report.note(format!(
                "c={concurrency}: Partner Center calls per purchase: {:.2} naive, {:.2} through the gateway",
                naive_calls as f64 / (naive.count + naive.warmup_count).max(1) as f64,
                warm_calls as f64 / (warm.count + warm.warmup_count).max(1) as f64,
            ));
        }
    }

    // 4. A cold token cache under 10,000 concurrent requests.
    if wanted("tokens") {
        report.section("Token cache: 10,000 concurrent requests on a cold gateway");
        let cold = Gateway::start(&work, "cold", &sim, &[]);
        let tokens_before = sim.token_requests(&http).await;
        let (ok, elapsed) = burst(&cold.grpc, &jwt, 10_000, 50).await;
        let token_requests = sim.token_requests(&http).await - tokens_before;
        report.note(format!(
            "{ok} of 10000 succeeded in {:.2} s; Azure AD token requests: {token_requests} (must be 1)",
            elapsed.as_secs_f64()
        ));
        drop(cold);
    }

    // 5. Memory: a fresh gateway that has served a few requests (token fetched, caches warm), then
    //    1,000 clients that each made a request and stay connected, idle.
    if wanted("memory") {
        report.section("Gateway memory (RSS)");
        let fresh = Gateway::start(&work, "memory", &sim, &[]);
        drop(hold_connections(&fresh.rest_addr(), &jwt, 10).await);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let fresh_idle = rss_kib(fresh.process.id());
        let connections = hold_connections(&fresh.rest_addr(), &jwt, 1000).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let with_connections = rss_kib(fresh.process.id());
        report.note(format!(
        "fresh gateway: {:.1} MiB idle, {:.1} MiB with 1,000 open keep-alive connections ({} connected, {:.1} KiB each)",
        fresh_idle as f64 / 1024.0,
        with_connections as f64 / 1024.0,
        connections.len(),
        with_connections.saturating_sub(fresh_idle) as f64 / connections.len().max(1) as f64,
    ));
        report.note(format!(
            "the gateway that served every scenario above: {:.1} MiB after start, {:.1} MiB now, {:.1} MiB at its peak",
            idle_rss as f64 / 1024.0,
            rss_kib(gateway.process.id()) as f64 / 1024.0,
            hwm_kib(gateway.process.id()) as f64 / 1024.0,
        ));
        drop(connections);
        drop(fresh);
    }

    // 6. Partner Center's own latency: what the hop adds when the upstream takes 100-300 ms.
    if wanted("latency") {
        latency_section(&mut report, &work, &sim, &http, nginx.as_ref(), &aad, &jwt, window).await;
    }

    // 7. Dashboards polling: upstream calls per caller request.
    if wanted("dashboard") {
        dashboard_section(&mut report, &work, &sim, &http).await;
    }

    report.print();
    drop(nginx);
}

/// GET one customer at c=256 while Partner Center answers in 100-300 ms: direct, through nginx,
/// through the gateway as a pass-through hop (added p50/p99, memory) and with coalescing on.
#[allow(clippy::too_many_arguments)]
async fn latency_section(
    report: &mut Report,
    work: &Path,
    sim: &Simulator,
    http: &reqwest::Client,
    nginx: Option<&Nginx>,
    aad: &str,
    jwt: &str,
    window: Duration,
) {
    const CONCURRENCY: usize = 256;
    report.section("Partner Center latency 100-300 ms, c=256: GET one customer");
    let window = window.max(Duration::from_secs(5));
    let pass_through = Gateway::start(work, "latency-pass-through", sim, &["partner_center.coalesce_reads=false"]);
    let coalescing = Gateway::start(work, "latency-coalescing", sim, &[]);
    let idle = rss_kib(pass_through.process.id());
    sim.add_fault(
        http,
        FaultRule::new(FaultKind::Delay { delay_ms: 100, delay_max_ms: Some(300) }).on("GET", "/v1/customers/"),
    )
    .await;
    let direct = format!("{}v1/customers/{CUSTOMER}", sim.url);
    let baseline = measure(CONCURRENCY, window, get_op(http, &direct, aad)).await;
    report.row("direct to the simulator", CONCURRENCY, &baseline, None);
    let added = |stats: &Stats| {
        format!(
            "p50 +{:.2} ms, p99 +{:.2} ms",
            (stats.p50.as_secs_f64() - baseline.p50.as_secs_f64()) * 1e3,
            (stats.p99.as_secs_f64() - baseline.p99.as_secs_f64()) * 1e3
        )
    };
    let mut notes = Vec::new();
    if let Some(nginx) = nginx {
        let url = format!("{}/v1/customers/{CUSTOMER}", nginx.url);
        let stats = measure(CONCURRENCY, window, get_op(http, &url, aad)).await;
        report.row("nginx proxy_pass", CONCURRENCY, &stats, Some(&baseline));
        notes.push(format!("nginx adds {}", added(&stats)));
    }
    let url = format!("{}/v1/customers/{CUSTOMER}", pass_through.rest);
    let stats = measure(CONCURRENCY, window, get_op(http, &url, jwt)).await;
    report.row("gateway REST, pass-through (no coalescing)", CONCURRENCY, &stats, Some(&baseline));
    notes.push(format!(
        "the gateway adds {}; its RSS {:.1} MiB idle, {:.1} MiB after, {:.1} MiB peak",
        added(&stats),
        idle as f64 / 1024.0,
        rss_kib(pass_through.process.id()) as f64 / 1024.0,
        hwm_kib(pass_through.process.id()) as f64 / 1024.0,
    ));
    let calls_before = sim.partner_center_calls(http).await;
    let url = format!("{}/v1/customers/{CUSTOMER}", coalescing.rest);
    let stats = measure(CONCURRENCY, window, get_op(http, &url, jwt)).await;
    let calls = sim.partner_center_calls(http).await - calls_before;
    report.row("gateway REST, identical reads coalesced", CONCURRENCY, &stats, Some(&baseline));
    notes.push(format!(
        "with coalescing: {:.3} upstream calls per request ({calls} for {})",
        calls as f64 / (stats.count + stats.warmup_count).max(1) as f64,
        stats.count + stats.warmup_count
    ));
    report.note(notes.join("; "));
    sim.clear_faults(http).await;
}

/// 200 callers (each its own token subject) poll the subscriptions and orders of 20 customers
/// every 2 s for 30 s while Partner Center answers in 200 ms, through a gateway with the default
/// partner budget (500 per minute and resource, half of it per caller): without sharing, with
/// coalescing, with coalescing and a 30 s response cache for the two reads.
async fn dashboard_section(report: &mut Report, work: &Path, sim: &Simulator, http: &reqwest::Client) {
    const CALLERS: usize = 200;
    const POLL: Duration = Duration::from_secs(2);
    let seconds = std::env::var("PCG_DASHBOARD_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(30.0);
    let window = Duration::from_secs_f64(seconds);
    report.section(&format!(
        "Dashboard: {CALLERS} callers polling 20 customers' subscriptions and orders every 2 s for {seconds:.0} s, Partner Center at 200 ms"
    ));
    let customers: Vec<String> = seed::customers()
        .into_iter()
        .filter(|c| c.partner_tenant == seed::CONTOSO_TENANT_ID)
        .map(|c| c.id)
        .take(20)
        .collect();
    let tokens: Vec<String> = (0..CALLERS)
        .map(|i| signed_token(&format!("dashboard-{i}"), json!("*"), json!(["subscriptions.read", "orders.read"])))
        .collect();
    sim.add_fault(
        http,
        FaultRule::new(FaultKind::Delay { delay_ms: 200, delay_max_ms: None }).on("GET", "/v1/customers/"),
    )
    .await;
    let budget = ["partner_center.budget_per_minute=500", "partner_center.budget_burst=50"];
    let setups: [(&str, Vec<&str>); 3] = [
        ("every read its own call", vec!["partner_center.coalesce_reads=false"]),
        ("identical reads coalesced", vec![]),
        (
            "coalesced + 30 s response cache",
            vec![r#"partner_center.response_cache.ttl={"subscriptions.list"="30s","orders.list"="30s"}"#],
        ),
    ];
    report.note(
        "| gateway | caller requests | upstream calls | upstream calls per request | 429 (partner budget) | other errors | p50 | p99 | peak RSS |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
            .to_owned(),
    );
    for (name, extra) in setups {
        let settings: Vec<&str> = budget.iter().copied().chain(extra).collect();
        let gateway = Gateway::start(work, &format!("dashboard-{}", name.len()), sim, &settings);
        let calls_before = sim.partner_center_calls(http).await;
        let deadline = Instant::now() + window;
        let callers = tokens.iter().enumerate().map(|(i, token)| {
            let (http, token) = (http.clone(), token.clone());
            let customer = customers[i % customers.len()].clone();
            let base = gateway.rest.clone();
            tokio::spawn(async move {
                // Dashboards open at different moments.
                tokio::time::sleep(POLL.mul_f64(i as f64 / CALLERS as f64)).await;
                let (mut latencies, mut throttled, mut failed) = (Vec::new(), 0u64, 0u64);
                while Instant::now() < deadline {
                    let started = Instant::now();
                    for what in ["subscriptions", "orders"] {
                        let at = Instant::now();
                        let url = format!("{base}/v1/customers/{customer}/{what}");
                        match http.get(&url).bearer_auth(&token).send().await {
                            Ok(response) if response.status().is_success() => {
                                let _ = response.bytes().await;
                                latencies.push(at.elapsed());
                            }
                            Ok(response) if response.status() == 429 => throttled += 1,
                            other => {
                                if failed == 0 && i == 0 {
                                    let what = match other {
                                        Ok(response) => format!(
                                            "{} {}",
                                            response.status(),
                                            response.text().await.unwrap_or_default()
                                        ),
                                        Err(error) => error.to_string(),
                                    };
                                    eprintln!("dashboard caller 0: {url}: {what}");
                                }
                                failed += 1
                            }
                        }
                    }
                    tokio::time::sleep(POLL.saturating_sub(started.elapsed())).await;
                }
                (latencies, throttled, failed)
            })
        });
        let (mut latencies, mut throttled, mut failed) = (Vec::new(), 0, 0);
        for caller in futures::future::join_all(callers).await {
            let (l, t, f) = caller.expect("caller");
            latencies.extend(l);
            throttled += t;
            failed += f;
        }
        let calls = sim.partner_center_calls(http).await - calls_before;
        latencies.sort_unstable();
        let at =
            |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default();
        let requests = latencies.len() as u64 + throttled + failed;
        let line = format!(
            "| {name} | {requests} | {calls} | {:.3} | {throttled} | {failed} | {} | {} | {:.1} MiB |",
            calls as f64 / requests.max(1) as f64,
            show(at(0.5)),
            show(at(0.99)),
            hwm_kib(gateway.process.id()) as f64 / 1024.0
        );
        println!("{line}");
        report.lines.push(line);
    }
    sim.clear_faults(http).await;
}

// ---------------------------------------------------------------------------------------------
// Load generation

type Op = Arc<dyn Fn(u64) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

#[derive(Clone, Debug)]
struct Stats {
    count: u64,
    warmup_count: u64,
    errors: u64,
    p50: Duration,
    p99: Duration,
    per_second: f64,
}

/// Microseconds of a process's CPU per request over a measurement (its warm-up included, as the
/// CPU reading spans both).
fn cpu_per_request(used: Duration, stats: &Stats) -> f64 {
    used.as_secs_f64() * 1e6 / (stats.count + stats.warmup_count).max(1) as f64
}

/// `values` with `decimals` digits each, space-separated (every window or round of a figure).
fn listed(values: &[f64], decimals: usize) -> String {
    values.iter().map(|value| format!("{value:.decimals$}")).collect::<Vec<_>>().join(" ")
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Runs `op` in `concurrency` closed loops for `window` (after a short warm-up that is not counted).
async fn measure(concurrency: usize, window: Duration, op: Op) -> Stats {
    let sequence = Arc::new(AtomicU64::new(0));
    let warmup = Duration::from_millis(300).min(window / 2);
    let warmup_count = drive(concurrency, warmup, &op, &sequence).await.0.len() as u64;
    let started = Instant::now();
    let (mut latencies, errors) = drive(concurrency, window, &op, &sequence).await;
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default();
    Stats {
        count: latencies.len() as u64,
        warmup_count,
        errors,
        p50: at(0.50),
        p99: at(0.99),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
    }
}

async fn drive(concurrency: usize, window: Duration, op: &Op, sequence: &Arc<AtomicU64>) -> (Vec<Duration>, u64) {
    let deadline = Instant::now() + window;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let op = op.clone();
            let sequence = sequence.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(4096);
                let mut errors = 0;
                while Instant::now() < deadline {
                    let started = Instant::now();
                    if op(sequence.fetch_add(1, Ordering::Relaxed)).await {
                        latencies.push(started.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (latencies, failed) = worker.await.expect("worker");
        all.extend(latencies);
        errors += failed;
    }
    (all, errors)
}

fn get_op(http: &reqwest::Client, url: &str, token: &str) -> Op {
    let (http, url, token) = (http.clone(), url.to_owned(), token.to_owned());
    Arc::new(move |_| {
        let request = http.get(&url).bearer_auth(&token).send();
        Box::pin(async move { read_ok(request.await).await })
    })
}

async fn read_ok(response: reqwest::Result<reqwest::Response>) -> bool {
    match response {
        Ok(response) => {
            let ok = response.status().is_success();
            // Read the body to the end, as a real caller does.
            response.bytes().await.is_ok() && ok
        }
        Err(_) => false,
    }
}

async fn grpc_channels(address: &str, count: usize) -> Vec<Channel> {
    let mut channels = Vec::new();
    for _ in 0..count.max(1) {
        let channel = Channel::from_shared(address.to_owned()).expect("uri").connect().await.expect("grpc connect");
        channels.push(channel);
    }
    channels
}

fn grpc_op(channels: Vec<Channel>, token: &str) -> Op {
    let bearer: tonic::metadata::MetadataValue<_> = format!("Bearer {token}").parse().expect("ascii");
    Arc::new(move |n| {
        let mut client = CustomerServiceClient::new(channels[n as usize % channels.len()].clone());
        let mut request = tonic::Request::new(GetCustomerRequest { customer_id: CUSTOMER.to_owned() });
        request.metadata_mut().insert("authorization", bearer.clone());
        Box::pin(async move { client.get_customer(request).await.is_ok() })
    })
}

/// The catalog part of the documented purchase flow: products, SKUs, availabilities.
fn azure_plan_lookup_op(http: &reqwest::Client, sim: &str, token: &str) -> Op {
    let (http, sim, token) = (http.clone(), sim.to_owned(), token.to_owned());
    Arc::new(move |_| {
        let (http, sim, token) = (http.clone(), sim.clone(), token.clone());
        Box::pin(async move { azure_plan_catalog_item(&http, &sim, &token).await.is_some() })
    })
}

async fn azure_plan_catalog_item(http: &reqwest::Client, sim: &str, token: &str) -> Option<String> {
    let get = |path: String| {
        let request = http.get(format!("{sim}{path}")).bearer_auth(token).send();
        async move { request.await.ok()?.error_for_status().ok()?.json::<Value>().await.ok() }
    };
    let product = seed::AZURE_PLAN_PRODUCT_ID;
    let products = get("v1/products?country=US&targetView=MicrosoftAzure".to_owned()).await?;
    products["items"].as_array()?.iter().find(|p| p["id"] == product)?;
    let skus = get(format!("v1/products/{product}/skus?country=US&targetSegment=commercial")).await?;
    let sku = skus["items"].as_array()?.iter().find(|s| s["id"] == seed::AZURE_PLAN_SKU_ID)?["id"].as_str()?.to_owned();
    let availabilities =
        get(format!("v1/products/{product}/skus/{sku}/availabilities?country=US&targetSegment=commercial")).await?;
    availabilities["items"].as_array()?.first()?["catalogItemId"].as_str().map(str::to_owned)
}

/// The flow Partner Center documents for an Azure plan: check the customer's MCA acceptance,
/// look the item up in the catalog (3 calls), create a cart, check it out.
fn naive_purchase_op(http: &reqwest::Client, sim: &str, token: &str, user_token: &str) -> Op {
    let (http, sim, token, user_token) = (http.clone(), sim.to_owned(), token.to_owned(), user_token.to_owned());
    Arc::new(move |_| {
        let (http, sim, token, user_token) = (http.clone(), sim.clone(), token.clone(), user_token.clone());
        Box::pin(async move {
            let agreements = http
                .get(format!("{sim}v1/customers/{CUSTOMER}/agreements?agreementType=MicrosoftCustomerAgreement"))
                .bearer_auth(&user_token)
                .send()
                .await;
            if !read_ok(agreements).await {
                return false;
            }
            let Some(item) = azure_plan_catalog_item(&http, &sim, &token).await else { return false };
            let cart = http
                .post(format!("{sim}v1/customers/{CUSTOMER}/carts"))
                .bearer_auth(&token)
                .json(&json!({ "lineItems": [{ "id": 0, "catalogItemId": item, "quantity": 1, "billingCycle": "monthly" }] }))
                .send()
                .await;
            let Some(cart) = json_of(cart).await else { return false };
            let Some(cart_id) = cart["id"].as_str() else { return false };
            let checkout = http
                .post(format!("{sim}v1/customers/{CUSTOMER}/carts/{cart_id}/checkout"))
                .bearer_auth(&token)
                .header("content-length", "0")
                .send()
                .await;
            json_of(checkout).await.is_some_and(|result| result["orders"].as_array().is_some_and(|o| !o.is_empty()))
        })
    })
}

fn gateway_purchase_op(http: &reqwest::Client, rest: &str, token: &str) -> Op {
    let (http, token) = (http.clone(), token.to_owned());
    let url = format!("{rest}/v1/customers/{CUSTOMER}/azure-plans");
    let run = format!("{:x}", rand::random::<u64>());
    Arc::new(move |n| {
        let request = http.post(&url).bearer_auth(&token).header("Idempotency-Key", format!("bench-{run}-{n}")).send();
        Box::pin(async move { read_ok(request.await).await })
    })
}

async fn json_of(response: reqwest::Result<reqwest::Response>) -> Option<Value> {
    response.ok()?.error_for_status().ok()?.json().await.ok()
}

/// `total` requests at once over `channels` HTTP/2 connections; how many succeeded and how long
/// the whole burst took.
async fn burst(grpc: &str, token: &str, total: usize, channels: usize) -> (usize, Duration) {
    let channels = grpc_channels(grpc, channels).await;
    let op = grpc_op(channels, token);
    let started = Instant::now();
    let calls: Vec<_> = (0..total as u64).map(|n| tokio::spawn(op(n))).collect();
    let mut ok = 0;
    for call in calls {
        if call.await.unwrap_or(false) {
            ok += 1;
        }
    }
    (ok, started.elapsed())
}

/// Opens `count` connections, makes one API request on each, and keeps them open and idle.
async fn hold_connections(address: &str, token: &str, count: usize) -> Vec<tokio::net::TcpStream> {
    let request =
        format!("GET /v1/customers/{CUSTOMER} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\r\n");
    let mut held = Vec::with_capacity(count);
    for _ in 0..count {
        let Ok(mut stream) = tokio::net::TcpStream::connect(address).await else { continue };
        if stream.write_all(request.as_bytes()).await.is_err() {
            continue;
        }
        if read_http_response(&mut stream).await {
            held.push(stream);
        }
    }
    held
}

/// Reads one HTTP/1.1 response with a `content-length` body; true for a 200.
async fn read_http_response(stream: &mut tokio::net::TcpStream) -> bool {
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut chunk).await else { return false };
        if n == 0 {
            return false;
        }
        buffer.extend_from_slice(&chunk[..n]);
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if buffer.len() >= end + 4 + length {
            return head.starts_with("http/1.1 200");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The processes under test

/// A child process whose output is collected; killed when dropped.
struct Process {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Process {
    fn spawn(command: &mut Command) -> Self {
        let mut child =
            command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the process under test starts");
        let output = Arc::new(Mutex::new(String::new()));
        let pipes: Vec<Box<dyn Read + Send>> = [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
            child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        .collect();
        for mut pipe in pipes {
            let sink = output.clone();
            std::thread::spawn(move || {
                let mut buffer = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
                    // Only the start-up lines matter; keep memory flat under load.
                    if sink.len() < 64 * 1024 {
                        sink.push_str(&String::from_utf8_lossy(&buffer[..n]));
                    }
                }
            });
        }
        Self { child, output }
    }

    fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `find` recognises something in the output.
    fn wait_for<T>(&self, what: &str, find: impl Fn(&str) -> Option<T>) -> T {
        for _ in 0..500 {
            if let Some(found) = find(&self.output.lock().unwrap_or_else(|e| e.into_inner())) {
                return found;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{what} did not start: {}", self.output.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Simulator {
    /// Kept for its lifetime: dropping it stops the simulator.
    _process: Process,
    /// With a trailing slash.
    url: String,
}

impl Simulator {
    fn start() -> Self {
        let process = Process::spawn(Command::new(BINARY).args(["simulate", "--listen", "127.0.0.1:0"]));
        let url = process.wait_for("the simulator", |out| {
            let at = out.find("Partner Center simulator on ")?;
            out[at..].split_whitespace().nth(4).map(str::to_owned)
        });
        Self { _process: process, url }
    }

    /// An app-only Partner Center access token.
    async fn access_token(&self) -> String {
        self.token(&[("grant_type", "client_credentials")]).await
    }

    /// An app+user access token (the agreements API accepts only those).
    async fn app_user_token(&self) -> String {
        self.token(&[("grant_type", "refresh_token"), ("refresh_token", seed::CONTOSO_REFRESH_TOKEN)]).await
    }

    async fn token(&self, grant: &[(&str, &str)]) -> String {
        let mut form = vec![
            ("client_id", seed::CONTOSO_CLIENT_ID),
            ("client_secret", seed::CONTOSO_CLIENT_SECRET),
            ("resource", "https://api.partnercenter.microsoft.com"),
        ];
        form.extend_from_slice(grant);
        let response: Value = reqwest::Client::new()
            .post(format!("{}{}/oauth2/token", self.url, seed::CONTOSO_TENANT_ID))
            .form(&form)
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("token json");
        response["access_token"].as_str().expect("access_token").to_owned()
    }

    async fn counters(&self, http: &reqwest::Client) -> Value {
        http.get(format!("{}_simulator/counters", self.url)).send().await.expect("counters").json().await.expect("json")
    }

    /// Partner Center calls so far (token requests excluded).
    async fn partner_center_calls(&self, http: &reqwest::Client) -> u64 {
        let counters = self.counters(http).await;
        counters["calls"]
            .as_object()
            .map(|calls| {
                calls
                    .iter()
                    .filter(|(route, _)| !route.ends_with("/oauth2/token"))
                    .filter_map(|(_, n)| n.as_u64())
                    .sum()
            })
            .unwrap_or(0)
    }

    async fn token_requests(&self, http: &reqwest::Client) -> u64 {
        let counters = self.counters(http).await;
        counters["tokenRequests"].as_object().map(|m| m.values().filter_map(Value::as_u64).sum()).unwrap_or(0)
    }

    async fn add_fault(&self, http: &reqwest::Client, rule: FaultRule) {
        let response = http.post(format!("{}_simulator/faults", self.url)).json(&rule).send().await.expect("fault");
        assert!(response.status().is_success(), "the simulator took the fault rule");
    }

    async fn clear_faults(&self, http: &reqwest::Client) {
        let _ = http.delete(format!("{}_simulator/faults", self.url)).send().await;
    }

    fn port(&self) -> u16 {
        self.url.trim_end_matches('/').rsplit(':').next().and_then(|p| p.parse().ok()).expect("simulator port")
    }
}

struct Gateway {
    process: Process,
    rest: String,
    grpc: String,
}

impl Gateway {
    /// The gateway as production runs it: jwt mode, a real upstream (the simulator), JSON logs at
    /// `info`. The gateway's own limits are lifted so they do not cap the measurement.
    fn start(work: &Path, name: &str, sim: &Simulator, extra: &[&str]) -> Self {
        let config = work.join(format!("{name}.toml"));
        let key = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rsa-public.pem");
        let partner = &seed::PARTNERS[0];
        std::fs::write(
            &config,
            format!(
                r#"
[auth]
mode = "jwt"
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
public_key_file = "{key}"

[partner_center]
base_url = "{sim}"
authority = "{sim}"
budget_per_minute = 0

[[partner_center.partners]]
id = "{id}"
tenant_id = "{tenant}"
client_id = "{client}"
client_secret = "{secret}"

[limits]
caller_requests_per_minute = 0
max_in_flight = 20000
max_in_flight_per_caller = 4096

[log]
format = "json"
"#,
                key = key.display(),
                sim = sim.url,
                id = partner.id,
                tenant = partner.tenant_id,
                client = partner.client_id,
                secret = partner.client_secret,
            ),
        )
        .expect("config file");
        let mut command = Command::new(BINARY);
        command.arg("--config").arg(&config);
        for setting in extra {
            command.args(["--set", setting]);
        }
        command.args(["serve", "--rest-listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"]);
        let process = Process::spawn(&mut command);
        let (rest, grpc) = process.wait_for("the gateway", |out| Some((logged(out, "rest")?, logged(out, "grpc")?)));
        Self { process, rest: format!("http://{rest}"), grpc: format!("http://{grpc}") }
    }

    fn rest_addr(&self) -> String {
        self.rest.trim_start_matches("http://").to_owned()
    }

    fn cpu(&self) -> Duration {
        cpu_time(self.process.id())
    }
}

/// The address the gateway logged for `key` (`"rest":"127.0.0.1:1234"` in JSON logs).
fn logged(output: &str, key: &str) -> Option<String> {
    let marker = format!("\"{key}\":\"");
    let at = output.find(&marker)? + marker.len();
    let rest = &output[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// nginx in front of the simulator, as a plain reverse proxy a user might deploy instead.
struct Nginx {
    process: Process,
    url: String,
}

impl Nginx {
    fn start(work: &Path, sim: &Simulator) -> Option<Self> {
        let binary = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())?;
        let port = free_port();
        let prefix = work.join("nginx");
        std::fs::create_dir_all(prefix.join("logs")).expect("nginx dir");
        let config = prefix.join("nginx.conf");
        std::fs::write(
            &config,
            format!(
                r#"
daemon off;
master_process on;
worker_processes auto;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream partner_center {{
        server 127.0.0.1:{sim_port};
        keepalive 256;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://partner_center;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"#,
                prefix = prefix.display(),
                sim_port = sim.port(),
            ),
        )
        .expect("nginx config");
        let process = Process::spawn(Command::new(binary).arg("-p").arg(&prefix).arg("-c").arg(&config));
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..250 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Self { process, url });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("nginx did not start: {}", process.output.lock().unwrap_or_else(|e| e.into_inner()));
        None
    }

    /// CPU time of the master and its worker processes (the workers do the proxying).
    fn cpu(&self) -> Duration {
        let master = self.process.id();
        let mut total = cpu_time(master);
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            if parent_pid(pid) == Some(master) {
                total += cpu_time(pid);
            }
        }
        total
    }
}

/// The parent of a process, from `/proc/<pid>/stat` (field 4).
fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn caller_token() -> String {
    signed_token("bench", json!([CUSTOMER]), json!(["customers.read", "catalog.read", "orders.read", "orders.write"]))
}

/// An RS256 token the gateway under test accepts, for caller `sub`.
fn signed_token(sub: &str, customers: Value, roles: Value) -> String {
    let key =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rsa-private.pem")).expect("test key");
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(&key).expect("rsa key");
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "nbf": now, "exp": now + 3600,
        "partner": seed::CONTOSO_PARTNER_ID,
        "customers": customers,
        "roles": roles,
    });
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256), &claims, &key).expect("sign")
}

fn tempdir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-gateway-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("work dir");
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn proc_status(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn rss_kib(pid: u32) -> u64 {
    proc_status(pid, "VmRSS:")
}

fn hwm_kib(pid: u32) -> u64 {
    proc_status(pid, "VmHWM:")
}

/// User + system CPU time of a process so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at state (field 3).
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the state.
    Duration::from_secs_f64((ticks(11) + ticks(12)) as f64 / 100.0)
}

// ---------------------------------------------------------------------------------------------
// Output

#[derive(Default)]
struct Report {
    lines: Vec<String>,
    /// Rows go into an open table; a section or a note closes it.
    table_open: bool,
}

impl Report {
    fn section(&mut self, title: &str) {
        println!("\n## {title}");
        self.lines.push(format!("\n### {title}"));
        self.table_open = false;
    }

    fn row(&mut self, scenario: &str, concurrency: usize, stats: &Stats, baseline: Option<&Stats>) {
        let ratio =
            |value: f64, base: f64| if base > 0.0 { format!("{:.2}×", value / base) } else { "–".to_owned() };
        let (p50_ratio, rate_ratio) = match baseline {
            Some(base) => {
                (ratio(stats.p50.as_secs_f64(), base.p50.as_secs_f64()), ratio(stats.per_second, base.per_second))
            }
            None => ("baseline".to_owned(), "baseline".to_owned()),
        };
        let line = format!(
            "| {scenario} | {concurrency} | {} | {} | {:.0} | {p50_ratio} | {rate_ratio} | {} |",
            show(stats.p50),
            show(stats.p99),
            stats.per_second,
            stats.errors
        );
        println!("{line}");
        if !self.table_open {
            self.lines.push(String::new());
            self.lines
                .push("| scenario | c | p50 | p99 | req/s | p50 vs baseline | req/s vs baseline | errors |".to_owned());
            self.lines.push("|---|---:|---:|---:|---:|---:|---:|---:|".to_owned());
            self.table_open = true;
        }
        self.lines.push(line);
    }

    fn note(&mut self, note: String) {
        println!("  {note}");
        self.lines.push(format!("\n{note}"));
        self.table_open = false;
    }

    fn print(&self) {
        println!("\n\n# Results (markdown)\n");
        for line in &self.lines {
            println!("{line}");
        }
    }
}

fn show(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1000.0 { format!("{micros:.0} µs") } else { format!("{:.2} ms", micros / 1000.0) }
}
