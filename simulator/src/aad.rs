//! Azure AD's v1 token endpoint (`POST /{tenant}/oauth2/token`) and the bearer check in front of
//! every Partner Center route.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    Form, Json, Router,
    extract::{Path, Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::post,
};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{SimState, seed};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    AppOnly,
    AppUser,
}

#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub partner_tenant: String,
    pub flow: Flow,
    pub expires_at: SystemTime,
}

struct PartnerApp {
    tenant_id: String,
    client_id: String,
    client_secret: String,
    /// Azure AD rotates refresh tokens; only the newest is accepted here (stricter than AAD, so a
    /// client that forgets to keep the rotated one fails at once).
    refresh_token: String,
    refresh_generation: u32,
}

pub struct AadState {
    apps: Vec<PartnerApp>,
    tokens: HashMap<String, IssuedToken>,
}

impl AadState {
    pub fn seeded() -> Self {
        Self {
            apps: seed::PARTNERS
                .iter()
                .map(|p| PartnerApp {
                    tenant_id: p.tenant_id.to_owned(),
                    client_id: p.client_id.to_owned(),
                    client_secret: p.client_secret.to_owned(),
                    refresh_token: p.refresh_token.to_owned(),
                    refresh_generation: 0,
                })
                .collect(),
            tokens: HashMap::new(),
        }
    }

    /// The refresh token the simulator currently accepts for a partner (tests only).
    pub fn current_refresh_token(&self, tenant_id: &str) -> Option<String> {
        self.apps.iter().find(|a| a.tenant_id.eq_ignore_ascii_case(tenant_id)).map(|a| a.refresh_token.clone())
    }

    /// Forgets every issued access token: the next call with one gets 401.
    pub fn revoke_all(&mut self) {
        self.tokens.clear();
    }

    /// The partner tenant and flow of a token valid at `now`.
    pub fn check(&self, token: &str, now: SystemTime) -> Option<IssuedToken> {
        self.tokens.get(token).filter(|t| t.expires_at > now).cloned()
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    resource: Option<String>,
    refresh_token: Option<String>,
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new().route("/{tenant}/oauth2/token", post(token))
}

fn aad_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, Json(json!({ "error": error, "error_description": description, "error_codes": [7000215], "trace_id": Uuid::new_v4() })))
        .into_response()
}

async fn token(
    State(state): State<Arc<SimState>>,
    Path(tenant): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    super::control::count_token_request(&state, form.grant_type.as_deref().unwrap_or("none"));
    let lifetime = state.config.token_lifetime;
    let now = state.now();
    let mut inner = state.lock();
    let Some(app) = inner.aad.apps.iter_mut().find(|a| a.tenant_id.eq_ignore_ascii_case(&tenant)) else {
        return aad_error(StatusCode::BAD_REQUEST, "invalid_request", "AADSTS90002: Tenant not found.");
    };
    if form.client_id.as_deref() != Some(app.client_id.as_str()) {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "AADSTS700016: Application not found in the directory.",
        );
    }
    if form.client_secret.as_deref() != Some(app.client_secret.as_str()) {
        return aad_error(StatusCode::UNAUTHORIZED, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
    }
    let resource = form.resource.unwrap_or_default();
    if resource.is_empty() {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS900144: The request body must contain the parameter resource.",
        );
    }
    let (flow, new_refresh) = match form.grant_type.as_deref() {
        Some("client_credentials") => (Flow::AppOnly, None),
        Some("refresh_token") => {
            if form.refresh_token.as_deref() != Some(app.refresh_token.as_str()) {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "AADSTS70008: The refresh token has expired or is invalid.",
                );
            }
            app.refresh_generation += 1;
            app.refresh_token = format!("sim-refresh-{}-{}", app.refresh_generation, Uuid::new_v4().simple());
            (Flow::AppUser, Some(app.refresh_token.clone()))
        }
        _ => {
            return aad_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "AADSTS70003: The app requested an unsupported grant type.",
            );
        }
    };
    let partner_tenant = app.tenant_id.clone();
    let access_token = format!("sim-at-{}", Uuid::new_v4().simple());
    inner.aad.tokens.insert(access_token.clone(), IssuedToken { partner_tenant, flow, expires_at: now + lifetime });
    let unix = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs().to_string();
    let secs = lifetime.as_secs().to_string();
    // Azure AD v1 writes every number as a string.
    let mut body = json!({
        "token_type": "Bearer",
        "expires_in": secs,
        "ext_expires_in": secs,
        "expires_on": unix(now + lifetime),
        "not_before": unix(now),
        "resource": resource,
        "access_token": access_token,
    });
    if let Some(refresh) = new_refresh {
        body["refresh_token"] = json!(refresh);
        body["scope"] = json!("user_impersonation");
    }
    Json(body).into_response()
}

/// The partner tenant behind the request's bearer token, for handlers.
#[derive(Debug, Clone)]
pub struct PartnerTenant {
    pub tenant_id: String,
    pub flow: Flow,
}

impl PartnerTenant {
    /// Operations Partner Center serves only with app+user tokens answer app-only tokens 403/900329.
    pub fn require_app_user(&self) -> Result<(), super::wire::PcError> {
        match self.flow {
            Flow::AppUser => Ok(()),
            Flow::AppOnly => Err(super::wire::PcError::new(
                StatusCode::FORBIDDEN,
                900329,
                "The requested resource does not support application-only authentication.",
            )),
        }
    }
}

/// Rejects calls without a valid token, as Partner Center does (401, `WWW-Authenticate`).
pub async fn require_token(State(state): State<Arc<SimState>>, mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let now = state.now();
    let issued = token.and_then(|t| state.lock().aad.check(&t, now));
    let Some(issued) = issued else {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        if let Ok(value) = "Bearer error=\"invalid_token\"".parse() {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        return response;
    };
    request.extensions_mut().insert(PartnerTenant { tenant_id: issued.partner_tenant, flow: issued.flow });
    next.run(request).await
}
