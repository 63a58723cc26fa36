//! A signing key as kept by the store: its material and where it is in its life.

use serde::Deserialize;
use std::fmt;
use time::OffsetDateTime;

/// The algorithm of a signing key (`tokens.signing_alg`, SPEC §2 and §4). The variant names
/// are the JWA names (RFC 7518 §3.1), which are also the config file's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum SigningAlg {
    #[default]
    EdDSA,
    ES256,
    RS256,
    HS256,
}

impl SigningAlg {
    /// The JWA name, as written into a JWS header and a stored key's `alg`.
    pub fn name(self) -> &'static str {
        match self {
            SigningAlg::EdDSA => "EdDSA",
            SigningAlg::ES256 => "ES256",
            SigningAlg::RS256 => "RS256",
            SigningAlg::HS256 => "HS256",
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::SigningAlg;

    #[test]
    fn signing_alg_parses_by_its_jwa_name() {
        #[derive(serde::Deserialize)]
        struct T {
            alg: SigningAlg,
        }
        for alg in [
            SigningAlg::EdDSA,
            SigningAlg::ES256,
            SigningAlg::RS256,
            SigningAlg::HS256,
        ] {
            let parsed: T = toml::from_str(&format!("alg = \"{}\"", alg.name())).unwrap();
            assert_eq!(parsed.alg, alg);
        }
        assert!(toml::from_str::<T>("alg = \"eddsa\"").is_err());
    }
}
