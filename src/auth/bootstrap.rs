//! First start: a signing key and the `admin` user (SPEC §1).

use super::signing;
use super::users::create_user_in;
use super::AuthError;
use crate::config::Config;
use crate::crypto::jwt::{self, KeyError, KeyRing};
use crate::crypto::password::PasswordHasher;
use crate::crypto::secretbox::MasterKey;
use crate::domain::{NewUser, Role, SigningAlg, StoredSigningKey, UserId};
use crate::storage::{Store, StoreError};
use std::io::Write;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

const BOOTSTRAPPED: &str = "bootstrapped";
pub const INITIAL_ADMIN_PASSWORD_FILE: &str = "initial-admin-password";

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("creating the admin user failed: {0}")]
    Admin(#[from] AuthError),
    #[error("writing {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Loads the signing keys, creating the first one — or, when `tokens.signing_alg` changed, a
/// new active key of that algorithm, the old one retired but still verifying. Keys are sealed
/// under the master key at rest; any found unsealed (written before sealing existed) are
/// sealed now.
pub async fn signing_keys(
    store: &dyn Store,
    alg: SigningAlg,
    now: OffsetDateTime,
    master: &MasterKey,
) -> Result<KeyRing, BootstrapError> {
    let stored = store.signing_keys().await?;
    let unsealed: Vec<_> = stored
        .iter()
        .filter(|k| !k.sealed)
        .map(|k| signing::seal(master, k.clone()))
        .collect();
    if !unsealed.is_empty() {
        store.save_signing_keys(&unsealed).await?;
        log::info!(
            "sealed {} signing key(s) under the master key",
            unsealed.len()
        );
    }
    let mut stored = stored;
    for attempt in 1.. {
        let plain = open_keys(&stored, Some(master))
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        let active = plain.iter().find(|k| k.active);
        if active.is_some_and(|k| k.alg == alg.name()) {
            return Ok(KeyRing::new(&plain)?);
        }
        if active.is_some() && attempt > 8 {
            // Another node keeps making keys of another algorithm: keep theirs.
            log::warn!(
                "the active signing key keeps changing to another algorithm than {}: do the nodes' tokens.signing_alg differ?",
                alg.name()
            );
            return Ok(KeyRing::new(&plain)?);
        }
        // Nodes starting together on an empty store (or after an algorithm change) race
        // here: the store takes one new key, and the others read it instead (SPEC §11).
        let new = jwt::generate(alg, now)?;
        let expected = active.map(|k| k.kid.clone());
        if store
            .rotate_signing_key(
                expected.as_deref(),
                &signing::seal(master, new.clone()),
                now,
            )
            .await?
        {
            log::info!("created signing key {} ({})", new.kid, new.alg);
        }
        stored = store.signing_keys().await?;
    }
    unreachable!("the loop returns")
}

/// Each stored key opened with the master key, as a start opens them. A sealed key with no
/// master key to open it is an error naming the key.
fn open_keys(
    stored: &[StoredSigningKey],
    master: Option<&MasterKey>,
) -> Vec<Result<StoredSigningKey, KeyError>> {
    stored
        .iter()
        .map(|key| match (master, key.sealed) {
            (Some(master), _) => signing::open(master, key),
            (None, false) => Ok(key.clone()),
            (None, true) => Err(KeyError::Invalid {
                kid: key.kid.clone(),
                reason: "is sealed, and there is no master key (TESSERA_MASTER_KEY or \
                         <data_dir>/master.key)"
                    .into(),
            }),
        })
        .collect()
}

/// What would stop a start from using the stored signing keys: a key that does not open with
/// `master` (or is sealed and there is none), or keys that do not make a ring with one active
/// key. Writes nothing, unlike [`signing_keys`] (for `tessera check`).
pub fn signing_key_problems(
    stored: &[StoredSigningKey],
    master: Option<&MasterKey>,
) -> Vec<String> {
    if stored.is_empty() {
        return Vec::new();
    }
    let (plain, problems): (Vec<_>, Vec<_>) = open_keys(stored, master)
        .into_iter()
        .partition(Result::is_ok);
    let mut problems: Vec<String> = problems
        .into_iter()
        .filter_map(Result::err)
        .map(|e| e.to_string())
        .collect();
    if problems.is_empty() {
        let plain: Vec<_> = plain.into_iter().filter_map(Result::ok).collect();
        if let Err(e) = KeyRing::new(&plain) {
            problems.push(format!("the signing keys do not make a usable ring: {e}"));
        }
    }
    problems
}

pub const PREAMBLE_TOKEN_UUID: &str = "preamble_token_uuid";

/// The preamble `token_uuid` used when the config sets none: generated on first start and
/// kept in the store, so tokens minted by a peer with it keep working across restarts.
pub async fn preamble_token_uuid(store: &dyn Store) -> Result<uuid::Uuid, BootstrapError> {
    if let Some(bytes) = store.get_meta(PREAMBLE_TOKEN_UUID).await? {
        if let Some(uuid) = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| uuid::Uuid::try_parse(s).ok())
        {
            return Ok(uuid);
        }
        log::warn!("the stored preamble token_uuid is unreadable; generating a new one");
        let uuid = uuid::Uuid::new_v4();
        store
            .put_meta(
                PREAMBLE_TOKEN_UUID,
                uuid.hyphenated().to_string().as_bytes(),
            )
            .await?;
        return Ok(uuid);
    }
    // Nodes starting together on an empty store keep the one stored first.
    let generated = uuid::Uuid::new_v4();
    let stored = store
        .put_meta_if_absent(
            PREAMBLE_TOKEN_UUID,
            generated.hyphenated().to_string().as_bytes(),
        )
        .await?;
    let uuid = std::str::from_utf8(&stored)
        .ok()
        .and_then(|s| uuid::Uuid::try_parse(s).ok())
        .unwrap_or(generated);
    if uuid == generated {
        log::info!(
            "generated the preamble token_uuid (stored; set preamble.token_uuid to choose one)"
        );
    }
    Ok(uuid)
}

/// What the bootstrap did about the admin user.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminBootstrap {
    /// Not a first start.
    Existing,
    /// Created with the password from `TESSERA_ADMIN_PASSWORD`.
    FromEnvironment,
    /// Created with a generated password, written to this file.
    Generated(PathBuf),
}

/// On the first start of an empty store, creates `admin` with the role `Administrator`.
pub async fn ensure_admin(
    store: &dyn Store,
    hasher: &PasswordHasher,
    config: &Config,
    now: OffsetDateTime,
) -> Result<AdminBootstrap, BootstrapError> {
    if store.get_meta(BOOTSTRAPPED).await?.is_some() {
        return Ok(AdminBootstrap::Existing);
    }
    if store.count_users().await? > 0 {
        store.put_meta(BOOTSTRAPPED, b"1").await?;
        return Ok(AdminBootstrap::Existing);
    }
    let (password, generated) = match &config.bootstrap_admin_password {
        Some(p) => (p.expose().to_string(), false),
        None => (crate::crypto::random_password(24), true),
    };
    let admin = NewUser {
        userid: UserId::parse("admin").map_err(AuthError::from)?,
        password: password.clone(),
        email: None,
        firstname: None,
        lastname: None,
        roles: vec![Role::parse(Role::ADMINISTRATOR).map_err(AuthError::from)?],
        provider: None,
        domain: None,
    };
    // The file is written before the user exists: if the start dies in between, the next
    // start finds no admin and writes a new file, so a created admin's password is never lost.
    let path = config.server.data_dir.join(INITIAL_ADMIN_PASSWORD_FILE);
    if generated {
        write_private_file(&path, password.as_bytes())?;
    }
    // The operator chose this password: only the length cap applies, not min_length.
    match create_user_in(store, hasher, 1, admin, now).await {
        Ok(_) => {}
        // Another node sharing the store created it first (SPEC §11): one admin, not two.
        Err(AuthError::Conflict) => {
            if generated {
                let _ = std::fs::remove_file(&path);
            }
            store.put_meta(BOOTSTRAPPED, b"1").await?;
            return Ok(AdminBootstrap::Existing);
        }
        Err(e) => return Err(e.into()),
    }
    let outcome = if generated {
        // SPEC §1: the generated password is printed once, so a first start can be used at once.
        log::warn!(
            "created user 'admin' with the generated password {password} (also in {})",
            path.display()
        );
        AdminBootstrap::Generated(path)
    } else {
        log::info!("created user 'admin' with the password from TESSERA_ADMIN_PASSWORD");
        AdminBootstrap::FromEnvironment
    };
    store.put_meta(BOOTSTRAPPED, b"1").await?;
    Ok(outcome)
}

/// Writes `contents` to a file readable by its owner only (mode 0600).
pub fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), BootstrapError> {
    let err = |source| BootstrapError::File {
        path: path.to_path_buf(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut file = options.open(path).map_err(err)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(err)?;
        file.write_all(contents).map_err(err)?;
        file.sync_all().map_err(err)
    }
    #[cfg(not(unix))]
    {
        let mut file = options.open(path).map_err(err)?;
        file.write_all(contents).map_err(err)?;
        file.sync_all().map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_problems_are_found_as_a_start_would_find_them() {
        let master = MasterKey::from_bytes([1; 32]);
        let key = jwt::generate(SigningAlg::EdDSA, OffsetDateTime::UNIX_EPOCH).unwrap();
        let sealed = vec![signing::seal(&master, key.clone())];
        assert!(signing_key_problems(&sealed, Some(&master)).is_empty());
        assert!(signing_key_problems(&[], None).is_empty());

        let other = MasterKey::from_bytes([2; 32]);
        let wrong = signing_key_problems(&sealed, Some(&other));
        assert!(
            wrong[0].contains("does not open with this master key"),
            "{wrong:?}"
        );
        let none = signing_key_problems(&sealed, None);
        assert!(none[0].contains("there is no master key"), "{none:?}");

        let mut retired = key;
        retired.active = false;
        let no_ring = signing_key_problems(&[retired], None);
        assert!(no_ring[0].contains("usable ring"), "{no_ring:?}");
    }
}
