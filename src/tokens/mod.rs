//! One module per token kind, each with its own type, lifetime and verification (STYLE habit 8),
//! and the format shared by every secret tessera generates.

pub mod access;
pub mod api_key;
pub mod claims;
pub mod client_secret;
pub mod device;
pub mod pair;
pub mod preamble;
pub mod refresh;
pub mod secret;

/// Why a presented token was not accepted. Deliberately coarse: callers answer the same way
/// whatever the reason, and the reason only reaches the debug log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("token of another kind")]
    WrongKind,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("bad signature or claims: {0}")]
    Invalid(String),
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
}

pub mod jwt;
