//! Billing exports (Microsoft Graph's reconciliation API v2) as a gateway resource.
//!
//! # Lifecycle
//! `start_export` asks Graph for the export and hands the caller an **export id**: the Graph
//! operation id, the partner and the request, sealed with AES-256-GCM ([`Sealer`], key derived
//! from `paging.token_secret`). The id is opaque, cannot be edited, opens only for the partner
//! that started the export (any other caller gets 404), and needs no server-side record, so it
//! works on every replica and after a restart for as long as Graph keeps the operation.
//!
//! `get_export` polls Graph's operation, at most as often as Graph's `Retry-After` allows (the
//! last answer and the earliest next poll are remembered per export; a caller asking sooner gets
//! the remembered status and the remaining wait). Once it succeeded, the manifest (inline or
//! fetched) is kept for `manifest_ttl`, and renewed early when Azure Storage refuses its SAS.
//!
//! Reading (`export_line_items`, `stream_export_line_items`, `export_ndjson`) first waits, within
//! the caller's deadline (or `read_wait`), for a running export to finish, then reads the files in
//! order, each inflated and parsed as it streams in ([`ExportReader`]).
//!
//! # Paging
//! A page token records (file index, line number) of the next item. Resuming means opening that
//! file again and skipping the lines before it, which costs downloading and inflating them (a
//! file holds up to a few hundred thousand lines). So the reader that produced a page is parked
//! for `resume_ttl` (at most `resume_capacity` of them, each holding one open download): the next
//! page request with that token continues it at the cost of its own items only. A token that
//! meets no parked reader (another replica, expired, evicted) still works, at the skip cost.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::time::Instant;
use tracing::instrument;

use super::{
    Facade,
    paging::{PageBinding, PageTokens},
};
use crate::{
    auth::{Authorized, Caller, PartnerWide, Permission},
    context::RequestContext,
    error::{Error, ErrorKind, Reason, Result},
    graph::{
        BlobLines, GraphClient, Manifest,
        lines::normalize,
        wire::{ManifestSource, OperationState},
    },
    model::{
        Page, PageRequest, Parsed,
        exports::{
            AttributeSet, BillingExport, BillingPeriod, ExportError, ExportId, ExportKind, ExportLineItem,
            ExportRequest, ExportScope, ExportStatus,
        },
    },
    sealed::Sealer,
};

/// The sealing purpose of export ids (also the key derivation label).
pub const EXPORT_ID_PURPOSE: &str = "partner-center-gateway/billing-export-id/v1";
/// Times one file's download is restarted (skipping what was read) after it broke off.
const MAX_REOPENS_PER_FILE: u32 = 3;
/// NDJSON bodies go out in chunks of about this size.
const NDJSON_CHUNK: usize = 64 * 1024;

/// How exports behave; `app` translates the settings into these.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Wait between polls when Graph sends no `Retry-After`.
    pub poll_interval: Duration,
    /// Longest a read waits for a running export when the caller set no deadline.
    pub read_wait: Duration,
    /// How long a manifest (and its SAS) is reused before it is fetched again.
    pub manifest_ttl: Duration,
    /// Readers parked between two page requests.
    pub resume_capacity: u64,
    /// How long a parked reader waits for its next page request.
    pub resume_ttl: Duration,
    pub default_page_size: u32,
    pub max_page_size: u32,
}

/// What an export id holds (sealed; never shown).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Handle {
    /// Partner (configured id).
    p: String,
    k: ExportKind,
    /// Graph operation id.
    o: String,
    a: AttributeSet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    i: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    b: Option<BillingPeriod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<String>,
}

impl Handle {
    fn key(&self) -> String {
        format!("{}|{}", self.p, self.o)
    }
}

#[derive(Debug, Clone)]
enum Status {
    Running,
    Succeeded,
    Failed(ExportError),
}

/// What the gateway knows of one export (per process).
struct Tracked {
    status: Status,
    /// A running export is not polled again before this.
    next_poll: Option<Instant>,
    created: Option<String>,
    last_action: Option<String>,
    /// Where the manifest is fetched again (`None`: it came inline; poll again for a new one).
    manifest_link: Option<String>,
    manifest: Option<(Arc<Manifest>, Instant)>,
    /// Counted by a complete read, when the manifest gives no counts.
    rows_read: Option<u64>,
}

impl Tracked {
    fn new() -> Self {
        Self {
            status: Status::Running,
            next_poll: None,
            created: None,
            last_action: None,
            manifest_link: None,
            manifest: None,
            rows_read: None,
        }
    }
}

type TrackedSlot = Arc<tokio::sync::Mutex<Tracked>>;
type ParkedSlot = Arc<parking_lot::Mutex<Option<ExportReader>>>;

/// The exports' collaborators and memory.
pub struct Exports {
    graph: Arc<GraphClient>,
    ids: Sealer,
    tracked: moka::sync::Cache<String, TrackedSlot>,
    parked: moka::sync::Cache<String, ParkedSlot>,
    options: ExportOptions,
}

/// Where a page token resumes: file index and line (items before it in that file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    b: usize,
    l: u64,
}

fn permission(kind: ExportKind) -> Permission {
    if kind.is_usage() { Permission::UsageRead } else { Permission::InvoicesRead }
}

fn not_found() -> Error {
    Error::not_found("no such billing export for this partner").with_reason(Reason::ExportNotFound)
}

impl Exports {
    pub fn new(graph: Arc<GraphClient>, secret: Option<&[u8]>, options: ExportOptions) -> Result<Self> {
        Ok(Self {
            graph,
            ids: Sealer::new(secret, EXPORT_ID_PURPOSE, ExportId::MAX_LEN)?,
            tracked: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_idle(Duration::from_secs(24 * 3600))
                .build(),
            parked: moka::sync::Cache::builder()
                .max_capacity(options.resume_capacity)
                .time_to_live(options.resume_ttl)
                .build(),
            options,
        })
    }

    fn slot(&self, handle: &Handle) -> TrackedSlot {
        self.tracked.get_with(handle.key(), || Arc::new(tokio::sync::Mutex::new(Tracked::new())))
    }

    /// The caller's export: the id opens, it is this partner's, and the caller may read its kind.
    fn authorize(&self, caller: &Caller, id: &ExportId) -> Result<(Authorized<PartnerWide>, Handle)> {
        // Partner-wide scope first: a caller without it learns nothing about any id.
        caller
            .ensure_partner_wide(Permission::InvoicesRead)
            .or_else(|first| caller.ensure_partner_wide(Permission::UsageRead).map_err(|_| first))?;
        let handle: Handle = self.ids.open(id.as_str()).map_err(|_| not_found())?;
        if handle.p != caller.partner() {
            return Err(not_found());
        }
        let partner = caller.ensure_partner_wide(permission(handle.k))?;
        Ok((partner, handle))
    }

    /// Polls Graph if the last `Retry-After` has passed; fetches the manifest once it succeeded.
    async fn refresh(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<PartnerWide>,
        handle: &Handle,
        tracked: &mut Tracked,
    ) -> Result<()> {
        let now = Instant::now();
        match tracked.status {
            Status::Failed(_) => return Ok(()),
            Status::Succeeded => {
                let fresh = tracked
                    .manifest
                    .as_ref()
                    .is_some_and(|(_, at)| now.duration_since(*at) < self.options.manifest_ttl);
                if fresh {
                    return Ok(());
                }
                if let Some(link) = tracked.manifest_link.clone() {
                    let manifest = self.graph.manifest(ctx, partner, ManifestSource::Link(link)).await?;
                    tracked.manifest = Some((Arc::new(manifest), Instant::now()));
                    return Ok(());
                }
            }
            Status::Running => {
                if tracked.next_poll.is_some_and(|next| now < next) {
                    return Ok(());
                }
            }
        }
        let polled = self.graph.operation(ctx, partner, &handle.o).await?;
        tracked.created = polled.created_date_time.or(tracked.created.take());
        tracked.last_action = polled.last_action_date_time.or(tracked.last_action.take());
        match polled.state {
            OperationState::Running => {
                tracked.status = Status::Running;
                tracked.next_poll = Some(Instant::now() + polled.retry_after.unwrap_or(self.options.poll_interval));
            }
            OperationState::Failed(error) => {
                tracked.status = Status::Failed(error);
                tracked.next_poll = None;
            }
            OperationState::Succeeded(source) => {
                tracked.manifest_link = match &source {
                    ManifestSource::Link(link) => Some(link.clone()),
                    ManifestSource::Inline(_) => None,
                };
                tracked.status = Status::Succeeded;
                tracked.next_poll = None;
                let manifest = self.graph.manifest(ctx, partner, source).await?;
                tracked.manifest = Some((Arc::new(manifest), Instant::now()));
            }
        }
        Ok(())
    }

    /// Drops a manifest whose SAS the storage refused; the next read fetches a new one.
    async fn forget_manifest(&self, handle: &Handle, refused: &Arc<Manifest>) {
        let slot = self.slot(handle);
        let mut tracked = slot.lock().await;
        if tracked.manifest.as_ref().is_some_and(|(current, _)| Arc::ptr_eq(current, refused)) {
            tracked.manifest = None;
        }
    }

    fn snapshot(&self, id: String, handle: &Handle, tracked: &Tracked) -> BillingExport {
        let now = Instant::now();
        let (status, error, retry_after_seconds) = match &tracked.status {
            Status::Running => {
                let wait = tracked.next_poll.map_or(Duration::ZERO, |next| next.saturating_duration_since(now));
                (ExportStatus::Running, None, Some(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)))
            }
            Status::Succeeded => (ExportStatus::Succeeded, None, None),
            Status::Failed(error) => (ExportStatus::Failed, Some(error.clone()), None),
        };
        let manifest = tracked.manifest.as_ref().map(|(m, _)| m);
        BillingExport {
            id,
            kind: handle.k,
            status,
            invoice_id: handle.i.clone(),
            billing_period: handle.b,
            currency_code: handle.c.clone(),
            attribute_set: handle.a,
            created_date_time: tracked.created.clone(),
            last_action_date_time: tracked.last_action.clone(),
            row_count: manifest.and_then(|m| m.row_count()).or(tracked.rows_read),
            blob_count: manifest.and_then(|m| u32::try_from(m.blobs.len()).ok()),
            error,
            retry_after_seconds,
        }
    }

    /// Waits (within the caller's deadline, else `read_wait`) for the export to finish; its manifest.
    async fn ready(
        &self,
        ctx: &RequestContext,
        partner: &Authorized<PartnerWide>,
        handle: &Handle,
    ) -> Result<Arc<Manifest>> {
        let limit = Instant::now() + ctx.remaining().unwrap_or(self.options.read_wait).min(self.options.read_wait);
        let slot = self.slot(handle);
        loop {
            let wait = {
                let mut tracked = slot.lock().await;
                self.refresh(ctx, partner, handle, &mut tracked).await?;
                match &tracked.status {
                    Status::Succeeded => {
                        if let Some((manifest, _)) = &tracked.manifest {
                            return Ok(manifest.clone());
                        }
                        // An inline manifest expired: the next poll brings a new one.
                        Duration::ZERO
                    }
                    Status::Failed(error) => {
                        return Err(Error::new(
                            ErrorKind::FailedPrecondition,
                            format!("the billing export failed: {} (start a new export)", error.message),
                        )
                        .with_reason(Reason::ExportFailed)
                        .with_upstream_code(error.code.clone()));
                    }
                    Status::Running => {
                        tracked.next_poll.map_or(Duration::ZERO, |next| next.saturating_duration_since(Instant::now()))
                    }
                }
            };
            if Instant::now() + wait >= limit {
                return Err(Error::new(
                    ErrorKind::FailedPrecondition,
                    "the billing export is still running; read it once its status is succeeded",
                )
                .with_reason(Reason::ExportNotReady)
                .with_retry_after(wait.max(Duration::from_secs(1))));
            }
            tokio::time::sleep(wait).await;
        }
    }

    fn record_rows(&self, handle: &Handle, rows: u64) {
        let slot = self.slot(handle);
        // Best effort: a busy slot just keeps the count unknown for now.
        if let Ok(mut tracked) = slot.try_lock() {
            tracked.rows_read = Some(rows);
        }
    }
}

/// Reads an export's line items in order, one file at a time, from a position.
pub struct ExportReader {
    exports: Arc<Exports>,
    ctx: RequestContext,
    partner: Authorized<PartnerWide>,
    handle: Handle,
    manifest: Arc<Manifest>,
    /// File being read and the items already taken from it.
    blob: usize,
    line: u64,
    current: Option<BlobLines>,
    reopens: u32,
    renewed_sas: bool,
    /// Items handed out, when the reader started at the very beginning (for the row count).
    read_from_start: Option<u64>,
    /// One item read ahead (to know whether a page is the last), with its position.
    peeked: Option<(Vec<u8>, Cursor)>,
}

impl ExportReader {
    fn new(
        exports: Arc<Exports>,
        ctx: &RequestContext,
        partner: Authorized<PartnerWide>,
        handle: Handle,
        manifest: Arc<Manifest>,
        at: Cursor,
    ) -> Self {
        // Reads outlive the request's deadline (a stream runs as long as its reader reads); every
        // download attempt still has its own timeouts.
        let ctx = RequestContext { deadline: None, ..ctx.clone() };
        Self {
            exports,
            ctx,
            partner,
            handle,
            manifest,
            blob: at.b,
            line: at.l,
            current: None,
            reopens: 0,
            renewed_sas: false,
            read_from_start: (at == Cursor { b: 0, l: 0 }).then_some(0),
            peeked: None,
        }
    }

    /// Position of the next item.
    fn position(&self) -> Cursor {
        self.peeked.as_ref().map_or(Cursor { b: self.blob, l: self.line }, |(_, at)| *at)
    }

    /// Whether another item follows (reads one ahead).
    async fn has_more(&mut self) -> Result<bool> {
        if self.peeked.is_some() {
            return Ok(true);
        }
        let mut item = Vec::new();
        if self.read_next(&mut item).await? {
            // Reading it moved past it, in whichever file it was.
            let at = Cursor { b: self.blob, l: self.line.saturating_sub(1) };
            self.peeked = Some((item, at));
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Appends the next item (normalized JSON) to `out`; `false` at the end of the export.
    pub async fn next_into(&mut self, out: &mut Vec<u8>) -> Result<bool> {
        if let Some((item, _)) = self.peeked.take() {
            out.extend_from_slice(&item);
            return Ok(true);
        }
        self.read_next(out).await
    }

    async fn read_next(&mut self, out: &mut Vec<u8>) -> Result<bool> {
        loop {
            if self.blob >= self.manifest.blobs.len() {
                if let Some(rows) = self.read_from_start.take() {
                    self.exports.record_rows(&self.handle, rows);
                }
                return Ok(false);
            }
            if self.current.is_none() {
                self.open().await?;
            }
            let Some(current) = self.current.as_mut() else { continue };
            match current.next_line().await {
                Ok(Some(line)) => {
                    if normalize(line, out).map_err(|e| {
                        Error::new(
                            ErrorKind::UpstreamUnavailable,
                            "an export file holds a line the gateway cannot read",
                        )
                        .with_reason(Reason::UpstreamMalformedResponse)
                        .with_source(e.0)
                    })? {
                        self.line += 1;
                        if let Some(rows) = &mut self.read_from_start {
                            *rows += 1;
                        }
                        return Ok(true);
                    }
                }
                Ok(None) => {
                    self.blob += 1;
                    self.line = 0;
                    self.current = None;
                    self.reopens = 0;
                }
                Err(error) if error.outcome_unknown() && self.reopens < MAX_REOPENS_PER_FILE => {
                    tracing::warn!(file = self.blob, line = self.line, error = %error.chain(), "export file download broke off; resuming");
                    self.reopens += 1;
                    self.current = None;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Opens the current file (renewing the SAS once if refused) and skips the lines before `line`.
    async fn open(&mut self) -> Result<()> {
        let mut opened = self.exports.graph.open_blob(&self.manifest, self.blob).await;
        if let Err(error) = &opened
            && error.reason() == Reason::ExportDataAccessDenied
            && !self.renewed_sas
        {
            tracing::info!(file = self.blob, "azure storage refused the export's sas; fetching a new manifest");
            self.renewed_sas = true;
            self.exports.forget_manifest(&self.handle, &self.manifest).await;
            self.manifest = self.exports.ready(&self.ctx, &self.partner, &self.handle).await?;
            opened = self.exports.graph.open_blob(&self.manifest, self.blob).await;
        }
        let mut lines = opened?;
        let mut skipped = 0;
        while skipped < self.line {
            match lines.next_line().await? {
                Some(line) if line.iter().all(u8::is_ascii_whitespace) => {}
                Some(_) => skipped += 1,
                None => {
                    return Err(Error::new(ErrorKind::UpstreamUnavailable, "an export file is shorter than before")
                        .with_reason(Reason::UpstreamMalformedResponse));
                }
            }
        }
        self.current = Some(lines);
        Ok(())
    }
}

impl Facade {
    fn exports(&self) -> Result<&Arc<Exports>> {
        self.exports
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::NotConfigured, "billing exports are not configured on this gateway"))
    }

    /// Starts an export (partner-wide: `customers: "*"` and `invoices.read` for reconciliation,
    /// `usage.read` for usage).
    #[instrument(skip_all, fields(partner = caller.partner()))]
    pub async fn start_export(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        request: Parsed<ExportRequest>,
    ) -> Result<BillingExport> {
        let exports = self.exports()?;
        caller
            .ensure_partner_wide(Permission::InvoicesRead)
            .or_else(|first| caller.ensure_partner_wide(Permission::UsageRead).map_err(|_| first))?;
        let request = request?;
        let partner = caller.ensure_partner_wide(permission(request.kind))?;
        let operation = exports.graph.start_export(ctx, &partner, &request).await?;
        let (i, b, c) = match &request.scope {
            ExportScope::Invoice(invoice) => (Some(invoice.as_str().to_owned()), None, None),
            ExportScope::Unbilled { period, currency } => (None, Some(*period), Some(currency.as_str().to_owned())),
        };
        let handle = Handle {
            p: partner.partner().to_owned(),
            k: request.kind,
            o: operation,
            a: request.attribute_set,
            i,
            b,
            c,
        };
        let id = exports.ids.seal(&handle)?;
        tracing::info!(kind = request.kind.as_str(), "billing export started");
        let slot = exports.slot(&handle);
        let tracked = slot.lock().await;
        let mut export = exports.snapshot(id, &handle, &tracked);
        export.retry_after_seconds = Some(exports.options.poll_interval.as_secs().max(1));
        Ok(export)
    }

    /// The export's status (polling Graph when its `Retry-After` has passed).
    #[instrument(skip_all, fields(partner = caller.partner()))]
    pub async fn get_export(&self, ctx: &RequestContext, caller: &Caller, id: &ExportId) -> Result<BillingExport> {
        let exports = self.exports()?;
        let (partner, handle) = exports.authorize(caller, id)?;
        let slot = exports.slot(&handle);
        let mut tracked = slot.lock().await;
        exports.refresh(ctx, &partner, &handle, &mut tracked).await?;
        Ok(exports.snapshot(id.as_str().to_owned(), &handle, &tracked))
    }

    /// A page of line items; the token records where the next page starts.
    #[instrument(skip_all, fields(partner = caller.partner()))]
    pub async fn export_line_items(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        id: &ExportId,
        page: &PageRequest,
    ) -> Result<Page<ExportLineItem>> {
        let exports = self.exports()?;
        let (partner, handle) = exports.authorize(caller, id)?;
        let size = page.size(exports.options.default_page_size, exports.options.max_page_size) as usize;
        let binding = PageBinding::new("exports.line_items", partner.partner()).with(&handle.o);
        let start: Cursor = match &page.page_token {
            Some(token) => self.pages.decode(&binding, token)?,
            None => Cursor { b: 0, l: 0 },
        };
        let manifest = exports.ready(ctx, &partner, &handle).await?;
        if start.b > manifest.blobs.len() {
            return Err(page.page_token.as_ref().map_or_else(
                || Error::internal("a cursor without a page token"),
                |token| token.invalid("points past the end of the export; start again"),
            ));
        }
        let parked_key = |at: Cursor| format!("{}|{}|{}", handle.key(), at.b, at.l);
        let parked = exports
            .parked
            .remove(&parked_key(start))
            .and_then(|slot| slot.lock().take())
            .filter(|reader| reader.position() == start);
        let mut reader = match parked {
            Some(reader) => reader,
            None => ExportReader::new(exports.clone(), ctx, partner.clone(), handle.clone(), manifest, start),
        };
        let mut items = Vec::with_capacity(size.min(1024));
        let mut buffer = Vec::with_capacity(2048);
        while items.len() < size {
            buffer.clear();
            if !reader.next_into(&mut buffer).await? {
                break;
            }
            items.push(line_item(&buffer)?);
        }
        let next_page_token = if items.len() == size && reader.has_more().await? {
            let next = reader.position();
            let token = encode_cursor(&self.pages, &binding, next)?;
            exports.parked.insert(parked_key(next), Arc::new(parking_lot::Mutex::new(Some(reader))));
            Some(token)
        } else {
            None
        };
        Ok(Page { items, next_page_token })
    }

    /// Every line item, in order; the first file is opened before this returns, so a failure to
    /// start (not ready, failed, refused URL) is the call's error rather than the stream's.
    pub async fn stream_export_line_items(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        id: &ExportId,
    ) -> Result<impl Stream<Item = Result<ExportLineItem>> + Send + use<>> {
        let mut reader = self.open_reader(ctx, caller, id).await?;
        Ok(async_stream::try_stream! {
            let mut buffer = Vec::with_capacity(2048);
            loop {
                buffer.clear();
                if !reader.next_into(&mut buffer).await? {
                    break;
                }
                yield line_item(&buffer)?;
            }
        })
    }

    /// Every line item as NDJSON, in chunks of about 64 KiB.
    pub async fn export_ndjson(
        &self,
        ctx: &RequestContext,
        caller: &Caller,
        id: &ExportId,
    ) -> Result<impl Stream<Item = Result<Bytes>> + Send + use<>> {
        let mut reader = self.open_reader(ctx, caller, id).await?;
        Ok(async_stream::try_stream! {
            let mut chunk = Vec::with_capacity(NDJSON_CHUNK + 4096);
            loop {
                let more = reader.next_into(&mut chunk).await?;
                if more {
                    chunk.push(b'\n');
                }
                if (chunk.len() >= NDJSON_CHUNK || !more) && !chunk.is_empty() {
                    yield Bytes::from(std::mem::replace(&mut chunk, Vec::with_capacity(NDJSON_CHUNK + 4096)));
                }
                if !more {
                    break;
                }
            }
        })
    }

    async fn open_reader(&self, ctx: &RequestContext, caller: &Caller, id: &ExportId) -> Result<ExportReader> {
        let exports = self.exports()?;
        let (partner, handle) = exports.authorize(caller, id)?;
        let manifest = exports.ready(ctx, &partner, &handle).await?;
        let mut reader = ExportReader::new(exports.clone(), ctx, partner, handle, manifest, Cursor { b: 0, l: 0 });
        // Opens the first file now: a refused or broken download fails the call, not the stream.
        reader.has_more().await?;
        Ok(reader)
    }
}

fn encode_cursor(pages: &PageTokens, binding: &PageBinding, at: Cursor) -> Result<String> {
    pages.encode(binding, &at)
}

fn line_item(json: &[u8]) -> Result<ExportLineItem> {
    let text = String::from_utf8(json.to_vec()).map_err(|_| {
        Error::new(ErrorKind::UpstreamUnavailable, "an export file holds text that is not UTF-8")
            .with_reason(Reason::UpstreamMalformedResponse)
    })?;
    let raw = RawValue::from_string(text).map_err(|e| Error::internal(format!("normalized line item: {e}")))?;
    Ok(ExportLineItem { raw })
}
