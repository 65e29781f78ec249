//! The committed OpenAPI document and the binary's subcommands.

use std::process::Command;

use partner_center_gateway::rest;

const BINARY: &str = env!("CARGO_BIN_EXE_partner-center-gateway");

fn committed() -> String {
    std::fs::read_to_string(format!("{}/openapi/openapi.json", env!("CARGO_MANIFEST_DIR"))).unwrap_or_default()
}

#[test]
fn the_committed_openapi_document_is_current() {
    let generated = rest::openapi().to_pretty_json().expect("render");
    assert!(
        committed().trim() == generated.trim(),
        "openapi/openapi.json is stale: regenerate it with `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn the_document_describes_auth_errors_and_every_operation() {
    let document: serde_json::Value = serde_json::from_str(&committed()).expect("json");
    assert!(document["openapi"].as_str().unwrap_or_default().starts_with("3.1"));
    assert_eq!(document["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert!(document["components"]["schemas"]["ProblemDetails"].is_object());
    let paths = document["paths"].as_object().expect("paths");
    for required in ["/v1/customers", "/v1/catalog/azure-plan", "/v1/customers/{customerId}/azure-plans"] {
        assert!(paths.contains_key(required), "{required} undocumented");
    }
    for (path, operations) in paths {
        if !path.starts_with("/v1/") {
            continue;
        }
        for (method, operation) in operations.as_object().expect("operations") {
            for status in ["400", "401", "403", "404", "429", "502", "503", "504"] {
                let content = &operation["responses"][status]["content"]["application/problem+json"];
                assert!(content.is_object(), "{method} {path} lacks a {status} problem response");
            }
            let tags = operation["tags"].as_array().map(Vec::len).unwrap_or(0);
            assert!(tags > 0, "{method} {path} has no tag");
        }
    }
}

#[test]
fn the_openapi_subcommand_prints_the_committed_document() {
    let output = Command::new(BINARY).arg("openapi").output().expect("run");
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), committed().trim());
}

#[test]
fn a_wrong_setting_stops_the_start_and_names_the_key() {
    let output = Command::new(BINARY)
        .args(["serve", "--rest-listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"])
        .env("GATEWAY_CATALOG__CACHE_TTL", "forever")
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("catalog.cache_ttl") && stderr.contains("GATEWAY_CATALOG__CACHE_TTL"), "{stderr}");

    let output = Command::new(BINARY).args(["--set", "rest.lisen=127.0.0.1:1", "serve"]).output().expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("lisen"));
}

#[tokio::test]
async fn the_dev_token_subcommand_mints_tokens_the_gateway_accepts() {
    let app = crate::helpers::TestApp::spawn().await;
    let output = Command::new(BINARY)
        .args(["dev-token", "--customer", crate::helpers::FABRIKAM, "--scope", "customers.read"])
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let (status, _) = app.get_json(&format!("/v1/customers/{}", crate::helpers::FABRIKAM), &token).await;
    assert_eq!(status, 200);
    let (status, _) = app.get_json(&format!("/v1/customers/{}", crate::helpers::ADVENTURE_WORKS), &token).await;
    assert_eq!(status, 403);
}

#[test]
fn operation_ids_are_unique_so_client_generators_accept_the_document() {
    let document: serde_json::Value = serde_json::from_str(&committed()).expect("json");
    let mut seen = std::collections::HashSet::new();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let id = operation["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(
                !id.is_empty() && seen.insert(id.clone()),
                "{method} {path}: operationId {id:?} missing or repeated"
            );
        }
    }
}

#[test]
fn openapi_into_a_pipe_closed_early_exits_quietly() {
    use std::{io::Read, process::Stdio};
    let mut child =
        Command::new(BINARY).arg("openapi").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run");
    // Like `| head -c 16`: read a little, then close the pipe.
    let mut first = [0u8; 16];
    child.stdout.take().expect("stdout").read_exact(&mut first).expect("read");
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(String::from_utf8_lossy(&first).starts_with('{'));
}

/// `dev-token` with `args`: (exit success, stdout, stderr).
fn dev_token(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BINARY).arg("dev-token").args(args).output().expect("run");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn dev_token_refuses_typos_and_lists_the_valid_values() {
    let (ok, stdout, stderr) = dev_token(&["--scope", "order.write"]);
    assert!(!ok && stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("unknown permission \"order.write\""), "{stderr}");
    for permission in partner_center_gateway::auth::Permission::ALL {
        assert!(stderr.contains(permission.as_str()), "{} not listed: {stderr}", permission.as_str());
    }
    let (ok, _, stderr) = dev_token(&["--partner", "contosso"]);
    assert!(!ok && stderr.contains("unknown partner \"contosso\""), "{stderr}");
    assert!(stderr.contains("contoso") && stderr.contains("northwind"), "{stderr}");
    let (ok, _, stderr) = dev_token(&["--customer", "fabrikam"]);
    assert!(!ok && stderr.contains("malformed customer id \"fabrikam\"") && stderr.contains("GUID"), "{stderr}");
    let (ok, _, stderr) = dev_token(&["--customer", "*", "--customer", crate::helpers::FABRIKAM]);
    assert!(!ok && stderr.contains("alone"), "{stderr}");
    // What is valid still works, partners by id or tenant id.
    let tenant = partner_center_simulator::seed::NORTHWIND_TENANT_ID;
    for args in [
        &["--scope", "orders.write", "--customer", crate::helpers::FABRIKAM][..],
        &["--partner", "northwind"][..],
        &["--partner", tenant][..],
    ] {
        let (ok, stdout, stderr) = dev_token(args);
        assert!(ok && stdout.trim().split('.').count() == 3, "{args:?}: {stderr}");
    }
    let help = Command::new(BINARY).args(["dev-token", "--help"]).output().expect("run");
    let help = String::from_utf8_lossy(&help.stdout);
    for permission in partner_center_gateway::auth::Permission::ALL {
        assert!(help.contains(permission.as_str()), "--help lacks {}", permission.as_str());
    }
}

#[test]
fn config_errors_name_the_key_once_without_backticks() {
    for (args, env, key) in [
        (&["--set", "rest.lisen=127.0.0.1:1"][..], None, "rest.lisen"),
        (&[][..], Some(("GATEWAY_CATALOG__CACHE_TTL", "forever")), "catalog.cache_ttl"),
        (&["--set", "environment=staging"][..], None, "environment"),
    ] {
        let mut command = Command::new(BINARY);
        command.args(args).arg("dev-token");
        if let Some((name, value)) = env {
            command.env(name, value);
        }
        let output = command.output().expect("run");
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        assert!(stderr.starts_with(&format!("error: invalid setting {key}: ")), "{stderr}");
        assert!(!stderr.contains('`'), "{stderr}");
        // What is wrong, between the key and where the value came from, does not repeat the key.
        let what = stderr
            .split_once(&format!("{key}: "))
            .map_or("", |(_, rest)| rest.split(" (from ").next().unwrap_or_default());
        let last = key.rsplit('.').next().unwrap_or(key);
        assert!(!what.is_empty() && !what.contains(last), "the key once: {stderr}");
    }
}
