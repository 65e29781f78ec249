//! What one inbound request carries down to Partner Center: its ids, its W3C trace context, the
//! caller's locale and the deadline no upstream retry may pass.

use std::time::{Duration, Instant};

use uuid::Uuid;

/// Built by the REST and gRPC edges from the inbound request; passed to every facade call.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The inbound request id (`x-request-id`), echoed to the caller and logged.
    pub request_id: String,
    /// Sent upstream as `MS-CorrelationId`, so Partner Center's logs tie back to this request.
    pub correlation_id: Uuid,
    /// Sent upstream as `X-Locale` when the caller gave one.
    pub locale: Option<String>,
    /// The caller's deadline (`grpc-timeout`, or the REST route timeout).
    pub deadline: Option<Instant>,
    /// The W3C trace this request belongs to: the caller's (`traceparent`) or a new one. Its id
    /// is also the `MS-CorrelationId`, so Partner Center's logs and the trace line up.
    pub trace: TraceContext,
    /// Who the upstream calls are made for (the token's `sub`), once authenticated: each caller
    /// may spend only its share of the partner's Partner Center budget.
    pub caller: Option<std::sync::Arc<str>>,
    /// How fresh the upstream answers this request was built from are (shared by the clones of
    /// this context, so the edge reads what the facade's calls recorded).
    pub freshness: UpstreamFreshness,
}

/// What the upstream reads of one request were: answers from the response cache (how old, how
/// long still fresh), or live ones that no cache may keep. REST turns it into `Cache-Control`
/// and `Age`.
#[derive(Debug, Clone, Default)]
pub struct UpstreamFreshness(std::sync::Arc<parking_lot::Mutex<FreshnessState>>);

#[derive(Debug, Default)]
struct FreshnessState {
    cacheable_reads: u32,
    uncacheable_calls: u32,
    oldest: Duration,
    fresh_for: Option<Duration>,
}

impl UpstreamFreshness {
    /// An answer of an operation the response cache keeps for `ttl`, `age` old.
    pub fn record_cacheable(&self, age: Duration, ttl: Duration) {
        let mut state = self.0.lock();
        state.cacheable_reads += 1;
        state.oldest = state.oldest.max(age);
        let left = ttl.saturating_sub(age);
        state.fresh_for = Some(state.fresh_for.map_or(left, |f| f.min(left)));
    }

    /// A call whose answer no cache keeps (a write, or a read not configured for caching).
    pub fn record_uncacheable(&self) {
        self.0.lock().uncacheable_calls += 1;
    }

    /// `(age, fresh for)` when every upstream call of the request was a cacheable read.
    pub fn cacheable(&self) -> Option<(Duration, Duration)> {
        let state = self.0.lock();
        (state.cacheable_reads > 0 && state.uncacheable_calls == 0)
            .then(|| (state.oldest, state.fresh_for.unwrap_or_default()))
    }
}

/// A W3C trace context (`traceparent`): trace id, the caller's span id, flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: [u8; 16],
    /// The span of the caller that sent this request (absent for a new trace).
    pub parent_span_id: Option<[u8; 8]>,
    pub sampled: bool,
}

impl TraceContext {
    /// A new trace.
    pub fn new_root() -> Self {
        Self { trace_id: *Uuid::new_v4().as_bytes(), parent_span_id: None, sampled: true }
    }

    /// Parses `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`; anything else is ignored,
    /// as the W3C spec asks (a new trace starts).
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let (version, trace, span, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() && version == "00" {
            return None;
        }
        if version.len() != 2 || version == "ff" || trace.len() != 32 || span.len() != 16 || flags.len() != 2 {
            return None;
        }
        let trace_id: [u8; 16] = hex(trace)?.try_into().ok()?;
        let span_id: [u8; 8] = hex(span)?.try_into().ok()?;
        let flags = hex(flags)?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Self { trace_id, parent_span_id: Some(span_id), sampled: flags[0] & 1 == 1 })
    }

    /// The `traceparent` for a call made on this trace's behalf, as the child span `span_id`:
    /// written in place (this runs for every upstream attempt).
    pub fn child_header(&self, span_id: [u8; 8]) -> http::HeaderValue {
        let mut text = *b"00-________________________________-________________-__";
        write_hex(&self.trace_id, &mut text[3..35]);
        write_hex(&span_id, &mut text[36..52]);
        write_hex(&[u8::from(self.sampled)], &mut text[53..55]);
        match http::HeaderValue::from_bytes(&text) {
            Ok(value) => value,
            // Unreachable: dashes and hex digits only.
            Err(_) => http::HeaderValue::from_static(""),
        }
    }

    pub fn trace_id_hex(&self) -> String {
        to_hex(&self.trace_id)
    }
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

fn to_hex(bytes: &[u8]) -> String {
    let mut text = vec![0; bytes.len() * 2];
    write_hex(bytes, &mut text);
    String::from_utf8(text).unwrap_or_default()
}

/// Lower-case hex of `bytes` into `out`, two digits per byte (`out` is twice as long).
fn write_hex(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (byte, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
}

impl RequestContext {
    pub fn new(request_id: Option<String>, locale: Option<String>, timeout: Option<Duration>) -> Self {
        Self::with_trace(request_id, locale, timeout, None)
    }

    /// `traceparent`: the caller's W3C trace header, when it sent one.
    pub fn with_trace(
        request_id: Option<String>,
        locale: Option<String>,
        timeout: Option<Duration>,
        traceparent: Option<&str>,
    ) -> Self {
        let trace = traceparent.and_then(TraceContext::parse).unwrap_or_else(TraceContext::new_root);
        let correlation_id = Uuid::from_bytes(trace.trace_id);
        Self {
            request_id: request_id.unwrap_or_else(|| correlation_id.to_string()),
            correlation_id,
            locale,
            deadline: timeout.map(|t| Instant::now() + t),
            trace,
            caller: None,
            freshness: UpstreamFreshness::default(),
        }
    }

    /// Time left before the deadline; `None` when the caller set none.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline.map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// A context for background work (e.g. token refresh) that belongs to no caller.
    pub fn background() -> Self {
        Self::new(None, None, None)
    }
}

/// Only the characters a request id or locale needs; anything else is dropped rather than sent on.
pub fn sanitize_header_value(value: &str, max_len: usize) -> Option<String> {
    let ok = !value.is_empty()
        && value.len() <= max_len
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_defaults_to_the_correlation_id() {
        let ctx = RequestContext::new(None, None, None);
        assert_eq!(ctx.request_id, ctx.correlation_id.to_string());
        assert!(ctx.remaining().is_none());
    }

    #[test]
    fn a_callers_trace_becomes_the_correlation_id_and_is_continued_upstream() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let ctx = RequestContext::with_trace(None, None, None, Some(header));
        assert_eq!(ctx.correlation_id.to_string(), "4bf92f35-77b3-4da6-a3ce-929d0e0e4736");
        assert_eq!(ctx.trace.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let child = ctx.trace.child_header([1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(child, "00-4bf92f3577b34da6a3ce929d0e0e4736-0102030405060708-01");
        let unsampled = TraceContext { sampled: false, ..ctx.trace };
        assert_eq!(unsampled.child_header([0xff; 8]), "00-4bf92f3577b34da6a3ce929d0e0e4736-ffffffffffffffff-00");
        for bad in [
            "",
            "00-xyz-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        ] {
            assert!(TraceContext::parse(bad).is_none(), "{bad}");
        }
        let fresh = RequestContext::with_trace(None, None, None, Some("garbage"));
        assert_ne!(fresh.trace.trace_id, [0; 16]);
        assert_eq!(fresh.trace.parent_span_id, None);
    }

    #[test]
    fn header_values_are_restricted_to_safe_characters() {
        assert_eq!(sanitize_header_value("en-US", 32).as_deref(), Some("en-US"));
        assert_eq!(sanitize_header_value("abc\r\nx: y", 32), None);
        assert_eq!(sanitize_header_value(&"a".repeat(40), 32), None);
    }
}
