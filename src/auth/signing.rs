//! Listing and rotating the JWT signing keys (SPEC §4).

use super::{AuthError, Context};
use crate::crypto::jwt::{self, KeyError};
use crate::crypto::secretbox::{self, MasterKey};
use crate::domain::StoredSigningKey;

/// The stored keys, newest first.
pub async fn list(ctx: &Context) -> Result<Vec<StoredSigningKey>, AuthError> {
    let mut keys = ctx.store.signing_keys().await?;
    keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.kid.cmp(&b.kid)));
    Ok(keys)
}

fn aad(kid: &str) -> Vec<u8> {
    format!("tessera-signing-key-v1:{kid}").into_bytes()
}

/// Seals a key's material under the master key, bound to its kid (SPEC §10).
pub(crate) fn seal(master: &MasterKey, mut key: StoredSigningKey) -> StoredSigningKey {
    if !key.sealed {
        key.private = secretbox::seal(master, &key.private, &aad(&key.kid));
        key.sealed = true;
    }
    key
}

/// Opens a sealed key; a key that does not open names itself and the likely cause.
pub(crate) fn open(
    master: &MasterKey,
    key: &StoredSigningKey,
) -> Result<StoredSigningKey, KeyError> {
    let mut plain = key.clone();
    if key.sealed {
        plain.private = secretbox::open(master, &key.private, &aad(&key.kid)).map_err(|_| {
            KeyError::Invalid {
                kid: key.kid.clone(),
                reason: "does not open with this master key (is TESSERA_MASTER_KEY or \
                         <data_dir>/master.key the one it was sealed with?)"
                    .into(),
            }
        })?;
        plain.sealed = false;
    }
    Ok(plain)
}

/// Puts the stored signing keys in force, as another node may have rotated them; the ring
/// stays as it is when they are the keys in force already. Says whether it changed.
pub async fn reload(ctx: &Context) -> Result<bool, AuthError> {
    let stored = ctx.store.signing_keys().await?;
    if ctx.keys.current().identity_matches(&stored) {
        return Ok(false);
    }
    let plain = stored
        .iter()
        .map(|k| open(&ctx.master, k))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ctx.keys.replace_if_changed(&plain)?)
}

/// Makes a new active key of the configured algorithm and retires the old one. Retired keys
/// keep verifying, and stay in the JWKS until their last token has expired.
pub async fn rotate(ctx: &Context) -> Result<StoredSigningKey, AuthError> {
    let _one_at_a_time = ctx.rotation.lock().await;
    let alg = ctx.config().tokens.signing_alg;
    let now = ctx.now();
    let master = ctx.master.clone();
    // Key generation takes a while (RSA most of all): on the blocking pool.
    let (new, sealed) = crate::request::spawn_blocking_with_id(move || {
        let new = jwt::generate(alg, now)?;
        let sealed = seal(&master, new.clone());
        Ok::<_, AuthError>((new, sealed))
    })
    .await
    .map_err(AuthError::Task)??;
    // The retirement and the new key are one atomic step against the active key read here;
    // a rotation through another node meanwhile makes this one read again and go on top.
    super::edit::edit(|| async {
        let all = ctx.store.signing_keys().await?;
        let expected = all.iter().find(|k| k.active).map(|k| k.kid.as_str());
        match ctx.store.rotate_signing_key(expected, &sealed, now).await? {
            true => Ok(()),
            false => Err(crate::storage::StoreError::Stale),
        }
    })
    .await?;
    reload(ctx).await?;
    log::info!(
        "rotated signing keys: {} ({}) is now active",
        new.kid,
        new.alg
    );
    Ok(new)
}
