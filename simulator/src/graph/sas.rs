//! User-delegation directory SAS tokens for the blob host, shaped like the documented example
//! (`skoid=…&sktid=…&skt=…&ske=…&sks=b&skv=2021-08-06&sv=2021-08-06&se=…&sr=d&sp=rl&sdd=7&sig=…`).
//!
//! The signature is HMAC-SHA256 over the signed fields and the canonical directory
//! (`/blob/{account}/{container}/{directory}`), keyed with a secret of this process. As in Azure
//! Storage, the directory is not in the token: it is the first `sdd` folders of the requested
//! path, so a token used outside its directory fails its signature check.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::wire::{http_date, timestamp};

pub const STORAGE_VERSION: &str = "2021-08-06";

/// Why a SAS does not open a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SasRefusal {
    /// No `sig`: an anonymous request.
    Missing,
    /// Malformed, tampered with, or used outside its directory (`AuthenticationFailed`).
    Invalid(String),
    /// Outside its validity (`AuthenticationFailed` too, with the time frame in the detail).
    Expired(String),
    /// Signed without read permission (`AuthorizationPermissionMismatch`).
    NoReadPermission,
}

/// What a token grants.
pub struct SasGrant<'a> {
    pub account: &'a str,
    pub container: &'a str,
    /// Folders under the container, `/`-separated.
    pub directory: &'a str,
    pub partner_tenant: &'a str,
    pub signed_at: SystemTime,
    pub expires_at: SystemTime,
}

fn sas_time(at: SystemTime) -> String {
    timestamp(at, Some(0), true)
}

struct Signed {
    permissions: String,
    start: String,
    expiry: String,
    object_id: String,
    key_tenant: String,
    key_start: String,
    key_expiry: String,
    key_service: String,
    key_version: String,
    version: String,
    resource: String,
    depth: String,
}

impl Signed {
    fn string_to_sign(&self, canonical: &str) -> String {
        [
            self.permissions.as_str(),
            &self.start,
            &self.expiry,
            canonical,
            &self.object_id,
            &self.key_tenant,
            &self.key_start,
            &self.key_expiry,
            &self.key_service,
            &self.key_version,
            &self.version,
            &self.resource,
            &self.depth,
        ]
        .join("\n")
    }
}

fn signature(key: &[u8], string_to_sign: &str) -> Vec<u8> {
    // HMAC accepts keys of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return Vec::new() };
    mac.update(string_to_sign.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The query string (no leading `?`) granting read and list on the directory.
pub fn issue(key: &[u8], grant: &SasGrant<'_>) -> String {
    let depth = grant.directory.split('/').filter(|s| !s.is_empty()).count();
    let signed = Signed {
        permissions: "rl".to_owned(),
        start: String::new(),
        expiry: sas_time(grant.expires_at),
        object_id: crate::billing_data::derived_guid(&["sas-object", grant.partner_tenant]),
        key_tenant: grant.partner_tenant.to_owned(),
        key_start: sas_time(grant.signed_at),
        key_expiry: sas_time(grant.signed_at + Duration::from_secs(24 * 3600)),
        key_service: "b".to_owned(),
        key_version: STORAGE_VERSION.to_owned(),
        version: STORAGE_VERSION.to_owned(),
        resource: "d".to_owned(),
        depth: depth.to_string(),
    };
    let canonical = format!("/blob/{}/{}/{}", grant.account, grant.container, grant.directory);
    let sig = base64::engine::general_purpose::STANDARD.encode(signature(key, &signed.string_to_sign(&canonical)));
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("skoid", &signed.object_id)
        .append_pair("sktid", &signed.key_tenant)
        .append_pair("skt", &signed.key_start)
        .append_pair("ske", &signed.key_expiry)
        .append_pair("sks", &signed.key_service)
        .append_pair("skv", &signed.key_version)
        .append_pair("sv", &signed.version)
        .append_pair("se", &signed.expiry)
        .append_pair("sr", &signed.resource)
        .append_pair("sp", &signed.permissions)
        .append_pair("sdd", &signed.depth)
        .append_pair("sig", &sig)
        .finish()
}

/// Checks the SAS in `query` for a GET of `path` (`/{account}/{container}/{folders…}/{blob}`,
/// percent-decoded) at `now`.
pub fn verify(key: &[u8], path: &str, query: &str, now: SystemTime) -> Result<(), SasRefusal> {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let Some(sig) = param("sig") else { return Err(SasRefusal::Missing) };
    let mandatory = |name: &str| {
        param(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| SasRefusal::Invalid(format!("{name} is mandatory. Cannot be empty")))
    };
    let signed = Signed {
        permissions: mandatory("sp")?,
        start: param("st").unwrap_or_default(),
        expiry: mandatory("se")?,
        object_id: param("skoid").unwrap_or_default(),
        key_tenant: param("sktid").unwrap_or_default(),
        key_start: param("skt").unwrap_or_default(),
        key_expiry: param("ske").unwrap_or_default(),
        key_service: param("sks").unwrap_or_default(),
        key_version: param("skv").unwrap_or_default(),
        version: mandatory("sv")?,
        resource: mandatory("sr")?,
        depth: param("sdd").unwrap_or_default(),
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let canonical = match signed.resource.as_str() {
        "d" => {
            let depth: usize = signed
                .depth
                .parse()
                .map_err(|_| SasRefusal::Invalid("sdd is mandatory for a directory SAS".to_owned()))?;
            // account, container, `depth` folders, and the blob itself.
            if segments.len() < depth + 3 {
                return Err(SasRefusal::Invalid(format!(
                    "The specified signed resource is not allowed for the this resource level: sdd={depth}"
                )));
            }
            format!("/blob/{}", segments[..depth + 2].join("/"))
        }
        "b" => format!("/blob/{}", segments.join("/")),
        other => {
            return Err(SasRefusal::Invalid(format!(
                "Value for one of the query parameters specified in the request URI is invalid: sr={other}"
            )));
        }
    };
    let string_to_sign = signed.string_to_sign(&canonical);
    let given = base64::engine::general_purpose::STANDARD.decode(sig.as_bytes()).unwrap_or_default();
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return Err(SasRefusal::Invalid("Signature did not match.".to_owned()));
    };
    mac.update(string_to_sign.as_bytes());
    if mac.verify_slice(&given).is_err() {
        return Err(SasRefusal::Invalid(format!(
            "Signature did not match. String to sign used was {}",
            string_to_sign.replace('\n', "\\n")
        )));
    }
    let expiry = super::wire::parse_sas_time(&signed.expiry)
        .ok_or_else(|| SasRefusal::Invalid(format!("se is not a valid time: {}", signed.expiry)))?;
    let start = (!signed.start.is_empty()).then(|| super::wire::parse_sas_time(&signed.start)).flatten();
    if now >= expiry || start.is_some_and(|s| now < s) {
        let start_text = start.map(http_date).unwrap_or_default();
        return Err(SasRefusal::Expired(format!(
            "Signature not valid in the specified time frame: Start [{start_text}] - Expiry [{}] - Current [{}]",
            http_date(expiry),
            http_date(now)
        )));
    }
    if !signed.permissions.contains('r') {
        return Err(SasRefusal::NoReadPermission);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn grant(expires_in: Duration) -> (String, SystemTime) {
        let now = SystemTime::now();
        let token = issue(
            KEY,
            &SasGrant {
                account: "acct",
                container: "box",
                directory: "v1/PartnerTenantId=t/Fragment=full",
                partner_tenant: "t",
                signed_at: now,
                expires_at: now + expires_in,
            },
        );
        (token, now)
    }

    #[test]
    fn a_sas_opens_its_directory_until_it_expires() {
        let (token, now) = grant(Duration::from_secs(3600));
        assert!(token.contains("sr=d") && token.contains("sdd=3") && token.contains("sp=rl") && token.contains("%3A"));
        let blob = "/acct/box/v1/PartnerTenantId=t/Fragment=full/part-00000.json.gz";
        assert_eq!(verify(KEY, blob, &token, now), Ok(()));
        let later = now + Duration::from_secs(3601);
        assert!(matches!(verify(KEY, blob, &token, later), Err(SasRefusal::Expired(d)) if d.contains("Expiry [")));
        let elsewhere = "/acct/box/v1/PartnerTenantId=u/Fragment=full/part-00000.json.gz";
        assert!(
            matches!(verify(KEY, elsewhere, &token, now), Err(SasRefusal::Invalid(d)) if d.starts_with("Signature did not match"))
        );
        let stretched = token.replace("se=", "se=2");
        assert!(matches!(verify(KEY, blob, &stretched, now), Err(SasRefusal::Invalid(_))));
        assert_eq!(verify(KEY, blob, "", now), Err(SasRefusal::Missing));
        assert!(matches!(verify(b"another key", blob, &token, now), Err(SasRefusal::Invalid(_))));
    }
}
