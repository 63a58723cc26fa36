//! `tessera check`: the consistency of a sled store (issue 7). Reads only.

use super::{backend, Sled};
use crate::domain::{
    AccessPair, ApiKey, Application, OAuthClient, RefreshTokenRecord, Session, StoredSigningKey,
    User,
};
use crate::storage::records::{
    decode, ApiKeyRecord, AppRecord, ClientRecord, PairRecord, RefreshRecord, SessionRecord,
    SigningKeyRecord, UserRecord,
};
use crate::storage::StoreError;
use std::collections::HashSet;
use uuid::Uuid;

fn records<R, T>(
    tree: &sled::Tree,
    name: &'static str,
    problems: &mut Vec<String>,
) -> Result<Vec<T>, StoreError>
where
    R: for<'de> serde::Deserialize<'de>,
    T: TryFrom<R, Error = StoreError>,
{
    let mut out = Vec::new();
    for item in tree.iter() {
        let (key, bytes) = item.map_err(backend)?;
        match decode::<R>(name, &bytes).and_then(T::try_from) {
            Ok(record) => out.push(record),
            Err(e) => problems.push(format!("{name} {}: {e}", hex(&key))),
        }
    }
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn index_pairs(tree: &sled::Tree) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
    tree.iter()
        .map(|item| {
            let (key, _) = item.map_err(backend)?;
            match (
                Uuid::from_slice(&key[..16.min(key.len())]),
                key.get(16..).map(Uuid::from_slice),
            ) {
                (Ok(a), Some(Ok(b))) => Ok((a, b)),
                _ => Ok((Uuid::nil(), Uuid::nil())),
            }
        })
        .collect()
}

pub(super) fn run(store: &Sled) -> Result<Vec<String>, StoreError> {
    let t = store.trees()?;
    let mut problems = Vec::new();
    let users: Vec<User> = records::<UserRecord, _>(&t.users, "users", &mut problems)?;
    let sessions: Vec<Session> =
        records::<SessionRecord, _>(&t.sessions, "sessions", &mut problems)?;
    let tokens: Vec<RefreshTokenRecord> =
        records::<RefreshRecord, _>(&t.refresh_tokens, "refresh_tokens", &mut problems)?;
    let keys: Vec<StoredSigningKey> =
        records::<SigningKeyRecord, _>(&t.signing_keys, "signing_keys", &mut problems)?;
    let apps: Vec<Application> = records::<AppRecord, _>(&t.apps, "apps", &mut problems)?;
    let api_keys: Vec<ApiKey> = records::<ApiKeyRecord, _>(&t.api_keys, "api_keys", &mut problems)?;
    let clients: Vec<OAuthClient> =
        records::<ClientRecord, _>(&t.clients, "clients", &mut problems)?;
    let pairs: Vec<AccessPair> = records::<PairRecord, _>(&t.pairs, "pairs", &mut problems)?;

    let session_ids: HashSet<Uuid> = sessions.iter().map(|s| s.id.0).collect();
    for token in &tokens {
        if !session_ids.contains(&token.session.0) {
            problems.push(format!(
                "refresh token {} has no session {}",
                token.id, token.session
            ));
        }
    }
    let user_ids: HashSet<&str> = users.iter().map(|u| u.userid.as_str()).collect();
    let mut indexed = HashSet::new();
    for item in t.user_sessions.iter() {
        let (key, _) = item.map_err(backend)?;
        let split = key.iter().position(|&b| b == 0);
        let sid = split.and_then(|i| Uuid::from_slice(&key[i + 1..]).ok());
        match sid {
            Some(sid) if session_ids.contains(&sid) => {
                indexed.insert(sid);
            }
            _ => problems.push(format!(
                "user_sessions entry {} names no session",
                hex(&key)
            )),
        }
    }
    for session in &sessions {
        if !indexed.contains(&session.id.0) {
            problems.push(format!(
                "session {} is missing from its user's index",
                session.id
            ));
        }
        // A deleted user's sessions stay (revoked) until swept; a live one is an orphan.
        if session.revoked_at.is_none() && !user_ids.contains(session.userid.as_str()) {
            problems.push(format!(
                "live session {} of a user that does not exist",
                session.id
            ));
        }
    }

    let app_ids: HashSet<Uuid> = apps.iter().map(|a| a.id.0).collect();
    let key_ids: HashSet<Uuid> = api_keys.iter().map(|k| k.id.0).collect();
    for key in &api_keys {
        if !app_ids.contains(&key.app_id.0) {
            problems.push(format!(
                "API key {} of an application that does not exist",
                key.id
            ));
        }
    }
    let mut keys_in_index = HashSet::new();
    for (app, key) in index_pairs(&t.app_keys)? {
        if !app_ids.contains(&app) || !key_ids.contains(&key) {
            problems.push(format!("app_keys entry {app}/{key} names a missing record"));
        }
        keys_in_index.insert(key);
    }
    for key in &api_keys {
        if !keys_in_index.contains(&key.id.0) {
            problems.push(format!(
                "API key {} is missing from its application's index",
                key.id
            ));
        }
    }

    let client_ids: HashSet<Uuid> = clients.iter().map(|c| c.id.0).collect();
    let pair_ids: HashSet<Uuid> = pairs.iter().map(|p| p.id.0).collect();
    for pair in &pairs {
        if !client_ids.contains(&pair.client_id.0) {
            problems.push(format!("pair {} of a client that does not exist", pair.id));
        }
    }
    for (client, pair) in index_pairs(&t.client_pairs)? {
        if !client_ids.contains(&client) || !pair_ids.contains(&pair) {
            problems.push(format!(
                "client_pairs entry {client}/{pair} names a missing record"
            ));
        }
    }

    problems.extend(crate::storage::signing_key_problems(&keys));
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use crate::storage::sled::sync::{Maintenance, SessionStore};
    use crate::storage::sled::{Sled, SledStore};
    use time::{Duration, OffsetDateTime};

    #[actix_rt::test]
    async fn a_store_after_the_whole_contract_checks_clean() {
        let dir = tempfile::tempdir().expect("tempdir");
        crate::storage::contract::run_all(|| async { SledStore::open(dir.path()).expect("open") })
            .await;
        let store = Sled::open(dir.path()).expect("reopen");
        assert_eq!(store.check().expect("check"), Vec::<String>::new());
    }

    #[test]
    fn a_refresh_token_without_its_session_is_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Sled::open(dir.path()).expect("open");
        let now = OffsetDateTime::UNIX_EPOCH;
        let session = crate::domain::Session {
            id: crate::domain::SessionId(uuid::Uuid::new_v4()),
            userid: crate::domain::UserId::parse("ghost").expect("valid"),
            provider: None,
            domain: None,
            created_at: now,
            expires_at: now + Duration::days(1),
            revoked_at: Some(now),
        };
        let token = crate::storage::contract::token(&session, now);
        store.create_session(&session, &token).expect("create");
        assert_eq!(store.check().expect("check"), Vec::<String>::new());

        // The kind of damage a torn write could leave.
        store
            .trees()
            .expect("open")
            .sessions
            .remove(session.id.0.as_bytes())
            .expect("damage");

        let problems = store.check().expect("check");
        assert!(
            problems.iter().any(|p| p.contains("has no session")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("names no session")),
            "{problems:?}"
        );
    }
}
