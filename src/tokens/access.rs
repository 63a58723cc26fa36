//! OAuth access tokens from the client_credentials grant: JWTs of `typ: at+jwt` (RFC 9068).

use super::jwt::{self, Expiry, TimedClaims};
use super::TokenError;
use crate::crypto::jwt::{KeyError, KeyRing};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// RFC 9068 §2.1; claims tokens use `JWT`, so neither passes for the other.
pub const TYP: &str = "at+jwt";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessToken {
    pub iss: String,
    /// The client itself: there is no resource owner in client_credentials.
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    /// Space-separated scopes; always present, possibly empty.
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub jti: String,
}

impl TimedClaims for AccessToken {
    fn exp(&self) -> i64 {
        self.exp
    }
    fn nbf(&self) -> Option<i64> {
        self.nbf
    }
}

impl AccessToken {
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
    ) -> Result<Self, TokenError> {
        jwt::verify(keys, token, TYP, issuer, audience, now, Expiry::Enforce)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SigningAlg;
    use crate::tokens::claims::ClaimsToken;

    #[test]
    fn an_access_token_is_not_a_claims_token_and_back() {
        let key = crate::crypto::jwt::generate(SigningAlg::EdDSA, OffsetDateTime::UNIX_EPOCH)
            .expect("key");
        let keys = KeyRing::new(&[key]).expect("ring");
        let access = AccessToken {
            iss: "i".into(),
            sub: "c".into(),
            aud: "a".into(),
            client_id: "c".into(),
            scope: "read".into(),
            iat: 0,
            exp: 4_000_000_000,
            nbf: None,
            jti: "j".into(),
        };
        let token = access.sign(&keys).expect("sign");
        let now = OffsetDateTime::from_unix_timestamp(10).expect("valid");
        assert_eq!(
            AccessToken::verify(&keys, &token, "i", "a", now),
            Ok(access)
        );
        assert_eq!(
            ClaimsToken::verify(&keys, &token, "i", "a", now, Expiry::Enforce),
            Err(TokenError::WrongKind)
        );
    }
}
