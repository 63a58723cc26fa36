//! Volt MX OAuth AccessToken/AccessSecret pairs. The AccessToken is the pair's public id (a
//! UUID in 32 hex digits); the AccessSecret (`tsa_`) carries the same id, so the two must be
//! presented together and must belong together.

use super::secret::{self, GeneratedSecret, ParsedSecret, SecretKind};
use crate::domain::PairId;
use uuid::Uuid;

/// A new pair: the AccessToken text and the AccessSecret.
pub fn mint() -> (String, GeneratedSecret) {
    let secret = GeneratedSecret::new(SecretKind::AccessSecret);
    (secret.id.simple().to_string(), secret)
}

/// The AccessToken text of a pair id.
pub fn access_token(id: PairId) -> String {
    id.0.simple().to_string()
}

/// Parses an AccessToken alone (its id); `None` if it is not one.
pub fn parse_access_token(text: &str) -> Option<PairId> {
    let text = text.trim();
    (text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| Uuid::try_parse(text).ok().map(PairId))
        .flatten()
}

/// Parses both halves; `None` unless each is well formed and they name the same pair.
pub fn parse(access_token: &str, access_secret: &str) -> Option<ParsedSecret> {
    let id = parse_access_token(access_token)?;
    let secret = secret::parse(SecretKind::AccessSecret, access_secret.trim())?;
    (secret.id == id.0).then_some(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_must_belong_together() {
        let (token, secret) = mint();
        assert!(parse(&token, secret.expose()).is_some());
        let (other, _) = mint();
        assert!(parse(&other, secret.expose()).is_none());
        assert!(parse(&token, "tsa_x").is_none());
        assert!(parse_access_token("not-hex").is_none());
    }
}
