//! Applications, their API keys and device token, OAuth clients and AccessToken pairs (SPEC §4).

use super::{AppId, ClientId, KeyId, PairId, ValidationError};
use std::fmt;
use time::OffsetDateTime;

/// A display name: 1–128 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.chars().count() > 128 || raw.chars().any(char::is_control) {
            return Err(ValidationError::Name);
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An OAuth scope token (RFC 6749 §3.3: printable ASCII without space, `"` or `\`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(String);

impl Scope {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let ok = !raw.is_empty()
            && raw.len() <= 128
            && raw
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(ValidationError::Scope)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Space-joined, as in an OAuth `scope` parameter.
    pub fn join(scopes: &[Scope]) -> String {
        scopes
            .iter()
            .map(Scope::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The one device auth token of an application (stored as its SHA-256).
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceToken {
    pub hash: [u8; 32],
    pub created_at: OffsetDateTime,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Application {
    pub id: AppId,
    pub name: Name,
    pub created_at: OffsetDateTime,
    pub device_token: Option<DeviceToken>,
    /// The stored version this value was read at (0: not stored yet); see `storage`.
    pub version: u64,
}

impl fmt::Debug for Application {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Application")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A secret that still works until `valid_until` after its key was refreshed with a grace.
#[derive(Clone, PartialEq, Eq)]
pub struct GraceSecret {
    pub hash: [u8; 32],
    pub valid_until: OffsetDateTime,
}

/// An app API key. Its id is public; its secret is stored only as SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: KeyId,
    pub app_id: AppId,
    pub name: Name,
    pub hash: [u8; 32],
    pub previous: Option<GraceSecret>,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub enabled: bool,
    pub last_used_at: Option<OffsetDateTime>,
    /// The stored version this value was read at (0: not stored yet); see `storage`.
    pub version: u64,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("app_id", &self.app_id)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl ApiKey {
    pub fn is_usable(&self, now: OffsetDateTime) -> bool {
        self.enabled && self.expires_at.is_none_or(|e| now < e)
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct OAuthClient {
    pub id: ClientId,
    pub name: Name,
    pub scopes: Vec<Scope>,
    pub secret_hash: [u8; 32],
    pub created_at: OffsetDateTime,
    /// The stored version this value was read at (0: not stored yet); see `storage`.
    pub version: u64,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// An AccessToken/AccessSecret pair issued to an OAuth client (Volt MX OAuth).
#[derive(Clone, PartialEq, Eq)]
pub struct AccessPair {
    /// The AccessToken: public half, also the id of the AccessSecret.
    pub id: PairId,
    pub client_id: ClientId,
    pub secret_hash: [u8; 32],
    pub scopes: Vec<Scope>,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl fmt::Debug for AccessPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessPair")
            .field("id", &self.id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens_follow_rfc_6749() {
        assert!(Scope::parse("read:users").is_ok());
        assert!(Scope::parse("a b").is_err());
        assert!(Scope::parse("quote\"").is_err());
        assert!(Scope::parse("").is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("  web  ").map(|n| n.0), Ok("web".to_string()));
        assert!(Name::parse("").is_err());
        assert_eq!(
            Name::parse(&"x".repeat(129)).map(|n| n.0),
            Err(ValidationError::Name)
        );
        assert!(ValidationError::Name.to_string().contains("128"));
    }
}
