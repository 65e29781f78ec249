//! One caller, or an unauthenticated socket, must not be able to deny service to the other
//! callers of a partner (issue 17's attack run, each finding as a test).

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures::StreamExt;
use partner_center_gateway::{auth::Permission, grpc::pb};
use partner_center_simulator::{FaultKind, FaultRule, seed};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    task::JoinHandle,
};
use tonic::Code;

use crate::{
    helpers::{FABRIKAM, TestApp, authed},
    process::GatewayProcess,
};

/// A caller's own short deadline is its business: its timeouts never open the partner's circuit.
#[tokio::test]
async fn a_callers_own_deadline_never_opens_the_partners_circuit() {
    let app = TestApp::spawn_with(|settings| {
        settings.partner_center.circuit_breaker.failure_threshold = 3;
        settings.partner_center.circuit_breaker.open_for = Duration::from_secs(60);
    })
    .await;
    let attacker = app.token(&[FABRIKAM], &[Permission::CustomersRead]);
    let victim = app.token(&["*"], &[Permission::CustomersRead]);
    // Partner Center answers in 200 ms; the attacker gives each call 45 ms.
    app.sim.inject(
        FaultRule::new(FaultKind::Delay { delay_ms: 200, delay_max_ms: None }).on("GET", "/v1/customers/").times(20),
    );
    let mut customers = app.customers_client().await;
    for _ in 0..10 {
        let mut request = authed(pb::GetCustomerRequest { customer_id: FABRIKAM.into() }, &attacker);
        request.set_timeout(Duration::from_millis(45));
        let status = customers.get_customer(request).await.expect_err("deadline");
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    }
    app.sim.clear_faults();
    let (status, problem) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &victim).await;
    assert_eq!(status, 200, "the circuit stayed closed: {problem}");
}

// ---------------------------------------------------------------------------------------------
// Raw sockets: what a client that does not play by the rules gets.

/// A raw HTTP/2 connection (prior knowledge, as gRPC speaks it). `window` is the receive window
/// this client advertises: 0 takes nothing the gateway sends.
/// Also returns the connection's driver, which ends when the gateway closes the connection.
async fn h2_connect(addr: SocketAddr, window: u32) -> (h2::client::SendRequest<Bytes>, JoinHandle<()>) {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (client, connection) =
        h2::client::Builder::new().initial_window_size(window).handshake(tcp).await.expect("h2 handshake");
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    (client, driver)
}

/// A gRPC request's headers for `method` (`Service/Method`), with `token` if any.
fn grpc_request(addr: SocketAddr, method: &str, token: Option<&str>) -> http::Request<()> {
    let mut request = http::Request::post(format!("http://{addr}/partnercenter.gateway.v1.{method}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.body(()).expect("request")
}

/// One gRPC message frame: the 5-byte prefix and the encoded message.
fn grpc_frame(message: &impl prost::Message) -> Bytes {
    let body = message.encode_to_vec();
    let mut frame = Vec::with_capacity(5 + body.len());
    frame.push(0);
    frame.extend_from_slice(&u32::try_from(body.len()).expect("small").to_be_bytes());
    frame.extend_from_slice(&body);
    Bytes::from(frame)
}

/// An all-access Contoso token for a caller other than the tests' usual `test-caller`.
fn another_caller(app: &TestApp, subject: &str) -> String {
    let mut request = partner_center_gateway::auth::dev::DevTokenRequest::all_access(subject);
    request.partner = Some(seed::CONTOSO_PARTNER_ID.to_owned());
    app.token_with(request)
}

/// Reads until the peer closes the socket (or `limit` passes); how long that took.
async fn closed_after(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

/// One caller's streams whose reader takes nothing hold only that caller's share of the
/// gateway, and only until `stream_idle_timeout`: then their connections are dropped and every
/// slot they held is free again.
#[tokio::test]
async fn stalled_stream_readers_hold_only_their_share_and_only_until_the_idle_timeout() {
    let app = TestApp::spawn_with(|settings| {
        settings.limits.max_in_flight_per_caller = 3;
        settings.limits.stream_idle_timeout = Duration::from_secs(1);
    })
    .await;
    let attacker = app.token(&[FABRIKAM], &[Permission::UsageRead]);
    let victim = another_caller(&app, "victim-service");
    let request = pb::StreamResourceUsageRecordsRequest {
        customer_id: FABRIKAM.into(),
        subscription_id: seed::FABRIKAM_AZURE_PLAN.into(),
    };
    // Three connections that never open their receive window, one usage stream each.
    let mut held = Vec::new();
    for _ in 0..3 {
        let (mut client, driver) = h2_connect(app.grpc_addr, 0).await;
        let (response, mut body) = client
            .send_request(
                grpc_request(app.grpc_addr, "UsageService/StreamResourceUsageRecords", Some(&attacker)),
                false,
            )
            .expect("stream opened");
        body.send_data(grpc_frame(&request), true).expect("request sent");
        held.push((client, response, body, driver));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // While they are held: the attacker is at its share, everyone else is served.
    let mut usage = app.usage_client().await;
    let status = usage
        .get_customer_usage_summary(authed(
            pb::GetCustomerUsageSummaryRequest { customer_id: FABRIKAM.into() },
            &attacker,
        ))
        .await
        .expect_err("at its share");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("in flight") || status.metadata().get("reason").is_some(), "{status:?}");
    let mut served = 0;
    for _ in 0..50 {
        let (status, _) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &victim).await;
        served += usize::from(status == 200);
    }
    assert_eq!(served, 50, "the victim is served while the attacker's streams stall");

    // After the idle timeout the stalled connections are gone and the attacker's slots with them.
    let started = Instant::now();
    for (_client, _response, _body, driver) in held {
        tokio::time::timeout(Duration::from_secs(5), driver).await.expect("the gateway dropped the connection").ok();
    }
    println!("stalled streams: connections dropped {:?} after the victim's requests", started.elapsed());
    let summary = usage
        .get_customer_usage_summary(authed(
            pb::GetCustomerUsageSummaryRequest { customer_id: FABRIKAM.into() },
            &attacker,
        ))
        .await;
    assert!(summary.is_ok(), "the attacker's slots are free again: {summary:?}");
}

/// A request body that trickles in is cut off at `request_body_timeout` with a 408, and the
/// slot it held is free again.
#[tokio::test]
async fn a_trickled_request_body_gets_a_408_at_the_body_deadline() {
    let app = TestApp::spawn_with(|settings| {
        settings.limits.request_body_timeout = Duration::from_secs(1);
        settings.limits.max_in_flight_per_caller = 1;
    })
    .await;
    let token = app.admin_token();
    let addr = app.rest.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).await.expect("connect");
    let head = format!(
        "POST /v1/customers/{FABRIKAM}/carts HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: 200\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let started = Instant::now();
    let (reader, mut writer) = stream.split();
    let mut reader = tokio::io::BufReader::new(reader);
    let mut status_line = String::new();
    // One byte every 200 ms, until the gateway stops listening.
    let trickler = async {
        while writer.write_all(b" ").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        std::future::pending::<()>().await;
    };
    tokio::select! {
        read = tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut status_line)) => {
            read.expect("an answer within 5 s").expect("read");
        }
        () = trickler => {}
    }
    let waited = started.elapsed();
    println!("trickled body: {status_line:?} after {waited:?}");
    assert!(status_line.starts_with("HTTP/1.1 408"), "{status_line:?}");
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(3), "{waited:?}");
    // Its one slot was freed: the same caller is served again.
    let (status, body) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &token).await;
    assert_eq!(status, 200, "{body}");
}

/// Connections that send nothing, trickle their headers, or stay idle after a request are
/// closed on time; beyond `max_connections` a new connection is closed at once, and a caller
/// with an established connection is served throughout.
#[tokio::test]
async fn idle_trickling_and_surplus_connections_are_closed_on_time() {
    let app = TestApp::spawn_with(|settings| {
        settings.limits.header_read_timeout = Duration::from_secs(1);
        settings.limits.idle_timeout = Duration::from_secs(2);
        settings.limits.max_connections = 12;
    })
    .await;
    let rest: SocketAddr = app.rest.trim_start_matches("http://").parse().expect("addr");
    let token = app.admin_token();
    // The victim's connection, established before the flood.
    let victim = reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("client");
    let url = app.url(&format!("/v1/customers/{FABRIKAM}"));
    assert_eq!(victim.get(&url).bearer_auth(&token).send().await.expect("victim").status(), 200);

    let silent = async {
        let mut stream = TcpStream::connect(rest).await.expect("connect");
        closed_after(&mut stream, Duration::from_secs(5)).await
    };
    // Trickles a request's head one byte every 100 ms; how long until the gateway hangs up.
    async fn trickle(stream: &mut TcpStream) -> Option<Duration> {
        let started = Instant::now();
        for byte in b"GET /livez HTTP/1.1\r\nhost: gateway\r\nx-slow: ".iter().cycle().take(100) {
            if stream.write_all(&[*byte]).await.is_err() {
                return Some(started.elapsed());
            }
            let answer = tokio::time::timeout(Duration::from_millis(100), stream.read(&mut [0u8; 512])).await;
            if let Ok(Ok(0) | Err(_)) = answer {
                return Some(started.elapsed());
            }
        }
        None
    }
    let trickling = async { trickle(&mut TcpStream::connect(rest).await.expect("connect")).await };
    // The same after one good request: the kept-alive connection's idle time is no shield.
    let trickling_after_a_request = async {
        let mut stream = TcpStream::connect(rest).await.expect("connect");
        stream.write_all(b"GET /livez HTTP/1.1\r\nhost: gateway\r\n\r\n").await.expect("request");
        let n = stream.read(&mut [0u8; 512]).await.expect("answer");
        assert!(n > 0);
        trickle(&mut stream).await
    };
    let idle_after_a_request = async {
        let mut stream = TcpStream::connect(rest).await.expect("connect");
        stream.write_all(b"GET /livez HTTP/1.1\r\nhost: gateway\r\n\r\n").await.expect("request");
        let mut first = [0u8; 512];
        let n = stream.read(&mut first).await.expect("answer");
        assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
        closed_after(&mut stream, Duration::from_secs(6)).await
    };
    let grpc_silent = async {
        let (_client, driver) = h2_connect(app.grpc_addr, 65_535).await;
        let started = Instant::now();
        tokio::time::timeout(Duration::from_secs(5), driver).await.ok().map(|_| started.elapsed())
    };
    let (silent, trickling, trickling_later, idle, grpc_silent) =
        tokio::join!(silent, trickling, trickling_after_a_request, idle_after_a_request, grpc_silent);
    println!(
        "closed after: silent {silent:?}, trickling {trickling:?}, trickling after a request {trickling_later:?}, \
         idle after a request {idle:?}, silent gRPC {grpc_silent:?}"
    );
    let within = |closed: Option<Duration>, low: u64, high: u64| {
        closed.is_some_and(|d| d >= Duration::from_millis(low) && d <= Duration::from_millis(high))
    };
    assert!(within(silent, 800, 2_500), "silent: {silent:?}");
    assert!(within(trickling, 800, 2_500), "trickling: {trickling:?}");
    assert!(within(trickling_later, 800, 2_500), "trickling after a request: {trickling_later:?}");
    assert!(within(idle, 1_800, 3_500), "idle after a request: {idle:?}");
    assert!(within(grpc_silent, 800, 2_500), "silent gRPC: {grpc_silent:?}");

    // A flood of connections: the victim's pooled one is one of the 12; 11 more fit, the rest
    // are closed at once.
    assert_eq!(victim.get(&url).bearer_auth(&token).send().await.expect("victim").status(), 200);
    let mut flood = Vec::new();
    for _ in 0..11 {
        flood.push(TcpStream::connect(rest).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut surplus = TcpStream::connect(rest).await.expect("the kernel accepts");
    let refused = closed_after(&mut surplus, Duration::from_millis(900)).await;
    assert!(refused.is_some_and(|d| d < Duration::from_millis(500)), "surplus closed at once: {refused:?}");
    assert_eq!(
        victim.get(&url).bearer_auth(&token).send().await.expect("victim").status(),
        200,
        "the victim is served"
    );
    drop(flood);
}

// ---------------------------------------------------------------------------------------------
// The released binary as its own process: memory and metrics under unauthenticated floods.

/// Peak RSS of `gateway` while `attack` runs, sampled every 20 ms.
async fn peak_rss_during<T>(gateway: &GatewayProcess, attack: impl Future<Output = T>) -> (T, u64) {
    let peak = std::sync::atomic::AtomicU64::new(gateway.rss_bytes());
    let sampler = async {
        loop {
            peak.fetch_max(gateway.rss_bytes(), std::sync::atomic::Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let result = tokio::select! {
        result = attack => result,
        () = sampler => unreachable!("the sampler never ends"),
    };
    peak.fetch_max(gateway.rss_bytes(), std::sync::atomic::Ordering::Relaxed);
    (result, peak.into_inner())
}

/// 1,000 gRPC streams without a token, each declaring a 4 MiB message and sending 1 MiB of it,
/// over 10 connections: each is refused (UNAUTHENTICATED) before its body is read, the
/// gateway's memory stays flat, and a legitimate caller is served throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_grpc_streams_cannot_fill_the_gateways_memory() {
    // The victim's 200 reads in two seconds are beyond a caller's share of the partner budget.
    let gateway = GatewayProcess::start(&["--set", "partner_center.budget_per_minute=0"]).await;
    let grpc: SocketAddr = gateway.grpc.parse().expect("grpc addr");
    let idle = gateway.rss_bytes();
    let mut declared = vec![0u8; 1 << 20];
    declared[1..5].copy_from_slice(&(4u32 << 20).to_be_bytes());
    let payload = Bytes::from(declared);

    let victim = async {
        let channel = tonic::transport::Channel::from_shared(format!("http://{grpc}")).expect("uri").connect().await;
        let mut customers = pb::customer_service_client::CustomerServiceClient::new(channel.expect("connect"));
        let token = gateway.token();
        let mut served = 0;
        for _ in 0..200 {
            let request = authed(pb::GetCustomerRequest { customer_id: FABRIKAM.into() }, &token);
            served += usize::from(customers.get_customer(request).await.is_ok());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        served
    };
    let attack = async {
        let connections = (0..10).map(|_| {
            let payload = payload.clone();
            async move {
                let (client, _driver) = h2_connect(grpc, 65_535).await;
                let streams = (0..100).map(|_| {
                    let (client, payload) = (client.clone(), payload.clone());
                    async move {
                        let mut client = client.ready().await.ok()?;
                        let (response, mut body) =
                            client.send_request(grpc_request(grpc, "CustomerService/GetCustomer", None), false).ok()?;
                        let _ = body.send_data(payload, false);
                        let response = tokio::time::timeout(Duration::from_secs(10), response).await.ok()?.ok()?;
                        let status =
                            response.headers().get("grpc-status").and_then(|s| s.to_str().ok()).map(str::to_owned);
                        // Keep the stream (and its unsent megabytes) alive until every answer is in.
                        Some((status, body))
                    }
                });
                futures::future::join_all(streams).await
            }
        });
        futures::future::join_all(connections).await.into_iter().flatten().collect::<Vec<_>>()
    };
    let ((answers, served), peak) = peak_rss_during(&gateway, async { tokio::join!(attack, victim) }).await;
    let refused =
        answers.iter().filter(|a| a.as_ref().is_some_and(|(status, _)| status.as_deref() == Some("16"))).count();
    let mib = |bytes: u64| bytes as f64 / f64::from(1u32 << 20);
    println!(
        "unauthenticated gRPC flood: {refused} of 1000 streams refused UNAUTHENTICATED, RSS idle {:.1} MiB, peak {:.1} MiB; \
         victim served {served} of 200",
        mib(idle),
        mib(peak)
    );
    assert_eq!(refused, 1000, "every stream was answered UNAUTHENTICATED");
    assert!(mib(peak) < 100.0, "peak RSS {:.1} MiB", mib(peak));
    assert!(served >= 198, "the victim was served: {served} of 200");
}

/// 10,000 unauthenticated requests with made-up HTTP methods (long ones too), made-up paths and
/// made-up gRPC methods add no metric series: labels come from closed sets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_methods_and_paths_add_no_metric_series() {
    let gateway = GatewayProcess::start(&[]).await;
    let grpc: SocketAddr = gateway.grpc.parse().expect("grpc addr");
    let http = reqwest::Client::new();
    let series = || async {
        let text =
            http.get(format!("{}/metrics", gateway.rest)).send().await.expect("scrape").text().await.expect("text");
        let names: std::collections::BTreeSet<String> = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' ').map(|(series, _)| series.to_owned()))
            .collect();
        (names, text.len())
    };
    let junk = |i: usize| {
        let method: String = (0..6 + i % 7).map(|j| char::from(b'A' + ((i * 31 + j * 7) % 26) as u8)).collect();
        let method = if i.is_multiple_of(100) { method.repeat(150) } else { method };
        let path = if i.is_multiple_of(2) { "/livez".to_owned() } else { format!("/junk-{i}/x{}", i * 7) };
        (method, path)
    };
    let send = |i: usize| {
        let (method, path) = junk(i);
        let http = http.clone();
        let url = format!("{}{path}", gateway.rest);
        async move {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a token");
            let _ = http.request(method, url).send().await;
        }
    };
    let grpc_junk = |count: usize, offset: usize| async move {
        let (client, _driver) = h2_connect(grpc, 65_535).await;
        for i in offset..offset + count {
            let Ok(mut ready) = client.clone().ready().await else { break };
            if let Ok((response, _)) =
                ready.send_request(grpc_request(grpc, &format!("Junk{i}Service/Call{i}"), None), true)
            {
                let _ = response.await;
            }
        }
    };
    // One of each kind first, so every closed-set label value that can appear has appeared.
    for i in 0..20 {
        send(i).await;
    }
    grpc_junk(5, 0).await;
    let _ = series().await; // the scrape's own request
    let (before, before_bytes) = series().await;
    futures::stream::iter((20..9_000).map(send)).buffer_unordered(32).collect::<Vec<()>>().await;
    futures::future::join_all((0..10).map(|c| grpc_junk(100, 1_000 + c * 100))).await;
    let (after, after_bytes) = series().await;
    println!(
        "junk methods: {} series ({before_bytes} bytes) before 10,000 junk requests, {} ({after_bytes} bytes) after",
        before.len(),
        after.len()
    );
    let new: Vec<&String> = after.difference(&before).collect();
    assert!(new.is_empty(), "no new series: {new:#?}");
}
