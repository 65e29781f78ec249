//! Black-box tests: the real gateway over REST and gRPC against the built-in simulator.

mod auth;
mod auth_attacks;
mod billing;
mod catalog;
mod commerce;
mod contract;
mod customers;
mod errors;
mod exports;
mod helpers;
mod hostile;
mod observability;
mod openapi;
mod process;
mod redis_server;
mod replicas;
mod resilience;
mod service;
mod shared_state;
mod simulator_url;
mod tenant_isolation;
mod token_cache;
mod upstream_economy;
mod usage;
mod walkthrough;
