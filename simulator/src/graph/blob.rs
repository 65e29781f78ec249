//! The blob host: `GET /{account}/{container}/{folders…}/{blob}?{sas}` streams one blob, generated
//! item by item, turned into JSON Lines and gzip-compressed on the way (a blocking thread feeds a
//! small bounded channel, so memory stays flat whatever the blob's size and the client's speed).

use std::{io::Write, sync::Arc};

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use flate2::{Compression, write::GzEncoder};
use tokio::sync::mpsc;

use super::{
    BearerOnBlob, GraphService,
    data::Dataset,
    lines::{Generator, Layout, LineStyle},
    operations::Outcome,
    sas::{self, SasRefusal},
    wire,
};

/// Uncompressed bytes gathered before they go through the encoder.
const LINE_BATCH: usize = 256 * 1024;
/// Compressed bytes per body chunk.
const CHUNK: usize = 64 * 1024;

/// Set by a blob fault: the body stops halfway and the connection breaks.
#[derive(Debug, Clone, Copy)]
pub struct CutHalfway;

/// `%3D` → `=`: clients may percent-encode the folder names.
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = path.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One blob to stream.
struct BlobJob {
    dataset: Arc<Dataset>,
    style: LineStyle,
    first: u64,
    count: u64,
    etag: String,
    last_modified: String,
}

pub async fn get_blob(State(graph): State<Arc<GraphService>>, request: Request) -> Response {
    let path = percent_decode(request.uri().path());
    let query = request.uri().query().unwrap_or_default().to_owned();
    let has_authorization = request.headers().contains_key(header::AUTHORIZATION);
    let cut_halfway = request.extensions().get::<CutHalfway>().is_some();
    let now = graph.now();
    let bearer_policy = {
        let mut inner = graph.lock();
        inner.counters.blob_requests += 1;
        if has_authorization {
            inner.counters.blob_requests_with_authorization += 1;
        }
        inner.settings.bearer_on_blob
    };
    if has_authorization && bearer_policy == BearerOnBlob::Reject {
        // Azure Storage validates a bearer token even next to a SAS; a Graph token's audience is wrong.
        return wire::storage_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationInfo",
            "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.",
            Some("Audience validation failed. Audience did not match."),
        );
    }
    if let Err(refusal) = sas::verify(graph.sas_key(), &path, &query, now) {
        let mut inner = graph.lock();
        return match refusal {
            SasRefusal::Missing => {
                inner.counters.blob_sas_missing += 1;
                wire::storage_error(
                    StatusCode::CONFLICT,
                    "PublicAccessNotPermitted",
                    "Public access is not permitted on this storage account.",
                    None,
                )
            }
            SasRefusal::Expired(detail) => {
                inner.counters.blob_sas_expired += 1;
                authentication_failed(&detail)
            }
            SasRefusal::Invalid(detail) => {
                inner.counters.blob_sas_invalid += 1;
                authentication_failed(&detail)
            }
            SasRefusal::NoReadPermission => {
                inner.counters.blob_sas_invalid += 1;
                wire::storage_error(
                    StatusCode::FORBIDDEN,
                    "AuthorizationPermissionMismatch",
                    "This request is not authorized to perform this operation using this permission.",
                    None,
                )
            }
        };
    }
    let job = {
        let mut inner = graph.lock();
        let found = inner.blobs.get(&path).and_then(|(op_id, index)| {
            let op = inner.operations.get(op_id)?;
            let Outcome::Export(plan) = &op.outcome else { return None };
            let blob = plan.blobs.get(*index)?;
            Some(BlobJob {
                dataset: plan.dataset.clone(),
                style: op.line_style(),
                first: blob.first_item,
                count: blob.item_count,
                etag: format!("\"0x8DC{:013X}\"", plan.dataset.seed >> 12 ^ *index as u64),
                last_modified: wire::http_date(plan.created_at),
            })
        });
        if found.is_none() {
            inner.counters.blob_not_found += 1;
        } else {
            inner.counters.blobs_started += 1;
        }
        found
    };
    let Some(job) = job else {
        return wire::storage_error(StatusCode::NOT_FOUND, "BlobNotFound", "The specified blob does not exist.", None);
    };
    stream(graph, job, cut_halfway)
}

fn authentication_failed(detail: &str) -> Response {
    wire::storage_error(
        StatusCode::FORBIDDEN,
        "AuthenticationFailed",
        "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
        Some(detail),
    )
}

fn stream(graph: Arc<GraphService>, job: BlobJob, cut_halfway: bool) -> Response {
    let (sender, mut receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let etag = job.etag.clone();
    let last_modified = job.last_modified.clone();
    tokio::task::spawn_blocking(move || {
        let limit = if cut_halfway { job.count / 2 } else { job.count };
        let outcome = generate(&job, limit, !cut_halfway, &sender);
        let mut inner = graph.lock();
        inner.counters.blob_items_served += outcome.items;
        inner.counters.blob_bytes_served += outcome.bytes;
        drop(inner);
        if outcome.completed && cut_halfway {
            let _ = sender.blocking_send(Err(std::io::Error::other("simulated broken blob download")));
        } else if outcome.completed {
            graph.lock().counters.blobs_completed += 1;
        }
    });
    let body = Body::from_stream(futures::stream::poll_fn(move |cx| receiver.poll_recv(cx)));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert("x-ms-blob-type", HeaderValue::from_static("BlockBlob"));
    headers.insert("x-ms-version", HeaderValue::from_static(sas::STORAGE_VERSION));
    headers.insert("x-ms-server-encrypted", HeaderValue::from_static("true"));
    if let Ok(value) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-ms-request-id", value);
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(&last_modified) {
        headers.insert(header::LAST_MODIFIED, value);
    }
    response
}

struct Generated {
    items: u64,
    bytes: u64,
    /// Every item was handed over (false when the client went away).
    completed: bool,
}

/// Generates items `first..first + limit` of the job into gzip'd chunks on `sender`; without
/// `finish` the gzip stream stays open (no trailer), as a cut download leaves it.
fn generate(
    job: &BlobJob,
    limit: u64,
    finish: bool,
    sender: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Generated {
    let layout = Layout::new(&job.dataset, job.style);
    let mut generator = Generator::new(&job.dataset, &layout);
    let mut lines = Vec::with_capacity(LINE_BATCH + 4096);
    let mut encoder = GzEncoder::new(Vec::with_capacity(CHUNK * 2), Compression::fast());
    let mut sent = Generated { items: 0, bytes: 0, completed: false };
    let send = |chunk: Vec<u8>, sent: &mut Generated| -> bool {
        sent.bytes += chunk.len() as u64;
        sender.blocking_send(Ok(Bytes::from(chunk))).is_ok()
    };
    for n in job.first..job.first + limit {
        generator.write_item(n, &mut lines);
        lines.push(b'\n');
        sent.items += 1;
        if lines.len() >= LINE_BATCH {
            if encoder.write_all(&lines).is_err() {
                return sent;
            }
            lines.clear();
            if encoder.get_ref().len() >= CHUNK {
                let chunk = std::mem::take(encoder.get_mut());
                if !send(chunk, &mut sent) {
                    return sent;
                }
            }
        }
    }
    if encoder.write_all(&lines).is_err() {
        return sent;
    }
    if !finish {
        let partial = std::mem::take(encoder.get_mut());
        sent.completed = send(partial, &mut sent);
        return sent;
    }
    if let Ok(rest) = encoder.finish() {
        sent.completed = send(rest, &mut sent);
    }
    sent
}
