//! Bearer token → [`Caller`].

use std::{collections::HashSet, sync::Arc, time::Duration};

use jsonwebtoken::{Validation, errors::ErrorKind as JwtErrorKind};
use serde::Deserialize;

use super::{
    Caller, CustomerScope, Permission, Permissions,
    keys::{KeySource, VerificationKey},
};
use crate::{
    error::{Error, Reason, Result},
    model::CustomerId,
};

/// A configured partner tenant, as the `partner` claim may name it.
#[derive(Debug, Clone)]
pub struct PartnerName {
    /// The configured id (`partner_center.partners[].id`).
    pub id: Arc<str>,
    /// Its Azure AD tenant id, which callers may use instead.
    pub tenant_id: String,
}

/// What a token must satisfy beyond its signature.
#[derive(Debug, Clone)]
pub struct TokenRules {
    pub issuer: String,
    pub audience: String,
    pub leeway: Duration,
    pub max_token_bytes: usize,
    pub max_lifetime: Duration,
}

pub struct Authenticator {
    keys: KeySource,
    issuer: String,
    audience: String,
    leeway_seconds: u64,
    max_token_bytes: usize,
    max_lifetime_seconds: u64,
    partners: Vec<PartnerName>,
    /// Tokens whose signature and claims were checked lately. Callers send the same token for
    /// many requests, and the signature check is the costliest part of a request (a quarter of
    /// the gateway's CPU in the benchmark before this cache).
    verified: moka::sync::Cache<Arc<str>, Verified>,
}

/// How long a verified token is trusted without checking its signature again. A key withdrawn
/// from the JWKS stops being honoured at the next key-set fetch regardless (entries remember
/// the key-set generation they were verified under).
const VERIFIED_TTL: Duration = Duration::from_secs(60);
/// Bytes of tokens remembered (the token is the key; the caller it maps to is about as large):
/// a few thousand typical tokens, bounded whatever their size.
const VERIFIED_CAPACITY_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Clone)]
struct Verified {
    caller: Caller,
    /// The token's `exp` (seconds since the epoch): an entry never outlives its token.
    expires_at: u64,
    key_generation: u64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CustomersClaim {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    #[serde(default)]
    iat: Option<u64>,
    /// A string by RFC 7519; a list of issuers is refused rather than matched by membership.
    #[serde(default)]
    iss: Option<serde_json::Value>,
    #[serde(default)]
    partner: Option<String>,
    #[serde(default)]
    customers: Option<CustomersClaim>,
    #[serde(default)]
    scp: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
}

impl Authenticator {
    pub fn new(keys: KeySource, rules: TokenRules, partners: Vec<PartnerName>) -> Self {
        let verified = moka::sync::Cache::builder()
            .weigher(|token: &Arc<str>, _: &Verified| u32::try_from(token.len()).unwrap_or(u32::MAX))
            .max_capacity(VERIFIED_CAPACITY_BYTES)
            .time_to_live(VERIFIED_TTL)
            .build();
        Self {
            keys,
            issuer: rules.issuer,
            audience: rules.audience,
            leeway_seconds: rules.leeway.as_secs(),
            max_token_bytes: rules.max_token_bytes,
            max_lifetime_seconds: rules.max_lifetime.as_secs(),
            partners,
            verified,
        }
    }

    /// Verifies the `Authorization` header value and builds the caller.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Caller> {
        let header = authorization.ok_or_else(|| Error::credentials_missing("a bearer token is required"))?;
        let (scheme, rest) = header.trim_start().split_once(' ').unwrap_or((header.trim(), ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            // Another scheme (Basic, ...) is no bearer credential at all (RFC 6750 §3.1).
            return Err(Error::credentials_missing("the Authorization header must be `Bearer <token>`"));
        }
        let token = Some(rest.trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(|| Error::unauthenticated("the Authorization header must be `Bearer <token>`"))?;
        if token.len() > self.max_token_bytes {
            return Err(Error::unauthenticated(format!("the token is longer than {} bytes", self.max_token_bytes)));
        }
        // Only a byte-identical token hits, and only while it has not expired.
        if let Some(hit) = self.verified.get(token) {
            let fresh = jsonwebtoken::get_current_timestamp() <= hit.expires_at.saturating_add(self.leeway_seconds);
            if fresh && hit.key_generation == self.keys.generation() {
                return Ok(hit.caller);
            }
            self.verified.invalidate(token);
        }
        // Read before the key lookup: a rotation racing this verification leaves a stale generation.
        let key_generation = self.keys.generation();
        let jwt_header =
            jsonwebtoken::decode_header(token).map_err(|_| Error::unauthenticated("the token is not a valid JWT"))?;
        refuse_critical_extensions(token)?;
        let key = self.key_for(jwt_header.kid.as_deref()).await?;
        if jwt_header.alg != key.algorithm {
            return Err(Error::unauthenticated(format!(
                "the token's algorithm {:?} is not accepted; expected {:?}",
                jwt_header.alg, key.algorithm
            )));
        }
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = self.leeway_seconds;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &key.key, &validation).map_err(|e| describe(&e))?;
        if !data.claims.iss.as_ref().is_some_and(serde_json::Value::is_string) {
            return Err(Error::unauthenticated("the token's iss claim must be a single string"));
        }
        let issued = data.claims.iat.unwrap_or_else(jsonwebtoken::get_current_timestamp);
        if data.claims.exp.saturating_sub(issued) > self.max_lifetime_seconds {
            return Err(Error::unauthenticated(format!(
                "the token lives longer than the {} s this gateway accepts",
                self.max_lifetime_seconds
            )));
        }
        let expires_at = data.claims.exp;
        let caller = self.caller_from(data.claims)?;
        self.verified.insert(Arc::from(token), Verified { caller: caller.clone(), expires_at, key_generation });
        Ok(caller)
    }

    async fn key_for(&self, kid: Option<&str>) -> Result<VerificationKey> {
        match &self.keys {
            KeySource::DevSecret(key) | KeySource::Pem(key) => Ok(key.clone()),
            KeySource::Jwks(cache) => cache
                .key(kid)
                .await
                .ok_or_else(|| Error::unauthenticated("the token is signed with an unknown key (kid)")),
        }
    }

    fn caller_from(&self, claims: Claims) -> Result<Caller> {
        if claims.sub.is_empty() {
            return Err(Error::unauthenticated("the token's sub claim is empty"));
        }
        let partner = self.resolve_partner(claims.partner.as_deref())?;
        let customers = match claims.customers {
            None => CustomerScope::Only(HashSet::new()),
            Some(CustomersClaim::One(star)) if star == "*" => CustomerScope::All,
            Some(CustomersClaim::One(single)) => CustomerScope::Only(parse_customers(std::slice::from_ref(&single))?),
            // `"*"` means every customer only as the claim's whole value, never as one of a list.
            Some(CustomersClaim::Many(list)) if list.iter().any(|c| c == "*") => {
                return Err(Error::unauthenticated(
                    "the token's customers claim lists \"*\"; all customers is the plain string \"*\", not a list member",
                ));
            }
            Some(CustomersClaim::Many(list)) => CustomerScope::Only(parse_customers(&list)?),
        };
        // Unknown scope values belong to other audiences; they grant nothing here.
        let names = claims
            .scp
            .iter()
            .flat_map(|s| s.split_whitespace().map(str::to_owned))
            .chain(claims.roles.into_iter().flatten());
        let permissions: Permissions = names.filter_map(|name| Permission::from_name(&name)).collect();
        Ok(Caller::new(claims.sub, partner, customers, permissions))
    }

    fn resolve_partner(&self, claimed: Option<&str>) -> Result<Arc<str>> {
        match claimed {
            Some(name) => self
                .partners
                .iter()
                .find(|p| &*p.id == name || p.tenant_id.eq_ignore_ascii_case(name))
                .map(|p| p.id.clone())
                .ok_or_else(|| {
                    Error::permission_denied(format!("partner {name:?} is not served by this gateway"))
                        .with_reason(Reason::UnknownPartner)
                }),
            None => match self.partners.as_slice() {
                [only] => Ok(only.id.clone()),
                _ => Err(Error::permission_denied(
                    "the token names no partner and this gateway serves several; add a partner claim",
                )
                .with_reason(Reason::PartnerRequired)),
            },
        }
    }
}

/// RFC 7515 §4.1.11: a `crit` header names extensions the recipient must understand; this
/// gateway understands none, so any `crit` refuses the token.
fn refuse_critical_extensions(token: &str) -> Result<()> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let invalid = || Error::unauthenticated("the token is not a valid JWT");
    let encoded = token.split('.').next().ok_or_else(invalid)?;
    let header = URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=')).map_err(|_| invalid())?;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&header).map_err(|_| invalid())?;
    if header.contains_key("crit") {
        return Err(Error::unauthenticated(
            "the token names critical header extensions (crit) this gateway does not support",
        ));
    }
    Ok(())
}

fn parse_customers(list: &[String]) -> Result<HashSet<CustomerId>> {
    list.iter()
        .map(|c| {
            CustomerId::parse("customers", c)
                .map_err(|_| Error::unauthenticated("the token's customers claim holds a value that is not a GUID"))
        })
        .collect()
}

/// A reason the caller can act on, never the token itself.
fn describe(error: &jsonwebtoken::errors::Error) -> Error {
    let reason = match error.kind() {
        JwtErrorKind::ExpiredSignature => "the token has expired",
        JwtErrorKind::ImmatureSignature => "the token is not valid yet (nbf)",
        JwtErrorKind::InvalidIssuer => "the token's issuer is not accepted",
        JwtErrorKind::InvalidAudience => "the token's audience is not accepted",
        JwtErrorKind::InvalidSignature => "the token's signature is invalid",
        JwtErrorKind::InvalidAlgorithm => "the token's algorithm is not accepted",
        JwtErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim (exp, iss, aud, sub)",
        JwtErrorKind::Json(_) => "the token's claims have the wrong shape",
        _ => "the token is invalid",
    };
    let detail = match error.kind() {
        JwtErrorKind::MissingRequiredClaim(claim) => {
            format!("the token lacks the required claim {claim}")
        }
        _ => reason.to_owned(),
    };
    match error.kind() {
        JwtErrorKind::ExpiredSignature => Error::unauthenticated(detail).with_reason(Reason::TokenExpired),
        _ => Error::unauthenticated(detail),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::auth::dev::{DevTokenRequest, mint};

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn authenticator() -> Authenticator {
        Authenticator::new(
            KeySource::dev_secret(SECRET),
            TokenRules {
                issuer: "iss".to_owned(),
                audience: "aud".to_owned(),
                leeway: Duration::ZERO,
                max_token_bytes: 8192,
                max_lifetime: Duration::from_secs(24 * 3600),
            },
            vec![PartnerName { id: Arc::from("contoso"), tenant_id: "t".to_owned() }],
        )
    }

    /// A token signed with the dev secret from raw header and claims JSON.
    fn signed(header: serde_json::Value, claims: serde_json::Value) -> String {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        let encode = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).expect("json"));
        let input = format!("{}.{}", encode(&header), encode(&claims));
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, SECRET.as_bytes());
        let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    fn claims(extra: serde_json::Value) -> serde_json::Value {
        let now = jsonwebtoken::get_current_timestamp();
        let mut claims = serde_json::json!({
            "sub": "svc", "iss": "iss", "aud": "aud", "exp": now + 600, "iat": now,
            "customers": "*", "scp": "customers.read"
        });
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            claims[k] = v;
        }
        claims
    }

    #[tokio::test]
    async fn strict_tokens_crit_issuer_lists_long_lives_and_star_in_a_list_are_refused() {
        let auth = authenticator();
        let hs256 = serde_json::json!({ "alg": "HS256", "typ": "JWT" });
        let accepted = signed(hs256.clone(), claims(serde_json::json!({})));
        auth.authenticate(Some(&format!("Bearer {accepted}"))).await.expect("the baseline token is valid");
        let now = jsonwebtoken::get_current_timestamp();
        for (why, token) in [
            (
                "crit",
                signed(serde_json::json!({ "alg": "HS256", "crit": ["exp"], "exp": 1 }), claims(serde_json::json!({}))),
            ),
            ("iss list", signed(hs256.clone(), claims(serde_json::json!({ "iss": ["iss", "other"] })))),
            ("lifetime", signed(hs256.clone(), claims(serde_json::json!({ "exp": now + 25 * 3600 })))),
            (
                "lifetime without iat",
                signed(hs256.clone(), {
                    let mut c = claims(serde_json::json!({ "exp": now + 30 * 3600 }));
                    c.as_object_mut().map(|o| o.remove("iat"));
                    c
                }),
            ),
            ("star in a list", signed(hs256.clone(), claims(serde_json::json!({ "customers": ["*"] })))),
        ] {
            let error = auth.authenticate(Some(&format!("Bearer {token}"))).await.expect_err(why);
            assert_eq!(error.kind(), crate::error::ErrorKind::Unauthenticated, "{why}");
        }
    }

    fn request() -> DevTokenRequest {
        DevTokenRequest {
            subject: "svc".to_owned(),
            partner: None,
            customers: vec!["11111111-1111-1111-1111-111111111111".to_owned()],
            scopes: vec!["customers.read".to_owned(), "unrelated.scope".to_owned()],
            ttl: Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn a_valid_token_becomes_a_scoped_caller() {
        let token = mint(SECRET, "iss", "aud", &request()).expect("mint");
        let caller = authenticator().authenticate(Some(&format!("Bearer {token}"))).await.expect("valid");
        assert_eq!(caller.partner(), "contoso");
        assert!(caller.permissions().contains(Permission::CustomersRead));
        assert!(!caller.permissions().contains(Permission::OrdersWrite));
        assert!(matches!(caller.customers(), CustomerScope::Only(set) if set.len() == 1));
    }

    #[tokio::test]
    async fn wrong_issuer_audience_and_secret_are_rejected() {
        let auth = authenticator();
        for token in [
            mint(SECRET, "other", "aud", &request()),
            mint(SECRET, "iss", "other", &request()),
            mint("another-secret-another-secret-xx", "iss", "aud", &request()),
        ] {
            let token = token.expect("mint");
            let error = auth.authenticate(Some(&format!("Bearer {token}"))).await.expect_err("rejected");
            assert_eq!(error.kind(), crate::error::ErrorKind::Unauthenticated);
        }
    }

    #[tokio::test]
    async fn missing_or_malformed_headers_are_unauthenticated() {
        let auth = authenticator();
        for (header, missing) in [
            (None, true),
            (Some("Basic abc"), true),
            (Some("Basic"), true),
            (Some("Bearer "), false),
            (Some("Bearer not.a.jwt"), false),
        ] {
            let error = auth.authenticate(header).await.expect_err("rejected");
            assert_eq!(error.kind(), crate::error::ErrorKind::Unauthenticated, "{header:?}");
            assert_eq!(error.is_credentials_missing(), missing, "{header:?}");
            assert_eq!(error.reason(), Reason::Unauthenticated, "{header:?}");
        }
    }

    #[tokio::test]
    async fn a_cached_token_is_refused_once_it_expires() {
        let auth = authenticator();
        let mut req = request();
        req.ttl = Duration::from_secs(1);
        let header = format!("Bearer {}", mint(SECRET, "iss", "aud", &req).expect("mint"));
        auth.authenticate(Some(&header)).await.expect("valid while fresh");
        auth.authenticate(Some(&header)).await.expect("valid again, from the cache");
        // `exp` has one-second resolution and no leeway here.
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let error = auth.authenticate(Some(&header)).await.expect_err("expired");
        assert_eq!(error.kind(), crate::error::ErrorKind::Unauthenticated);
        assert_eq!(error.reason(), Reason::TokenExpired);
        assert!(!error.is_credentials_missing());
    }

    #[tokio::test]
    async fn only_the_identical_token_hits_the_cache() {
        let auth = authenticator();
        let token = mint(SECRET, "iss", "aud", &request()).expect("mint");
        auth.authenticate(Some(&format!("Bearer {token}"))).await.expect("valid");
        // The same claims with a forged signature: one flipped character.
        let mut forged = token.clone().into_bytes();
        let last = forged.len() - 2;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).expect("ascii");
        let error = auth.authenticate(Some(&format!("Bearer {forged}"))).await.expect_err("forged");
        assert_eq!(error.kind(), crate::error::ErrorKind::Unauthenticated);
    }

    #[tokio::test]
    async fn an_unknown_partner_is_denied() {
        let mut req = request();
        req.partner = Some("fabrikam".to_owned());
        let token = mint(SECRET, "iss", "aud", &req).expect("mint");
        let error = authenticator().authenticate(Some(&format!("Bearer {token}"))).await.expect_err("denied");
        assert_eq!(error.kind(), crate::error::ErrorKind::PermissionDenied);
    }
}
