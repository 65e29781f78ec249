//! Transport- and upstream-neutral types: what the facade takes and returns.
//!
//! Partner Center's wire shapes stay in `partner_center::models`; the REST layer serializes these
//! types as its JSON (camelCase), the gRPC layer converts them to protobuf messages.

pub mod agreement;
pub mod billing;
pub mod catalog;
pub mod commerce;
pub mod customer;
pub mod ids;
pub mod page;
pub mod subscription;
pub mod time_format;
pub mod upgrade;
pub mod usage;

pub use ids::*;
pub use page::{Page, PageRequest};
