//! Opaque page tokens, sealed (AES-256-GCM via [`crate::sealed`]): a caller can neither read the
//! Partner Center continuation token inside nor change it. A token names the operation and
//! arguments that produced it (its "binding") and expires; a forged, edited, expired or
//! misplaced token is a 400 on `pageToken`.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::{
    error::{Error, Result},
    model::page::PageToken,
    sealed::Sealer,
};

/// The sealing purpose: keys page tokens apart from every other sealed value.
const PURPOSE: &str = "page-token/v1";
/// Tokens carry upstream continuation tokens, which go stale; a day is ample for paging.
const TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
/// Longest token accepted, before any decoding work.
pub const MAX_PAGE_TOKEN_LEN: usize = 8 * 1024;

pub struct PageTokens {
    sealer: Sealer,
}

/// What a page token is bound to: the operation, the caller's partner, and every argument that
/// shapes the list. A token issued under one binding is refused under any other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageBinding(String);

impl PageBinding {
    pub fn new(operation: &'static str, partner: &str) -> Self {
        Self(String::new()).with(operation).with(partner)
    }

    /// Adds one argument. Each part is length-prefixed, so no two argument lists collide.
    pub fn with(mut self, part: impl std::fmt::Display) -> Self {
        let part = part.to_string();
        self.0.push_str(&format!("{}:{part}|", part.len()));
        self
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope<C> {
    /// Digest of operation + arguments + caller scope.
    b: String,
    /// Expiry, unix seconds.
    e: u64,
    c: C,
}

impl PageTokens {
    /// Keyed from `paging.token_secret` (so replicas and restarts agree), else randomly.
    pub fn new(secret: Option<&[u8]>) -> Result<Self> {
        Ok(Self { sealer: Sealer::new(secret, PURPOSE, MAX_PAGE_TOKEN_LEN)? })
    }

    /// `binding` must spell out everything the cursor depends on (operation, arguments, scope).
    pub fn encode<C: Serialize>(&self, binding: &PageBinding, cursor: &C) -> Result<String> {
        self.sealer.seal(&Envelope { b: digest(&binding.0), e: now() + TOKEN_TTL.as_secs(), c: cursor })
    }

    pub fn decode<C: DeserializeOwned>(&self, binding: &PageBinding, token: &PageToken) -> Result<C> {
        let invalid = || token.invalid("is not a page token issued for this request; start without one");
        let envelope: Envelope<C> = self.sealer.open(&token.value).map_err(|_| invalid())?;
        if envelope.b != digest(&binding.0) {
            return Err(invalid());
        }
        if envelope.e < now() {
            return Err(Error::invalid_field(token.field, "has expired; start the listing again"));
        }
        Ok(envelope.c)
    }
}

fn digest(binding: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, binding.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..16])
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Cursor {
        offset: u32,
    }

    fn token(value: &str) -> PageToken {
        PageToken { value: value.to_owned(), field: "page_token" }
    }

    fn binding(part: &str) -> PageBinding {
        PageBinding::new("products", "p").with(part)
    }

    #[test]
    fn a_token_round_trips_only_for_its_own_binding() {
        let tokens = PageTokens::new(Some(b"0123456789abcdef0123456789abcdef")).expect("key");
        let issued = tokens.encode(&binding("US"), &Cursor { offset: 50 }).expect("encode");
        assert_eq!(tokens.decode::<Cursor>(&binding("US"), &token(&issued)).expect("decode"), Cursor { offset: 50 });
        let error = tokens.decode::<Cursor>(&binding("DE"), &token(&issued)).expect_err("other binding");
        assert_eq!(error.field_violations()[0].field, "page_token", "named as the caller spelled it");
    }

    #[test]
    fn bindings_of_different_argument_lists_differ() {
        let ab = PageBinding::new("op", "p").with("a|b").with("c");
        let a_bc = PageBinding::new("op", "p").with("a").with("b|c");
        assert_ne!(ab, a_bc);
        assert_ne!(PageBinding::new("op", "p"), PageBinding::new("op", "q"));
    }

    #[test]
    fn an_edited_or_foreign_token_is_rejected() {
        let tokens = PageTokens::new(None).expect("key");
        let other = PageTokens::new(None).expect("key");
        let b = binding("b");
        let issued = tokens.encode(&b, &Cursor { offset: 1 }).expect("encode");
        assert!(other.decode::<Cursor>(&b, &token(&issued)).is_err());
        let mut edited = issued.into_bytes();
        let last = edited.len() - 5;
        edited[last] = if edited[last] == b'A' { b'B' } else { b'A' };
        let edited = String::from_utf8(edited).expect("ascii");
        assert!(tokens.decode::<Cursor>(&b, &token(&edited)).is_err());
        assert!(tokens.decode::<Cursor>(&b, &token("")).is_err());
        assert!(tokens.decode::<Cursor>(&b, &token(&"a".repeat(MAX_PAGE_TOKEN_LEN + 1))).is_err());
    }

    #[test]
    fn the_upstream_continuation_token_inside_cannot_be_read() {
        #[derive(Serialize)]
        struct Upstream {
            continuation: &'static str,
        }
        let tokens = PageTokens::new(Some(b"0123456789abcdef0123456789abcdef")).expect("key");
        let issued =
            tokens.encode(&binding("b"), &Upstream { continuation: "partner-center-secret-cursor" }).expect("encode");
        let decoded = URL_SAFE_NO_PAD.decode(&issued).expect("base64url");
        let readable = String::from_utf8_lossy(&decoded);
        assert!(!readable.contains("partner-center-secret-cursor") && !readable.contains("continuation"), "{readable}");
    }
}

/// Where a walk over upstream pages resumes: the upstream page (`None` = the first) and how many
/// of its items were already handed out.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct WalkCursor {
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    next: Option<crate::partner_center::NextLink>,
    #[serde(rename = "s", default)]
    skip: usize,
}

/// Most upstream pages one call walks before it answers with what it has (and a token).
pub const MAX_UPSTREAM_PAGES_PER_CALL: usize = 20;

/// Pages through an upstream list (any of Partner Center's paging styles, via its next links),
/// keeping the items `keep` accepts, `size` at a time. The caller's token records the upstream
/// page and the offset in it, so a filtered list never repeats or skips an item.
pub async fn walk<T, F, Fut>(
    tokens: &PageTokens,
    binding: &PageBinding,
    page: &crate::model::PageRequest,
    size: usize,
    mut fetch: F,
    keep: impl Fn(&T) -> bool,
) -> Result<crate::model::Page<T>>
where
    F: FnMut(Option<crate::partner_center::NextLink>) -> Fut,
    Fut: Future<Output = Result<crate::partner_center::UpstreamPage<T>>>,
{
    let mut cursor: WalkCursor = match &page.page_token {
        Some(token) => tokens.decode(binding, token)?,
        None => WalkCursor::default(),
    };
    let mut items = Vec::with_capacity(size.min(1024));
    for _ in 0..MAX_UPSTREAM_PAGES_PER_CALL {
        let upstream = fetch(cursor.next.clone()).await?;
        for (index, item) in upstream.items.into_iter().enumerate().skip(cursor.skip) {
            if !keep(&item) {
                continue;
            }
            items.push(item);
            if items.len() == size {
                let resume = WalkCursor { next: cursor.next.clone(), skip: index + 1 };
                return Ok(crate::model::Page { items, next_page_token: Some(tokens.encode(binding, &resume)?) });
            }
        }
        match upstream.next {
            Some(next) => cursor = WalkCursor { next: Some(next), skip: 0 },
            None => return Ok(crate::model::Page { items, next_page_token: None }),
        }
    }
    // A sparse filter over a long list: answer now rather than keep the caller waiting.
    Ok(crate::model::Page { items, next_page_token: Some(tokens.encode(binding, &cursor)?) })
}
