//! Graph's bearer check: a token Azure AD issued for `https://graph.microsoft.com`, valid now,
//! from a partner whose app holds `PartnerBilling.Read.All`.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::Response,
};

use super::{GraphService, wire};
use crate::aad::{Audience, PartnerTenant};

/// Graph's challenge on 401.
const CHALLENGE: &str = "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"";

pub fn unauthorized(message: &str) -> Response {
    let mut response = wire::graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message);
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
    response
}

pub async fn require_graph_token(State(graph): State<Arc<GraphService>>, mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let now = graph.now();
    let refusal = match token {
        None => Err("Access token is empty."),
        Some(token) => match graph.sim.lock().aad.lookup(&token) {
            None => Err("Access token validation failure."),
            Some(issued) if issued.audience != Audience::Graph => {
                Err("Access token validation failure. Invalid audience.")
            }
            Some(issued) if issued.expires_at <= now => Err("Lifetime validation failed, the token is expired."),
            Some(issued) => Ok(issued),
        },
    };
    let issued = match refusal {
        Ok(issued) => issued,
        Err(message) => {
            graph.lock().counters.graph_unauthorized += 1;
            return unauthorized(message);
        }
    };
    let denied = graph.lock().denied_tenants.contains(&issued.partner_tenant.to_ascii_lowercase());
    if denied {
        graph.lock().counters.graph_forbidden += 1;
        return wire::graph_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Missing role permissions on the request. API requires one of 'PartnerBilling.Read.All'. Roles on the request ''.",
        );
    }
    request.extensions_mut().insert(PartnerTenant { tenant_id: issued.partner_tenant, flow: issued.flow });
    next.run(request).await
}
