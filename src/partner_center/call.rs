//! One logical call to Partner Center and its buffered answer: what the typed operations build,
//! the client sends, and shared reads hand to every caller that joined.

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;

use super::token::TokenFlow;
use crate::error::{Error, ErrorKind, Reason, Result};

/// One logical call to Partner Center.
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    /// Stable operation name for metrics and logs, e.g. `customers.list`.
    pub operation: &'static str,
    pub method: Method,
    /// Path under the API root, starting with `/v1/`; ids in it are already validated.
    pub path: String,
    pub query: Vec<(Cow<'static, str>, String)>,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
    pub flow: TokenFlow,
    /// The `MS-RequestId` to send; a fresh one per call when unset. Set it to resume a logical
    /// call that may have been committed before (Partner Center replays it instead of repeating).
    pub request_id: Option<Uuid>,
}

impl UpstreamRequest {
    pub fn new(operation: &'static str, method: Method, path: impl Into<String>) -> Self {
        Self {
            operation,
            method,
            path: path.into(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            flow: TokenFlow::AppOnly,
            request_id: None,
        }
    }

    pub fn get(operation: &'static str, path: impl Into<String>) -> Self {
        Self::new(operation, Method::GET, path)
    }

    pub fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((Cow::Borrowed(key), value.into()));
        self
    }

    pub fn query_opt(self, key: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(value) => self.query(key, value),
            None => self,
        }
    }

    /// Adds a header; values that cannot be a header are a bug in the caller of this method.
    pub fn header(mut self, name: HeaderName, value: &str) -> Result<Self> {
        let value = HeaderValue::from_str(value).map_err(|e| Error::internal(format!("header {name}: {e}")))?;
        self.headers.insert(name, value);
        Ok(self)
    }

    pub fn json(mut self, body: &impl Serialize) -> Result<Self> {
        self.body = Some(Bytes::from(serde_json::to_vec(body).map_err(Error::internal)?));
        self.headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(self)
    }

    pub fn flow(mut self, flow: TokenFlow) -> Self {
        self.flow = flow;
        self
    }

    pub fn request_id(mut self, request_id: Uuid) -> Self {
        self.request_id = Some(request_id);
        self
    }
}

/// A successful answer, body read.
#[derive(Debug, Clone)]
pub struct UpstreamResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl UpstreamResponse {
    pub fn json<T: DeserializeOwned>(&self, operation: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::new(ErrorKind::UpstreamUnavailable, "Partner Center answered with a body the gateway cannot read")
                .with_reason(Reason::UpstreamMalformedResponse)
                .with_source(format!("{operation}: {e}"))
        })
    }
}
