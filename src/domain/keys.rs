//! A signing key as kept by the store: its material and where it is in its life.

use std::fmt;
use time::OffsetDateTime;

/// One JWT signing key. `private` is PKCS#8 DER (PKCS#1 for RSA) or the raw HS256 secret —
/// sealed under the master key whenever it is at rest.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSigningKey {
    pub kid: String,
    /// The JWA name: `EdDSA`, `ES256`, `RS256` or `HS256`.
    pub alg: String,
    pub private: Vec<u8>,
    pub created_at: OffsetDateTime,
    /// The key that signs new tokens; exactly one is active.
    pub active: bool,
    /// When it stopped signing; it verifies (and stays in the JWKS) until its last token expires.
    pub retired_at: Option<OffsetDateTime>,
    /// Whether `private` is sealed under the master key (SPEC §10), as every stored key is.
    pub sealed: bool,
}

impl fmt::Debug for StoredSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredSigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("active", &self.active)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}
