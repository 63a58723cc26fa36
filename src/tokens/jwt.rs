//! Verification shared by the JWT kinds: the key is chosen by `kid` from our own ring only, the
//! algorithm is the key's (never the header's choice), `typ` names the kind, and the times are
//! checked against the injected clock (RFC 8725).

use super::TokenError;
use crate::crypto::jwt::KeyRing;
use jsonwebtoken::Validation;
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use time::OffsetDateTime;

/// Longer than any token tessera issues; anything bigger is refused before parsing.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// What every JWT tessera issues carries, for the time checks.
pub trait TimedClaims {
    fn exp(&self) -> i64;
    fn nbf(&self) -> Option<i64>;
}

/// Whether to enforce `exp` (logout accepts an expired claims token: ending a session is safe).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Enforce,
    Ignore,
}

/// Verifies a JWT of the kind `typ` issued by us for `audience`.
pub fn verify<T: DeserializeOwned + TimedClaims>(
    keys: &KeyRing,
    token: &str,
    typ: &str,
    issuer: &str,
    audience: &str,
    now: OffsetDateTime,
    expiry: Expiry,
) -> Result<T, TokenError> {
    if token.len() > MAX_TOKEN_BYTES || token.bytes().filter(|&b| b == b'.').count() != 2 {
        return Err(TokenError::Malformed);
    }
    let keys = keys.current();
    let now = now.unix_timestamp();
    // The same token string, verified in full for the same kind, issuer and audience with
    // these keys, needs only its times checked again.
    let fingerprint = fingerprint(token, typ, issuer, audience);
    if keys.recall(&fingerprint, now) {
        let claims = decode_payload::<T>(token)?;
        return check_times(claims, now, expiry);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
    if !typ_matches(header.typ.as_deref(), typ) {
        return Err(TokenError::WrongKind);
    }
    // We publish keys; we never fetch them. A token that asks us to is not one of ours.
    if header.jku.is_some() || header.jwk.is_some() || header.x5u.is_some() || header.x5c.is_some()
    {
        return Err(TokenError::Invalid("key-bearing header".into()));
    }
    let kid = header.kid.ok_or(TokenError::UnknownKey)?;
    let key = keys.get(&kid).ok_or(TokenError::UnknownKey)?;
    let mut validation = Validation::new(key.alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    validation.required_spec_claims = ["exp", "iss", "aud", "sub"]
        .iter()
        .map(|s| s.to_string())
        .collect::<HashSet<_>>();
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    let data = jsonwebtoken::decode::<T>(token, key.decoding_key(), &validation)
        .map_err(|e| TokenError::Invalid(e.to_string()))?;
    // jsonwebtoken also takes an array `iss` that merely contains ours; RFC 7519 §4.1.1 makes
    // `iss` one string, so hold it to exactly that (the signature is already checked).
    if single_issuer(token).as_deref() != Some(issuer) {
        return Err(TokenError::Invalid(
            "iss is not the single expected issuer".into(),
        ));
    }
    let claims = check_times(data.claims, now, expiry)?;
    keys.remember(fingerprint, claims.exp(), now);
    Ok(claims)
}

fn check_times<T: TimedClaims>(claims: T, now: i64, expiry: Expiry) -> Result<T, TokenError> {
    if expiry == Expiry::Enforce && now >= claims.exp() {
        return Err(TokenError::Expired);
    }
    if claims.nbf().is_some_and(|nbf| now < nbf) {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}

/// SHA-256 over the token and what it was verified for, each length-prefixed.
fn fingerprint(token: &str, typ: &str, issuer: &str, audience: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in [typ, issuer, audience, token] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().into()
}

/// The claims of a token whose signature is already known to be good.
fn decode_payload<T: DeserializeOwned>(token: &str) -> Result<T, TokenError> {
    use base64::Engine;
    let payload = token.split('.').nth(1).ok_or(TokenError::Malformed)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

/// The `typ` header of a JWT, read without the rest of the header (the verification that
/// follows reads it all).
pub fn typ_of(token: &str) -> Option<String> {
    use base64::Engine;
    #[derive(serde::Deserialize)]
    struct Typ {
        typ: Option<String>,
    }
    let header = token.split('.').next()?;
    if header.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    Some(
        serde_json::from_slice::<Typ>(&bytes)
            .ok()?
            .typ
            .unwrap_or_default(),
    )
}

/// The `iss` of a token's payload, if it is a single string.
fn single_issuer(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_string)
}

/// RFC 7515 §4.1.9: `typ` compares case-insensitively and may carry `application/`.
fn typ_matches(found: Option<&str>, expected: &str) -> bool {
    let Some(found) = found else { return false };
    let found = found.to_ascii_lowercase();
    let found = found.strip_prefix("application/").unwrap_or(&found);
    found == expected.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typ_comparison() {
        assert!(typ_matches(Some("JWT"), "JWT"));
        assert!(typ_matches(Some("jwt"), "JWT"));
        assert!(typ_matches(Some("application/at+jwt"), "at+jwt"));
        assert!(!typ_matches(Some("at+jwt"), "JWT"));
        assert!(!typ_matches(None, "JWT"));
    }
}
