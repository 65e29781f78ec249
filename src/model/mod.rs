//! Transport- and upstream-neutral types: what the facade takes and returns.
//!
//! Partner Center's wire shapes stay in `partner_center::models`; the REST layer serializes these
//! types as its JSON (camelCase), the gRPC layer converts them to protobuf messages.

pub mod agreement;
pub mod billing;
pub mod catalog;
pub mod commerce;
pub mod customer;
pub mod exports;
pub mod ids;
pub mod page;
pub mod subscription;
pub mod time_format;
pub mod upgrade;
pub mod usage;

pub use ids::*;
pub use page::{Page, PageRequest};

/// A caller's input as its edge parsed it: the valid value, or the edge's error naming the field
/// in the caller's spelling. Facade operations take request bodies this way so that they check
/// the caller's scope first: a caller learns nothing about a customer it may not touch, not even
/// whether its input for that customer would be valid.
pub type Parsed<T> = crate::error::Result<T>;
