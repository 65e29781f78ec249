//! State the usage and invoice routes share: spending budgets, and the key that signs
//! continuation tokens so they can carry their own cursor.

use std::{
    collections::{HashMap, hash_map::RandomState},
    hash::BuildHasher,
};

use base64::Engine as _;
use serde_json::Number;

use crate::seed;

pub struct BillingState {
    /// Customer id (lower case) → spending budget amount. No entry: no budget.
    pub budgets: HashMap<String, Number>,
    /// Signs continuation tokens, so a forged or foreign token is rejected (400) while the
    /// tokens themselves carry the cursor and nothing is stored per page served.
    token_key: RandomState,
}

impl BillingState {
    pub fn seeded() -> Self {
        let budgets = [(seed::CUSTOMER_FABRIKAM, 5000u64), (seed::CUSTOMER_LITWARE, 100)]
            .into_iter()
            .map(|(customer, amount)| (customer.to_ascii_lowercase(), Number::from(amount)))
            .collect();
        Self { budgets, token_key: RandomState::new() }
    }

    fn mac(&self, payload: &str) -> u64 {
        self.token_key.hash_one(payload)
    }

    /// An opaque continuation token for `cursor`.
    pub fn issue(&self, cursor: &Cursor) -> String {
        let payload = format!("v1|{}|{}|{}|{}", cursor.partner, cursor.scope, cursor.size, cursor.offset);
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{:016x}", engine.encode(payload.as_bytes()), self.mac(&payload))
    }

    /// The cursor of a token this simulator issued, or `None`.
    pub fn redeem(&self, token: &str) -> Option<Cursor> {
        let (body, mac) = token.trim().split_once('.')?;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).ok()?;
        let payload = String::from_utf8(payload).ok()?;
        if u64::from_str_radix(mac, 16).ok()? != self.mac(&payload) {
            return None;
        }
        let mut parts = payload.split('|');
        if parts.next()? != "v1" {
            return None;
        }
        let partner = parts.next()?.to_owned();
        let scope = parts.next()?.to_owned();
        let size = parts.next()?.parse().ok()?;
        let offset = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Cursor { partner, scope, size, offset })
    }
}

/// Where the next page starts. `scope` names the collection (it must not contain `|`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub partner: String,
    pub scope: String,
    pub size: usize,
    pub offset: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_tokens_round_trip_and_reject_tampering() {
        let state = BillingState::seeded();
        let cursor = Cursor { partner: "p".into(), scope: "li/G1/onetime-usage/USD/".into(), size: 2000, offset: 4000 };
        let token = state.issue(&cursor);
        assert_eq!(state.redeem(&token), Some(cursor));
        assert_eq!(state.redeem("AQAAAA=="), None);
        assert_eq!(state.redeem(""), None);
        let (body, mac) = token.split_once('.').expect("dot");
        let forged_body =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("v1|p|li/G1/onetime-usage/USD/|2000|0");
        assert_eq!(state.redeem(&format!("{forged_body}.{mac}")), None);
        assert_eq!(state.redeem(&format!("{body}.zz")), None);
        // Another simulator instance does not accept this one's tokens.
        assert_eq!(BillingState::seeded().redeem(&token), None);
    }
}
