//! The claims token (SPEC §3): the Volt MX `claims_token`, a JWT naming the user, the session
//! and the user's roles, signed with the active key.

use super::jwt::{self, Expiry, TimedClaims};
use super::TokenError;
use crate::crypto::jwt::{KeyError, KeyRing};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The `typ` header of claims tokens; access tokens use `at+jwt`, so neither passes for the other.
pub const TYP: &str = "JWT";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimsToken {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub jti: String,
    /// The login session this token belongs to.
    pub sid: String,
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

impl TimedClaims for ClaimsToken {
    fn exp(&self) -> i64 {
        self.exp
    }
    fn nbf(&self) -> Option<i64> {
        self.nbf
    }
}

impl ClaimsToken {
    pub fn sign(&self, keys: &KeyRing) -> Result<String, KeyError> {
        keys.sign(TYP, self)
    }

    pub fn expires_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.exp).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    pub fn verify(
        keys: &KeyRing,
        token: &str,
        issuer: &str,
        audience: &str,
        now: OffsetDateTime,
        expiry: Expiry,
    ) -> Result<Self, TokenError> {
        jwt::verify(keys, token, TYP, issuer, audience, now, expiry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SigningAlg;

    fn ring() -> KeyRing {
        let key = crate::crypto::jwt::generate(SigningAlg::EdDSA, OffsetDateTime::UNIX_EPOCH)
            .expect("key");
        KeyRing::new(&[key]).expect("ring")
    }

    fn claims(now: i64) -> ClaimsToken {
        ClaimsToken {
            iss: "https://id.example".into(),
            sub: "alice".into(),
            aud: "tessera".into(),
            iat: now,
            exp: now + 900,
            nbf: None,
            jti: "j1".into(),
            sid: "s1".into(),
            roles: vec!["Supervisor".into()],
            provider: None,
            domain: None,
        }
    }

    fn at(t: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(t).expect("valid")
    }

    #[test]
    fn verifies_until_exp_and_not_after() {
        let keys = ring();
        let token = claims(1000).sign(&keys).expect("sign");
        let check = |t, expiry| {
            ClaimsToken::verify(
                &keys,
                &token,
                "https://id.example",
                "tessera",
                at(t),
                expiry,
            )
        };
        assert_eq!(check(1899, Expiry::Enforce), Ok(claims(1000)));
        assert_eq!(check(1900, Expiry::Enforce), Err(TokenError::Expired));
        assert!(check(5000, Expiry::Ignore).is_ok());
    }

    #[test]
    fn wrong_issuer_audience_or_typ_is_refused() {
        let keys = ring();
        let token = claims(1000).sign(&keys).expect("sign");
        let now = at(1001);
        assert!(ClaimsToken::verify(
            &keys,
            &token,
            "https://other",
            "tessera",
            now,
            Expiry::Enforce
        )
        .is_err());
        assert!(ClaimsToken::verify(
            &keys,
            &token,
            "https://id.example",
            "other",
            now,
            Expiry::Enforce
        )
        .is_err());
        let access = keys.sign("at+jwt", &claims(1000)).expect("sign");
        assert_eq!(
            ClaimsToken::verify(
                &keys,
                &access,
                "https://id.example",
                "tessera",
                now,
                Expiry::Enforce
            ),
            Err(TokenError::WrongKind)
        );
    }

    #[test]
    fn a_remembered_token_still_expires_and_stays_bound_to_its_audience() {
        let keys = ring();
        let token = claims(1000).sign(&keys).expect("sign");
        let check = |t, audience| {
            ClaimsToken::verify(
                &keys,
                &token,
                "https://id.example",
                audience,
                at(t),
                Expiry::Enforce,
            )
        };
        assert_eq!(keys.current().remembered(), 0);
        assert_eq!(check(1001, "tessera"), Ok(claims(1000)));
        assert_eq!(keys.current().remembered(), 1);
        // The second call is answered from memory, with the same claims.
        assert_eq!(check(1002, "tessera"), Ok(claims(1000)));
        assert!(check(1003, "other").is_err());
        assert_eq!(check(1900, "tessera"), Err(TokenError::Expired));
        // A token differing in one signature character is not the remembered one.
        let mut forged = token.clone();
        let last = forged.pop().expect("non-empty");
        forged.push(if last == 'A' { 'B' } else { 'A' });
        assert!(ClaimsToken::verify(
            &keys,
            &forged,
            "https://id.example",
            "tessera",
            at(1001),
            Expiry::Enforce
        )
        .is_err());
    }

    #[test]
    fn replacing_the_keys_forgets_what_they_verified() {
        let old = crate::crypto::jwt::generate(SigningAlg::EdDSA, OffsetDateTime::UNIX_EPOCH)
            .expect("key");
        let keys = KeyRing::new(std::slice::from_ref(&old)).expect("ring");
        let token = claims(1000).sign(&keys).expect("sign");
        let check = |keys: &KeyRing| {
            ClaimsToken::verify(
                keys,
                &token,
                "https://id.example",
                "tessera",
                at(1001),
                Expiry::Enforce,
            )
        };
        assert!(check(&keys).is_ok());
        let new = crate::crypto::jwt::generate(SigningAlg::EdDSA, OffsetDateTime::UNIX_EPOCH)
            .expect("key");
        keys.replace(&[new]).expect("replace");
        assert_eq!(keys.current().remembered(), 0);
        assert_eq!(check(&keys), Err(TokenError::UnknownKey));
    }

    #[test]
    fn a_token_from_another_ring_is_unknown() {
        let token = claims(1000).sign(&ring()).expect("sign");
        assert_eq!(
            ClaimsToken::verify(
                &ring(),
                &token,
                "https://id.example",
                "tessera",
                at(1001),
                Expiry::Enforce
            ),
            Err(TokenError::UnknownKey)
        );
    }
}
