//! What one inbound request carries down to Partner Center: its ids, the caller's locale and the
//! deadline no upstream retry may pass.

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
}

impl RequestContext {
    pub fn new(request_id: Option<String>, locale: Option<String>, timeout: Option<Duration>) -> Self {
        let correlation_id = Uuid::new_v4();
        Self {
            request_id: request_id.unwrap_or_else(|| correlation_id.to_string()),
            correlation_id,
            locale,
            deadline: timeout.map(|t| Instant::now() + t),
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
    fn header_values_are_restricted_to_safe_characters() {
        assert_eq!(sanitize_header_value("en-US", 32).as_deref(), Some("en-US"));
        assert_eq!(sanitize_header_value("abc\r\nx: y", 32), None);
        assert_eq!(sanitize_header_value(&"a".repeat(40), 32), None);
    }
}
