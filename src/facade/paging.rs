//! Signed, opaque page tokens. A token names the operation and arguments that produced it (its
//! "binding") and expires; a forged, edited, expired or misplaced token is a 400 on `pageToken`.

use std::time::Duration;

use aws_lc_rs::{hmac, rand::SecureRandom};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::{
    error::{Error, Result},
    model::page::PageToken,
};

const VERSION: u8 = 1;
/// Tokens carry upstream continuation tokens, which go stale; a day is ample for paging.
const TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
/// Longest token accepted, before any decoding work.
pub const MAX_PAGE_TOKEN_LEN: usize = 8 * 1024;

pub struct PageTokens {
    key: hmac::Key,
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
    v: u8,
    /// Digest of operation + arguments + caller scope.
    b: String,
    /// Expiry, unix seconds.
    e: u64,
    c: C,
}

impl PageTokens {
    pub fn new(secret: Option<&[u8]>) -> Result<Self> {
        let key = match secret {
            Some(secret) => hmac::Key::new(hmac::HMAC_SHA256, secret),
            None => {
                let mut random = [0u8; 32];
                aws_lc_rs::rand::SystemRandom::new()
                    .fill(&mut random)
                    .map_err(|_| Error::internal("no randomness for the page token key"))?;
                hmac::Key::new(hmac::HMAC_SHA256, &random)
            }
        };
        Ok(Self { key })
    }

    /// `binding` must spell out everything the cursor depends on (operation, arguments, scope).
    pub fn encode<C: Serialize>(&self, binding: &PageBinding, cursor: &C) -> Result<String> {
        let envelope = Envelope { v: VERSION, b: digest(&binding.0), e: now() + TOKEN_TTL.as_secs(), c: cursor };
        let payload = serde_json::to_vec(&envelope).map_err(Error::internal)?;
        let tag = hmac::sign(&self.key, &payload);
        Ok(format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(tag.as_ref())))
    }

    pub fn decode<C: DeserializeOwned>(&self, binding: &PageBinding, token: &PageToken) -> Result<C> {
        let invalid = || token.invalid("is not a page token issued for this request; start without one");
        let field = token.field;
        let token = token.value.as_str();
        if token.len() > MAX_PAGE_TOKEN_LEN {
            return Err(invalid());
        }
        let (payload, tag) = token.split_once('.').ok_or_else(invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        hmac::verify(&self.key, &payload, &tag).map_err(|_| invalid())?;
        let envelope: Envelope<C> = serde_json::from_slice(&payload).map_err(|_| invalid())?;
        if envelope.v != VERSION || envelope.b != digest(&binding.0) {
            return Err(invalid());
        }
        if envelope.e < now() {
            return Err(Error::invalid_field(field, "has expired; start the listing again"));
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
        let (payload, tag) = issued.split_once('.').expect("two parts");
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"v":1,"b":"x","e":99999999999,"c":{"offset":9}}"#);
        assert!(tokens.decode::<Cursor>(&b, &token(&format!("{forged_payload}.{tag}"))).is_err());
        assert!(tokens.decode::<Cursor>(&b, &token(payload)).is_err());
        assert!(tokens.decode::<Cursor>(&b, &token("")).is_err());
        assert!(tokens.decode::<Cursor>(&b, &token(&"a".repeat(MAX_PAGE_TOKEN_LEN + 1))).is_err());
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
