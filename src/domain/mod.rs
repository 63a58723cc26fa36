//! Domain types that are valid once built: users, roles, sessions. No I/O here.

mod app;
mod ids;
mod session;
mod user;

pub use app::{
    AccessPair, ApiKey, Application, DeviceToken, GraceSecret, Name, OAuthClient, Scope,
};
pub use ids::{AppId, ClientId, KeyId, PairId};
pub use session::{RefreshTokenRecord, Session, SessionId};
pub use user::{Email, NewUser, Role, User, UserId, ValidationError};

mod keys;
pub use keys::{SigningAlg, StoredSigningKey};
