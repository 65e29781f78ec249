//! `docs/walkthrough.md` is executed: its ```` ```sh walkthrough ```` blocks run in order, in one
//! bash, against the real binary started on free ports, with `$GATEWAY`, `$GRPC`, `$SIM` and
//! `$TOKEN` set. A failing command (curl `-f`, `jq -e`, a `[ ... ]` check) fails the test.
//!
//! The ```` ```sh walkthrough-grpc ```` blocks (a venv with grpcio and grpcurl from PyPI, then
//! Python and grpcurl calls) run too when `WALKTHROUGH_GRPC=1`, as `.ci/walkthrough` sets it,
//! with the venv at `$WALKTHROUGH_VENV`; without it they are left out (they need PyPI).

use std::{path::Path, process::Command};

use crate::process::GatewayProcess;

const DOC: &str = "docs/walkthrough.md";

/// A fenced block of the doc: its tag (`walkthrough`, `walkthrough-grpc`), first line number and text.
#[derive(Debug, PartialEq)]
struct Block {
    tag: String,
    line: usize,
    text: String,
}

/// The ```` ```sh <tag> ```` blocks of `markdown`, in order. An unclosed fence is an error.
fn blocks(markdown: &str) -> Result<Vec<Block>, String> {
    let mut found = Vec::new();
    let mut open: Option<(Option<String>, usize, String)> = None;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let mut words = info.split_whitespace();
                    let tag = match (words.next(), words.next()) {
                        (Some("sh"), Some(tag)) if tag.starts_with("walkthrough") => Some(tag.to_owned()),
                        _ => None,
                    };
                    open = Some((tag, index + 1, String::new()));
                }
            }
            Some((tag, start, text)) => {
                if trimmed.starts_with("```") {
                    if let Some(tag) = tag.take() {
                        found.push(Block { tag, line: *start, text: std::mem::take(text) });
                    }
                    open = None;
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
    }
    match open {
        Some((_, start, _)) => Err(format!("{DOC}:{start}: the fence is never closed")),
        None => Ok(found),
    }
}

/// One bash script running `blocks` in order, announcing each (so a failure names its line).
fn script(blocks: &[Block]) -> String {
    let mut script = String::from("set -euo pipefail\n");
    for block in blocks {
        script.push_str(&format!("echo '>>> {DOC}:{} ({})' >&2\n", block.line, block.tag));
        script.push_str(&block.text);
    }
    script.push_str("echo '>>> walkthrough finished' >&2\n");
    script
}

#[test]
fn blocks_are_found_in_order_with_their_lines() {
    let doc = "text\n```sh walkthrough\na\nb\n```\n```sh\nnot run\n```\n```sh walkthrough-grpc\nc\n```\n";
    let found = blocks(doc).expect("closed fences");
    assert_eq!(
        found,
        vec![
            Block { tag: "walkthrough".into(), line: 2, text: "a\nb\n".into() },
            Block { tag: "walkthrough-grpc".into(), line: 9, text: "c\n".into() },
        ]
    );
    assert!(blocks("```sh walkthrough\nnever closed\n").is_err());
    let script = script(&found);
    assert!(script.starts_with("set -euo pipefail\n"));
    assert!(script.contains("docs/walkthrough.md:9 (walkthrough-grpc)"));
}

#[tokio::test]
async fn every_command_of_the_walkthrough_runs_against_a_started_gateway() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let markdown = std::fs::read_to_string(root.join(DOC)).expect("the walkthrough exists");
    let all = blocks(&markdown).unwrap_or_else(|e| panic!("{e}"));
    let with_grpc = std::env::var("WALKTHROUGH_GRPC").is_ok_and(|v| v == "1");
    let chosen: Vec<Block> =
        all.into_iter().filter(|b| b.tag == "walkthrough" || (with_grpc && b.tag == "walkthrough-grpc")).collect();
    // The steps the walkthrough promises, each as a command.
    let text: String = chosen.iter().map(|b| b.text.as_str()).collect();
    for step in [
        "/azure-plans",
        "/orders/$ORDER",
        "/azure-entitlements",
        "/usage/summary",
        "/usage/budget",
        "-X PATCH",
        "/_simulator/entitlements/",
        "/suspend",
        "/product-upgrades",
        "/v1/invoices",
        "/line-items",
    ] {
        assert!(text.contains(step), "the walkthrough runs no command with {step}");
    }
    if with_grpc {
        for step in ["CreateAzurePlan", "StreamInvoiceLineItems", "grpcurl -plaintext"] {
            assert!(text.contains(step), "the gRPC part runs no {step}");
        }
    }

    let gateway = GatewayProcess::start(&[]).await;
    let token = gateway.token();
    assert!(!token.is_empty(), "dev-token printed a token");
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(script(&chosen))
        .current_dir(root)
        .env("GATEWAY", &gateway.rest)
        .env("GRPC", &gateway.grpc)
        .env("SIM", gateway.simulator.trim_end_matches('/'))
        .env("TOKEN", &token)
        .env("NO_COLOR", "1");
    if let Ok(venv) = std::env::var("WALKTHROUGH_VENV") {
        command.env("VENV", venv);
    }
    let output = tokio::task::spawn_blocking(move || command.output()).await.expect("join").expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the walkthrough failed ({}); the last `>>>` line names the block\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- gateway\n{}",
        output.status,
        gateway.output()
    );
    assert!(stderr.contains(">>> walkthrough finished"), "{stderr}");
    // Shown with `--nocapture` (as `.ci/walkthrough` runs it).
    println!("{stdout}");
}
