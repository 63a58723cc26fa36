//! The sled side of whole-store snapshots (the logical stream of `storage::snapshot`), and of
//! maintenance: sweeps and checks.

use super::apps::pair_key;
use super::sessions::user_session_key;
use super::sync::{BackupStore, Maintenance};
use super::{backend, check, sweep, Sled, Tree, Trees};
use crate::domain::{
    AccessPair, ApiKey, Application, OAuthClient, RefreshTokenRecord, Session, StoredSigningKey,
    User,
};
use crate::storage::records::{
    decode_as, ApiKeyRecord, AppRecord, ClientRecord, PairRecord, RefreshRecord, SessionRecord,
    SigningKeyRecord, UserRecord,
};
use crate::storage::snapshot::{self, bytes_of, Entry, Item, Writer};
use crate::storage::{StoreError, Swept};
use time::OffsetDateTime;

/// Writes every record of `tree`, decoded by `item`. A record that does not decode stops the
/// backup, naming it: a snapshot that cannot be restored whole is worth nothing.
fn each(
    writer: &mut Writer<'_>,
    tree: &Tree,
    item: impl Fn(&[u8], &[u8]) -> Result<Item, StoreError>,
) -> Result<(), StoreError> {
    for entry in tree.iter() {
        let (key, value) = entry.map_err(backend)?;
        let decoded = item(&key, &value).map_err(|e| match e {
            StoreError::Corrupt { tree, reason } => StoreError::Backup(format!(
                "the record {} in {tree} cannot be read ({reason}); `tessera check` lists what \
                 is damaged",
                key_name(&key)
            )),
            other => other,
        })?;
        writer.write(&decoded)?;
    }
    Ok(())
}

/// A record's key as a person reads it: the UUID of a 16-byte key, else its text.
fn key_name(key: &[u8]) -> String {
    match uuid::Uuid::from_slice(key) {
        Ok(id) => id.to_string(),
        Err(_) => String::from_utf8_lossy(key).escape_debug().to_string(),
    }
}

fn text_key(tree: &Tree, key: &[u8]) -> Result<String, StoreError> {
    String::from_utf8(key.to_vec()).map_err(|e| StoreError::Corrupt {
        tree: tree.name,
        reason: e.to_string(),
    })
}

/// Every record, parents before children.
fn export_trees(t: &Trees, writer: &mut Writer<'_>) -> Result<(), StoreError> {
    each(writer, &t.users, |_, v| {
        Ok(Item::User(decode_as::<UserRecord, User>(t.users.name, v)?))
    })?;
    each(writer, &t.signing_keys, |_, v| {
        Ok(Item::SigningKey(decode_as::<
            SigningKeyRecord,
            StoredSigningKey,
        >(t.signing_keys.name, v)?))
    })?;
    each(writer, &t.meta, |k, v| {
        Ok(Item::Meta {
            name: text_key(&t.meta, k)?,
            value: v.to_vec(),
        })
    })?;
    each(writer, &t.apps, |_, v| {
        Ok(Item::App(decode_as::<AppRecord, Application>(
            t.apps.name,
            v,
        )?))
    })?;
    each(writer, &t.api_keys, |_, v| {
        Ok(Item::ApiKey(decode_as::<ApiKeyRecord, ApiKey>(
            t.api_keys.name,
            v,
        )?))
    })?;
    each(writer, &t.clients, |_, v| {
        Ok(Item::Client(decode_as::<ClientRecord, OAuthClient>(
            t.clients.name,
            v,
        )?))
    })?;
    each(writer, &t.pairs, |_, v| {
        Ok(Item::Pair(decode_as::<PairRecord, AccessPair>(
            t.pairs.name,
            v,
        )?))
    })?;
    each(writer, &t.sessions, |_, v| {
        Ok(Item::Session(decode_as::<SessionRecord, Session>(
            t.sessions.name,
            v,
        )?))
    })?;
    each(writer, &t.refresh_tokens, |_, v| {
        Ok(Item::RefreshToken(decode_as::<
            RefreshRecord,
            RefreshTokenRecord,
        >(t.refresh_tokens.name, v)?))
    })?;
    each(writer, &t.revoked_jti, |k, v| {
        let corrupt = |reason: String| StoreError::Corrupt {
            tree: t.revoked_jti.name,
            reason,
        };
        let seconds = <[u8; 8]>::try_from(v)
            .map(i64::from_be_bytes)
            .map_err(|_| corrupt("an expiry is not 8 bytes".into()))?;
        Ok(Item::RevokedJti {
            jti: text_key(&t.revoked_jti, k)?,
            expires_at: OffsetDateTime::from_unix_timestamp(seconds)
                .map_err(|e| corrupt(e.to_string()))?,
        })
    })
}

/// Stores one record with its index entries.
fn load(t: &Trees, item: &Item) -> Result<(), StoreError> {
    let insert = |tree: &Tree, key: &[u8], value: &[u8]| {
        tree.insert(key, value).map(|_| ()).map_err(backend)
    };
    let value = bytes_of(item)?;
    match item {
        Item::User(u) => insert(&t.users, u.userid.as_str().as_bytes(), &value),
        Item::SigningKey(k) => insert(&t.signing_keys, k.kid.as_bytes(), &value),
        Item::Meta { name, .. } => insert(&t.meta, name.as_bytes(), &value),
        Item::App(a) => insert(&t.apps, a.id.as_bytes(), &value),
        Item::ApiKey(k) => {
            insert(&t.api_keys, k.id.as_bytes(), &value)?;
            insert(&t.app_keys, &pair_key(k.app_id.0, k.id.0), &[])
        }
        Item::Client(c) => insert(&t.clients, c.id.as_bytes(), &value),
        Item::Pair(p) => {
            insert(&t.pairs, p.id.as_bytes(), &value)?;
            insert(&t.client_pairs, &pair_key(p.client_id.0, p.id.0), &[])
        }
        Item::Session(s) => {
            insert(&t.sessions, s.id.0.as_bytes(), &value)?;
            insert(&t.user_sessions, &user_session_key(&s.userid, s.id), &[])
        }
        Item::RefreshToken(r) => insert(&t.refresh_tokens, r.id.as_bytes(), &value),
        Item::RevokedJti { jti, .. } => insert(&t.revoked_jti, jti.as_bytes(), &value),
    }
}

impl BackupStore for Sled {
    fn export(&self, out: &mut dyn std::io::Write) -> Result<u64, StoreError> {
        // Exclusive: no mutation is half done while the trees are read.
        let _all = self.state.exclusive();
        let t = self.trees()?;
        let mut writer = Writer::start(out)?;
        export_trees(&t, &mut writer)?;
        writer.finish()
    }

    fn import(&self, input: &mut dyn std::io::BufRead) -> Result<u64, StoreError> {
        if !self.is_empty()? {
            return Err(StoreError::Backup("the data dir is not empty".into()));
        }
        let _all = self.state.exclusive();
        let t = self.trees()?;
        let count = snapshot::read(input, |entry| match entry {
            Entry::Item(item) => load(&t, &item),
            // A version 1 backup: sled's own trees, index entries included.
            Entry::Raw { tree, key, value } => {
                let tree = t
                    .all()
                    .into_iter()
                    .find(|t| t.name == tree)
                    .ok_or_else(|| StoreError::Backup(format!("unknown record kind {tree:?}")))?;
                tree.insert(key, value).map(|_| ()).map_err(backend)
            }
        })?;
        self.durable()?;
        Ok(count)
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.trees()?.all().iter().all(|tree| tree.is_empty()))
    }
}

impl Maintenance for Sled {
    fn check(&self) -> Result<Vec<String>, StoreError> {
        check::run(self)
    }

    fn sweep(
        &self,
        now: OffsetDateTime,
        keep_revoked: time::Duration,
    ) -> Result<Swept, StoreError> {
        sweep::run(self, now, keep_revoked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::contract;
    use crate::storage::sled::sync::UserStore;
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine;

    /// A snapshot as the first builds wrote it: every tree, raw, indexes included.
    fn version_1_snapshot(store: &Sled) -> Vec<u8> {
        let t = store.trees().expect("trees");
        let mut lines = vec![r#"{"format":"tessera-backup","version":1}"#.to_string()];
        for tree in t.all() {
            for entry in tree.iter() {
                let (k, v) = entry.expect("read");
                lines.push(format!(
                    r#"{{"t":"{}","k":"{}","v":"{}"}}"#,
                    tree.name,
                    B64.encode(k),
                    B64.encode(v)
                ));
            }
        }
        lines.push(format!(r#"{{"end":{}}}"#, lines.len() - 1));
        (lines.join("\n") + "\n").into_bytes()
    }

    #[test]
    fn a_record_that_does_not_decode_stops_the_backup_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Sled::open(dir.path()).expect("open");
        store
            .trees()
            .expect("trees")
            .users
            .insert(b"mallory", &b"{not json"[..])
            .expect("damage");

        let err = store.export(&mut Vec::new()).err();

        assert!(
            matches!(&err, Some(StoreError::Backup(why)) if why.contains("mallory") && why.contains("tessera check")),
            "{err:?}"
        );
    }

    #[test]
    fn a_version_1_backup_still_restores_into_sled() {
        let (a, b) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        let source = Sled::open(a.path()).expect("open");
        let alice = contract::user("alice");
        source.create_user(&alice).expect("create");
        let old = version_1_snapshot(&source);

        let empty = Sled::open(b.path()).expect("open");
        assert_eq!(empty.import(&mut old.as_slice()).expect("import"), 1);

        assert_eq!(empty.get_user(&alice.userid).expect("get"), Some(alice));
        assert_eq!(empty.check().expect("check"), Vec::<String>::new());
    }
}
