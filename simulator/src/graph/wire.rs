//! How Graph and Azure Storage write their answers: Graph's JSON error body and OData content
//! type, Storage's XML error body, and the timestamp formats both use.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::{
    body::Body,
    extract::Request,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// Graph's JSON content type (clients must not expect a bare `application/json`).
pub const GRAPH_JSON: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// A Graph JSON answer.
pub fn graph_json(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(GRAPH_JSON));
    response
}

tokio::task_local! {
    /// The caller's `client-request-id`, for the error bodies of the request being answered.
    static CLIENT_REQUEST_ID: Option<String>;
}

/// Graph's error body: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`;
/// `client-request-id` is the caller's, else the `request-id`.
pub fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    let request_id = Uuid::new_v4().to_string();
    let client_request_id =
        CLIENT_REQUEST_ID.try_with(Clone::clone).ok().flatten().unwrap_or_else(|| request_id.clone());
    let body = json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": timestamp(SystemTime::now(), Some(0), true),
                "request-id": request_id,
                "client-request-id": client_request_id,
            }
        }
    });
    let mut response = graph_json(status, &body);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("request-id", value);
    }
    response
}

pub fn bad_request(message: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "BadRequest", message)
}

/// Unknown paths: Graph names the first segment it could not resolve.
pub async fn unknown_segment(request: Request) -> Response {
    let path = request.uri().path();
    let mut segments = path.trim_start_matches('/').split('/');
    let version = segments.next().unwrap_or_default();
    if version != "v1.0" && version != "beta" {
        return graph_error(StatusCode::NOT_FOUND, "NotFound", "Invalid version.");
    }
    let segment = segments.next_back().unwrap_or_default().to_owned();
    bad_request(&format!("Resource not found for the segment '{segment}'."))
}

/// Every Graph answer carries `request-id` and echoes `client-request-id`.
pub async fn request_ids(request: Request, next: Next) -> Response {
    let client_request_id = request.headers().get("client-request-id").cloned();
    let caller_id = client_request_id.as_ref().and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut response = CLIENT_REQUEST_ID.scope(caller_id, next.run(request)).await;
    let headers = response.headers_mut();
    if !headers.contains_key("request-id")
        && let Ok(value) = HeaderValue::from_str(&Uuid::new_v4().to_string())
    {
        headers.insert("request-id", value);
    }
    if let Some(value) = client_request_id {
        headers.insert("client-request-id", value);
    }
    response
}

/// Azure Storage's error: XML body, `x-ms-error-code`, `x-ms-request-id`.
pub fn storage_error(status: StatusCode, code: &str, message: &str, detail: Option<&str>) -> Response {
    let request_id = Uuid::new_v4().to_string();
    let now = timestamp(SystemTime::now(), Some(7), true);
    let detail = detail.map_or_else(String::new, |d| {
        let tag =
            if code.starts_with("Authorization") { "AuthorizationErrorDetail" } else { "AuthenticationErrorDetail" };
        format!("<{tag}>{}</{tag}>", xml_escape(d))
    });
    let body = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{}\nRequestId:{request_id}\nTime:{now}</Message>{detail}</Error>",
        xml_escape(message)
    );
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    if let Ok(value) = HeaderValue::from_str(code) {
        headers.insert("x-ms-error-code", value);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-ms-request-id", value);
    }
    headers.insert("x-ms-version", HeaderValue::from_static(super::sas::STORAGE_VERSION));
    (status, headers, Body::from(body)).into_response()
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn datetime(at: SystemTime) -> OffsetDateTime {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let seconds = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    OffsetDateTime::from_unix_timestamp(seconds)
        .map(|t| t + time::Duration::nanoseconds(i64::from(since.subsec_nanos())))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// ISO 8601 UTC. `fraction`: `None` trims trailing zeros of seven digits (.NET's round-trip
/// style, `06:34:34.87Z`), `Some(n)` writes exactly `n` digits; `zone` adds the `Z`.
pub fn timestamp(at: SystemTime, fraction: Option<usize>, zone: bool) -> String {
    let t = datetime(at);
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let ticks = format!("{:07}", t.nanosecond() / 100);
    let digits = match fraction {
        Some(n) => ticks.get(..n.min(7)).unwrap_or_default().to_owned(),
        None => ticks.trim_end_matches('0').to_owned(),
    };
    if !digits.is_empty() {
        out.push('.');
        out.push_str(&digits);
    }
    if zone {
        out.push('Z');
    }
    out
}

/// RFC 1123 (`Wed, 13 Dec 2023 12:37:17 GMT`), as HTTP headers and Storage messages write dates.
pub fn http_date(at: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let t = datetime(at);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[usize::from(t.weekday().number_days_from_monday())],
        t.day(),
        MONTHS[usize::from(u8::from(t.month()) - 1)],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses the SAS time form `2023-12-13T12:37:17Z`.
pub fn parse_sas_time(text: &str) -> Option<SystemTime> {
    let t = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    let seconds = u64::try_from(t.unix_timestamp()).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_take_the_documented_shapes() {
        let at = UNIX_EPOCH + Duration::from_millis(1_678_349_674_870);
        assert_eq!(timestamp(at, None, true), "2023-03-09T08:14:34.87Z");
        assert_eq!(timestamp(at, Some(0), false), "2023-03-09T08:14:34");
        assert_eq!(timestamp(at, Some(7), true), "2023-03-09T08:14:34.8700000Z");
        assert_eq!(http_date(at), "Thu, 09 Mar 2023 08:14:34 GMT");
        assert_eq!(parse_sas_time("2023-03-09T08:14:34Z"), Some(UNIX_EPOCH + Duration::from_secs(1_678_349_674)));
        assert_eq!(parse_sas_time("yesterday"), None);
    }
}
