//! Microsoft Graph's partner billing exports ("reconciliation API v2", graph-billing-v2.md
//! part A): the only code that knows their wire format.
//!
//! - [`GraphClient`]: export (X1–X4), poll (X5) and manifest (X6) calls with a Graph token per
//!   partner ([`TokenFlow::Graph`] from the shared [`TokenCache`], single-flight), retries with
//!   backoff honouring `Retry-After`, never past the caller's deadline; a `client-request-id` per
//!   logical call, kept across its retries.
//! - Blob downloads ([`GraphClient::open_blob`]) from `{rootDirectory}/{name}?{sasToken}` with the
//!   SAS alone: the Graph bearer token never goes to Azure Storage.
//! - `urls`: which hosts manifests may send the gateway to; `lines`: gzip JSON Lines as a
//!   stream; `wire`: Graph's shapes, every documented variant accepted.

pub mod lines;
pub mod urls;
pub mod wire;

use std::{pin::Pin, sync::Arc, time::Duration};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::{HeaderMap, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tokio::time::Instant;
use url::Url;
use uuid::Uuid;

use self::{
    lines::GzipLines,
    urls::{UrlPolicy, loggable, loggable_text},
    wire::{ManifestSource, OperationState, WireErrorBody, WireManifest, WireOperation},
};
use crate::{
    auth::{Authorized, PartnerWide},
    context::RequestContext,
    error::{Error, ErrorKind, Reason, Result},
    model::exports::{ExportKind, ExportRequest, ExportScope},
    partner_center::{
        TokenCache, TokenFlow,
        client::RetryPolicy,
        error::{is_retryable_status, retry_after},
    },
};

/// Microsoft Graph's v1.0 root.
pub const DEFAULT_BASE_URL: &str = "https://graph.microsoft.com/v1.0/";
/// Below this much time left there is no point starting another attempt.
const MIN_ATTEMPT_BUDGET: Duration = Duration::from_millis(50);
/// Largest Graph JSON answer read (operations and manifests are a few KiB).
const MAX_JSON_BYTES: usize = 4 * 1024 * 1024;
/// Longest operation or manifest id accepted from Graph.
const MAX_ID_LEN: usize = 128;

/// How the client behaves; `app` builds it from the settings.
pub struct GraphOptions {
    /// The Graph root, with its version (`https://graph.microsoft.com/v1.0/`).
    pub base_url: Url,
    pub retry: RetryPolicy,
    pub attempt_timeout: Duration,
    /// Where manifests and blobs may be downloaded from (the Graph host is added).
    pub urls: UrlPolicy,
}

pub struct GraphClient {
    http: reqwest::Client,
    base: Url,
    tokens: Arc<TokenCache>,
    retry: RetryPolicy,
    attempt_timeout: Duration,
    urls: UrlPolicy,
}

/// One poll of an export's operation.
#[derive(Debug)]
pub struct Polled {
    pub state: OperationState,
    /// Graph's `Retry-After` on a running operation.
    pub retry_after: Option<Duration>,
    pub created_date_time: Option<String>,
    pub last_action_date_time: Option<String>,
}

/// A manifest, checked: where each data file is and the SAS that reads it.
pub struct Manifest {
    root: String,
    sas: SecretString,
    pub blobs: Vec<BlobRef>,
}

#[derive(Debug, Clone)]
pub struct BlobRef {
    pub name: String,
    /// Items in the file, when Microsoft says (its sample's `ItemCount`; not documented).
    pub item_count: Option<u64>,
}

impl std::fmt::Debug for Manifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manifest")
            .field("root", &loggable_text(&self.root))
            .field("blobs", &self.blobs)
            .finish_non_exhaustive()
    }
}

impl Manifest {
    fn from_wire(wire: WireManifest) -> Result<Self> {
        if wire.root_directory.contains(['?', '#']) {
            return Err(malformed("the manifest's rootDirectory carries a query or fragment"));
        }
        let mut blobs = Vec::with_capacity(wire.blobs.len());
        for blob in wire.blobs {
            let name = blob.name.trim();
            if name.is_empty()
                || name.starts_with('/')
                || name.contains(['?', '#', '\\'])
                || name.split('/').any(|segment| segment == "..")
                || name.chars().any(char::is_control)
            {
                return Err(malformed("the manifest names a data file the gateway does not accept"));
            }
            blobs.push(BlobRef { name: name.to_owned(), item_count: blob.item_count });
        }
        if let Some(count) = wire.blob_count
            && count as usize != blobs.len()
        {
            tracing::warn!(
                blob_count = count,
                listed = blobs.len(),
                "manifest blobCount differs from its blob list; using the list"
            );
        }
        Ok(Self { root: wire.root_directory, sas: wire.sas_token, blobs })
    }

    /// The export's line count, when every file's count is given.
    pub fn row_count(&self) -> Option<u64> {
        self.blobs.iter().map(|b| b.item_count).sum()
    }
}

/// An export file being downloaded: its lines, decompressed as they arrive.
pub struct BlobLines {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    lines: GzipLines,
    idle_timeout: Duration,
}

impl BlobLines {
    /// The next line (raw JSON text), `None` at the end of the file.
    pub async fn next_line(&mut self) -> Result<Option<&[u8]>> {
        loop {
            if let Some(range) = self.lines.next_range().map_err(|e| malformed(&e.0))? {
                return Ok(Some(self.lines.line(range)));
            }
            if !self.lines.wants_input() {
                return Ok(None);
            }
            match tokio::time::timeout(self.idle_timeout, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.lines.push(chunk),
                Ok(Some(Err(error))) => {
                    return Err(Error::new(ErrorKind::UpstreamUnavailable, "the download of an export file broke off")
                        .with_reason(Reason::UpstreamUnreachable)
                        .with_source(format!("blob body: {}", error.describe())));
                }
                Ok(None) => self.lines.finish().map_err(|e| malformed(&e.0))?,
                Err(_) => {
                    return Err(Error::new(ErrorKind::UpstreamTimeout, "the download of an export file stalled")
                        .with_source("no data from the blob host in time"));
                }
            }
        }
    }
}

fn malformed(what: &str) -> Error {
    Error::new(ErrorKind::UpstreamUnavailable, "Microsoft Graph answered with data the gateway cannot read")
        .with_reason(Reason::UpstreamMalformedResponse)
        .with_source(what.to_owned())
}

/// The refusal of a URL from a Graph answer (logged without its query).
fn refused(what: &str, shown: &str, why: &str) -> Error {
    tracing::warn!(url = shown, why, what, "refused to follow a url from microsoft graph");
    Error::new(
        ErrorKind::UpstreamUnavailable,
        format!(
            "Microsoft Graph pointed the gateway at a {what} location it does not follow ({why}); \
             allowed are HTTPS hosts in graph.allowed_hosts and the Graph host"
        ),
    )
    .with_reason(Reason::UpstreamUrlNotAllowed)
}

/// A Graph answer, body read.
struct Answer {
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    invoice_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    billing_period: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency_code: Option<&'a str>,
    attribute_set: &'a str,
}

fn export_path(kind: ExportKind) -> &'static str {
    match kind {
        ExportKind::BilledReconciliation => "reports/partners/billing/reconciliation/billed/export",
        ExportKind::UnbilledReconciliation => "reports/partners/billing/reconciliation/unbilled/export",
        ExportKind::BilledUsage => "reports/partners/billing/usage/billed/export",
        ExportKind::UnbilledUsage => "reports/partners/billing/usage/unbilled/export",
    }
}

const OPERATIONS_SEGMENT: &str = "reports/partners/billing/operations/";

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl GraphClient {
    pub fn new(http: reqwest::Client, tokens: Arc<TokenCache>, options: GraphOptions) -> Self {
        let GraphOptions { base_url, retry, attempt_timeout, mut urls } = options;
        urls.allow_https_host_of(&base_url);
        Self { http, base: base_url, tokens, retry, attempt_timeout, urls }
    }

    /// X1–X4: starts an export; its operation id.
    pub async fn start_export(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<PartnerWide>,
        request: &ExportRequest,
    ) -> Result<String> {
        let (invoice_id, billing_period, currency_code) = match &request.scope {
            ExportScope::Invoice(invoice) => (Some(invoice.as_str()), None, None),
            ExportScope::Unbilled { period, currency } => (None, Some(period.as_str()), Some(currency.as_str())),
        };
        let body =
            ExportBody { invoice_id, billing_period, currency_code, attribute_set: request.attribute_set.as_str() };
        let body = Bytes::from(serde_json::to_vec(&body).map_err(Error::internal)?);
        let url = self.graph_url(export_path(request.kind))?;
        let answer = self.call(ctx, partner.partner(), "graph.export", Method::POST, url, Some(body)).await?;
        let location = answer
            .headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| malformed("the export answer has no Location"))?;
        self.operation_id(location)
    }

    /// The operation id in an export's `Location`, which must be this Graph's operations URL.
    fn operation_id(&self, location: &str) -> Result<String> {
        let url = self.base.join(location).map_err(|_| malformed("the export's Location is not a URL"))?;
        if !self.same_origin(&url) {
            return Err(refused("operation", &loggable(&url), "not the Graph host"));
        }
        let id = url
            .path()
            .split_once(&format!("/{OPERATIONS_SEGMENT}"))
            .map(|(_, id)| id.trim_end_matches('/'))
            .filter(|id| valid_id(id))
            .ok_or_else(|| malformed("the export's Location is not an operation URL"))?;
        Ok(id.to_owned())
    }

    /// X5: one poll of an operation.
    pub async fn operation(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<PartnerWide>,
        operation_id: &str,
    ) -> Result<Polled> {
        if !valid_id(operation_id) {
            return Err(Error::internal("an operation id that Graph did not give"));
        }
        let url = self.graph_url(&format!("{OPERATIONS_SEGMENT}{operation_id}"))?;
        let answer = self.call(ctx, partner.partner(), "graph.operation", Method::GET, url, None).await?;
        let wire: WireOperation =
            serde_json::from_slice(&answer.body).map_err(|e| malformed(&format!("operation: {e}")))?;
        let (created_date_time, last_action_date_time) =
            (wire.created_date_time.clone(), wire.last_action_date_time.clone());
        let state = wire.state().map_err(|e| malformed(&e))?;
        Ok(Polled { state, retry_after: retry_after(&answer.headers), created_date_time, last_action_date_time })
    }

    /// The manifest of a finished export: the inline one, or X6 at the link (which must be on
    /// the Graph host: the bearer token goes with it).
    pub async fn manifest(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<PartnerWide>,
        source: ManifestSource,
    ) -> Result<Manifest> {
        let wire = match source {
            ManifestSource::Inline(wire) => *wire,
            ManifestSource::Link(link) => {
                let url = self.base.join(&link).map_err(|_| refused("manifest", &loggable_text(&link), "not a URL"))?;
                self.urls.check(&url).map_err(|r| refused("manifest", &loggable(&url), r.why))?;
                if !self.same_origin(&url) {
                    return Err(refused(
                        "manifest",
                        &loggable(&url),
                        "not the Graph host, and the manifest call carries the Graph token",
                    ));
                }
                let answer = self.call(ctx, partner.partner(), "graph.manifest", Method::GET, url, None).await?;
                serde_json::from_slice(&answer.body).map_err(|e| malformed(&format!("manifest: {e}")))?
            }
        };
        let manifest = Manifest::from_wire(wire)?;
        // Every file's URL is checked now, so a bad manifest fails before any data goes out.
        for index in 0..manifest.blobs.len() {
            self.blob_url(&manifest, index)?;
        }
        Ok(manifest)
    }

    /// `{rootDirectory}/{name}?{sasToken}`, if the policy allows it.
    fn blob_url(&self, manifest: &Manifest, index: usize) -> Result<Url> {
        let blob = manifest.blobs.get(index).ok_or_else(|| Error::internal("no such blob"))?;
        let joined = format!("{}/{}", manifest.root.trim_end_matches('/'), blob.name);
        let mut url = Url::parse(&joined).map_err(|_| refused("data file", &loggable_text(&joined), "not a URL"))?;
        self.urls.check(&url).map_err(|r| refused("data file", &loggable(&url), r.why))?;
        let sas = manifest.sas.expose_secret().trim_start_matches('?');
        url.set_query(if sas.is_empty() { None } else { Some(sas) });
        Ok(url)
    }

    /// Starts downloading file `index` of `manifest`, with the SAS alone (no bearer token). A SAS
    /// the storage refuses (expired, revoked) is `Reason::ExportDataAccessDenied`.
    pub async fn open_blob(&self, manifest: &Manifest, index: usize) -> Result<BlobLines> {
        let url = self.blob_url(manifest, index)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self.http.get(url.clone()).header("x-ms-version", "2021-08-06").send();
            // The whole-request timeout would cut the body; only the headers are bounded here.
            let outcome = tokio::time::timeout(self.attempt_timeout, sent).await;
            let (error, wait) = match outcome {
                Ok(Ok(response)) if response.status().is_success() => {
                    return Ok(BlobLines {
                        body: Box::pin(response.bytes_stream()),
                        lines: GzipLines::new(),
                        idle_timeout: self.attempt_timeout,
                    });
                }
                Ok(Ok(response)) => {
                    let status = response.status();
                    let code = response
                        .headers()
                        .get("x-ms-error-code")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    if matches!(status, StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED) {
                        return Err(Error::new(
                            ErrorKind::UpstreamUnavailable,
                            "Azure Storage refused the export's access signature (expired or revoked)",
                        )
                        .with_reason(Reason::ExportDataAccessDenied)
                        .with_upstream_code(code));
                    }
                    let error = Error::new(
                        ErrorKind::UpstreamUnavailable,
                        format!("Azure Storage answered {} for an export file", status.as_u16()),
                    )
                    .with_upstream_code(code)
                    .with_source(format!("blob {}", loggable(&url)));
                    if !is_retryable_status(status) {
                        return Err(error);
                    }
                    (error, retry_after(response.headers()))
                }
                Ok(Err(error)) => (
                    Error::new(ErrorKind::UpstreamUnavailable, "the gateway could not reach Azure Storage")
                        .with_reason(Reason::UpstreamUnreachable)
                        .with_source(format!("blob {}: {}", loggable(&url), error.describe())),
                    None,
                ),
                Err(_) => (Error::new(ErrorKind::UpstreamTimeout, "Azure Storage did not answer in time"), None),
            };
            if attempt >= self.retry.max_attempts {
                return Err(error);
            }
            tokio::time::sleep(wait.unwrap_or_else(|| self.retry.backoff(attempt)).min(self.retry.max_delay)).await;
        }
    }

    fn graph_url(&self, path: &str) -> Result<Url> {
        self.base.join(path).map_err(|e| Error::internal(format!("graph url {path}: {e}")))
    }

    fn same_origin(&self, url: &Url) -> bool {
        url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
    }

    /// One logical Graph call: token, retries (429, 5xx, no answer; `Retry-After` honoured; one
    /// retry with a fresh token after a 401), never past the caller's deadline.
    async fn call(
        &self,
        ctx: &RequestContext,
        partner: &str,
        operation: &'static str,
        method: Method,
        url: Url,
        body: Option<Bytes>,
    ) -> Result<Answer> {
        let client_request_id = Uuid::new_v4().to_string();
        let mut attempt = 0;
        let mut renewed_token = false;
        loop {
            attempt += 1;
            let remaining = ctx.remaining();
            if remaining.is_some_and(|r| r < MIN_ATTEMPT_BUDGET) {
                return Err(Error::new(
                    ErrorKind::UpstreamTimeout,
                    "the request's deadline passed while waiting for Microsoft Graph",
                ));
            }
            let token = self.tokens.get(partner, TokenFlow::Graph).await?;
            let timeout = remaining.map_or(self.attempt_timeout, |r| r.min(self.attempt_timeout));
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .timeout(timeout)
                .header(http::header::AUTHORIZATION, token.bearer())
                .header(http::header::ACCEPT, "application/json")
                .header("client-request-id", &client_request_id);
            match &body {
                Some(body) => {
                    request = request.header(http::header::CONTENT_TYPE, "application/json").body(body.clone());
                }
                None if method == Method::POST => request = request.header(http::header::CONTENT_LENGTH, "0"),
                None => {}
            }
            let started = Instant::now();
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    if response.content_length().is_some_and(|len| len > MAX_JSON_BYTES as u64) {
                        return Err(malformed(&format!("{operation}: answer too large")));
                    }
                    response.bytes().await.map(|body| (status, headers, body))
                }
                Err(error) => Err(error),
            };
            let status_label = outcome.as_ref().map_or(0, |(status, _, _)| status.as_u16());
            metrics::counter!("gateway_graph_requests_total", "operation" => operation, "status" => status_label.to_string()).increment(1);
            tracing::debug!(operation, %method, status = status_label, attempt, elapsed_ms = started.elapsed().as_millis() as u64, client_request_id = %client_request_id, request_id = %ctx.request_id, "microsoft graph call");
            let (error, retryable, wait) = match outcome {
                Ok((status, headers, body)) if status.is_success() => return Ok(Answer { headers, body }),
                Ok((StatusCode::UNAUTHORIZED, _, _)) if !renewed_token => {
                    self.tokens.invalidate(partner, TokenFlow::Graph, &token);
                    renewed_token = true;
                    attempt -= 1;
                    continue;
                }
                Ok((status, headers, body)) => (
                    classify(operation, partner, status, &headers, &body),
                    is_retryable_status(status),
                    retry_after(&headers),
                ),
                Err(error) if error.is_timeout() => (
                    Error::new(ErrorKind::UpstreamTimeout, "Microsoft Graph did not answer in time")
                        .with_source(format!("{operation}: {}", error.describe())),
                    true,
                    None,
                ),
                Err(error) => (
                    Error::new(ErrorKind::UpstreamUnavailable, "the gateway could not reach Microsoft Graph")
                        .with_reason(Reason::UpstreamUnreachable)
                        .with_source(format!("{operation}: {}", error.describe())),
                    true,
                    None,
                ),
            };
            if !retryable || attempt >= self.retry.max_attempts {
                return Err(error);
            }
            let delay = match wait {
                Some(after) if after > self.retry.max_delay => return Err(error),
                Some(after) => after,
                None => self.retry.backoff(attempt),
            };
            if ctx.remaining().is_some_and(|r| r < delay + MIN_ATTEMPT_BUDGET) {
                return Err(error);
            }
            tokio::time::sleep(delay).await;
        }
    }
}

/// A Graph refusal in the gateway's terms. Graph refusing the gateway's own token or app is a
/// deployment problem (502, logged loudly), never the caller's fault.
fn classify(operation: &str, partner: &str, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let wire = serde_json::from_slice::<WireErrorBody>(body).ok().map(|b| b.error);
    let code = wire.as_ref().and_then(|e| e.code.clone()).unwrap_or_default();
    let message: String = wire.as_ref().and_then(|e| e.message.clone()).unwrap_or_default().chars().take(300).collect();
    let error = match status {
        StatusCode::UNAUTHORIZED => {
            tracing::error!(operation, partner, code = %code, "microsoft graph rejected a freshly issued token: check the partner's app registration");
            Error::new(ErrorKind::UpstreamUnavailable, "Microsoft Graph refused the gateway's token for this partner")
                .with_reason(Reason::UpstreamRejectedCredentials)
        }
        StatusCode::FORBIDDEN => {
            tracing::error!(operation, partner, code = %code, "microsoft graph refused the partner's app: grant the application permission PartnerBilling.Read.All with admin consent");
            Error::new(
                ErrorKind::UpstreamUnavailable,
                "Microsoft Graph refused the gateway's app for this partner: it needs the application permission \
                 PartnerBilling.Read.All with admin consent",
            )
            .with_reason(Reason::UpstreamRejectedCredentials)
        }
        StatusCode::NOT_FOUND => Error::not_found("Microsoft Graph no longer has this export; start a new one")
            .with_reason(Reason::ExportNotFound),
        StatusCode::BAD_REQUEST => {
            Error::new(ErrorKind::InvalidArgument, format!("Microsoft Graph refused the export request: {message}"))
        }
        StatusCode::TOO_MANY_REQUESTS => {
            let mut error = Error::new(ErrorKind::RateLimited, "Microsoft Graph throttles this partner; retry later")
                .with_reason(Reason::UpstreamThrottled);
            if let Some(after) = retry_after(headers) {
                error = error.with_retry_after(after);
            }
            error
        }
        _ => Error::new(ErrorKind::UpstreamUnavailable, format!("Microsoft Graph answered {}", status.as_u16())),
    };
    let error = error.with_source(format!("{operation}: graph answered {status} {code}"));
    if code.is_empty() { error } else { error.with_upstream_code(code) }
}

trait Describe {
    fn describe(&self) -> String;
}

impl Describe for reqwest::Error {
    /// The error and its causes without the URL's query (a blob URL carries the SAS).
    fn describe(&self) -> String {
        crate::error::reqwest_error_text(self, loggable)
    }
}
