//! Listing and rotating the JWT signing keys (SPEC §4).

use super::{AuthError, Context};
use crate::crypto::jwt;
use crate::domain::StoredSigningKey;

/// The stored keys, newest first.
pub fn list(ctx: &Context) -> Result<Vec<StoredSigningKey>, AuthError> {
    let mut keys = ctx.store.signing_keys()?;
    keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.kid.cmp(&b.kid)));
    Ok(keys)
}

/// Makes a new active key of the configured algorithm and retires the old one. Retired keys
/// keep verifying, and stay in the JWKS until their last token has expired.
pub async fn rotate(ctx: &Context) -> Result<StoredSigningKey, AuthError> {
    let _one_at_a_time = ctx.rotation.lock().await;
    let alg = ctx.config().tokens.signing_alg;
    let now = ctx.now();
    let (store, keys) = (ctx.store.clone(), ctx.keys.clone());
    tokio::task::spawn_blocking(move || -> Result<StoredSigningKey, AuthError> {
        let mut all = store.signing_keys()?;
        let mut changed = Vec::new();
        for key in all.iter_mut().filter(|k| k.active) {
            key.active = false;
            key.retired_at = Some(now);
            changed.push(key.clone());
        }
        let new = jwt::generate(alg, now)?;
        changed.push(new.clone());
        store.save_signing_keys(&changed)?;
        all.push(new.clone());
        keys.replace(&all)?;
        log::info!(
            "rotated signing keys: {} ({}) is now active",
            new.kid,
            new.alg
        );
        Ok(new)
    })
    .await
    .map_err(|e| AuthError::Task(e.to_string()))?
}
