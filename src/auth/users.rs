//! Creating directory users: validation at the edge, argon2id hashing, durable storage.

use super::{blocking, AuthError, Context};
use crate::crypto::password::PasswordHasher;
use crate::crypto::SecretString;
use crate::domain::{NewUser, User};
use crate::storage::Store;
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
    }
}

/// Creates a user; `Conflict` if the userid is taken. The password is hashed off the workers.
pub async fn create_user(ctx: &Context, new: NewUser) -> Result<User, AuthError> {
    NewUser::check_password(&new.password, ctx.config().passwords.min_length)?;
    if ctx.store.get_user(&new.userid)?.is_some() {
        return Err(AuthError::Conflict);
    }
    let phc = ctx
        .hasher
        .hash(SecretString::new(new.password.clone()))
        .await?;
    let user = build(new, phc, ctx.now());
    let (store, stored) = (ctx.store.clone(), user.clone());
    blocking(move || store.create_user(&stored)).await?;
    Ok(user)
}

/// The same for the command line and the bootstrap, where no runtime is serving requests.
pub fn create_user_blocking(
    store: &dyn Store,
    hasher: &PasswordHasher,
    min_length: usize,
    new: NewUser,
    now: OffsetDateTime,
) -> Result<User, AuthError> {
    NewUser::check_password(&new.password, min_length)?;
    let phc = hasher.hash_blocking(&SecretString::new(new.password.clone()))?;
    let user = build(new, phc, now);
    store.create_user(&user)?;
    Ok(user)
}
