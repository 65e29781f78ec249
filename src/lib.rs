//! partner-center-gateway: a gateway in front of the Microsoft Partner Center REST API.
//!
//! # Layout
//!
//! Requests flow `rest/` or `grpc/` → `facade/` → `partner_center/`, with `auth/` deciding who
//! may do what and `error` the one error vocabulary. Each module, top down:
//!
//! - `app`: the composition root: builds every layer from the settings (translating them into
//!   each layer's own options) and binds the listeners; `server`: serves REST and gRPC (connection
//!   limits, each edge's pipeline wrapped once around its whole router), shuts down.
//! - `rest/`: axum handlers, typed path extractors, DTOs, problem+json, OpenAPI, Swagger UI, and
//!   the `pipeline` around them (request context, CORS, body limits).
//! - `grpc/`: tonic services; `input` parses requests, `convert` builds responses.
//! - `edge`: what every request does on either transport (context, admission, authentication,
//!   the caller's budget, outcome metrics and logs) and the `AppState` both edges share.
//! - `facade/`: one function per operation, shared by both transports; checks the caller first,
//!   then talks to Partner Center through the `PartnerCenterApi` seam. Also the catalog cache,
//!   signed page tokens, idempotency records and read-your-writes state.
//! - `partner_center/`: the only code that knows Partner Center's wire format: `PartnerCenterApi`
//!   and its implementation, the HTTP client (retries, deadlines, circuit breaker, budget) over
//!   its own connection pool (`transport`: hyper and rustls, `HTTPS_PROXY` tunnels), shared
//!   reads (identical calls in flight coalesced, the opt-in response cache), the retry budget,
//!   Azure AD tokens, paging, error classification.
//! - `graph/`: Microsoft Graph's partner billing exports (client, wire shapes, blob streaming).
//! - `sealed`: AEAD-sealed values for opaque caller handles (billing export ids).
//! - `shared_state/`: what replicas share through Redis (idempotency records, recent orders, the
//!   Partner Center budget, rotated refresh tokens), behind the traits the in-memory stores implement.
//! - `auth/`: JWT verification ([`auth::Authenticator`]) → [`auth::Caller`]; `policy` rules that
//!   hand out [`auth::Authorized`] scopes.
//! - `model/`: transport-neutral types the facade takes and returns (REST JSON is their serde form).
//! - `limits`: rate budgets and admission control. `context`: a request's ids, trace, locale and
//!   deadline. `telemetry`: logs, traces and metrics. `config`: settings in layers (defaults, file,
//!   `GATEWAY_*` env, flags), validated at start. `error`: the one `Error`, its kinds and reasons.
//!   `metrics_catalog`: every metric's help text, the series present from the start, `process_*`.
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
pub mod graph;
pub mod grpc;
pub mod limits;
pub mod metrics_catalog;
pub mod model;
pub mod partner_center;
pub mod rest;
pub mod sealed;
pub mod server;
pub mod shared_state;
pub mod telemetry;
