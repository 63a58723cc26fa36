//! JWT signing keys: generation for each supported algorithm, the key ring that signs with the
//! active key and verifies with any known one, and the public JWKS (RFC 7517).

use crate::domain::{SigningAlg, StoredSigningKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey};
use rand::rngs::OsRng;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use time::OffsetDateTime;

/// The most verified tokens a key set remembers (about 80 bytes each). Past it, expired entries
/// are dropped, and if that frees nothing the whole memory is forgotten and refills.
const MAX_VERIFIED: usize = 50_000;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("signing key {kid}: {reason}")]
    Invalid { kid: String, reason: String },
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error("there is no active signing key")]
    NoActiveKey,
    #[error("signing failed: {0}")]
    Sign(String),
}

/// A private key parsed once, when the ring is built, rather than on every signature
/// (jsonwebtoken's `encode` re-parses the DER and re-derives the public key each time, which
/// more than doubles the cost of an Ed25519 signature).
enum Signer {
    Ed25519(Box<ed25519_dalek::SigningKey>),
    Es256(Box<p256::ecdsa::SigningKey>),
    Rs256(Box<rsa::pkcs1v15::SigningKey<Sha256>>),
    Hs256(Hmac<Sha256>),
}

impl Signer {
    /// The JWS signature (RFC 7515 §5.1, RFC 7518 §3) over `message`, raw bytes.
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Ed25519(key) => {
                use ed25519_dalek::Signer as _;
                key.sign(message).to_bytes().to_vec()
            }
            Self::Es256(key) => {
                use p256::ecdsa::signature::Signer as _;
                // RFC 7518 §3.4: R || S, 32 bytes each (RFC 6979 deterministic nonces).
                let signature: p256::ecdsa::Signature = key.sign(message);
                signature.to_bytes().to_vec()
            }
            Self::Rs256(key) => {
                use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _};
                // Blinded with fresh randomness on every signature.
                key.sign_with_rng(&mut OsRng, message).to_vec()
            }
            Self::Hs256(mac) => {
                let mut mac = mac.clone();
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }
}

/// One usable key: what signs, what verifies, and what is published.
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    /// The JWA name written into the `alg` header.
    alg_name: &'static str,
    signer: Signer,
    decoding: DecodingKey,
    /// The public JWK; `None` for HS256, whose key is never published.
    jwk: Option<Value>,
    pub created_at: OffsetDateTime,
    pub retired_at: Option<OffsetDateTime>,
}

impl SigningKey {
    pub fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }

    fn from_stored(stored: &StoredSigningKey) -> Result<Self, KeyError> {
        let invalid = |reason: String| KeyError::Invalid {
            kid: stored.kid.clone(),
            reason,
        };
        let (alg, signer, decoding, jwk) = match stored.alg.as_str() {
            "EdDSA" => {
                use ed25519_dalek::pkcs8::DecodePrivateKey;
                let key = ed25519_dalek::SigningKey::from_pkcs8_der(&stored.private)
                    .map_err(|e| invalid(e.to_string()))?;
                let x = B64URL.encode(key.verifying_key().to_bytes());
                let decoding =
                    DecodingKey::from_ed_components(&x).map_err(|e| invalid(e.to_string()))?;
                let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": x});
                (
                    Algorithm::EdDSA,
                    Signer::Ed25519(Box::new(key)),
                    decoding,
                    Some(jwk),
                )
            }
            "ES256" => {
                use p256::pkcs8::DecodePrivateKey;
                let key = p256::ecdsa::SigningKey::from_pkcs8_der(&stored.private)
                    .map_err(|e| invalid(e.to_string()))?;
                let point = key.verifying_key().to_encoded_point(false);
                let (Some(x), Some(y)) = (point.x(), point.y()) else {
                    return Err(invalid("public point is not affine".into()));
                };
                let (x, y) = (B64URL.encode(x), B64URL.encode(y));
                let decoding =
                    DecodingKey::from_ec_components(&x, &y).map_err(|e| invalid(e.to_string()))?;
                let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y});
                (
                    Algorithm::ES256,
                    Signer::Es256(Box::new(key)),
                    decoding,
                    Some(jwk),
                )
            }
            "RS256" => {
                use rsa::pkcs1::DecodeRsaPrivateKey;
                use rsa::traits::PublicKeyParts;
                let key = rsa::RsaPrivateKey::from_pkcs1_der(&stored.private)
                    .map_err(|e| invalid(e.to_string()))?;
                let (n, e) = (key.n().to_bytes_be(), key.e().to_bytes_be());
                let decoding = DecodingKey::from_rsa_raw_components(&n, &e);
                let jwk = json!({"kty": "RSA", "n": B64URL.encode(&n), "e": B64URL.encode(&e)});
                (
                    Algorithm::RS256,
                    Signer::Rs256(Box::new(rsa::pkcs1v15::SigningKey::new(key))),
                    decoding,
                    Some(jwk),
                )
            }
            "HS256" => {
                if stored.private.len() < 32 {
                    return Err(invalid("HS256 secret shorter than 32 bytes".into()));
                }
                let mac = <Hmac<Sha256> as Mac>::new_from_slice(&stored.private)
                    .map_err(|e| invalid(e.to_string()))?;
                (
                    Algorithm::HS256,
                    Signer::Hs256(mac),
                    DecodingKey::from_secret(&stored.private),
                    None,
                )
            }
            other => return Err(invalid(format!("unknown algorithm {other}"))),
        };
        let jwk = jwk.map(|mut jwk| {
            jwk["kid"] = json!(stored.kid);
            jwk["alg"] = json!(stored.alg);
            jwk["use"] = json!("sig");
            jwk
        });
        let alg_name = match alg {
            Algorithm::EdDSA => "EdDSA",
            Algorithm::ES256 => "ES256",
            Algorithm::RS256 => "RS256",
            _ => "HS256",
        };
        Ok(Self {
            kid: stored.kid.clone(),
            alg,
            alg_name,
            signer,
            decoding,
            jwk,
            created_at: stored.created_at,
            retired_at: stored.retired_at,
        })
    }
}

/// Makes a new key for `alg`, ready to store. The caller decides whether it is active.
pub fn generate(alg: SigningAlg, now: OffsetDateTime) -> Result<StoredSigningKey, KeyError> {
    let gen = |e: String| KeyError::Generate(e);
    let private = match alg {
        SigningAlg::EdDSA => {
            use ed25519_dalek::pkcs8::EncodePrivateKey;
            let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
            let der = key.to_pkcs8_der().map_err(|e| gen(e.to_string()))?;
            der.as_bytes().to_vec()
        }
        SigningAlg::ES256 => {
            use p256::pkcs8::EncodePrivateKey;
            let key = p256::ecdsa::SigningKey::random(&mut OsRng);
            let der = key.to_pkcs8_der().map_err(|e| gen(e.to_string()))?;
            der.as_bytes().to_vec()
        }
        SigningAlg::RS256 => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut OsRng, 2048).map_err(|e| gen(e.to_string()))?;
            let der = key.to_pkcs1_der().map_err(|e| gen(e.to_string()))?;
            der.as_bytes().to_vec()
        }
        SigningAlg::HS256 => crate::crypto::random_bytes::<32>().to_vec(),
    };
    Ok(StoredSigningKey {
        kid: B64URL.encode(crate::crypto::random_bytes::<16>()),
        alg: alg.name().to_string(),
        private,
        created_at: now,
        active: true,
        retired_at: None,
        sealed: false,
    })
}

/// The keys of one moment, and the tokens verified with them. A rotation builds a new set, so
/// the memory of verified tokens never outlives the keys that verified them.
pub struct KeySet {
    active: Arc<SigningKey>,
    by_kid: HashMap<String, Arc<SigningKey>>,
    /// Fingerprints of tokens whose signature and fixed claims were verified with these keys,
    /// each with the token's `exp` (unix seconds). Issue 6: a service introspects the same
    /// claims token many times, and a public-key verification costs tens of microseconds.
    verified: RwLock<HashMap<[u8; 32], i64>>,
    /// Which keys these are, and which of them are active: a ring read again from the store
    /// is rebuilt only when this changed.
    identity: Vec<(String, bool)>,
}

fn identity(stored: &[StoredSigningKey]) -> Vec<(String, bool)> {
    let mut ids: Vec<_> = stored.iter().map(|k| (k.kid.clone(), k.active)).collect();
    ids.sort();
    ids
}

impl KeySet {
    pub fn get(&self, kid: &str) -> Option<&Arc<SigningKey>> {
        self.by_kid.get(kid)
    }

    /// Whether the token with this fingerprint was verified with these keys and has not
    /// expired (`now` in unix seconds).
    pub fn recall(&self, fingerprint: &[u8; 32], now: i64) -> bool {
        let verified = self.verified.read().unwrap_or_else(|e| e.into_inner());
        verified.get(fingerprint).is_some_and(|&exp| now < exp)
    }

    /// Notes a token verified in full, until its `exp`.
    pub fn remember(&self, fingerprint: [u8; 32], exp: i64, now: i64) {
        if exp <= now {
            return;
        }
        let mut verified = self.verified.write().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= MAX_VERIFIED {
            verified.retain(|_, &mut e| now < e);
            if verified.len() >= MAX_VERIFIED {
                verified.clear();
            }
        }
        verified.insert(fingerprint, exp);
    }

    /// Whether `stored` are these keys, with the same one active.
    pub fn identity_matches(&self, stored: &[StoredSigningKey]) -> bool {
        self.identity == identity(stored)
    }

    /// How many verified tokens are remembered (for tests).
    pub fn remembered(&self) -> usize {
        self.verified
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

#[derive(Serialize)]
struct JwsHeader<'a> {
    typ: &'a str,
    alg: &'a str,
    kid: &'a str,
}

/// The keys tessera signs and verifies with. Swapped whole on rotation.
pub struct KeyRing {
    set: RwLock<Arc<KeySet>>,
}

impl KeyRing {
    pub fn new(stored: &[StoredSigningKey]) -> Result<Self, KeyError> {
        Ok(Self {
            set: RwLock::new(Arc::new(Self::build(stored)?)),
        })
    }

    fn build(stored: &[StoredSigningKey]) -> Result<KeySet, KeyError> {
        let mut by_kid = HashMap::new();
        let mut active = None;
        for key in stored {
            let usable = Arc::new(SigningKey::from_stored(key)?);
            // The newest active key signs, should a crash ever leave two marked active.
            if key.active
                && active
                    .as_ref()
                    .is_none_or(|a: &Arc<SigningKey>| a.created_at <= usable.created_at)
            {
                active = Some(usable.clone());
            }
            by_kid.insert(key.kid.clone(), usable);
        }
        let active = active.ok_or(KeyError::NoActiveKey)?;
        Ok(KeySet {
            active,
            by_kid,
            verified: RwLock::new(HashMap::new()),
            identity: identity(stored),
        })
    }

    /// [`replace`](Self::replace), unless `stored` are the keys in force already (the same
    /// kids, the same active one): the memory of verified tokens is kept then. Says whether
    /// the ring changed.
    pub fn replace_if_changed(&self, stored: &[StoredSigningKey]) -> Result<bool, KeyError> {
        if self.current().identity == identity(stored) {
            return Ok(false);
        }
        self.replace(stored)?;
        Ok(true)
    }

    /// Replaces the whole ring (after a rotation).
    pub fn replace(&self, stored: &[StoredSigningKey]) -> Result<(), KeyError> {
        let set = Arc::new(Self::build(stored)?);
        *self.set.write().unwrap_or_else(|e| e.into_inner()) = set;
        Ok(())
    }

    /// The keys as they are now; a verification uses one snapshot from start to end.
    pub fn current(&self) -> Arc<KeySet> {
        self.set.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn get(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.current().by_kid.get(kid).cloned()
    }

    /// Signs `claims` with the active key as a compact JWS (RFC 7515 §7.1), with `typ`, `alg`
    /// and `kid` in the header.
    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, KeyError> {
        let key = self.current().active.clone();
        let header = serde_json::to_vec(&JwsHeader {
            typ,
            alg: key.alg_name,
            kid: &key.kid,
        })
        .map_err(|e| KeyError::Sign(e.to_string()))?;
        let payload = serde_json::to_vec(claims).map_err(|e| KeyError::Sign(e.to_string()))?;
        let mut token = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 520);
        B64URL.encode_string(&header, &mut token);
        token.push('.');
        B64URL.encode_string(&payload, &mut token);
        let signature = key.signer.sign(token.as_bytes());
        token.push('.');
        B64URL.encode_string(&signature, &mut token);
        Ok(token)
    }

    /// The public keys still needed to verify live tokens: every key not retired longer ago
    /// than `max_token_lifetime` (SPEC §4: retired keys stay until their last token expires).
    pub fn jwks(&self, now: OffsetDateTime, max_token_lifetime: time::Duration) -> Value {
        let set = self.current();
        let mut keys: Vec<&Arc<SigningKey>> = set
            .by_kid
            .values()
            .filter(|k| k.retired_at.is_none_or(|r| r + max_token_lifetime > now))
            .collect();
        keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.kid.cmp(&b.kid)));
        let keys: Vec<&Value> = keys.iter().filter_map(|k| k.jwk.as_ref()).collect();
        json!({ "keys": keys })
    }

    /// The JWA names of the algorithms of the keys in the ring.
    pub fn algorithms(&self) -> Vec<String> {
        let mut algs: Vec<String> = self
            .current()
            .by_kid
            .values()
            .map(|k| format!("{:?}", k.alg))
            .collect();
        algs.sort();
        algs.dedup();
        algs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Claims {
        sub: String,
        exp: i64,
    }

    fn round_trip(alg: SigningAlg) {
        let stored = generate(alg, OffsetDateTime::UNIX_EPOCH).expect("generate");
        let ring = KeyRing::new(std::slice::from_ref(&stored)).expect("ring");
        let claims = Claims {
            sub: "alice".into(),
            exp: 4_000_000_000,
        };
        let token = ring.sign("JWT", &claims).expect("sign");
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.kid.as_deref(), Some(stored.kid.as_str()));
        let key = ring.get(&stored.kid).expect("known kid");
        let validation = jsonwebtoken::Validation::new(key.alg);
        let data = jsonwebtoken::decode::<Claims>(&token, key.decoding_key(), &validation)
            .expect("verifies");
        assert_eq!(data.claims, claims);
        let jwks = ring.jwks(OffsetDateTime::UNIX_EPOCH, time::Duration::hours(1));
        let published = jwks["keys"].as_array().expect("array").len();
        assert_eq!(published, usize::from(alg != SigningAlg::HS256));
    }

    #[test]
    fn eddsa_signs_and_verifies() {
        round_trip(SigningAlg::EdDSA);
    }

    #[test]
    fn es256_signs_and_verifies() {
        round_trip(SigningAlg::ES256);
    }

    #[test]
    fn hs256_signs_and_is_never_published() {
        round_trip(SigningAlg::HS256);
    }

    #[test]
    fn rs256_signs_and_verifies() {
        round_trip(SigningAlg::RS256);
    }

    #[test]
    fn retired_key_leaves_the_jwks_after_the_longest_token_lifetime() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut old = generate(SigningAlg::EdDSA, t0).expect("generate");
        old.active = false;
        old.retired_at = Some(t0);
        let new = generate(SigningAlg::EdDSA, t0).expect("generate");
        let ring = KeyRing::new(&[old, new]).expect("ring");
        let hour = time::Duration::hours(1);
        let count = |now| ring.jwks(now, hour)["keys"].as_array().map_or(0, Vec::len);
        assert_eq!(count(t0 + time::Duration::minutes(59)), 2);
        assert_eq!(count(t0 + time::Duration::minutes(61)), 1);
    }
}
