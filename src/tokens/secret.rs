//! The format of every secret tessera generates (SPEC §4): a prefix naming the kind, an id for
//! lookup, 256 random bits and a checksum, all in lowercase base32.
//!
//! ```text
//! secret = prefix || base32( id[16] || random[32] || check[4] )
//! check  = SHA-256( prefix || id || random )[0..4]
//! ```
//! The checksum rejects a mistyped or truncated secret before any store lookup; the prefix lets
//! secret scanners find leaked ones. The store keeps only SHA-256 of the whole string.

use crate::crypto::{ct_eq, random_bytes, sha256};
use std::fmt;
use uuid::Uuid;

/// The kinds of generated secret, each with its own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    RefreshToken,
    ApiKey,
    DeviceToken,
    AccessSecret,
    ClientSecret,
}

impl SecretKind {
    pub const ALL: [SecretKind; 5] = [
        SecretKind::RefreshToken,
        SecretKind::ApiKey,
        SecretKind::DeviceToken,
        SecretKind::AccessSecret,
        SecretKind::ClientSecret,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            SecretKind::RefreshToken => "tsr_",
            SecretKind::ApiKey => "tsk_",
            SecretKind::DeviceToken => "tsd_",
            SecretKind::AccessSecret => "tsa_",
            SecretKind::ClientSecret => "tsc_",
        }
    }

    /// The kind a text claims to be by its prefix, if any.
    pub fn of(text: &str) -> Option<SecretKind> {
        Self::ALL.into_iter().find(|k| text.starts_with(k.prefix()))
    }
}

const ID_LEN: usize = 16;
const RANDOM_LEN: usize = 32;
const CHECK_LEN: usize = 4;
const RAW_LEN: usize = ID_LEN + RANDOM_LEN + CHECK_LEN;
/// ceil(52 × 8 / 5)
const ENCODED_LEN: usize = 84;

/// A freshly generated secret. Its text is shown once; only [`GeneratedSecret::hash`] is kept.
pub struct GeneratedSecret {
    pub kind: SecretKind,
    pub id: Uuid,
    text: String,
}

impl GeneratedSecret {
    pub fn new(kind: SecretKind) -> Self {
        Self::with_id(kind, Uuid::new_v4())
    }

    /// A new secret for an existing id (a refreshed API key keeps its id).
    pub fn with_id(kind: SecretKind, id: Uuid) -> Self {
        let random = random_bytes::<RANDOM_LEN>();
        let mut raw = Vec::with_capacity(RAW_LEN);
        raw.extend_from_slice(id.as_bytes());
        raw.extend_from_slice(&random);
        let check = checksum(kind, &raw);
        raw.extend_from_slice(&check);
        let text = format!("{}{}", kind.prefix(), base32_encode(&raw));
        Self { kind, id, text }
    }

    pub fn expose(&self) -> &str {
        &self.text
    }

    pub fn hash(&self) -> [u8; 32] {
        sha256(self.text.as_bytes())
    }
}

impl fmt::Debug for GeneratedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "GeneratedSecret({:?}, {}, <redacted>)",
            self.kind, self.id
        )
    }
}

/// A presented secret whose prefix and checksum are right: its id and the hash to compare.
#[derive(Clone, PartialEq, Eq)]
pub struct ParsedSecret {
    pub kind: SecretKind,
    pub id: Uuid,
    pub hash: [u8; 32],
}

impl fmt::Debug for ParsedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ParsedSecret({:?}, {})", self.kind, self.id)
    }
}

impl ParsedSecret {
    /// Whether `stored` is the hash of this secret, compared in constant time.
    pub fn matches(&self, stored: &[u8; 32]) -> bool {
        ct_eq(&self.hash, stored)
    }
}

/// Parses `text` as a secret of `kind`; `None` for any other text, before any lookup.
pub fn parse(kind: SecretKind, text: &str) -> Option<ParsedSecret> {
    let body = text.strip_prefix(kind.prefix())?;
    if body.len() != ENCODED_LEN {
        return None;
    }
    let raw = base32_decode(body)?;
    let (payload, check) = raw.split_at(ID_LEN + RANDOM_LEN);
    if !ct_eq(&checksum(kind, payload), check) {
        return None;
    }
    let id = Uuid::from_slice(&payload[..ID_LEN]).ok()?;
    Some(ParsedSecret {
        kind,
        id,
        hash: sha256(text.as_bytes()),
    })
}

fn checksum(kind: SecretKind, payload: &[u8]) -> [u8; CHECK_LEN] {
    let mut input = Vec::with_capacity(kind.prefix().len() + payload.len());
    input.extend_from_slice(kind.prefix().as_bytes());
    input.extend_from_slice(payload);
    let digest = sha256(&input);
    [digest[0], digest[1], digest[2], digest[3]]
}

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// RFC 4648 base32 in lowercase, without padding.
fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
        buffer &= (1 << bits) - 1;
    }
    // Leftover bits must be zero, so every secret has exactly one spelling.
    (buffer == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secret_parses_back_with_its_id() {
        for kind in SecretKind::ALL {
            let secret = GeneratedSecret::new(kind);
            assert!(secret.expose().starts_with(kind.prefix()));
            assert_eq!(secret.expose().len(), kind.prefix().len() + ENCODED_LEN);
            let parsed = parse(kind, secret.expose()).expect("parses");
            assert_eq!(parsed.id, secret.id);
            assert!(parsed.matches(&secret.hash()));
        }
    }

    #[test]
    fn prefixes_are_distinct_and_a_kind_is_not_another() {
        let secret = GeneratedSecret::new(SecretKind::RefreshToken);
        assert!(parse(SecretKind::ApiKey, secret.expose()).is_none());
        let mut prefixes: Vec<_> = SecretKind::ALL.iter().map(|k| k.prefix()).collect();
        prefixes.dedup();
        assert_eq!(prefixes.len(), SecretKind::ALL.len());
    }

    #[test]
    fn a_typo_or_truncation_fails_the_checksum() {
        let secret = GeneratedSecret::new(SecretKind::ApiKey);
        let text = secret.expose();
        assert!(parse(SecretKind::ApiKey, &text[..text.len() - 1]).is_none());
        for i in [4, 20, 50, text.len() - 1] {
            let mut bytes = text.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes).expect("ascii");
            assert!(parse(SecretKind::ApiKey, &typo).is_none(), "typo at {i}");
        }
        assert!(parse(SecretKind::ApiKey, &text.to_uppercase()).is_none());
    }

    #[test]
    fn base32_matches_rfc_4648_vectors() {
        assert_eq!(base32_encode(b"foobar"), "mzxw6ytboi");
        assert_eq!(base32_decode("mzxw6ytboi").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(base32_encode(b"f"), "my");
    }

    #[test]
    fn debug_hides_the_text() {
        let secret = GeneratedSecret::new(SecretKind::DeviceToken);
        assert!(!format!("{secret:?}").contains(secret.expose()));
    }
}
