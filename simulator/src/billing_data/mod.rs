//! Deterministic, lazily generated billing data: the partner's invoices, their line items, the
//! unbilled period, and the shared state of the usage and invoice routes.
//!
//! Nothing here stores line items. Item `n` of an invoice (or of the unbilled period) and a line
//! kind is computed from `(scope, kind, n)` with a small PRNG ([`Rng`]), so an invoice can hold
//! 100,000 items and a page costs only its own items. The same inputs give the same item on every
//! run and every machine (FNV-1a + SplitMix64, no std hasher).
//!
//! Unique keys a consumer can use to check it received every item exactly once:
//! - `OneTimeInvoiceLineItem`: `referenceId` (and `alternateId`), unique per scope.
//! - `DailyRatedUsageLineItem`: the triple (`resourceUri`, `meterId`, `usageDate`).
//! - `DailyUsageLineItem`: the pair (`resourceGuid`, `usageDate`).
//! - `UsageBasedLineItem`: `detailLineItemId`; `LicenseBasedLineItem`: `orderId`.
//!
//! Layout, by concern: [`random`] (the PRNG and the ids derived from it), [`dates`],
//! [`invoices`] (the invoice table, line kinds, the unbilled period and where items live),
//! [`tables`] (customers, Azure services and meters, products the items name), [`line_items`](mod@line_items)
//! (the five generators), [`state`] (budgets and continuation tokens) and [`paging`] (the query
//! helpers the usage and invoice routes share). Everything is re-exported here, so callers write
//! `billing_data::X`.

pub mod dates;
pub mod invoices;
pub mod line_items;
pub mod paging;
pub mod random;
pub mod state;
pub mod tables;

use serde_json::{Number, Value, json};

pub use self::{dates::*, invoices::*, line_items::*, paging::*, random::*, state::*, tables::*};

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A JSON number; non-finite values (never produced here) become 0.
pub fn num(x: f64) -> Value {
    Number::from_f64(x).map_or(json!(0), Value::Number)
}
