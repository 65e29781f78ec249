//! Transport- and upstream-neutral types: what the facade takes and returns.
//!
//! Partner Center's wire shapes stay in `partner_center::models`; the REST layer serializes these
//! types as its JSON (camelCase), the gRPC layer converts them to protobuf messages.

pub mod catalog;
pub mod customer;
pub mod ids;
pub mod page;

pub use ids::*;
pub use page::{Page, PageRequest};
