//! Export blobs as they stream in: gzip inflated incrementally ([`GzipLines`]) and each JSON line
//! rewritten into the gateway's shape ([`normalize`]), without ever holding a whole blob.
//!
//! Memory per open blob is bounded: compressed input is fed to the inflater a few KiB at a time
//! (each step yields at most the inflater's 32 KiB window of output), complete lines are handed
//! out as soon as they exist, and a line longer than [`MAX_LINE_BYTES`] is an error rather than
//! a growing buffer (which also defuses a gzip bomb).

use std::{borrow::Cow, collections::HashMap, fmt, io::Write, sync::LazyLock};

use flate2::write::MultiGzDecoder;
use serde::{
    Deserialize, Deserializer,
    de::{MapAccess, Visitor},
};
use serde_json::value::RawValue;

/// Longest JSON line accepted (line items are about 1–2 KiB).
pub const MAX_LINE_BYTES: usize = 1024 * 1024;
/// Compressed bytes fed to the inflater per step.
const FEED_STEP: usize = 8 * 1024;

/// Why a blob's content could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Gzip (one or more members) in, lines out. Push compressed chunks with [`Self::push`], take
/// lines with [`Self::next_line`]; after the last chunk, [`Self::finish`].
pub struct GzipLines {
    decoder: MultiGzDecoder<Vec<u8>>,
    /// Compressed bytes not yet fed to the inflater.
    input: bytes::Bytes,
    /// Start of the first unread byte in the decoder's output buffer.
    read_at: usize,
    finished: bool,
}

impl Default for GzipLines {
    fn default() -> Self {
        Self::new()
    }
}

impl GzipLines {
    pub fn new() -> Self {
        Self {
            decoder: MultiGzDecoder::new(Vec::with_capacity(64 * 1024)),
            input: bytes::Bytes::new(),
            read_at: 0,
            finished: false,
        }
    }

    /// Whether [`Self::next_line`] needs more input (`push` or `finish`) to go on.
    pub fn wants_input(&self) -> bool {
        self.input.is_empty() && !self.finished
    }

    /// Adds compressed bytes; only call when [`Self::wants_input`].
    pub fn push(&mut self, chunk: bytes::Bytes) {
        self.input = chunk;
    }

    /// No more input will come.
    pub fn finish(&mut self) -> Result<(), Malformed> {
        self.finished = true;
        self.decoder.try_finish().map_err(|e| Malformed(format!("the gzip data ends early or is corrupt: {e}")))
    }

    /// The next complete line (without `\n`/`\r\n`), or `None` when more input is needed (see
    /// [`Self::wants_input`]) or everything was read. A last line without `\n` is returned after
    /// [`Self::finish`].
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, Malformed> {
        Ok(self.next_range()?.map(|range| self.line(range)))
    }

    /// [`Self::next_line`] as a range for [`Self::line`] (which lets a caller loop without holding
    /// a borrow).
    pub fn next_range(&mut self) -> Result<Option<std::ops::Range<usize>>, Malformed> {
        loop {
            let output = self.decoder.get_ref();
            if let Some(offset) = memchr::memchr(b'\n', &output[self.read_at..]) {
                let start = self.read_at;
                let mut end = start + offset;
                self.read_at = end + 1;
                if end > start && output[end - 1] == b'\r' {
                    end -= 1;
                }
                return Ok(Some(start..end));
            }
            // No complete line buffered: drop what was read, then inflate more.
            let buffer = self.decoder.get_mut();
            buffer.drain(..self.read_at);
            self.read_at = 0;
            if buffer.len() > MAX_LINE_BYTES {
                return Err(Malformed(format!("a line is longer than {MAX_LINE_BYTES} bytes")));
            }
            if !self.input.is_empty() {
                let step = self.input.len().min(FEED_STEP);
                let consumed = self
                    .decoder
                    .write(&self.input[..step])
                    .map_err(|e| Malformed(format!("the data is not valid gzip: {e}")))?;
                let _ = self.input.split_to(consumed);
                if self.input.is_empty() {
                    // Hand out what the inflater holds before waiting for the network.
                    self.decoder.flush().map_err(|e| Malformed(format!("the data is not valid gzip: {e}")))?;
                }
                continue;
            }
            let buffered = self.decoder.get_ref();
            if self.finished && !buffered.is_empty() {
                let mut end = buffered.len();
                self.read_at = end;
                if buffered[end - 1] == b'\r' {
                    end -= 1;
                }
                return Ok(Some(0..end));
            }
            return Ok(None);
        }
    }

    /// The bytes of a range [`Self::next_range`] returned (valid until the next call).
    pub fn line(&self, range: std::ops::Range<usize>) -> &[u8] {
        &self.decoder.get_ref()[range]
    }
}

// ---------------------------------------------------------------------------------------------
// One line into the gateway's shape.

/// Microsoft's attribute names (Graph `attributeSet` table, the reconciliation file's columns and
/// their portal spellings), in the gateway's camelCase; any spelling that matches one of these
/// case-insensitively becomes it (`BenefitOrderID`, `BenefitOrderId` → `benefitOrderId`).
const CANONICAL_KEYS: [&str; 75] = [
    "additionalInfo",
    "alternateId",
    "availabilityId",
    "benefitId",
    "benefitOrderId",
    "benefitType",
    "billableQuantity",
    "billingCurrency",
    "billingFrequency",
    "billingPreTaxTotal",
    "chargeEndDate",
    "chargeStartDate",
    "chargeType",
    "consumedService",
    "creditPercentage",
    "creditReasonCode",
    "creditType",
    "currency",
    "customerCountry",
    "customerDomainName",
    "customerId",
    "customerName",
    "effectiveUnitPrice",
    "entitlementDescription",
    "entitlementId",
    "invoiceNumber",
    "meterCategory",
    "meterDescription",
    "meterId",
    "meterName",
    "meterRegion",
    "meterSubCategory",
    "meterType",
    "mpnId",
    "orderDate",
    "orderId",
    "partnerEarnedCreditPercentage",
    "partnerId",
    "partnerName",
    "pcToBcExchangeRate",
    "pcToBcExchangeRateDate",
    "priceAdjustmentDescription",
    "pricingCurrency",
    "pricingPreTaxTotal",
    "productId",
    "productName",
    "productQualifiers",
    "promotionId",
    "publisherId",
    "publisherName",
    "quantity",
    "referenceId",
    "resellerMpnId",
    "reservationOrderId",
    "resourceGroup",
    "resourceLocation",
    "resourceUri",
    "serviceInfo1",
    "serviceInfo2",
    "skuId",
    "skuName",
    "subscriptionDescription",
    "subscriptionEndDate",
    "subscriptionId",
    "subscriptionStartDate",
    "subtotal",
    "tags",
    "taxTotal",
    "termAndBillingCycle",
    "tier2MpnId",
    "total",
    "unit",
    "unitPrice",
    "unitType",
    "usageDate",
];

/// Lower-cased key → index into [`CANONICAL_KEYS`].
static BY_FOLDED_KEY: LazyLock<HashMap<String, usize>> =
    LazyLock::new(|| CANONICAL_KEYS.iter().enumerate().map(|(i, key)| (key.to_ascii_lowercase(), i)).collect());

/// The gateway's spelling of a key Microsoft wrote as `key`.
pub fn canonical_key(key: &str) -> Cow<'_, str> {
    match known_key(key) {
        Some(index) => Cow::Borrowed(CANONICAL_KEYS[index]),
        None => unknown_key(key),
    }
}

/// The index in [`CANONICAL_KEYS`] of the attribute `key` names, whatever its case.
fn known_key(key: &str) -> Option<usize> {
    let mut folded = [0u8; 64];
    if key.len() > folded.len() || !key.is_ascii() {
        return None;
    }
    for (slot, byte) in folded.iter_mut().zip(key.bytes()) {
        *slot = byte.to_ascii_lowercase();
    }
    std::str::from_utf8(&folded[..key.len()]).ok().and_then(|folded| BY_FOLDED_KEY.get(folded).copied())
}

/// An attribute the tables do not list: `MPNID`-style all-capitals become lower case, others get
/// a lower-case first letter.
fn unknown_key(key: &str) -> Cow<'_, str> {
    if !key.chars().any(char::is_lowercase) {
        return Cow::Owned(key.to_lowercase());
    }
    let mut chars = key.chars();
    match chars.next() {
        Some(first) if first.is_uppercase() => Cow::Owned(first.to_lowercase().chain(chars).collect()),
        _ => Cow::Borrowed(key),
    }
}

/// A JSON object's entries, values left as raw JSON text.
struct Entries<'a>(Vec<(Key<'a>, &'a RawValue)>);

struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(64));
                while let Some(entry) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// Appends `line` (one JSON object) to `out` in the gateway's shape: keys in [`canonical_key`]
/// spelling (the first of several spellings of one key wins), every number written as a string
/// of its exact digits, other values as Microsoft sent them. Returns `Ok(false)` for a blank line
/// (nothing appended).
pub fn normalize(line: &[u8], out: &mut Vec<u8>) -> Result<bool, Malformed> {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(false);
    }
    let Entries(entries) =
        serde_json::from_slice(line).map_err(|e| Malformed(format!("a line is not a JSON object: {e}")))?;
    let mut seen: u128 = 0;
    let mut seen_other: Vec<Cow<'_, str>> = Vec::new();
    out.push(b'{');
    let mut first = true;
    for (Key(key), value) in &entries {
        let known = known_key(key);
        let other = match known {
            Some(index) if seen & (1 << index) != 0 => continue,
            Some(index) => {
                seen |= 1 << index;
                None
            }
            None => {
                let key = unknown_key(key);
                if seen_other.contains(&key) {
                    continue;
                }
                Some(key)
            }
        };
        if !first {
            out.push(b',');
        }
        match (known, other) {
            (Some(index), _) => {
                // Our own ASCII identifiers: nothing to escape.
                out.push(b'"');
                out.extend_from_slice(CANONICAL_KEYS[index].as_bytes());
                out.push(b'"');
            }
            (None, Some(key)) => {
                serde_json::to_writer(&mut *out, key.as_ref()).map_err(|e| Malformed(e.to_string()))?;
                seen_other.push(key);
            }
            (None, None) => {}
        }
        first = false;
        out.push(b':');
        let raw = value.get().as_bytes();
        if raw.first().is_some_and(|b| *b == b'-' || b.is_ascii_digit()) {
            out.push(b'"');
            out.extend_from_slice(raw);
            out.push(b'"');
        } else {
            out.extend_from_slice(raw);
        }
    }
    out.push(b'}');
    Ok(true)
}

#[cfg(test)]
mod tests {
    use flate2::{Compression, write::GzEncoder};
    use serde_json::{Value, json};

    use super::*;

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(text).expect("write");
        encoder.finish().expect("finish")
    }

    /// Every line of `compressed`, fed in chunks of `chunk` bytes.
    fn lines(compressed: &[u8], chunk: usize) -> Result<Vec<String>, Malformed> {
        let mut reader = GzipLines::new();
        let mut out = Vec::new();
        let mut chunks = compressed.chunks(chunk);
        loop {
            while let Some(line) = reader.next_line()? {
                out.push(String::from_utf8_lossy(line).into_owned());
            }
            if !reader.wants_input() {
                return Ok(out);
            }
            match chunks.next() {
                Some(piece) => reader.push(bytes::Bytes::copy_from_slice(piece)),
                None => reader.finish()?,
            }
        }
    }

    #[test]
    fn lines_come_out_whole_whatever_the_chunking() {
        let text: String = (0..5000).map(|i| format!("{{\"n\":{i}}}\n")).collect();
        let compressed = gzip(text.as_bytes());
        for chunk in [1, 7, 100, 4096, 1 << 20] {
            let got = lines(&compressed, chunk).expect("valid gzip");
            assert_eq!(got.len(), 5000, "chunk {chunk}");
            assert_eq!(got[4999], "{\"n\":4999}");
        }
    }

    #[test]
    fn several_members_crlf_and_a_last_line_without_newline_are_read() {
        let mut compressed = gzip(b"{\"a\":1}\r\n{\"a\":2}\n");
        compressed.extend(gzip(b"{\"a\":3}"));
        assert_eq!(lines(&compressed, 5).expect("valid"), vec!["{\"a\":1}", "{\"a\":2}", "{\"a\":3}"]);
    }

    #[test]
    fn corrupt_truncated_and_endless_lines_fail() {
        assert!(lines(b"not gzip at all", 4).is_err());
        let compressed = gzip(b"{\"a\":1}\n{\"a\":2}\n");
        assert!(lines(&compressed[..compressed.len() - 6], 4).is_err(), "truncated");
        let bomb = gzip(&vec![b'x'; MAX_LINE_BYTES + 10]);
        assert!(lines(&bomb, 64).is_err(), "a line without end");
    }

    fn normalized(line: &str) -> Value {
        let mut out = Vec::new();
        assert!(normalize(line.as_bytes(), &mut out).expect("valid"));
        serde_json::from_slice(&out).expect("normalized output is JSON")
    }

    #[test]
    fn keys_are_matched_whatever_their_case_and_numbers_keep_their_digits() {
        let pascal = normalized(
            r#"{"CustomerId":"c1","BenefitOrderID":"b","MPNID":"123","ResourceURI":"/s/x","PCToBCExchangeRate":1.0000000001,"Quantity":"2.5","UnitPrice":16,"Tags":{"env":"prod"},"IsNew":true,"NewThing":null}"#,
        );
        let camel = normalized(
            r#"{"customerId":"c1","benefitOrderId":"b","mpnId":"123","resourceUri":"/s/x","pcToBcExchangeRate":"1.0000000001","quantity":2.5,"unitPrice":"16","tags":{"env":"prod"},"isNew":true,"newThing":null}"#,
        );
        assert_eq!(pascal, camel);
        assert_eq!(
            pascal,
            json!({"customerId":"c1","benefitOrderId":"b","mpnId":"123","resourceUri":"/s/x","pcToBcExchangeRate":"1.0000000001","quantity":"2.5","unitPrice":"16","tags":{"env":"prod"},"isNew":true,"newThing":null})
        );
        assert_eq!(normalized(r#"{"UnitPrice":-0.5e3}"#), json!({"unitPrice":"-0.5e3"}));
        assert_eq!(normalized(r#"{"BenefitId":"1","BenefitID":"2"}"#), json!({"benefitId":"1"}), "first spelling wins");
        assert_eq!(normalized("\u{feff}{\"Caf\\u00e9\":1}"), json!({"café":"1"}));
    }

    #[test]
    fn blank_lines_are_skipped_and_non_objects_refused() {
        let mut out = Vec::new();
        assert_eq!(normalize(b"  ", &mut out), Ok(false));
        assert!(out.is_empty());
        assert!(normalize(b"[1,2]", &mut out).is_err());
        assert!(normalize(b"{\"a\":", &mut out).is_err());
    }
}
