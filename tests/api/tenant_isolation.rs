//! A caller scoped to customer A never reaches customer B, over either transport, and Partner
//! Center never hears of B. The operations are enumerated from the OpenAPI document and from the
//! gRPC descriptor set, so a new customer-scoped operation without a tenant check fails here.

use bytes::{Buf, BufMut, Bytes};
use partner_center_gateway::{auth::Permission, grpc::pb, rest};
use prost::Message;
use prost_types::{FileDescriptorSet, field_descriptor_proto::Type};
use serde_json::{Value, json};
use tonic::{
    Code,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
};

use crate::helpers::{ADVENTURE_WORKS, FABRIKAM, TestApp, authed};

const SOME_GUID: &str = "7c3e9a1b-5d2f-4e6a-8b9c-0d1e2f3a4b5c";

/// A body that passes the route's JSON extraction (validation comes after the tenant check).
fn body_for(method: &str, path: &str) -> Option<Value> {
    let body = match (method, path.rsplit('/').next().unwrap_or_default()) {
        ("post", "carts") | ("put", "{cartId}") => json!({ "lineItems": [] }),
        ("post", "agreements") => {
            json!({ "primaryContact": { "firstName": "A", "lastName": "B", "email": "a@b.example" } })
        }
        ("post", "product-upgrades") => json!({ "productFamily": "Azure" }),
        ("patch", "budget") => json!({ "amount": 100 }),
        ("post" | "put" | "patch", "checkout" | "suspend" | "reactivate" | "azure-plans") => return None,
        ("post" | "put" | "patch", other) => panic!("add a request body for {method} {path} ({other}) to this test"),
        _ => return None,
    };
    Some(body)
}

/// A valid value for a required query parameter.
fn query_value(name: &str) -> &'static str {
    match name {
        "productFamily" => "Azure",
        "country" => "US",
        "currencyCode" => "USD",
        "period" => "current",
        other => panic!("no test value for the required query parameter {other}"),
    }
}

fn fill_path(path: &str, customer: &str) -> String {
    let mut out = String::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.push_str(match segment {
            "{customerId}" => customer,
            "{subscriptionId}" | "{cartId}" | "{upgradeId}" => SOME_GUID,
            "{orderId}" | "{invoiceId}" => "ORDER0001",
            other if other.starts_with('{') => panic!("no test value for the path parameter {other}"),
            other => other,
        });
    }
    out
}

#[tokio::test]
async fn every_customer_scoped_rest_operation_refuses_another_customer() {
    let app = TestApp::spawn().await;
    let token = app.token(&[FABRIKAM], &Permission::ALL);
    let document: Value = serde_json::from_str(&rest::openapi().to_json().expect("json")).expect("document");
    let mut checked = 0;
    for (path, operations) in document["paths"].as_object().expect("paths") {
        if !path.contains("{customerId}") {
            continue;
        }
        for (method, operation) in operations.as_object().expect("operations") {
            let query: Vec<String> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query" && p["required"] == true)
                .map(|p| {
                    let name = p["name"].as_str().unwrap_or_default();
                    format!("{name}={}", query_value(name))
                })
                .collect();
            let url = app.url(&format!("{}?{}", fill_path(path, ADVENTURE_WORKS), query.join("&")));
            let mut request = app
                .http
                .request(method.to_uppercase().parse().expect("method"), url)
                .bearer_auth(&token)
                .header("Idempotency-Key", "tenant-isolation");
            if let Some(body) = body_for(method, path) {
                request = request.json(&body);
            }
            let response = request.send().await.expect("send");
            let status = response.status().as_u16();
            let problem: Value = response.json().await.unwrap_or(Value::Null);
            assert_eq!(status, 403, "{method} {path}: {problem}");
            assert_eq!(problem["reason"], "CUSTOMER_NOT_IN_SCOPE", "{method} {path}");
            checked += 1;
        }
    }
    assert!(checked >= 19, "only {checked} customer-scoped operations found");
    let counters = app.counters();
    assert_eq!(counters.calls_mentioning(ADVENTURE_WORKS), 0, "{counters:?}");
    assert_eq!(counters.total_calls(), 0, "{counters:?}");

    // The same caller reaches its own customer.
    let (status, _) = app.get_json(&format!("/v1/customers/{FABRIKAM}"), &token).await;
    assert_eq!(status, 200);
}

/// Passes raw protobuf bytes through, so any RPC can be called from its descriptor alone.
#[derive(Clone, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Self::Error> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

fn encode_string(out: &mut Vec<u8>, number: i32, value: &str) {
    prost::encoding::string::encode(u32::try_from(number).expect("field number"), &value.to_owned(), out);
}

fn value_for(field: &str, customer: &str) -> Option<String> {
    Some(match field {
        "customer_id" => customer.to_owned(),
        "subscription_id" | "cart_id" | "upgrade_id" => SOME_GUID.to_owned(),
        "order_id" | "invoice_id" => "ORDER0001".to_owned(),
        "idempotency_key" => "tenant-isolation".to_owned(),
        "product_family" => "Azure".to_owned(),
        "country" => "US".to_owned(),
        "amount" => "100".to_owned(),
        _ => return None,
    })
}

#[tokio::test]
async fn every_customer_scoped_rpc_refuses_another_customer() {
    let app = TestApp::spawn().await;
    let token = app.token(&[FABRIKAM], &Permission::ALL);
    let descriptors = FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).expect("descriptor set");
    let messages: std::collections::HashMap<String, &prost_types::DescriptorProto> = descriptors
        .file
        .iter()
        .filter(|f| f.package() == "partnercenter.gateway.v1")
        .flat_map(|f| f.message_type.iter().map(|m| (format!(".partnercenter.gateway.v1.{}", m.name()), m)))
        .collect();
    let channel = app.channel().await;
    let mut checked = 0;
    for file in descriptors.file.iter().filter(|f| f.package() == "partnercenter.gateway.v1") {
        for service in &file.service {
            for method in &service.method {
                let input = messages[method.input_type()];
                if !input.field.iter().any(|f| f.name() == "customer_id") {
                    continue;
                }
                let mut body = Vec::new();
                for field in &input.field {
                    match field.r#type() {
                        Type::String => {
                            if let Some(value) = value_for(field.name(), ADVENTURE_WORKS) {
                                encode_string(&mut body, field.number(), &value);
                            }
                        }
                        // Present but empty sub-messages (e.g. a contact): validation comes after the tenant check.
                        Type::Message if field.label() != prost_types::field_descriptor_proto::Label::Repeated => {
                            prost::encoding::encode_key(
                                u32::try_from(field.number()).expect("number"),
                                prost::encoding::WireType::LengthDelimited,
                                &mut body,
                            );
                            prost::encoding::encode_varint(0, &mut body);
                        }
                        _ => {}
                    }
                }
                let path = format!("/partnercenter.gateway.v1.{}/{}", service.name(), method.name());
                let mut grpc = tonic::client::Grpc::new(channel.clone());
                grpc.ready().await.expect("ready");
                let request = authed(Bytes::from(body), &token);
                let outcome = if method.server_streaming() {
                    grpc.server_streaming(request, path.parse().expect("path"), RawCodec).await.map(|_| ())
                } else {
                    grpc.unary(request, path.parse().expect("path"), RawCodec).await.map(|_| ())
                };
                let status = outcome.expect_err(&path);
                assert_eq!(status.code(), Code::PermissionDenied, "{path}: {status:?}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 15, "only {checked} customer-scoped RPCs found");
    assert_eq!(app.counters().total_calls(), 0, "{:?}", app.counters());
}
