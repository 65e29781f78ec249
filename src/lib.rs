//! partner-center-gateway: a gateway in front of the Microsoft Partner Center REST API.
//!
//! # Layout
//!
//! Requests flow `rest/` or `grpc/` → `facade/` → `partner_center/`, with `auth/` deciding who
//! may do what and `error` the one error vocabulary:
//!
//! - `config`: settings in layers (defaults, file, `GATEWAY_*` env, flags), validated at start.
//! - `app`: builds everything from the settings; `server`: serves REST and gRPC, shuts down.
//! - `auth/`: JWT verification ([`auth::Authenticator`]) → [`auth::Caller`]; `policy` rules.
//! - `facade/`: one function per operation, shared by both transports; checks the caller first.
//! - `partner_center/`: the only code that knows Partner Center's wire format: client, tokens,
//!   paging, error classification, one typed method per upstream call.
//! - `model/`: the types the facade speaks (REST JSON is their serde form).
//! - `rest/`: axum handlers, problem+json, OpenAPI, Swagger UI. `grpc/`: tonic services.
//! - `shared_state/`: what replicas share through Redis (idempotency records, recent orders, the
//!   Partner Center budget, rotated refresh tokens), behind the traits the in-memory stores implement.
//!
//! The simulator (a stand-in Partner Center for `cargo run` and the tests) is the workspace crate
//! `partner-center-simulator` in `simulator/`, linked with the `simulator` feature.

pub mod app;
pub mod auth;
pub mod config;
pub mod context;
pub mod edge;
pub mod error;
pub mod facade;
pub mod grpc;
pub mod limits;
pub mod model;
pub mod partner_center;
pub mod rest;
pub mod server;
pub mod shared_state;
pub mod telemetry;
