//! Creating directory users: validation at the edge, argon2id hashing, durable storage.

use super::edit::edit;
use super::{AuthError, Context};
use crate::crypto::password::PasswordHasher;
use crate::crypto::SecretString;
use crate::domain::{Email, NewUser, Role, User, UserId};
use crate::storage::{Store, StoreError};
use time::OffsetDateTime;

fn build(new: NewUser, password_hash: String, now: OffsetDateTime) -> User {
    User {
        userid: new.userid,
        email: new.email,
        firstname: new.firstname,
        lastname: new.lastname,
        roles: new.roles,
        provider: new.provider,
        domain: new.domain,
        disabled: false,
        password_hash,
        created_at: now,
        updated_at: now,
        // As the store keeps a new record.
        version: 1,
    }
}

/// Creates a user; `Conflict` if the userid is taken. The password is hashed off the workers.
pub async fn create_user(ctx: &Context, new: NewUser) -> Result<User, AuthError> {
    NewUser::check_password(&new.password, ctx.config().passwords.min_length)?;
    if ctx.store.get_user(&new.userid).await?.is_some() {
        return Err(AuthError::Conflict);
    }
    let phc = ctx
        .hasher
        .hash(SecretString::new(new.password.clone()))
        .await?;
    let user = build(new, phc, ctx.now());
    ctx.store.create_user(&user).await?;
    Ok(user)
}

/// The same for the command line and the bootstrap, with a store and hasher of their own.
pub async fn create_user_in(
    store: &dyn Store,
    hasher: &PasswordHasher,
    min_length: usize,
    new: NewUser,
    now: OffsetDateTime,
) -> Result<User, AuthError> {
    NewUser::check_password(&new.password, min_length)?;
    let phc = hasher.hash(SecretString::new(new.password.clone())).await?;
    let user = build(new, phc, now);
    store.create_user(&user).await?;
    Ok(user)
}

/// A change to a user; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct UserPatch {
    pub email: Option<Option<Email>>,
    pub firstname: Option<Option<String>>,
    pub lastname: Option<Option<String>>,
    pub roles: Option<Vec<Role>>,
    pub provider: Option<Option<String>>,
    pub domain: Option<Option<String>>,
    pub disabled: Option<bool>,
}

pub async fn get_user(ctx: &Context, userid: &UserId) -> Result<User, AuthError> {
    ctx.store.get_user(userid).await?.ok_or(AuthError::NotFound)
}

/// A page of users in userid order, and the userid to continue after if there may be more.
pub async fn list_users(
    ctx: &Context,
    after: Option<&UserId>,
    limit: usize,
) -> Result<(Vec<User>, Option<UserId>), AuthError> {
    // One more than asked tells whether another page exists.
    let mut users = ctx.store.list_users(after, limit + 1).await?;
    let next = if users.len() > limit {
        users.truncate(limit);
        users.last().map(|u| u.userid.clone())
    } else {
        None
    };
    Ok((users, next))
}

/// Applies a patch. Disabling a user ends all of that user's sessions (SPEC §4). A concurrent
/// edit of the same user is not lost: the patch is applied again to the newer record.
pub async fn update_user(
    ctx: &Context,
    userid: &UserId,
    patch: UserPatch,
) -> Result<User, AuthError> {
    // An unknown user is 404 before its fields are judged; an invalid field changes nothing.
    get_user(ctx, userid).await?;
    let patch = UserPatch {
        firstname: patch
            .firstname
            .map(|v| NewUser::text_field("firstname", v))
            .transpose()?,
        lastname: patch
            .lastname
            .map(|v| NewUser::text_field("lastname", v))
            .transpose()?,
        provider: patch
            .provider
            .map(|v| NewUser::text_field("provider", v))
            .transpose()?,
        domain: patch
            .domain
            .map(|v| NewUser::text_field("domain", v))
            .transpose()?,
        ..patch
    };
    let (store, patch, now) = (&*ctx.store, &patch, ctx.now());
    edit(|| async move {
        let mut user = store.get_user(userid).await?.ok_or(StoreError::NotFound)?;
        patch.apply(&mut user);
        user.updated_at = now;
        store.update_user(&user).await?;
        user.version += 1;
        // Whenever the result is disabled, not only on the change: a PATCH retried after a 503
        // that stored the flag but not the revocations still ends the sessions.
        if user.disabled {
            store.revoke_user_sessions(&user.userid, now).await?;
        }
        Ok(user)
    })
    .await
}

impl UserPatch {
    fn apply(&self, user: &mut User) {
        if let Some(email) = &self.email {
            user.email.clone_from(email);
        }
        if let Some(firstname) = &self.firstname {
            user.firstname.clone_from(firstname);
        }
        if let Some(lastname) = &self.lastname {
            user.lastname.clone_from(lastname);
        }
        if let Some(provider) = &self.provider {
            user.provider.clone_from(provider);
        }
        if let Some(domain) = &self.domain {
            user.domain.clone_from(domain);
        }
        if let Some(roles) = &self.roles {
            user.roles.clone_from(roles);
        }
        if let Some(disabled) = self.disabled {
            user.disabled = disabled;
        }
    }
}

/// Sets a new password and ends all of the user's sessions.
pub async fn set_password(
    ctx: &Context,
    userid: &UserId,
    password: SecretString,
) -> Result<(), AuthError> {
    NewUser::check_password(password.expose(), ctx.config().passwords.min_length)?;
    get_user(ctx, userid).await?;
    let phc = ctx.hasher.hash(password).await?;
    let (store, phc, now) = (&*ctx.store, &phc, ctx.now());
    edit(|| async move {
        let mut user = store.get_user(userid).await?.ok_or(StoreError::NotFound)?;
        user.password_hash.clone_from(phc);
        user.updated_at = now;
        store.update_user(&user).await?;
        store.revoke_user_sessions(userid, now).await?;
        Ok(())
    })
    .await
}

/// Deletes a user and ends all of that user's sessions.
pub async fn delete_user(ctx: &Context, userid: &UserId) -> Result<(), AuthError> {
    let now = ctx.now();
    ctx.store.revoke_user_sessions(userid, now).await?;
    let existed = ctx.store.delete_user(userid).await?;
    if existed {
        Ok(())
    } else {
        Err(AuthError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Session, SessionId};
    use crate::storage::sled::SledStore;
    use crate::storage::{SessionStore, UserStore};
    use std::sync::Arc;

    #[actix_rt::test]
    async fn disabling_again_ends_sessions_a_failed_attempt_left_alive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(SledStore::open(dir.path()).expect("open"));
        let ctx = crate::auth::testing::context(store.clone()).await;
        let alice = crate::storage::contract::user("alice");
        store.create_user(&alice).await.expect("create");
        let now = ctx.now();
        let session = Session {
            id: SessionId(uuid::Uuid::new_v4()),
            userid: alice.userid.clone(),
            provider: None,
            domain: None,
            created_at: now,
            expires_at: now + time::Duration::days(1),
            revoked_at: None,
        };
        store
            .create_session(&session, &crate::storage::contract::token(&session, now))
            .await
            .expect("session");
        // A first PATCH stored the flag, then failed (503) before ending the sessions.
        let mut disabled = store
            .get_user(&alice.userid)
            .await
            .expect("get")
            .expect("exists");
        disabled.disabled = true;
        store.update_user(&disabled).await.expect("disable");

        let patch = UserPatch {
            disabled: Some(true),
            ..UserPatch::default()
        };
        update_user(&ctx, &alice.userid, patch)
            .await
            .expect("retry");

        let after = store
            .get_session(session.id)
            .await
            .expect("get")
            .expect("exists");
        assert!(after.revoked_at.is_some(), "the retry ended the session");
    }
}
