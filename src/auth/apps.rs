//! Applications, their API keys and their device token (SPEC §4).

use super::edit::edit;
use super::{seconds, AuthError, Context};
use crate::domain::{
    ApiKey, AppId, Application, DeviceToken, GraceSecret, KeyId, Name, ValidationError,
};
use crate::storage::{Store, StoreError};
use crate::tokens::secret::GeneratedSecret;
use crate::tokens::{api_key, device};
use time::OffsetDateTime;
use uuid::Uuid;

/// The longest grace a refreshed key's old secret may keep working.
pub const MAX_GRACE_SECONDS: u64 = 30 * 86_400;

/// A key with its secret, as shown once on creation and refresh.
#[derive(Debug)]
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: GeneratedSecret,
}

pub async fn create_app(ctx: &Context, name: Name) -> Result<Application, AuthError> {
    let app = Application {
        id: AppId(Uuid::new_v4()),
        name,
        created_at: ctx.now(),
        device_token: None,
        version: 1,
    };
    ctx.store.create_app(&app).await?;
    Ok(app)
}

pub async fn list_apps(ctx: &Context) -> Result<Vec<Application>, AuthError> {
    let mut apps = ctx.store.list_apps().await?;
    apps.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(apps)
}

pub async fn get_app(ctx: &Context, id: AppId) -> Result<Application, AuthError> {
    ctx.store.get_app(id).await?.ok_or(AuthError::NotFound)
}

/// Deletes an application; its keys and device token stop working at once.
pub async fn delete_app(ctx: &Context, id: AppId) -> Result<(), AuthError> {
    if ctx.store.delete_app(id).await? {
        Ok(())
    } else {
        Err(AuthError::NotFound)
    }
}

fn future(ctx: &Context, at: Option<OffsetDateTime>) -> Result<Option<OffsetDateTime>, AuthError> {
    match at {
        Some(t) if t <= ctx.now() => {
            Err(ValidationError::Other("expires_at must be in the future").into())
        }
        other => Ok(other),
    }
}

pub async fn create_key(
    ctx: &Context,
    app_id: AppId,
    name: Name,
    expires_at: Option<OffsetDateTime>,
) -> Result<IssuedKey, AuthError> {
    let expires_at = future(ctx, expires_at)?;
    let id = KeyId(Uuid::new_v4());
    let secret = api_key::mint(id);
    let key = ApiKey {
        id,
        app_id,
        name,
        hash: secret.hash(),
        previous: None,
        created_at: ctx.now(),
        expires_at,
        enabled: true,
        last_used_at: None,
        version: 1,
    };
    ctx.store.create_api_key(&key).await?;
    Ok(IssuedKey { key, secret })
}

pub async fn list_keys(ctx: &Context, app_id: AppId) -> Result<Vec<ApiKey>, AuthError> {
    get_app(ctx, app_id).await?;
    Ok(ctx.store.list_api_keys(app_id).await?)
}

async fn key_of(ctx: &Context, app_id: AppId, key_id: KeyId) -> Result<ApiKey, AuthError> {
    ctx.store
        .get_api_key(key_id)
        .await?
        .filter(|k| k.app_id == app_id)
        .ok_or(AuthError::NotFound)
}

/// A change to a key; `expires_at: Some(None)` removes the expiry.
#[derive(Debug, Default)]
pub struct KeyPatch {
    pub name: Option<Name>,
    pub enabled: Option<bool>,
    pub expires_at: Option<Option<OffsetDateTime>>,
}

pub async fn update_key(
    ctx: &Context,
    app_id: AppId,
    key_id: KeyId,
    patch: KeyPatch,
) -> Result<ApiKey, AuthError> {
    // An unknown key is 404 before the patch is judged.
    key_of(ctx, app_id, key_id).await?;
    let expires_at = patch.expires_at.map(|at| future(ctx, at)).transpose()?;
    let (store, patch) = (&*ctx.store, &patch);
    edit(|| async move {
        let mut key = stored_key(store, app_id, key_id).await?;
        if let Some(name) = &patch.name {
            key.name = name.clone();
        }
        if let Some(enabled) = patch.enabled {
            key.enabled = enabled;
        }
        if let Some(expires_at) = expires_at {
            key.expires_at = expires_at;
        }
        store.update_api_key(&key).await?;
        key.version += 1;
        Ok(key)
    })
    .await
}

/// Gives a key a new secret under the same id. The old secret stops working at once, or
/// after `grace_seconds`.
pub async fn refresh_key(
    ctx: &Context,
    app_id: AppId,
    key_id: KeyId,
    grace_seconds: u64,
) -> Result<IssuedKey, AuthError> {
    if grace_seconds > MAX_GRACE_SECONDS {
        return Err(
            ValidationError::Other("grace_seconds must be at most 2592000 (30 days)").into(),
        );
    }
    let secret = api_key::mint(key_id);
    let (hash, grace_until) = (secret.hash(), ctx.now() + seconds(grace_seconds));
    let (store, hash) = (&*ctx.store, &hash);
    let key = edit(|| async move {
        let mut key = stored_key(store, app_id, key_id).await?;
        key.previous = (grace_seconds > 0).then_some(GraceSecret {
            hash: key.hash,
            valid_until: grace_until,
        });
        key.hash = *hash;
        store.update_api_key(&key).await?;
        key.version += 1;
        Ok(key)
    })
    .await?;
    Ok(IssuedKey { key, secret })
}

/// The key `key_id` of application `app_id`, read for an edit.
async fn stored_key(store: &dyn Store, app_id: AppId, key_id: KeyId) -> Result<ApiKey, StoreError> {
    store
        .get_api_key(key_id)
        .await?
        .filter(|k| k.app_id == app_id)
        .ok_or(StoreError::NotFound)
}

pub async fn delete_key(ctx: &Context, app_id: AppId, key_id: KeyId) -> Result<(), AuthError> {
    key_of(ctx, app_id, key_id).await?;
    ctx.store.delete_api_key(key_id).await?;
    Ok(())
}

/// Creates or rotates an application's device token; the previous one stops working.
pub async fn issue_device_token(
    ctx: &Context,
    app_id: AppId,
) -> Result<GeneratedSecret, AuthError> {
    let secret = device::mint(app_id);
    let token = DeviceToken {
        hash: secret.hash(),
        created_at: ctx.now(),
    };
    let (store, token) = (&*ctx.store, &token);
    edit(|| async move {
        let mut app = store.get_app(app_id).await?.ok_or(StoreError::NotFound)?;
        app.device_token = Some(token.clone());
        store.update_app(&app).await
    })
    .await?;
    Ok(secret)
}

pub async fn delete_device_token(ctx: &Context, app_id: AppId) -> Result<(), AuthError> {
    let store = &*ctx.store;
    edit(|| async move {
        let mut app = store.get_app(app_id).await?.ok_or(StoreError::NotFound)?;
        if app.device_token.take().is_some() {
            store.update_app(&app).await?;
        }
        Ok(())
    })
    .await
}
