//! The gateway's one error type.
//!
//! Every failure becomes an [`Error`] with a small, closed [`ErrorKind`]. Each kind has exactly one
//! row in [`ErrorKind::spec`]: its HTTP status, its gRPC code and its problem type. The REST edge
//! renders it as RFC 9457 `application/problem+json` (see `rest::problem`), the gRPC edge as a
//! `tonic::Status` with `google.rpc` details ([`Error::to_status`]). `detail` is written for the
//! caller; `source` is only ever logged.

use std::{fmt, sync::Arc, time::Duration};

use serde::Serialize;
use tonic::Code;
use tonic_types::{ErrorDetails, StatusExt};
use utoipa::ToSchema;

/// Base of the problem `type` URIs: `{PROBLEM_TYPE_BASE}{slug}`.
pub const PROBLEM_TYPE_BASE: &str = "urn:partner-center-gateway:problem:";
/// The `domain` of gRPC `ErrorInfo` details.
pub const ERROR_DOMAIN: &str = "partner-center-gateway";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The caller sent something malformed: a bad id, an unknown query value, bad JSON.
    InvalidArgument,
    /// No token, or a token that fails verification.
    Unauthenticated,
    /// A valid token without the customer, partner or permission the operation needs.
    PermissionDenied,
    NotFound,
    /// The thing to create exists already (e.g. the same agreement confirmation).
    AlreadyExists,
    /// A concurrent change won (e.g. an ETag that stayed stale after a retry).
    Conflict,
    /// The resource's state forbids the operation (e.g. suspending a plan with active Azure subscriptions).
    FailedPrecondition,
    /// A prerequisite outside the request is missing (e.g. the customer has not accepted the MCA).
    PreconditionRequired,
    /// The request body is larger than the configured limit.
    PayloadTooLarge,
    /// The request body is not JSON (`Content-Type` other than `application/json`).
    UnsupportedMediaType,
    /// The caller, or Partner Center for our tenant, is over its request budget.
    RateLimited,
    /// A route exists but not for this method.
    MethodNotAllowed,
    Internal,
    /// The operation needs a setting (e.g. an app+user refresh token) this deployment lacks.
    NotConfigured,
    /// Partner Center failed, or rejected the gateway's own credentials.
    UpstreamUnavailable,
    /// The gateway sheds load, is shutting down, or its circuit to Partner Center is open.
    Unavailable,
    /// Partner Center did not answer in time.
    UpstreamTimeout,
    /// The caller took too long to send its request.
    RequestTimeout,
}

/// The one mapping of a kind to both wire formats, and the reason an error of the kind carries
/// when it names no more specific one.
#[derive(Debug, Clone, Copy)]
pub struct KindSpec {
    pub http_status: u16,
    pub grpc_code: Code,
    pub slug: &'static str,
    pub title: &'static str,
    pub default_reason: Reason,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 18] = [
        Self::InvalidArgument,
        Self::Unauthenticated,
        Self::PermissionDenied,
        Self::NotFound,
        Self::AlreadyExists,
        Self::Conflict,
        Self::FailedPrecondition,
        Self::PreconditionRequired,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::RateLimited,
        Self::MethodNotAllowed,
        Self::Internal,
        Self::NotConfigured,
        Self::UpstreamUnavailable,
        Self::Unavailable,
        Self::UpstreamTimeout,
        Self::RequestTimeout,
    ];

    pub const fn spec(self) -> KindSpec {
        const fn row(
            http_status: u16,
            grpc_code: Code,
            slug: &'static str,
            title: &'static str,
            default_reason: Reason,
        ) -> KindSpec {
            KindSpec { http_status, grpc_code, slug, title, default_reason }
        }
        use Reason as R;
        match self {
            Self::InvalidArgument => {
                row(400, Code::InvalidArgument, "invalid-argument", "Invalid argument", R::InvalidArgument)
            }
            Self::Unauthenticated => {
                row(401, Code::Unauthenticated, "unauthenticated", "Authentication required", R::Unauthenticated)
            }
            Self::PermissionDenied => {
                row(403, Code::PermissionDenied, "permission-denied", "Permission denied", R::PermissionDenied)
            }
            Self::NotFound => row(404, Code::NotFound, "not-found", "Not found", R::NotFound),
            Self::AlreadyExists => row(409, Code::AlreadyExists, "already-exists", "Already exists", R::AlreadyExists),
            Self::Conflict => row(409, Code::Aborted, "conflict", "Conflict", R::Conflict),
            Self::FailedPrecondition => row(
                409,
                Code::FailedPrecondition,
                "failed-precondition",
                "Operation not allowed in this state",
                R::FailedPrecondition,
            ),
            Self::PreconditionRequired => row(
                412,
                Code::FailedPrecondition,
                "precondition-required",
                "A prerequisite is missing",
                R::PreconditionRequired,
            ),
            Self::PayloadTooLarge => {
                row(413, Code::InvalidArgument, "payload-too-large", "Payload too large", R::PayloadTooLarge)
            }
            Self::UnsupportedMediaType => row(
                415,
                Code::InvalidArgument,
                "unsupported-media-type",
                "Unsupported media type",
                R::UnsupportedMediaType,
            ),
            Self::RateLimited => row(429, Code::ResourceExhausted, "rate-limited", "Too many requests", R::RateLimited),
            Self::MethodNotAllowed => {
                row(405, Code::Unimplemented, "method-not-allowed", "Method not allowed", R::MethodNotAllowed)
            }
            Self::Internal => row(500, Code::Internal, "internal", "Internal error", R::Internal),
            Self::NotConfigured => {
                row(501, Code::FailedPrecondition, "not-configured", "Not configured", R::NotConfigured)
            }
            Self::UpstreamUnavailable => row(
                502,
                Code::Unavailable,
                "upstream-unavailable",
                "Partner Center unavailable",
                R::UpstreamUnavailable,
            ),
            Self::Unavailable => row(503, Code::Unavailable, "unavailable", "Service unavailable", R::Unavailable),
            Self::UpstreamTimeout => {
                row(504, Code::DeadlineExceeded, "upstream-timeout", "Partner Center timed out", R::UpstreamTimeout)
            }
            Self::RequestTimeout => {
                row(408, Code::DeadlineExceeded, "request-timeout", "Request timeout", R::RequestTimeout)
            }
        }
    }

    pub fn problem_type(self) -> String {
        format!("{PROBLEM_TYPE_BASE}{}", self.spec().slug)
    }
}

/// Declares [`Reason`]: each variant with its wire spelling and what it tells the caller. The
/// list is part of the contract: the OpenAPI document and the proto comments show it.
macro_rules! reasons {
    ($($(#[doc = $doc:literal])+ $variant:ident = $wire:literal => $kind:ident,)+) => {
        /// Why an operation failed, more precisely than its [`ErrorKind`]: problem+json `reason`,
        /// gRPC `ErrorInfo.reason`. Callers branch on these; they never change meaning.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Reason {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl Reason {
            pub const ALL: &[Reason] = &[$(Self::$variant,)+];

            /// The wire spelling, e.g. `CUSTOMER_NOT_IN_SCOPE`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }

            /// The one kind errors with this reason have, so its HTTP status and gRPC code
            /// (`docs/errors.md` is generated from it).
            pub const fn kind(self) -> ErrorKind {
                match self {
                    $(Self::$variant => ErrorKind::$kind,)+
                }
            }

            /// What the reason tells the caller (its doc comment).
            pub fn description(self) -> String {
                match self {
                    $(Self::$variant => [$($doc.trim()),+].join(" "),)+
                }
            }
        }
    };
}

reasons! {
    /// The request is malformed; `errors` names the fields.
    InvalidArgument = "INVALID_ARGUMENT" => InvalidArgument,
    /// No bearer token, or one that fails verification.
    Unauthenticated = "UNAUTHENTICATED" => Unauthenticated,
    /// The bearer token has expired (`exp`); get a new one and retry.
    TokenExpired = "TOKEN_EXPIRED" => Unauthenticated,
    /// The token does not allow this.
    PermissionDenied = "PERMISSION_DENIED" => PermissionDenied,
    /// No such resource.
    NotFound = "NOT_FOUND" => NotFound,
    /// The thing to create exists already.
    AlreadyExists = "ALREADY_EXISTS" => AlreadyExists,
    /// A concurrent change won; read again and retry.
    Conflict = "CONFLICT" => Conflict,
    /// The resource's state forbids the operation.
    FailedPrecondition = "FAILED_PRECONDITION" => FailedPrecondition,
    /// A prerequisite outside the request is missing.
    PreconditionRequired = "PRECONDITION_REQUIRED" => PreconditionRequired,
    /// The request body is larger than the gateway accepts.
    PayloadTooLarge = "PAYLOAD_TOO_LARGE" => PayloadTooLarge,
    /// The request body is not `application/json`.
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE" => UnsupportedMediaType,
    /// Too many requests; see the retry delay.
    RateLimited = "RATE_LIMITED" => RateLimited,
    /// The route exists, but not for this method.
    MethodNotAllowed = "METHOD_NOT_ALLOWED" => MethodNotAllowed,
    /// The gateway failed.
    Internal = "INTERNAL" => Internal,
    /// This deployment lacks a setting the operation needs.
    NotConfigured = "NOT_CONFIGURED" => NotConfigured,
    /// Partner Center failed.
    UpstreamUnavailable = "UPSTREAM_UNAVAILABLE" => UpstreamUnavailable,
    /// The gateway is overloaded or shutting down.
    Unavailable = "UNAVAILABLE" => Unavailable,
    /// Partner Center did not answer in time.
    UpstreamTimeout = "UPSTREAM_TIMEOUT" => UpstreamTimeout,
    /// The request's own deadline passed before Partner Center answered.
    DeadlineExceeded = "DEADLINE_EXCEEDED" => UpstreamTimeout,
    /// The request (its body) did not arrive in time.
    RequestTimeout = "REQUEST_TIMEOUT" => RequestTimeout,
    /// The token lacks the permission the operation needs.
    MissingPermission = "MISSING_PERMISSION" => PermissionDenied,
    /// The token's `customers` claim does not include this customer.
    CustomerNotInScope = "CUSTOMER_NOT_IN_SCOPE" => PermissionDenied,
    /// Partner-wide data needs a token with `customers: "*"`.
    PartnerWideAccessRequired = "PARTNER_WIDE_ACCESS_REQUIRED" => PermissionDenied,
    /// A browser's preflight from an origin CORS does not allow; the detail names the setting
    /// that would allow it.
    CorsOriginNotAllowed = "CORS_ORIGIN_NOT_ALLOWED" => PermissionDenied,
    /// Several partners are configured and the token names none.
    PartnerRequired = "PARTNER_REQUIRED" => PermissionDenied,
    /// The token names a partner this gateway does not serve.
    UnknownPartner = "UNKNOWN_PARTNER" => PermissionDenied,
    /// This caller sent too many requests.
    CallerRateLimited = "CALLER_RATE_LIMITED" => RateLimited,
    /// This caller has as many requests and streams in flight as it may; retry when one ends.
    CallerConcurrencyLimited = "CALLER_CONCURRENCY_LIMITED" => RateLimited,
    /// The gateway keeps the partner under Partner Center's request limits; retry later.
    PartnerBudgetExhausted = "PARTNER_BUDGET_EXHAUSTED" => RateLimited,
    /// This caller has used its share of the partner's Partner Center budget; retry later.
    PartnerBudgetShareExhausted = "PARTNER_BUDGET_SHARE_EXHAUSTED" => RateLimited,
    /// The gateway is at capacity; retry shortly.
    Overloaded = "OVERLOADED" => Unavailable,
    /// Partner Center failed repeatedly; the gateway stops calling it for a while.
    CircuitOpen = "CIRCUIT_OPEN" => Unavailable,
    /// No route for this path.
    RouteNotFound = "ROUTE_NOT_FOUND" => NotFound,
    /// The gateway could not reach Partner Center; the call may or may not have been processed.
    UpstreamUnreachable = "UPSTREAM_UNREACHABLE" => UpstreamUnavailable,
    /// Partner Center throttles this partner tenant.
    UpstreamThrottled = "UPSTREAM_THROTTLED" => RateLimited,
    /// Partner Center refused the gateway's own credentials (a deployment problem).
    UpstreamRejectedCredentials = "UPSTREAM_REJECTED_CREDENTIALS" => UpstreamUnavailable,
    /// The gateway could not get an Azure AD token for Partner Center.
    UpstreamTokenFailed = "UPSTREAM_TOKEN_FAILED" => UpstreamUnavailable,
    /// Partner Center answered with a body the gateway cannot read.
    UpstreamMalformedResponse = "UPSTREAM_MALFORMED_RESPONSE" => UpstreamUnavailable,
    /// The operation needs the app+user token flow, which this deployment has not configured.
    AppUserFlowNotConfigured = "APP_USER_FLOW_NOT_CONFIGURED" => NotConfigured,
    /// The customer has not accepted the Microsoft Customer Agreement.
    McaNotAccepted = "MCA_NOT_ACCEPTED" => PreconditionRequired,
    /// The customer's acceptance of the agreement is already confirmed.
    AgreementAlreadyConfirmed = "AGREEMENT_ALREADY_CONFIRMED" => AlreadyExists,
    /// Partner Center refused line items of the cart; `errors` names each.
    CartLineItemErrors = "CART_LINE_ITEM_ERRORS" => InvalidArgument,
    /// The cart does not exist or has expired.
    CartNotFound = "CART_NOT_FOUND" => NotFound,
    /// The cart was checked out already.
    CartAlreadySubmitted = "CART_ALREADY_SUBMITTED" => FailedPrecondition,
    /// The checkout produced no order; the detail gives Partner Center's order errors.
    CheckoutFailed = "CHECKOUT_FAILED" => FailedPrecondition,
    /// The catalog has no Azure plan for this country.
    AzurePlanNotInCatalog = "AZURE_PLAN_NOT_IN_CATALOG" => NotFound,
    /// The customer has an MS-AZR-0145P subscription: transition it instead of buying an Azure plan.
    CustomerHasLegacyAzureSubscription = "CUSTOMER_HAS_LEGACY_AZURE_SUBSCRIPTION" => FailedPrecondition,
    /// A transition to an Azure plan is pending, running or failed, which blocks purchases.
    AzurePlanUpgradeBlocksPurchase = "AZURE_PLAN_UPGRADE_BLOCKS_PURCHASE" => FailedPrecondition,
    /// An Azure plan cannot be suspended while Azure subscriptions under it are active.
    AzurePlanHasActiveSubscriptions = "AZURE_PLAN_HAS_ACTIVE_SUBSCRIPTIONS" => FailedPrecondition,
    /// The subscription kept changing while the gateway updated it.
    StaleEtag = "STALE_ETAG" => Conflict,
    /// Partner Center accepted the change and applies it later; read the resource again.
    ChangePending = "CHANGE_PENDING" => UpstreamTimeout,
    /// A purchase with this idempotency key is still running; retry later.
    IdempotencyKeyInUse = "IDEMPOTENCY_KEY_IN_USE" => Conflict,
    /// The idempotency key was used before for a purchase with other parameters.
    IdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED" => InvalidArgument,
    /// No such billing export: the id is unknown, belongs to another partner, or Microsoft no
    /// longer keeps the export (start a new one).
    ExportNotFound = "EXPORT_NOT_FOUND" => NotFound,
    /// The billing export is still running; read it after the retry delay.
    ExportNotReady = "EXPORT_NOT_READY" => FailedPrecondition,
    /// Microsoft could not produce the billing export (`upstreamCode` `5000`: no data for the
    /// request); start a new export to try again.
    ExportFailed = "EXPORT_FAILED" => FailedPrecondition,
    /// Azure Storage refused the export's access signature even after the gateway renewed it.
    ExportDataAccessDenied = "EXPORT_DATA_ACCESS_DENIED" => UpstreamUnavailable,
    /// Microsoft pointed the gateway at a download location it does not follow (not HTTPS, or a
    /// host outside `graph.allowed_hosts`); the gateway refused and logged it.
    UpstreamUrlNotAllowed = "UPSTREAM_URL_NOT_ALLOWED" => UpstreamUnavailable,
    /// Partner Center's v1 routes no longer serve these new-commerce line items (billing periods
    /// from April 2025 on): read them with a billing export of the kind the violation names.
    MovedToBillingExports = "MOVED_TO_BILLING_EXPORTS" => FailedPrecondition,
    /// The store replicas share (Redis) is unreachable, and the operation must not run without it
    /// (a purchase could otherwise be made twice); retry after the delay. Reads keep working.
    SharedStateUnavailable = "SHARED_STATE_UNAVAILABLE" => Unavailable,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The OpenAPI schema: every reason, each with what it means.
impl utoipa::PartialSchema for Reason {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let meanings: Vec<String> =
            Self::ALL.iter().map(|reason| format!("- `{reason}`: {}", reason.description())).collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Self::ALL.iter().map(|reason| reason.as_str())))
            .description(Some(format!(
                "Why the operation failed, more precisely than its status. Callers may branch on these values:\n{}",
                meanings.join("\n")
            )))
            .into()
    }
}

impl ToSchema for Reason {}

/// One invalid field of the request (gRPC `BadRequest.FieldViolation`, problem `errors[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldViolation {
    /// The field, in the caller's spelling: `customerId`, `lineItems[0].quantity`.
    pub field: String,
    pub description: String,
}

/// One thing that blocks the operation (gRPC `PreconditionFailure.Violation`, problem `violations[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreconditionViolation {
    /// What kind of blocker, e.g. `ACTIVE_AZURE_SUBSCRIPTION`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Which one, e.g. the Azure subscription id.
    pub subject: String,
    pub description: String,
}

/// Boxed, so `Result<T, Error>` stays small on the hot path.
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    detail: String,
    reason: Option<Reason>,
    upstream_code: Option<String>,
    retry_after: Option<Duration>,
    field_violations: Vec<FieldViolation>,
    precondition_violations: Vec<PreconditionViolation>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    /// The request carried no bearer credentials at all (RFC 6750 §3.1: the challenge then
    /// names no error code).
    credentials_missing: bool,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                detail: detail.into(),
                reason: None,
                upstream_code: None,
                retry_after: None,
                field_violations: Vec::new(),
                precondition_violations: Vec::new(),
                source: None,
                credentials_missing: false,
            }),
        }
    }

    /// 400 naming the offending field.
    pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        let field = field.into();
        let description = description.into();
        Self::new(ErrorKind::InvalidArgument, format!("{field}: {description}"))
            .with_field_violation(field, description)
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, detail)
    }

    /// 401 for a request without bearer credentials (no `Authorization` header, or another
    /// scheme): its `WWW-Authenticate` challenge carries no `error=`.
    pub fn credentials_missing(detail: impl Into<String>) -> Self {
        let mut error = Self::new(ErrorKind::Unauthenticated, detail);
        error.inner.credentials_missing = true;
        error
    }

    pub fn permission_denied(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::PermissionDenied, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, detail)
    }

    /// A failure that is ours, not the caller's; `source` is logged, never shown.
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::new(ErrorKind::Internal, "the gateway failed to process the request").with_source(source)
    }

    pub fn with_reason(mut self, reason: Reason) -> Self {
        debug_assert_eq!(reason.kind(), self.inner.kind, "{reason} is declared with another kind (docs/errors.md)");
        self.inner.reason = Some(reason);
        self
    }

    /// Tells the caller what to do next, after the detail: `...; confirm the customer agreement
    /// (ConfirmCustomerAgreement / POST /v1/customers/{id}/agreements)`.
    pub fn with_next_step(mut self, step: impl fmt::Display) -> Self {
        self.inner.detail = format!("{}; {step}", self.inner.detail);
        self
    }

    pub fn with_upstream_code(mut self, code: impl Into<String>) -> Self {
        self.inner.upstream_code = Some(code.into());
        self
    }

    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.inner.retry_after = Some(retry_after);
        self
    }

    pub fn with_field_violation(mut self, field: impl Into<String>, description: impl Into<String>) -> Self {
        self.inner.field_violations.push(FieldViolation { field: field.into(), description: description.into() });
        self
    }

    pub fn with_field_violations(mut self, violations: impl IntoIterator<Item = FieldViolation>) -> Self {
        self.inner.field_violations.extend(violations);
        self
    }

    pub fn with_precondition_violation(
        mut self,
        kind: impl Into<String>,
        subject: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.inner.precondition_violations.push(PreconditionViolation {
            kind: kind.into(),
            subject: subject.into(),
            description: description.into(),
        });
        self
    }

    pub fn with_source(mut self, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        self.inner.source = Some(Arc::from(source.into()));
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// See [`Error::credentials_missing`].
    pub fn is_credentials_missing(&self) -> bool {
        self.inner.credentials_missing
    }

    pub fn detail(&self) -> &str {
        &self.inner.detail
    }

    pub fn reason(&self) -> Reason {
        self.inner.reason.unwrap_or(self.inner.kind.spec().default_reason)
    }

    /// No answer arrived (or only part of one): Partner Center may or may not have processed the
    /// call, so a retry must reuse its `MS-RequestId`.
    pub fn outcome_unknown(&self) -> bool {
        self.reason() == Reason::UpstreamUnreachable || self.kind() == ErrorKind::UpstreamTimeout
    }

    /// Partner Center itself is failing (5xx, timeouts, no answer): what a circuit breaker counts.
    /// Refusals, our own limits and our own credentials or parsing are not outages.
    pub fn is_upstream_outage(&self) -> bool {
        matches!(self.kind(), ErrorKind::UpstreamUnavailable | ErrorKind::UpstreamTimeout)
            && !matches!(
                self.reason(),
                Reason::UpstreamRejectedCredentials
                    | Reason::UpstreamTokenFailed
                    | Reason::UpstreamMalformedResponse
                    | Reason::DeadlineExceeded
                    | Reason::ChangePending
            )
    }

    /// The error says only its kind: nothing more specific is known about the cause.
    pub fn is_generic(&self) -> bool {
        self.inner.reason.is_none_or(|reason| reason == self.inner.kind.spec().default_reason)
    }

    pub fn upstream_code(&self) -> Option<&str> {
        self.inner.upstream_code.as_deref()
    }

    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    pub fn field_violations(&self) -> &[FieldViolation] {
        &self.inner.field_violations
    }

    pub fn precondition_violations(&self) -> &[PreconditionViolation] {
        &self.inner.precondition_violations
    }

    /// Whole seconds to tell the caller to wait, rounded up so "0.2 s" does not become "retry now".
    pub fn retry_after_seconds(&self) -> Option<u64> {
        self.inner.retry_after.map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
    }

    /// The error and its causes, for logs only.
    pub fn chain(&self) -> String {
        let mut out = format!("{:?}: {}", self.inner.kind, self.inner.detail);
        let mut next: Option<&(dyn std::error::Error + 'static)> =
            self.inner.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static));
        while let Some(cause) = next {
            out.push_str(": ");
            out.push_str(&cause.to_string());
            next = cause.source();
        }
        out
    }

    /// The gRPC rendering: same code table as REST, with `ErrorInfo`, `RequestInfo`, `RetryInfo`,
    /// `BadRequest` and `PreconditionFailure` details as they apply.
    pub fn to_status(&self, request_id: Option<&str>) -> tonic::Status {
        let spec = self.inner.kind.spec();
        let mut details = ErrorDetails::new();
        let mut metadata = std::collections::HashMap::new();
        if let Some(code) = &self.inner.upstream_code {
            metadata.insert("upstreamCode".to_owned(), code.clone());
        }
        metadata.insert("problemType".to_owned(), self.inner.kind.problem_type());
        details.set_error_info(self.reason().as_str(), ERROR_DOMAIN, metadata);
        if let Some(id) = request_id {
            details.set_request_info(id, "");
        }
        if let Some(retry_after) = self.inner.retry_after {
            details.set_retry_info(Some(retry_after));
        }
        if !self.inner.field_violations.is_empty() {
            details.set_bad_request(
                self.inner
                    .field_violations
                    .iter()
                    .map(|v| tonic_types::FieldViolation::new(&v.field, &v.description))
                    .collect::<Vec<_>>(),
            );
        }
        if !self.inner.precondition_violations.is_empty() {
            details.set_precondition_failure(
                self.inner
                    .precondition_violations
                    .iter()
                    .map(|v| tonic_types::PreconditionViolation::new(&v.kind, &v.subject, &v.description))
                    .collect::<Vec<_>>(),
            );
        }
        tonic::Status::with_error_details(spec.grpc_code, self.inner.detail.clone(), details)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("detail", &self.inner.detail)
            .field("reason", &self.reason())
            .field("upstream_code", &self.inner.upstream_code)
            .field("source", &self.inner.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.detail)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        error.to_status(None)
    }
}

/// The canonical name of a gRPC code, as gRPC documents it (`INVALID_ARGUMENT`).
pub fn grpc_code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// `docs/errors.md`: every kind and every reason with its HTTP status and gRPC code, rendered
/// from [`ErrorKind::spec`] and [`Reason`] (a test keeps the committed file equal to this).
pub fn render_error_reference() -> String {
    let mut out = String::from(
        "# Errors: HTTP status, gRPC code and reason\n\n\
         <!-- Generated from src/error.rs by the test error::tests::docs_errors_md_is_current; do not edit.\n     \
         Regenerate: UPDATE_DOCS=1 cargo test --all-features --lib docs_errors_md_is_current -->\n\n\
         Every failure has one kind, which fixes its HTTP status and its gRPC code, and one reason, which\n\
         callers branch on (it never changes meaning).\n\n\
         - REST: `application/problem+json` with `type` (`urn:partner-center-gateway:problem:<slug>`), `title`,\n  \
         `status`, `detail`, `instance`, `reason`, `requestId`, `correlationId`, and when they apply\n  \
         `upstreamCode` (Partner Center's error code), `retryAfterSeconds` (also the `Retry-After` header),\n  \
         `errors[]` (`field`, `description`: the invalid fields of the request) and `violations[]` (`type`,\n  \
         `subject`, `description`: what blocks the operation, e.g. each active Azure subscription of a plan\n  \
         being suspended).\n\
         - gRPC: the status code below, with `google.rpc` details: `ErrorInfo` (`reason`, domain\n  \
         `partner-center-gateway`, metadata `upstreamCode`), `RequestInfo` (the request id), `RetryInfo`,\n  \
         `BadRequest` (the `errors[]`) and `PreconditionFailure` (the `violations[]`).\n\n\
         ## Kinds\n\n\
         | HTTP | gRPC code | problem `type` slug | `title` | reason when none more specific |\n\
         |---|---|---|---|---|\n",
    );
    let mut kinds = ErrorKind::ALL.to_vec();
    kinds.sort_by_key(|k| (k.spec().http_status, k.spec().slug));
    for kind in &kinds {
        let spec = kind.spec();
        out.push_str(&format!(
            "| {} | `{}` | `{}` | {} | `{}` |\n",
            spec.http_status,
            grpc_code_name(spec.grpc_code),
            spec.slug,
            spec.title,
            spec.default_reason
        ));
    }
    out.push_str(
        "\n## Reasons\n\n\
         | reason | HTTP | gRPC code | meaning |\n\
         |---|---|---|---|\n",
    );
    let mut reasons = Reason::ALL.to_vec();
    reasons.sort_by_key(|r| (r.kind().spec().http_status, r.as_str()));
    for reason in reasons {
        let spec = reason.kind().spec();
        out.push_str(&format!(
            "| `{reason}` | {} | `{}` | {} |\n",
            spec.http_status,
            grpc_code_name(spec.grpc_code),
            reason.description().replace('|', "\\|")
        ));
    }
    out
}

/// A `reqwest` error with its causes, the URL written as `show_url` has it (URLs may carry
/// continuation tokens or access signatures that must not reach logs or errors).
pub fn reqwest_error_text(error: &reqwest::Error, show_url: impl Fn(&url::Url) -> String) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), &show_url(url));
    }
    push_causes(&mut text, std::error::Error::source(error));
    text
}

/// An error and its causes, `: `-separated.
pub fn error_chain_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    push_causes(&mut text, error.source());
    text
}

fn push_causes(text: &mut String, mut source: Option<&(dyn std::error::Error + 'static)>) {
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // hyper repeats its cause in its own text at times.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/errors.md` is what [`render_error_reference`] renders; `UPDATE_DOCS=1` rewrites it.
    #[test]
    fn docs_errors_md_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/errors.md");
        let rendered = render_error_reference();
        if std::env::var("UPDATE_DOCS").is_ok_and(|v| v == "1") {
            std::fs::write(&path, &rendered).expect("write docs/errors.md");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == rendered,
            "docs/errors.md is stale: regenerate it with\n  UPDATE_DOCS=1 cargo test --all-features --lib docs_errors_md_is_current"
        );
    }

    #[test]
    fn every_reason_names_a_kind_and_every_default_reason_its_own_kind() {
        for kind in ErrorKind::ALL {
            assert_eq!(kind.spec().default_reason.kind(), kind, "{kind:?}");
        }
        let table = render_error_reference();
        for reason in Reason::ALL {
            let spec = reason.kind().spec();
            let row = format!("| `{reason}` | {} | `{}` |", spec.http_status, grpc_code_name(spec.grpc_code));
            assert!(table.contains(&row), "{row}");
        }
        assert!(table.contains("| `AZURE_PLAN_HAS_ACTIVE_SUBSCRIPTIONS` | 409 | `FAILED_PRECONDITION` |"));
    }

    #[test]
    fn every_kind_has_one_distinct_problem_type_and_a_client_or_server_status() {
        let mut slugs = std::collections::HashSet::new();
        for kind in ErrorKind::ALL {
            let spec = kind.spec();
            assert!(slugs.insert(spec.slug), "duplicate slug {}", spec.slug);
            assert!((400..=599).contains(&spec.http_status), "{kind:?}");
            assert_ne!(spec.grpc_code, Code::Ok, "{kind:?}");
            assert_ne!(spec.grpc_code, Code::Unknown, "{kind:?}");
        }
    }

    #[test]
    fn status_carries_the_code_detail_and_rich_details() {
        let error = Error::invalid_field("customerId", "must be a GUID")
            .with_upstream_code("400013")
            .with_retry_after(Duration::from_secs(7));
        let status = error.to_status(Some("req-1"));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "customerId: must be a GUID");
        let details = status.check_error_details().expect("details decode");
        let bad_request = details.bad_request().expect("bad request detail");
        assert_eq!(bad_request.field_violations[0].field, "customerId");
        let info = details.error_info().expect("error info");
        assert_eq!(info.reason, "INVALID_ARGUMENT");
        assert_eq!(error.reason(), Reason::InvalidArgument);
        assert_eq!(info.metadata.get("upstreamCode").map(String::as_str), Some("400013"));
        assert_eq!(details.request_info().map(|r| r.request_id.as_str()), Some("req-1"));
        assert_eq!(details.retry_info().and_then(|r| r.retry_delay), Some(Duration::from_secs(7)));
    }

    #[test]
    fn every_kind_defaults_to_its_own_reason_and_reasons_are_distinct() {
        let mut spellings = std::collections::HashSet::new();
        for reason in Reason::ALL {
            assert!(spellings.insert(reason.as_str()), "duplicate {reason}");
            assert!(reason.as_str().bytes().all(|b| b.is_ascii_uppercase() || b == b'_'), "{reason}");
            assert!(!reason.description().is_empty(), "{reason}");
        }
        for kind in ErrorKind::ALL {
            let error = Error::new(kind, "x");
            assert_eq!(error.reason(), kind.spec().default_reason);
            assert!(error.is_generic());
            assert_eq!(kind.spec().default_reason.as_str(), kind.spec().slug.replace('-', "_").to_ascii_uppercase());
        }
        assert!(!Error::new(ErrorKind::NotFound, "x").with_reason(Reason::CartNotFound).is_generic());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let error = Error::new(ErrorKind::RateLimited, "slow down").with_retry_after(Duration::from_millis(200));
        assert_eq!(error.retry_after_seconds(), Some(1));
    }

    #[test]
    fn internal_errors_never_show_their_source() {
        let error = Error::internal("database password is hunter2");
        assert!(!error.detail().contains("hunter2"));
        assert!(error.chain().contains("hunter2"));
    }
}
