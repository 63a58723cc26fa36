//! Users of the directory and the newtypes that make a user valid by construction (SPEC §4).

use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("userid must be 1 to 256 bytes of UTF-8 without control characters or ':'")]
    UserId,
    #[error("email is not a valid address")]
    Email,
    #[error("role names are 1 to 64 characters of letters, digits, '_', '-' or '.'")]
    Role,
    #[error("{0} must be at most 256 characters without control characters")]
    Field(&'static str),
    #[error("name must be 1 to 128 characters without control characters")]
    Name,
    #[error(
        "scopes are 1 to 128 printable ASCII characters without spaces, quotes or backslashes"
    )]
    Scope,
    #[error("{0}")]
    Other(&'static str),
    #[error("password must be {min} to 1024 bytes")]
    Password { min: usize },
}

/// A userid: 1–256 bytes of UTF-8, no control characters, no `:` (it would split a Basic header).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let ok =
            !raw.is_empty() && raw.len() <= 256 && !raw.chars().any(|c| c.is_control() || c == ':');
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(ValidationError::UserId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, checked for shape only (one `@`, a dot-free-or-not domain, no spaces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        let valid = raw.len() <= 254
            && raw.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            })
            && !raw.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid {
            Ok(Self(raw.to_string()))
        } else {
            Err(ValidationError::Email)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A role name such as `Administrator` or `Supervisor`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Role(String);

impl Role {
    pub const ADMINISTRATOR: &'static str = "Administrator";
    pub const SUPERVISOR: &'static str = "Supervisor";

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(ValidationError::Role)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Role::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A user of the directory. `password_hash` is an argon2id PHC string, never a password.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub userid: UserId,
    pub email: Option<Email>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub roles: Vec<Role>,
    pub provider: Option<String>,
    pub domain: Option<String>,
    pub disabled: bool,
    pub password_hash: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// The stored version this value was read at (0: not stored yet); see `storage`.
    pub version: u64,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("userid", &self.userid)
            .field("roles", &self.roles)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

impl User {
    pub fn has_any_role(&self, allowed: &[Role]) -> bool {
        self.roles.iter().any(|r| allowed.contains(r))
    }
}

/// A user to create, validated at the edge. The password is still clear text here; the auth
/// layer hashes it and drops it.
pub struct NewUser {
    pub userid: UserId,
    pub password: String,
    pub email: Option<Email>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub roles: Vec<Role>,
    pub provider: Option<String>,
    pub domain: Option<String>,
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("userid", &self.userid)
            .field("password", &"<redacted>")
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

impl NewUser {
    /// Checks the password length policy (SPEC §2 `passwords.min_length`, at most 1024 bytes;
    /// length counted in characters as NIST SP 800-63B asks, the cap in bytes).
    pub fn check_password(password: &str, min_length: usize) -> Result<(), ValidationError> {
        if password.chars().count() < min_length || password.len() > 1024 {
            return Err(ValidationError::Password { min: min_length });
        }
        Ok(())
    }

    /// Validates an optional free-text profile field.
    pub fn text_field(
        name: &'static str,
        value: Option<String>,
    ) -> Result<Option<String>, ValidationError> {
        match value {
            Some(v) if v.chars().count() > 256 || v.chars().any(char::is_control) => {
                Err(ValidationError::Field(name))
            }
            Some(v) if v.is_empty() => Ok(None),
            other => Ok(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userid_rules() {
        assert!(UserId::parse("alice").is_ok());
        assert!(UserId::parse("élodie@example.com").is_ok());
        assert!(UserId::parse(&"a".repeat(256)).is_ok());
        assert_eq!(UserId::parse(""), Err(ValidationError::UserId));
        assert_eq!(
            UserId::parse(&"a".repeat(257)),
            Err(ValidationError::UserId)
        );
        assert_eq!(UserId::parse("a:b"), Err(ValidationError::UserId));
        assert_eq!(UserId::parse("a\nb"), Err(ValidationError::UserId));
    }

    #[test]
    fn email_shape() {
        assert!(Email::parse("a@example.com").is_ok());
        assert!(Email::parse("a@@example.com").is_err());
        assert!(Email::parse("@example.com").is_err());
        assert!(Email::parse("a b@example.com").is_err());
    }

    #[test]
    fn password_policy_counts_characters_and_caps_bytes() {
        assert!(NewUser::check_password("ééééééé", 8).is_err());
        assert!(NewUser::check_password("éééééééé", 8).is_ok());
        assert!(NewUser::check_password(&"x".repeat(1025), 8).is_err());
    }

    #[test]
    fn debug_never_shows_the_hash() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let user = User {
            userid: UserId::parse("bob").expect("valid"),
            email: None,
            firstname: None,
            lastname: None,
            roles: vec![],
            provider: None,
            domain: None,
            disabled: false,
            password_hash: "$argon2id$secret".into(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        assert!(!format!("{user:?}").contains("argon2id"));
    }
}
