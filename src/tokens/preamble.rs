//! Configuration-Server-style preamble tokens (SPEC §5): short-lived HMAC-SHA256 tokens that
//! go where a password goes, so a trusted issuer can log a user in without the password.
//!
//! ```text
//! token = token_preambula + base64url_nopad( 0x01 || start || exp || mac )
//! start = not-before, Unix seconds, 4 bytes big-endian
//! exp   = expiry, Unix seconds, 4 bytes big-endian
//! mac   = first 24 bytes of HMAC-SHA256(K, 0x01 || start || exp || UTF-8(userid))
//! K     = HMAC-SHA256(key = UTF-8(token_uuid, lowercase hyphenated), msg = "tessera-preamble-v1")
//! ```

use crate::crypto::ct_eq;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use uuid::Uuid;

const VERSION: u8 = 0x01;
const MAC_LEN: usize = 24;
const RAW_LEN: usize = 1 + 4 + 4 + MAC_LEN;
const KEY_LABEL: &[u8] = b"tessera-preamble-v1";

/// The derived key K. Built once per `token_uuid`; never printed.
#[derive(Clone)]
pub struct PreambleKey([u8; 32]);

impl fmt::Debug for PreambleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PreambleKey(<redacted>)")
    }
}

#[expect(clippy::expect_used, reason = "HMAC accepts keys of every length")]
fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl PreambleKey {
    /// K from a `token_uuid` (any UUID spelling; it is normalised to lowercase hyphenated).
    pub fn derive(token_uuid: &Uuid) -> Self {
        let canonical = token_uuid.hyphenated().to_string();
        Self(hmac(canonical.as_bytes(), &[KEY_LABEL]))
    }

    fn mac(&self, start: u32, exp: u32, userid: &str) -> [u8; MAC_LEN] {
        let full = hmac(
            &self.0,
            &[
                &[VERSION],
                &start.to_be_bytes(),
                &exp.to_be_bytes(),
                userid.as_bytes(),
            ],
        );
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// Mints a token for `userid`, valid from `start` to `exp` (Unix seconds).
    pub fn mint(&self, preambula: &str, userid: &str, start: u32, exp: u32) -> String {
        let mut raw = Vec::with_capacity(RAW_LEN);
        raw.push(VERSION);
        raw.extend_from_slice(&start.to_be_bytes());
        raw.extend_from_slice(&exp.to_be_bytes());
        raw.extend_from_slice(&self.mac(start, exp, userid));
        format!("{preambula}{}", B64URL.encode(raw))
    }

    /// Checks a token's mac for `userid`; returns its (start, exp). The time window is the
    /// caller's to apply ([`Window::admits`]), as it depends on live settings.
    pub fn verify(&self, preambula: &str, token: &str, userid: &str) -> Option<(u32, u32)> {
        let body = token.strip_prefix(preambula)?;
        let raw = B64URL.decode(body).ok()?;
        if raw.len() != RAW_LEN || raw[0] != VERSION {
            return None;
        }
        let start = u32::from_be_bytes(raw[1..5].try_into().ok()?);
        let exp = u32::from_be_bytes(raw[5..9].try_into().ok()?);
        ct_eq(&raw[9..], &self.mac(start, exp, userid)).then_some((start, exp))
    }
}

/// The expiry a token claims, read without checking its mac: only to know how long a
/// revocation of it must be remembered.
pub fn claimed_expiry(preambula: &str, token: &str) -> Option<u32> {
    let raw = B64URL.decode(token.strip_prefix(preambula)?).ok()?;
    (raw.len() == RAW_LEN && raw[0] == VERSION)
        .then(|| raw[5..9].try_into().ok().map(u32::from_be_bytes))
        .flatten()
}

/// The key under which a revoked token is remembered: tokens are stateless, so a
/// revocation names the token by its hash.
pub fn revocation_id(token: &str) -> String {
    let digest = crate::crypto::sha256(token.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("preamble:{hex}")
}

/// Configuration Server's `token-ttl` and `token-tolerance` (SPEC §5).
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub ttl_seconds: i64,
    pub tolerance_seconds: i64,
}

impl Window {
    /// `max(start, exp - ttl) - tolerance <= now <= exp + tolerance`.
    pub fn admits(&self, start: u32, exp: u32, now: i64) -> bool {
        let (start, exp) = (i64::from(start), i64::from(exp));
        let from = start.max(exp - self.ttl_seconds) - self.tolerance_seconds;
        from <= now && now <= exp + self.tolerance_seconds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PreambleKey {
        PreambleKey::derive(&Uuid::parse_str("6F9619FF-8B86-D011-B42D-00C04FC964FF").expect("uuid"))
    }

    #[test]
    fn a_token_with_pxz_is_49_bytes_whatever_the_userid() {
        for userid in ["a", &"x".repeat(256)] {
            let token = key().mint("{PXZ}", userid, 1_700_000_000, 1_700_000_600);
            assert_eq!(token.len(), 49);
            assert!(token.starts_with("{PXZ}"));
        }
    }

    #[test]
    fn verify_returns_the_times_for_the_right_user_only() {
        let token = key().mint("{PXZ}", "alice", 10, 20);
        assert_eq!(key().verify("{PXZ}", &token, "alice"), Some((10, 20)));
        assert_eq!(key().verify("{PXZ}", &token, "bob"), None);
        assert_eq!(key().verify("{ABC}", &token, "alice"), None);
        let other = PreambleKey::derive(&Uuid::new_v4());
        assert_eq!(other.verify("{PXZ}", &token, "alice"), None);
    }

    #[test]
    fn the_window_follows_ttl_and_tolerance() {
        let w = Window {
            ttl_seconds: 1440 * 60,
            tolerance_seconds: 60,
        };
        assert!(w.admits(1000, 1600, 1000));
        assert!(
            w.admits(1000, 1600, 940),
            "inside the tolerance before start"
        );
        assert!(!w.admits(1000, 1600, 939));
        assert!(w.admits(1000, 1600, 1660), "inside the tolerance after exp");
        assert!(!w.admits(1000, 1600, 1661));
        let short = Window {
            ttl_seconds: 100,
            tolerance_seconds: 0,
        };
        assert!(
            !short.admits(1000, 1600, 1499),
            "older than the ttl before exp"
        );
        assert!(short.admits(1000, 1600, 1500));
    }

    #[test]
    fn published_test_vector() {
        // README "Preamble tokens" publishes this vector for other issuers.
        let uuid = Uuid::parse_str("6f9619ff-8b86-d011-b42d-00c04fc964ff").expect("uuid");
        let token = PreambleKey::derive(&uuid).mint("{PXZ}", "alice", 1_700_000_000, 1_700_000_600);
        assert_eq!(
            token,
            include_str!("../../tests/vectors/preamble-alice.txt").trim()
        );
    }
}
