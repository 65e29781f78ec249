//! Azure AD's token endpoints, v1 (`POST /{tenant}/oauth2/token`, `resource=`) and v2
//! (`POST /{tenant}/oauth2/v2.0/token`, `scope={resource}/.default`), and the bearer check in front
//! of every Partner Center route.
//!
//! Every token is issued for one audience ([`Audience`]): Partner Center
//! (`https://api.partnercenter.microsoft.com`) or Microsoft Graph (`https://graph.microsoft.com`,
//! served by [`super::graph`]). Each API refuses the other's tokens with 401, as the real services
//! do; any other resource is refused by the token endpoint (AADSTS500011).

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

/// Which API a token was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    PartnerCenter,
    Graph,
}

pub const PARTNER_CENTER_RESOURCE: &str = "https://api.partnercenter.microsoft.com";
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
/// Microsoft Graph's well-known application id, which Azure AD also accepts as its resource.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

impl Audience {
    /// The audience a v1 `resource` (or a v2 scope's resource part) names; a trailing slash and
    /// letter case do not matter to Azure AD.
    pub fn of_resource(resource: &str) -> Option<Self> {
        let resource = resource.trim_end_matches('/');
        if resource.eq_ignore_ascii_case(PARTNER_CENTER_RESOURCE) {
            Some(Self::PartnerCenter)
        } else if resource.eq_ignore_ascii_case(GRAPH_RESOURCE) || resource.eq_ignore_ascii_case(GRAPH_APP_ID) {
            Some(Self::Graph)
        } else {
            None
        }
    }

    pub fn resource(self) -> &'static str {
        match self {
            Self::PartnerCenter => PARTNER_CENTER_RESOURCE,
            Self::Graph => GRAPH_RESOURCE,
        }
    }
}

#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub partner_tenant: String,
    pub flow: Flow,
    pub audience: Audience,
    pub expires_at: SystemTime,
}

struct PartnerApp {
    tenant_id: String,
    client_id: String,
    client_secret: String,
    /// Azure AD rotates refresh tokens; only the newest is accepted here (stricter than AAD, so a
    /// client that forgets to keep the rotated one fails at once)...
    refresh_token: String,
    refresh_generation: u32,
    /// ...except the one it replaced, for a moment after: several replicas redeeming the same
    /// token at once (which Azure AD allows) all get the newest, instead of all but one failing.
    replaced: Option<(String, std::time::Instant)>,
}

/// How long a just-rotated refresh token is still honoured (answered with the newest): long
/// enough for replicas racing on one redemption, short enough that a client which keeps using
/// an old token is still caught.
const ROTATION_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

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
                    replaced: None,
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

    /// A token this endpoint issued, expired or not (Graph words its 401 differently for each).
    pub fn lookup(&self, token: &str) -> Option<IssuedToken> {
        self.tokens.get(token).cloned()
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    resource: Option<String>,
    /// v2 only: `https://graph.microsoft.com/.default` and the like.
    scope: Option<String>,
    refresh_token: Option<String>,
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new().route("/{tenant}/oauth2/token", post(token_v1)).route("/{tenant}/oauth2/v2.0/token", post(token_v2))
}

/// The endpoint version: v1 takes `resource` and writes numbers as strings, v2 takes `scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    V1,
    V2,
}

fn aad_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, Json(json!({ "error": error, "error_description": description, "error_codes": [7000215], "trace_id": Uuid::new_v4() })))
        .into_response()
}

async fn token_v1(
    State(state): State<Arc<SimState>>,
    Path(tenant): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    issue(&state, &tenant, form, Endpoint::V1)
}

async fn token_v2(
    State(state): State<Arc<SimState>>,
    Path(tenant): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    issue(&state, &tenant, form, Endpoint::V2)
}

/// The audience a v2 `scope` asks for: one `{resource}/.default` (client credentials) or
/// `{resource}/{permission}` entries of one resource; OpenID scopes are ignored.
fn audience_of_scope(scope: &str) -> Result<Audience, Box<Response>> {
    let mut audience = None;
    for entry in scope.split_whitespace() {
        if matches!(entry, "offline_access" | "openid" | "profile" | "email") {
            continue;
        }
        let resource = entry.rsplit_once('/').map_or(entry, |(resource, _)| resource);
        let Some(found) = Audience::of_resource(resource) else {
            return Err(Box::new(aad_error(
                StatusCode::BAD_REQUEST,
                "invalid_resource",
                &format!("AADSTS500011: The resource principal named {resource} was not found in the tenant."),
            )));
        };
        if audience.is_some_and(|a| a != found) {
            return Err(Box::new(aad_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "AADSTS28000: Provided value for the input parameter scope is not valid because it contains more than one resource.",
            )));
        }
        audience = Some(found);
    }
    audience.ok_or_else(|| {
        Box::new(aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS900144: The request body must contain the following parameter: 'scope'.",
        ))
    })
}

fn issue(state: &SimState, tenant: &str, form: TokenForm, endpoint: Endpoint) -> Response {
    super::control::count_token_request(state, form.grant_type.as_deref().unwrap_or("none"));
    let lifetime = state.config.token_lifetime;
    let now = state.now();
    let mut inner = state.lock();
    let Some(app) = inner.aad.apps.iter_mut().find(|a| a.tenant_id.eq_ignore_ascii_case(tenant)) else {
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
    let audience = match endpoint {
        Endpoint::V1 => {
            let resource = form.resource.unwrap_or_default();
            if resource.is_empty() {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "AADSTS900144: The request body must contain the parameter resource.",
                );
            }
            let Some(audience) = Audience::of_resource(&resource) else {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_resource",
                    &format!("AADSTS500011: The resource principal named {resource} was not found in the tenant."),
                );
            };
            audience
        }
        Endpoint::V2 => {
            let scope = form.scope.unwrap_or_default();
            let audience = match audience_of_scope(&scope) {
                Ok(audience) => audience,
                Err(response) => return *response,
            };
            // Client credentials can only ask for the app's static permissions.
            if form.grant_type.as_deref() == Some("client_credentials")
                && !scope.split_whitespace().all(|entry| entry.ends_with("/.default"))
            {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    &format!(
                        "AADSTS1002012: The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                    ),
                );
            }
            audience
        }
    };
    let (flow, new_refresh) = match form.grant_type.as_deref() {
        Some("client_credentials") => (Flow::AppOnly, None),
        Some("refresh_token") => {
            let presented = form.refresh_token.as_deref();
            let just_replaced = app
                .replaced
                .as_ref()
                .is_some_and(|(token, at)| presented == Some(token.as_str()) && at.elapsed() < ROTATION_GRACE);
            if just_replaced {
                (Flow::AppUser, Some(app.refresh_token.clone()))
            } else if presented == Some(app.refresh_token.as_str()) {
                app.refresh_generation += 1;
                let newest = format!("sim-refresh-{}-{}", app.refresh_generation, Uuid::new_v4().simple());
                app.replaced = Some((std::mem::replace(&mut app.refresh_token, newest), std::time::Instant::now()));
                (Flow::AppUser, Some(app.refresh_token.clone()))
            } else {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "AADSTS70008: The refresh token has expired or is invalid.",
                );
            }
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
    inner
        .aad
        .tokens
        .insert(access_token.clone(), IssuedToken { partner_tenant, flow, audience, expires_at: now + lifetime });
    let unix = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs().to_string();
    let body = match endpoint {
        Endpoint::V1 => {
            let secs = lifetime.as_secs().to_string();
            // Azure AD v1 writes every number as a string.
            let mut body = json!({
                "token_type": "Bearer",
                "expires_in": secs,
                "ext_expires_in": secs,
                "expires_on": unix(now + lifetime),
                "not_before": unix(now),
                "resource": audience.resource(),
                "access_token": access_token,
            });
            if let Some(refresh) = new_refresh {
                body["refresh_token"] = json!(refresh);
                body["scope"] = json!("user_impersonation");
            }
            body
        }
        Endpoint::V2 => {
            // v2 writes numbers as numbers and has no `resource`/`expires_on`.
            let mut body = json!({
                "token_type": "Bearer",
                "expires_in": lifetime.as_secs(),
                "ext_expires_in": lifetime.as_secs(),
                "access_token": access_token,
            });
            if let Some(refresh) = new_refresh {
                body["refresh_token"] = json!(refresh);
                body["scope"] = json!(format!("{}/.default", audience.resource()));
            }
            body
        }
    };
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
    // A Graph token is no Partner Center token: same 401 as an unknown one.
    let issued = token.and_then(|t| state.lock().aad.check(&t, now)).filter(|t| t.audience == Audience::PartnerCenter);
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
