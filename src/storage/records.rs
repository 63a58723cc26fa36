//! Versioned on-disk records and their conversions to and from domain types (STYLE habit 6).
//!
//! Each record is JSON with a `v` tag; a new layout adds a variant and a conversion, so old
//! records keep reading. Timestamps are Unix seconds; hashes and key material are base64.

use super::StoreError;
use crate::domain::{
    AccessPair, ApiKey, AppId, Application, ClientId, DeviceToken, Email, GraceSecret, KeyId, Name,
    OAuthClient, PairId, RefreshTokenRecord, Role, Scope, Session, SessionId, StoredSigningKey,
    User, UserId,
};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Serialize, Deserialize)]
#[serde(tag = "v")]
pub(crate) enum UserRecord {
    #[serde(rename = "1")]
    V1(UserV1),
}

#[derive(Serialize, Deserialize)]
pub(crate) struct UserV1 {
    userid: String,
    email: Option<String>,
    firstname: Option<String>,
    lastname: Option<String>,
    roles: Vec<String>,
    provider: Option<String>,
    domain: Option<String>,
    disabled: bool,
    password_hash: String,
    created_at: i64,
    updated_at: i64,
    /// Absent in records written before versions (read as 0).
    #[serde(default)]
    version: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "v")]
pub(crate) enum SessionRecord {
    #[serde(rename = "1")]
    V1(SessionV1),
}

#[derive(Serialize, Deserialize)]
pub(crate) struct SessionV1 {
    id: Uuid,
    userid: String,
    provider: Option<String>,
    domain: Option<String>,
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "v")]
pub(crate) enum RefreshRecord {
    #[serde(rename = "1")]
    V1(RefreshV1),
}

#[derive(Serialize, Deserialize)]
pub(crate) struct RefreshV1 {
    id: Uuid,
    session: Uuid,
    userid: String,
    sha256: String,
    issued_at: i64,
    expires_at: i64,
    spent_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    spent_ticket: Option<u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "v")]
pub(crate) enum SigningKeyRecord {
    #[serde(rename = "1")]
    V1(SigningKeyV1),
}

#[derive(Serialize, Deserialize)]
pub(crate) struct SigningKeyV1 {
    kid: String,
    alg: String,
    private: String,
    created_at: i64,
    active: bool,
    retired_at: Option<i64>,
    #[serde(default)]
    sealed: bool,
}

fn ts(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

fn corrupt(tree: &'static str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        tree,
        reason: reason.to_string(),
    }
}

fn from_ts(tree: &'static str, t: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(t).map_err(|e| corrupt(tree, e))
}

/// The record as stored. Serializing these plain structs cannot fail today (no maps with
/// non-string keys); should a later record make it fail, the write fails with the cause
/// instead of storing an empty record.
pub(crate) fn encode<T: Serialize>(record: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(record).map_err(|e| StoreError::Backend {
        context: "encoding a record",
        source: Box::new(e),
    })
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(
    tree: &'static str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(tree, e))
}

/// The domain value of a stored record: decoded as its versioned record `R`, then checked
/// into `T` like any other read.
pub(crate) fn decode_as<R, T>(tree: &'static str, bytes: &[u8]) -> Result<T, StoreError>
where
    R: for<'de> Deserialize<'de>,
    T: TryFrom<R, Error = StoreError>,
{
    T::try_from(decode::<R>(tree, bytes)?)
}

impl From<&User> for UserRecord {
    fn from(u: &User) -> Self {
        UserRecord::V1(UserV1 {
            userid: u.userid.as_str().to_string(),
            email: u.email.as_ref().map(|e| e.as_str().to_string()),
            firstname: u.firstname.clone(),
            lastname: u.lastname.clone(),
            roles: u.roles.iter().map(|r| r.as_str().to_string()).collect(),
            provider: u.provider.clone(),
            domain: u.domain.clone(),
            disabled: u.disabled,
            password_hash: u.password_hash.clone(),
            created_at: ts(u.created_at),
            updated_at: ts(u.updated_at),
            version: u.version,
        })
    }
}

impl TryFrom<UserRecord> for User {
    type Error = StoreError;
    fn try_from(r: UserRecord) -> Result<Self, StoreError> {
        const T: &str = "users";
        let UserRecord::V1(r) = r;
        Ok(User {
            userid: UserId::parse(&r.userid).map_err(|e| corrupt(T, e))?,
            email: r
                .email
                .map(|e| Email::parse(&e))
                .transpose()
                .map_err(|e| corrupt(T, e))?,
            firstname: r.firstname,
            lastname: r.lastname,
            roles: r
                .roles
                .iter()
                .map(|role| Role::parse(role))
                .collect::<Result<_, _>>()
                .map_err(|e| corrupt(T, e))?,
            provider: r.provider,
            domain: r.domain,
            disabled: r.disabled,
            password_hash: r.password_hash,
            created_at: from_ts(T, r.created_at)?,
            updated_at: from_ts(T, r.updated_at)?,
            version: r.version,
        })
    }
}

impl From<&Session> for SessionRecord {
    fn from(s: &Session) -> Self {
        SessionRecord::V1(SessionV1 {
            id: s.id.0,
            userid: s.userid.as_str().to_string(),
            provider: s.provider.clone(),
            domain: s.domain.clone(),
            created_at: ts(s.created_at),
            expires_at: ts(s.expires_at),
            revoked_at: s.revoked_at.map(ts),
        })
    }
}

impl TryFrom<SessionRecord> for Session {
    type Error = StoreError;
    fn try_from(r: SessionRecord) -> Result<Self, StoreError> {
        const T: &str = "sessions";
        let SessionRecord::V1(r) = r;
        Ok(Session {
            id: SessionId(r.id),
            userid: UserId::parse(&r.userid).map_err(|e| corrupt(T, e))?,
            provider: r.provider,
            domain: r.domain,
            created_at: from_ts(T, r.created_at)?,
            expires_at: from_ts(T, r.expires_at)?,
            revoked_at: r.revoked_at.map(|t| from_ts(T, t)).transpose()?,
        })
    }
}

impl From<&RefreshTokenRecord> for RefreshRecord {
    fn from(r: &RefreshTokenRecord) -> Self {
        RefreshRecord::V1(RefreshV1 {
            id: r.id,
            session: r.session.0,
            userid: r.userid.as_str().to_string(),
            sha256: B64.encode(r.hash),
            issued_at: ts(r.issued_at),
            expires_at: ts(r.expires_at),
            spent_at: r.spent_at.map(ts),
            spent_ticket: r.spent_ticket,
        })
    }
}

impl TryFrom<RefreshRecord> for RefreshTokenRecord {
    type Error = StoreError;
    fn try_from(r: RefreshRecord) -> Result<Self, StoreError> {
        const T: &str = "refresh_tokens";
        let RefreshRecord::V1(r) = r;
        let hash: [u8; 32] = B64
            .decode(&r.sha256)
            .map_err(|e| corrupt(T, e))?
            .try_into()
            .map_err(|_| corrupt(T, "hash is not 32 bytes"))?;
        Ok(RefreshTokenRecord {
            id: r.id,
            session: SessionId(r.session),
            userid: UserId::parse(&r.userid).map_err(|e| corrupt(T, e))?,
            hash,
            issued_at: from_ts(T, r.issued_at)?,
            expires_at: from_ts(T, r.expires_at)?,
            spent_at: r.spent_at.map(|t| from_ts(T, t)).transpose()?,
            spent_ticket: r.spent_ticket,
        })
    }
}

impl From<&StoredSigningKey> for SigningKeyRecord {
    fn from(k: &StoredSigningKey) -> Self {
        SigningKeyRecord::V1(SigningKeyV1 {
            kid: k.kid.clone(),
            alg: k.alg.clone(),
            private: B64.encode(&k.private),
            created_at: ts(k.created_at),
            active: k.active,
            retired_at: k.retired_at.map(ts),
            sealed: k.sealed,
        })
    }
}

impl TryFrom<SigningKeyRecord> for StoredSigningKey {
    type Error = StoreError;
    fn try_from(r: SigningKeyRecord) -> Result<Self, StoreError> {
        const T: &str = "signing_keys";
        let SigningKeyRecord::V1(r) = r;
        Ok(StoredSigningKey {
            kid: r.kid,
            alg: r.alg,
            private: B64.decode(&r.private).map_err(|e| corrupt(T, e))?,
            created_at: from_ts(T, r.created_at)?,
            active: r.active,
            retired_at: r.retired_at.map(|t| from_ts(T, t)).transpose()?,
            sealed: r.sealed,
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "v")]
pub(crate) enum AppRecord {
    #[serde(rename = "1")]
    V1(AppV1),
}

#[derive(Serialize, Deserialize)]
pub(crate) struct AppV1 {
    id: Uuid,
    name: String,
    created_at: i64,
    device_token: Option<DeviceTokenV1>,
    /// Absent in records written before versions (read as 0).
    #[serde(default)]
    version: u64,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct DeviceTokenV1 {
    sha256: String,
    created_at: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "v")]
pub(crate) enum ApiKeyRecord {
    #[serde(rename = "1")]
    V1(ApiKeyV1),
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ApiKeyV1 {
    id: Uuid,
    app_id: Uuid,
    name: String,
    sha256: String,
    previous_sha256: Option<String>,
    previous_valid_until: Option<i64>,
    created_at: i64,
    expires_at: Option<i64>,
    enabled: bool,
    last_used_at: Option<i64>,
    /// Absent in records written before versions (read as 0).
    #[serde(default)]
    version: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "v")]
pub(crate) enum ClientRecord {
    #[serde(rename = "1")]
    V1(ClientV1),
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ClientV1 {
    id: Uuid,
    name: String,
    scopes: Vec<String>,
    secret_sha256: String,
    created_at: i64,
    /// Absent in records written before versions (read as 0).
    #[serde(default)]
    version: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "v")]
pub(crate) enum PairRecord {
    #[serde(rename = "1")]
    V1(PairV1),
}

#[derive(Serialize, Deserialize)]
pub(crate) struct PairV1 {
    id: Uuid,
    client_id: Uuid,
    secret_sha256: String,
    scopes: Vec<String>,
    issued_at: i64,
    expires_at: i64,
}

fn hash_from(tree: &'static str, text: &str) -> Result<[u8; 32], StoreError> {
    B64.decode(text)
        .map_err(|e| corrupt(tree, e))?
        .try_into()
        .map_err(|_| corrupt(tree, "hash is not 32 bytes"))
}

fn name_from(tree: &'static str, text: &str) -> Result<Name, StoreError> {
    Name::parse(text).map_err(|e| corrupt(tree, e))
}

fn scopes_from(tree: &'static str, scopes: &[String]) -> Result<Vec<Scope>, StoreError> {
    scopes
        .iter()
        .map(|s| Scope::parse(s).map_err(|e| corrupt(tree, e)))
        .collect()
}

fn scopes_to(scopes: &[Scope]) -> Vec<String> {
    scopes.iter().map(|s| s.as_str().to_string()).collect()
}

impl From<&Application> for AppRecord {
    fn from(a: &Application) -> Self {
        AppRecord::V1(AppV1 {
            id: a.id.0,
            name: a.name.as_str().to_string(),
            created_at: ts(a.created_at),
            device_token: a.device_token.as_ref().map(|d| DeviceTokenV1 {
                sha256: B64.encode(d.hash),
                created_at: ts(d.created_at),
            }),
            version: a.version,
        })
    }
}

impl TryFrom<AppRecord> for Application {
    type Error = StoreError;
    fn try_from(r: AppRecord) -> Result<Self, StoreError> {
        const T: &str = "apps";
        let AppRecord::V1(r) = r;
        Ok(Application {
            id: AppId(r.id),
            name: name_from(T, &r.name)?,
            created_at: from_ts(T, r.created_at)?,
            device_token: r
                .device_token
                .map(|d| -> Result<_, StoreError> {
                    Ok(DeviceToken {
                        hash: hash_from(T, &d.sha256)?,
                        created_at: from_ts(T, d.created_at)?,
                    })
                })
                .transpose()?,
            version: r.version,
        })
    }
}

impl From<&ApiKey> for ApiKeyRecord {
    fn from(k: &ApiKey) -> Self {
        ApiKeyRecord::V1(ApiKeyV1 {
            id: k.id.0,
            app_id: k.app_id.0,
            name: k.name.as_str().to_string(),
            sha256: B64.encode(k.hash),
            previous_sha256: k.previous.as_ref().map(|p| B64.encode(p.hash)),
            previous_valid_until: k.previous.as_ref().map(|p| ts(p.valid_until)),
            created_at: ts(k.created_at),
            expires_at: k.expires_at.map(ts),
            enabled: k.enabled,
            last_used_at: k.last_used_at.map(ts),
            version: k.version,
        })
    }
}

impl TryFrom<ApiKeyRecord> for ApiKey {
    type Error = StoreError;
    fn try_from(r: ApiKeyRecord) -> Result<Self, StoreError> {
        const T: &str = "api_keys";
        let ApiKeyRecord::V1(r) = r;
        let previous = match (r.previous_sha256, r.previous_valid_until) {
            (Some(hash), Some(until)) => Some(GraceSecret {
                hash: hash_from(T, &hash)?,
                valid_until: from_ts(T, until)?,
            }),
            _ => None,
        };
        Ok(ApiKey {
            id: KeyId(r.id),
            app_id: AppId(r.app_id),
            name: name_from(T, &r.name)?,
            hash: hash_from(T, &r.sha256)?,
            previous,
            created_at: from_ts(T, r.created_at)?,
            expires_at: r.expires_at.map(|t| from_ts(T, t)).transpose()?,
            enabled: r.enabled,
            last_used_at: r.last_used_at.map(|t| from_ts(T, t)).transpose()?,
            version: r.version,
        })
    }
}

impl From<&OAuthClient> for ClientRecord {
    fn from(c: &OAuthClient) -> Self {
        ClientRecord::V1(ClientV1 {
            id: c.id.0,
            name: c.name.as_str().to_string(),
            scopes: scopes_to(&c.scopes),
            secret_sha256: B64.encode(c.secret_hash),
            created_at: ts(c.created_at),
            version: c.version,
        })
    }
}

impl TryFrom<ClientRecord> for OAuthClient {
    type Error = StoreError;
    fn try_from(r: ClientRecord) -> Result<Self, StoreError> {
        const T: &str = "clients";
        let ClientRecord::V1(r) = r;
        Ok(OAuthClient {
            id: ClientId(r.id),
            name: name_from(T, &r.name)?,
            scopes: scopes_from(T, &r.scopes)?,
            secret_hash: hash_from(T, &r.secret_sha256)?,
            created_at: from_ts(T, r.created_at)?,
            version: r.version,
        })
    }
}

impl From<&AccessPair> for PairRecord {
    fn from(p: &AccessPair) -> Self {
        PairRecord::V1(PairV1 {
            id: p.id.0,
            client_id: p.client_id.0,
            secret_sha256: B64.encode(p.secret_hash),
            scopes: scopes_to(&p.scopes),
            issued_at: ts(p.issued_at),
            expires_at: ts(p.expires_at),
        })
    }
}

impl TryFrom<PairRecord> for AccessPair {
    type Error = StoreError;
    fn try_from(r: PairRecord) -> Result<Self, StoreError> {
        const T: &str = "pairs";
        let PairRecord::V1(r) = r;
        Ok(AccessPair {
            id: PairId(r.id),
            client_id: ClientId(r.client_id),
            secret_hash: hash_from(T, &r.secret_sha256)?,
            scopes: scopes_from(T, &r.scopes)?,
            issued_at: from_ts(T, r.issued_at)?,
            expires_at: from_ts(T, r.expires_at)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_record_is_tagged_with_its_version() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("valid");
        let user = User {
            userid: UserId::parse("alice").expect("valid"),
            email: Some(Email::parse("a@example.com").expect("valid")),
            firstname: Some("Alice".into()),
            lastname: None,
            roles: vec![Role::parse("Administrator").expect("valid")],
            provider: None,
            domain: None,
            disabled: false,
            password_hash: "$argon2id$v=19$...".into(),
            created_at: now,
            updated_at: now,
            version: 3,
        };
        let bytes = encode(&UserRecord::from(&user)).expect("encode");
        assert!(String::from_utf8_lossy(&bytes).starts_with(r#"{"v":"1""#));
        let back: User = decode::<UserRecord>("users", &bytes)
            .and_then(User::try_from)
            .expect("round trip");
        assert_eq!(back, user);
    }

    #[test]
    fn a_record_written_before_versions_reads_as_version_0() {
        let bytes = br#"{"v":"1","id":"6a2f41a3-c4e6-4b9a-9b39-64b9a1c8e2f1","name":"n","created_at":1700000000,"device_token":null}"#;
        let app = decode::<AppRecord>("apps", bytes)
            .and_then(Application::try_from)
            .expect("decodes");
        assert_eq!(app.version, 0);
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        let err = decode::<UserRecord>("users", b"\x00\x01").err();
        assert!(matches!(
            err,
            Some(StoreError::Corrupt { tree: "users", .. })
        ));
    }
}
