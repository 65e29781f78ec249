//! `simulator.url`: the gateway against a `simulate` process, with dev tokens, so the simulator's
//! state survives gateway restarts; and dev tokens never go towards anything that is not a
//! simulator. Real processes throughout.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use partner_center_simulator::seed;
use serde_json::{Value, json};

use crate::process::GatewayProcess;

const BINARY: &str = env!("CARGO_BIN_EXE_partner-center-gateway");

/// `partner-center-gateway simulate` on a free port.
struct SimulateProcess {
    child: Child,
    url: String,
}

impl SimulateProcess {
    fn start() -> Self {
        let mut child = Command::new(BINARY)
            .args(["simulate", "--listen", "127.0.0.1:0"])
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("simulate starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("Partner Center simulator on ") {
                    let _ = tx.send(url.trim().trim_end_matches('/').to_owned());
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(30)).expect("simulate prints its address");
        Self { child, url }
    }
}

impl Drop for SimulateProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_gateway_against_a_simulate_process_keeps_its_purchases_across_restarts() {
    let simulator = SimulateProcess::start();
    let http = reqwest::Client::new();
    let (status, info) = json(http.get(format!("{}/_simulator/info", simulator.url)).send().await.expect("info")).await;
    assert_eq!(status, 200);
    assert_eq!(info["service"], "partner-center-simulator");
    let setting = format!("simulator.url={}", simulator.url);

    let gateway = GatewayProcess::start(&["--set", &setting]).await;
    assert_eq!(gateway.simulator, simulator.url, "the gateway names the simulator it uses");
    assert!(gateway.output().contains("separate Partner Center simulator"), "{}", gateway.output());
    let token = gateway.token();
    let customer = seed::CUSTOMER_ADVENTURE_WORKS;
    let (status, plan) = json(
        http.post(format!("{}/v1/customers/{customer}/azure-plans", gateway.rest))
            .bearer_auth(&token)
            .header("Idempotency-Key", "restart-test")
            .json(&json!({ "friendlyName": "Survives restarts" }))
            .send()
            .await
            .expect("purchase"),
    )
    .await;
    assert_eq!(status, 201, "{plan}");
    let order = plan["orderId"].as_str().expect("order id").to_owned();
    // The purchase went to the separate simulator.
    let (_, counters) =
        json(http.get(format!("{}/_simulator/counters", simulator.url)).send().await.expect("counters")).await;
    assert!(counters["calls"].as_object().is_some_and(|calls| calls.keys().any(|k| k.contains("/checkout"))));
    drop(gateway);

    let restarted = GatewayProcess::start(&["--set", &setting]).await;
    let (status, subscriptions) = json(
        http.get(format!("{}/v1/customers/{customer}/subscriptions?orderId={order}", restarted.rest))
            .bearer_auth(restarted.token())
            .send()
            .await
            .expect("subscriptions"),
    )
    .await;
    assert_eq!(status, 200, "{subscriptions}");
    assert_eq!(subscriptions["items"][0]["friendlyName"], "Survives restarts", "{subscriptions}");
}

#[test]
fn dev_tokens_never_go_towards_anything_but_a_simulator() {
    // A URL where nothing answers as a simulator: this very gateway's would-be REST port, closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let output = Command::new(BINARY)
        .args(["--set", &format!("simulator.url={url}")])
        .args(["serve", "--rest-listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"])
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("simulator.url") && stderr.contains("is not a running simulator"), "{stderr}");

    // Dev auth with a real Partner Center, and both upstreams at once, are refused before any call.
    for args in [
        vec![
            "--set",
            "partner_center.base_url=https://api.partnercenter.microsoft.com",
            "--set",
            r#"partner_center.partners=[{id="p", tenant_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301", client_id="c", client_secret="s"}]"#,
            "--set",
            "auth.mode=dev",
        ],
        vec![
            "--set",
            "partner_center.base_url=https://api.partnercenter.microsoft.com",
            "--set",
            "simulator.url=http://127.0.0.1:8090",
        ],
    ] {
        let output = Command::new(BINARY)
            .args(&args)
            .args(["serve", "--rest-listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"])
            .output()
            .expect("run");
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("auth.mode") || stderr.contains("simulator.url"), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn a_server_that_is_not_the_simulator_is_refused() {
    // Something that answers HTTP, but not as the simulator (a gateway's own REST port).
    let other = GatewayProcess::start(&[]).await;
    let output = Command::new(BINARY)
        .args(["--set", &format!("simulator.url={}", other.rest)])
        .args(["serve", "--rest-listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"])
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("simulator.url") && stderr.contains("is not a running simulator"), "{stderr}");
}
