//! The PRNG behind every generated item and the stable ids derived from hashes.

/// SplitMix64: small, fast, good enough for fixtures, and the same everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

pub(super) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(mix(seed))
    }

    /// The generator of item `n` within a scope.
    pub fn for_item(scope_seed: u64, n: u64) -> Self {
        Self(mix(scope_seed ^ mix(n.wrapping_add(1).wrapping_mul(GOLDEN))))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }
}

/// FNV-1a over the parts (with a separator so `("ab","c") != ("a","bc")`).
pub fn fnv(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// A version-4-shaped GUID; distinct `low` values below 2^56 give distinct GUIDs for one `high`
/// (the version and variant bits only touch `high` and the unused top byte of `low`).
pub fn guid(high: u64, low: u64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// `n` shuffled within `bits` bits: a bijection on `0..2^bits` (odd multiplier, then xor), so
/// item numbers make unique but unremarkable-looking ids.
pub fn scramble(seed: u64, n: u64, bits: u32) -> u64 {
    let mask = if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 };
    (n.wrapping_mul(GOLDEN) ^ mix(seed)) & mask
}

/// A stable GUID named by its parts.
pub fn derived_guid(parts: &[&str]) -> String {
    let hash = fnv(parts);
    guid(hash, mix(hash) & 0x00ff_ffff_ffff_ffff)
}

/// The Partner Center subscription id of a customer's Azure plan, as the usage and invoice data
/// name it until the subscription store provides real ones (see `usage::usage_subscriptions`).
pub fn azure_plan_id(customer: &str) -> String {
    derived_guid(&["azure-plan", &customer.to_ascii_lowercase()])
}

/// The commerce subscription id of a customer's MS-AZR-0145P subscription (same caveat).
pub fn legacy_subscription_id(customer: &str) -> String {
    derived_guid(&["ms-azr-0145p", &customer.to_ascii_lowercase()])
}

/// Azure subscription (entitlement) `k` under a customer's plan.
pub fn entitlement_id(customer: &str, k: u64) -> String {
    derived_guid(&["entitlement", &customer.to_ascii_lowercase(), &k.to_string()])
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn scramble_is_a_bijection() {
        let seen: HashSet<u64> = (0..1u64 << 12).map(|n| scramble(42, n, 12)).collect();
        assert_eq!(seen.len(), 1 << 12);
        assert!(seen.iter().all(|x| *x < 1 << 12));
    }
}
