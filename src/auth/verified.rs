//! Remembering Basic credentials verified moments ago, so a service that calls with Basic on
//! every request pays argon2id once a minute rather than every time (issue 6).
//!
//! Nothing secret is kept: an entry is keyed by HMAC-SHA256 under a key made at start and
//! never stored, over the userid and password. It remembers the stored hash it was verified
//! against, so any password change (a new hash) forgets it at once; a disabled or deleted user
//! fails the directory lookup that every hit still makes.

use crate::crypto::{ct_eq, random_bytes};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

/// How long a verification is trusted.
const TTL: Duration = Duration::seconds(60);
/// The most entries kept; past it, expired ones are swept and then nothing new is added.
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    password_hash: String,
    until: OffsetDateTime,
}

pub struct VerifiedCredentials {
    key: [u8; 32],
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl Default for VerifiedCredentials {
    fn default() -> Self {
        Self {
            key: random_bytes::<32>(),
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl VerifiedCredentials {
    #[expect(clippy::expect_used, reason = "HMAC accepts keys of every length")]
    fn fingerprint(&self, userid: &str, password: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("any key length");
        // Length-prefixed so that ("ab", "c") and ("a", "bc") differ.
        mac.update(&(userid.len() as u64).to_be_bytes());
        mac.update(userid.as_bytes());
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Whether (userid, password) was verified against `current_hash` within the TTL.
    pub fn recall(
        &self,
        userid: &str,
        password: &str,
        current_hash: &str,
        now: OffsetDateTime,
    ) -> bool {
        let fingerprint = self.fingerprint(userid, password);
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&fingerprint).is_some_and(|e| {
            now < e.until && ct_eq(e.password_hash.as_bytes(), current_hash.as_bytes())
        })
    }

    /// Notes a successful argon2id verification.
    pub fn remember(&self, userid: &str, password: &str, password_hash: &str, now: OffsetDateTime) {
        let fingerprint = self.fingerprint(userid, password);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| now < e.until);
            if entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        entries.insert(
            fingerprint,
            Entry {
                password_hash: password_hash.to_string(),
                until: now + TTL,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_until_the_ttl_or_a_new_hash() {
        let cache = VerifiedCredentials::default();
        let t0 = OffsetDateTime::UNIX_EPOCH;
        cache.remember("alice", "pw", "$argon2id$one", t0);
        assert!(cache.recall("alice", "pw", "$argon2id$one", t0 + Duration::seconds(59)));
        assert!(!cache.recall("alice", "pw", "$argon2id$one", t0 + Duration::seconds(60)));
        assert!(
            !cache.recall("alice", "pw", "$argon2id$two", t0),
            "password changed"
        );
        assert!(
            !cache.recall("alice", "other", "$argon2id$one", t0),
            "another password"
        );
        assert!(
            !cache.recall("alicep", "w", "$argon2id$one", t0),
            "boundaries are kept"
        );
    }
}
