//! Billing exports: 1,000,000 line items through the gateway (NDJSON, the gRPC stream, REST pages)
//! against reading the same gzip JSON-lines files directly from the blob host.
//!
//! ```text
//! cargo bench --bench exports        # about a minute in release mode
//! ```
//!
//! Separate release processes on this machine: the simulator (`partner-center-gateway simulate`,
//! which also serves the simulated Graph and blob host) and the gateway (`serve`, jwt mode, pointed
//! at the simulator as at Microsoft). This process is the client. For each path it reports wall
//! time, line items per second, the gateway's CPU per 10,000 items (user + system, from
//! `/proc/{pid}/stat`), the client's own CPU, and the gateway's peak RSS while streaming (sampled
//! every 20 ms, plus `VmHWM`). The direct baseline is this process downloading the blobs with the
//! SAS, inflating them and parsing every line as JSON: what a client without the gateway would do.

use std::{
    io::{Read, Write},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures::StreamExt;
use partner_center_gateway::grpc::pb::{self, billing_service_client::BillingServiceClient};
use partner_center_simulator::{graph::data::MILLION_ITEM_INVOICE, seed};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_partner-center-gateway");
const ISSUER: &str = "https://issuer.bench.example/";
const AUDIENCE: &str = "api://partner-center-gateway-bench";
const ITEMS: u64 = 1_000_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    runtime.block_on(run());
}

struct Process {
    child: Child,
    output: Arc<std::sync::Mutex<String>>,
}

impl Process {
    fn spawn(command: &mut Command) -> Self {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
        let output = Arc::new(std::sync::Mutex::new(String::new()));
        for mut pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")) as Box<dyn Read + Send>,
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                let mut buffer = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut out) = output.lock() {
                        out.push_str(&String::from_utf8_lossy(&buffer[..n]));
                        if out.len() > 1 << 20 {
                            let cut = out.len() - (1 << 19);
                            out.drain(..cut);
                        }
                    }
                }
            });
        }
        Self { child, output }
    }

    fn wait_for<T>(&self, what: &str, find: impl Fn(&str) -> Option<T>) -> T {
        for _ in 0..600 {
            if let Some(found) = self.output.lock().ok().and_then(|out| find(&out)) {
                return found;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{what} did not start: {}", self.output.lock().map(|o| o.clone()).unwrap_or_default());
    }

    fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proc_status(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn cpu_time(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_secs_f64((ticks(11) + ticks(12)) as f64 / 100.0)
}

/// Samples a process's RSS until stopped; the peak in KiB.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(proc_status(pid, "VmRSS:"), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Self { stop, peak, thread: Some(thread) }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

struct Measured {
    path: &'static str,
    items: u64,
    wall: Duration,
    gateway_cpu: Option<Duration>,
    client_cpu: Duration,
    peak_rss_kib: Option<u64>,
}

impl Measured {
    fn row(&self, baseline: Option<&Measured>) -> String {
        let per_second = self.items as f64 / self.wall.as_secs_f64();
        let per_10k = |cpu: Duration| cpu.as_secs_f64() * 1e3 * 10_000.0 / self.items.max(1) as f64;
        let vs = baseline
            .map_or("baseline".to_owned(), |b| format!("{:.2}×", per_second / (b.items as f64 / b.wall.as_secs_f64())));
        format!(
            "| {} | {} | {:.1} s | {:.0} | {vs} | {} | {:.0} ms | {} |",
            self.path,
            self.items,
            self.wall.as_secs_f64(),
            per_second,
            self.gateway_cpu.map_or("–".to_owned(), |cpu| format!("{:.0} ms", per_10k(cpu))),
            per_10k(self.client_cpu),
            self.peak_rss_kib.map_or("–".to_owned(), |kib| format!("{:.1} MiB", kib as f64 / 1024.0)),
        )
    }
}

async fn run() {
    println!("billing exports benchmark: {ITEMS} line items per path");
    let work = std::env::temp_dir().join(format!("pcg-exports-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("work dir");

    let sim = Process::spawn(Command::new(BINARY).args(["simulate", "--listen", "127.0.0.1:0"]));
    let (sim_url, graph_url, blob_url) = sim.wait_for("the simulator", |out| {
        let word_after = |marker: &str| {
            let at = out.find(marker)? + marker.len();
            out[at..].split_whitespace().next().map(str::to_owned)
        };
        Some((word_after("Partner Center simulator on ")?, word_after("Microsoft Graph ")?, word_after("blob host ")?))
    });
    let http = reqwest::Client::new();
    let patch = http
        .patch(format!("{sim_url}_simulator/graph/settings"))
        .json(&json!({"runningPolls": 0}))
        .send()
        .await
        .expect("settings");
    assert!(patch.status().is_success());

    let gateway = start_gateway(&work, &sim_url, &graph_url, &blob_url);
    let (rest, grpc) = gateway.wait_for("the gateway", |out| Some((logged(out, "rest")?, logged(out, "grpc")?)));
    let rest = format!("http://{rest}");
    let token = caller_token();
    let idle_rss = proc_status(gateway.id(), "VmRSS:");
    println!("gateway idle RSS {:.1} MiB", idle_rss as f64 / 1024.0);

    let mut rows = Vec::new();
    // Reading the files directly, as a client of Graph would.
    rows.push(direct(&http, &sim_url, &graph_url).await);
    println!("{}", rows[0].row(None));
    for path in ["NDJSON (REST)", "gRPC stream", "REST pages of 1000"] {
        let id = start_export(&http, &rest, &token).await;
        let pid = gateway.id();
        let before = cpu_time(&pid.to_string());
        let client_before = cpu_time("self");
        let sampler = RssSampler::start(pid);
        let started = Instant::now();
        let items = match path {
            "NDJSON (REST)" => ndjson(&http, &rest, &token, &id).await,
            "gRPC stream" => grpc_stream(&grpc, &token, &id).await,
            _ => pages(&http, &rest, &token, &id).await,
        };
        let wall = started.elapsed();
        let peak = sampler.finish();
        let measured = Measured {
            path,
            items,
            wall,
            gateway_cpu: Some(cpu_time(&pid.to_string()) - before),
            client_cpu: cpu_time("self") - client_before,
            peak_rss_kib: Some(peak),
        };
        assert_eq!(items, ITEMS, "{path}");
        println!("{}", measured.row(rows.first()));
        rows.push(measured);
    }
    println!(
        "\n| path | items | wall | items/s | vs direct | gateway CPU / 10k items | client CPU / 10k items | gateway peak RSS |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (index, row) in rows.iter().enumerate() {
        println!("{}", row.row(if index == 0 { None } else { rows.first() }));
    }
    println!(
        "\ngateway RSS: idle {:.1} MiB, VmHWM after all runs {:.1} MiB",
        idle_rss as f64 / 1024.0,
        proc_status(gateway.id(), "VmHWM:") as f64 / 1024.0
    );
    let _ = std::fs::remove_dir_all(&work);
}

fn start_gateway(work: &Path, sim: &str, graph: &str, blob: &str) -> Process {
    let config = work.join("gateway.toml");
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

[graph]
base_url = "{graph}"
allowed_http_origins = ["{blob}"]

[limits]
caller_requests_per_minute = 0

[log]
format = "json"
filter = "info"
"#,
            key = key.display(),
            id = partner.id,
            tenant = partner.tenant_id,
            client = partner.client_id,
            secret = partner.client_secret,
        ),
    )
    .expect("config");
    Process::spawn(Command::new(BINARY).arg("--config").arg(&config).args([
        "serve",
        "--rest-listen",
        "127.0.0.1:0",
        "--grpc-listen",
        "127.0.0.1:0",
    ]))
}

fn logged(output: &str, key: &str) -> Option<String> {
    let marker = format!("\"{key}\":\"");
    let at = output.find(&marker)? + marker.len();
    let rest = &output[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

fn caller_token() -> String {
    let pem =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rsa-private.pem")).expect("rsa key");
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(&pem).expect("rsa key");
    let claims = json!({
        "sub": "bench", "partner": seed::CONTOSO_PARTNER_ID, "customers": "*", "scp": "invoices.read usage.read",
        "iss": ISSUER, "aud": AUDIENCE, "exp": jsonwebtoken::get_current_timestamp() + 3600,
    });
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256), &claims, &key).expect("sign")
}

async fn start_export(http: &reqwest::Client, rest: &str, token: &str) -> String {
    let response = http
        .post(format!("{rest}/v1/billing/exports"))
        .bearer_auth(token)
        .json(&json!({"kind": "billedReconciliation", "invoiceId": MILLION_ITEM_INVOICE}))
        .send()
        .await
        .expect("start");
    assert_eq!(response.status(), 202);
    let export: Value = response.json().await.expect("json");
    export["id"].as_str().expect("id").to_owned()
}

async fn ndjson(http: &reqwest::Client, rest: &str, token: &str, id: &str) -> u64 {
    let mut response = http
        .get(format!("{rest}/v1/billing/exports/{id}/line-items.ndjson"))
        .bearer_auth(token)
        .send()
        .await
        .expect("ndjson");
    assert_eq!(response.status(), 200);
    let mut lines = 0;
    while let Some(chunk) = response.chunk().await.expect("chunk") {
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    lines
}

async fn grpc_stream(grpc: &str, token: &str, id: &str) -> u64 {
    let channel =
        tonic::transport::Channel::from_shared(format!("http://{grpc}")).expect("uri").connect().await.expect("grpc");
    let mut request = tonic::Request::new(pb::StreamBillingExportLineItemsRequest { export_id: id.to_owned() });
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("metadata"));
    let mut stream = BillingServiceClient::new(channel)
        .stream_billing_export_line_items(request)
        .await
        .expect("stream")
        .into_inner();
    let mut items = 0;
    while let Some(item) = stream.next().await {
        item.expect("item");
        items += 1;
    }
    items
}

async fn pages(http: &reqwest::Client, rest: &str, token: &str, id: &str) -> u64 {
    let mut items = 0;
    let mut url = format!("{rest}/v1/billing/exports/{id}/line-items?pageSize=1000");
    loop {
        let page: Value =
            http.get(&url).bearer_auth(token).send().await.expect("page").json().await.expect("page json");
        items += page["items"].as_array().map_or(0, Vec::len) as u64;
        match page["nextPageToken"].as_str() {
            Some(next) => url = format!("{rest}/v1/billing/exports/{id}/line-items?pageSize=1000&pageToken={next}"),
            None => return items,
        }
    }
}

/// The baseline: a Graph client's own read of the same export (token, export, poll, manifest, then
/// every blob downloaded, inflated and each line parsed as JSON).
async fn direct(http: &reqwest::Client, sim: &str, graph: &str) -> Measured {
    let token: Value = http
        .post(format!("{sim}{}/oauth2/token", seed::CONTOSO_TENANT_ID))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", seed::CONTOSO_CLIENT_ID),
            ("client_secret", seed::CONTOSO_CLIENT_SECRET),
            ("resource", "https://graph.microsoft.com"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    let token = token["access_token"].as_str().expect("access_token").to_owned();
    let started = Instant::now();
    let client_before = cpu_time("self");
    let response = http
        .post(format!("{graph}reports/partners/billing/reconciliation/billed/export"))
        .bearer_auth(&token)
        .json(&json!({"invoiceId": MILLION_ITEM_INVOICE, "attributeSet": "full"}))
        .send()
        .await
        .expect("export");
    let location = response.headers()["location"].to_str().expect("location").to_owned();
    let operation = loop {
        let operation: Value =
            http.get(&location).bearer_auth(&token).send().await.expect("poll").json().await.expect("json");
        if operation["status"] == "succeeded" {
            break operation;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let link = operation["resourceLocation@odata.navigationLink"].as_str().expect("link").to_owned();
    let manifest: Value =
        http.get(&link).bearer_auth(&token).send().await.expect("manifest").json().await.expect("json");
    let root = manifest["rootDirectory"].as_str().expect("root").to_owned();
    let sas = manifest["sasToken"].as_str().expect("sas").trim_start_matches('?').to_owned();
    let mut items = 0;
    for blob in manifest["blobs"].as_array().expect("blobs") {
        let url = format!("{root}/{}?{sas}", blob["name"].as_str().expect("name"));
        let mut response = http.get(&url).send().await.expect("blob");
        assert!(response.status().is_success());
        let mut decoder = flate2::write::MultiGzDecoder::new(Vec::new());
        let mut read_at = 0;
        let mut count = |buffer: &mut Vec<u8>, read_at: &mut usize| {
            while let Some(end) = buffer[*read_at..].iter().position(|b| *b == b'\n') {
                let line = &buffer[*read_at..*read_at + end];
                let _: serde::de::IgnoredAny = serde_json::from_slice(line).expect("a JSON line");
                items += 1;
                *read_at += end + 1;
            }
            buffer.drain(..*read_at);
            *read_at = 0;
        };
        while let Some(chunk) = response.chunk().await.expect("chunk") {
            decoder.write_all(&chunk).expect("gzip");
            count(decoder.get_mut(), &mut read_at);
        }
        decoder.try_finish().expect("gzip end");
        count(decoder.get_mut(), &mut read_at);
    }
    Measured {
        path: "direct: blobs inflated and parsed by the client",
        items,
        wall: started.elapsed(),
        gateway_cpu: None,
        client_cpu: cpu_time("self") - client_before,
        peak_rss_kib: None,
    }
}
