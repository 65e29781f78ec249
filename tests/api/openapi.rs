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
