//! Domain types that are valid once built: users, roles, sessions. No I/O here.

mod session;
mod user;

pub use session::{RefreshTokenRecord, Session, SessionId};
pub use user::{Email, NewUser, Role, User, UserId, ValidationError};

mod keys;
pub use keys::StoredSigningKey;
