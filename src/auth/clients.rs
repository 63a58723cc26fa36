//! OAuth clients: their secrets, AccessToken/AccessSecret pairs and client_credentials access
//! tokens (SPEC §4, §7; RFC 6749 §4.4, RFC 9068).

use super::{AuthError, Context};
use crate::domain::{AccessPair, ClientId, Name, OAuthClient, PairId, Scope};
use crate::tokens::access::AccessToken;
use crate::tokens::secret::GeneratedSecret;
use crate::tokens::{client_secret, pair};
use uuid::Uuid;

pub async fn create_client(
    ctx: &Context,
    name: Name,
    scopes: Vec<Scope>,
) -> Result<(OAuthClient, GeneratedSecret), AuthError> {
    let id = ClientId(Uuid::new_v4());
    let secret = client_secret::mint(id);
    let mut scopes = scopes;
    scopes.sort();
    scopes.dedup();
    let client = OAuthClient {
        id,
        name,
        scopes,
        secret_hash: secret.hash(),
        created_at: ctx.now(),
        version: 1,
    };
    ctx.store.create_client(&client).await?;
    Ok((client, secret))
}

pub async fn list_clients(ctx: &Context) -> Result<Vec<OAuthClient>, AuthError> {
    let mut clients = ctx.store.list_clients().await?;
    clients.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(clients)
}

pub async fn get_client(ctx: &Context, id: ClientId) -> Result<OAuthClient, AuthError> {
    ctx.store.get_client(id).await?.ok_or(AuthError::NotFound)
}

/// Deletes a client; its pairs go with it and its access tokens stop introspecting.
pub async fn delete_client(ctx: &Context, id: ClientId) -> Result<(), AuthError> {
    if ctx.store.delete_client(id).await? {
        Ok(())
    } else {
        Err(AuthError::NotFound)
    }
}

/// Gives a client a new secret; the old one stops working at once.
pub async fn rotate_secret(
    ctx: &Context,
    id: ClientId,
) -> Result<(OAuthClient, GeneratedSecret), AuthError> {
    let secret = client_secret::mint(id);
    let (store, hash) = (&*ctx.store, &secret.hash());
    let client = super::edit::edit(|| async move {
        let mut client = store
            .get_client(id)
            .await?
            .ok_or(crate::storage::StoreError::NotFound)?;
        client.secret_hash = *hash;
        store.update_client(&client).await?;
        client.version += 1;
        Ok(client)
    })
    .await?;
    Ok((client, secret))
}

/// Checks `client_id`/`client_secret`. A malformed secret, or one whose embedded id is not the
/// client's, fails before any lookup; the hash compare is constant-time.
pub async fn authenticate(
    ctx: &Context,
    client_id: &str,
    secret: &str,
) -> Result<OAuthClient, AuthError> {
    let id = ClientId::parse(client_id).ok_or(AuthError::InvalidClient)?;
    if client_secret::parse(secret).is_none_or(|p| p.id != id.0) {
        return Err(AuthError::InvalidClient);
    }
    let client = ctx
        .store
        .get_client(id)
        .await?
        .ok_or(AuthError::InvalidClient)?;
    check_secret(client, secret)
}

/// Whether `secret` is the current secret of `client`, already read from the store.
fn check_secret(client: OAuthClient, secret: &str) -> Result<OAuthClient, AuthError> {
    match client_secret::parse(secret) {
        Some(parsed) if parsed.id == client.id.0 && parsed.matches(&client.secret_hash) => {
            Ok(client)
        }
        _ => Err(AuthError::InvalidClient),
    }
}

/// [`authenticate`] for a request from `address`: refused while the address is locked out,
/// and a failure counts towards its lockout like any failed credential (SPEC §3).
pub async fn authenticate_from(
    ctx: &Context,
    client_id: &str,
    secret: &str,
    address: Option<std::net::IpAddr>,
) -> Result<OAuthClient, AuthError> {
    let now = unless_locked(ctx, address).await?;
    let outcome = authenticate(ctx, client_id, secret).await;
    counted(ctx, address, now, outcome).await
}

/// [`authenticate_from`] for a client the caller has read from the store already.
pub async fn authenticate_found_from(
    ctx: &Context,
    client: OAuthClient,
    secret: &str,
    address: Option<std::net::IpAddr>,
) -> Result<OAuthClient, AuthError> {
    let now = unless_locked(ctx, address).await?;
    counted(ctx, address, now, check_secret(client, secret)).await
}

/// Refuses a locked-out address before any secret is looked at; says when it was checked.
async fn unless_locked(
    ctx: &Context,
    address: Option<std::net::IpAddr>,
) -> Result<time::OffsetDateTime, AuthError> {
    let now = ctx.now();
    super::guard::check(ctx, None, address, now).await?;
    Ok(now)
}

/// Counts a failed client authentication for the statistics and the address's lockout.
async fn counted(
    ctx: &Context,
    address: Option<std::net::IpAddr>,
    now: time::OffsetDateTime,
    outcome: Result<OAuthClient, AuthError>,
) -> Result<OAuthClient, AuthError> {
    if matches!(outcome, Err(AuthError::InvalidClient)) {
        super::stats::failure(ctx, now).await;
        let config = ctx.config();
        super::guard::fail(ctx, &config.login_protection, None, address, now).await?;
    }
    outcome
}

/// The scopes granted for a request: all of the client's when none are asked for; an asked
/// scope the client lacks is `InvalidScope` (RFC 6749 §5.2).
pub fn granted_scopes(
    client: &OAuthClient,
    requested: Option<&str>,
) -> Result<Vec<Scope>, AuthError> {
    let Some(requested) = requested.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(client.scopes.clone());
    };
    let mut granted = Vec::new();
    for word in requested.split(' ').filter(|w| !w.is_empty()) {
        let scope = Scope::parse(word).map_err(|_| AuthError::InvalidScope)?;
        if !client.scopes.contains(&scope) {
            return Err(AuthError::InvalidScope);
        }
        if !granted.contains(&scope) {
            granted.push(scope);
        }
    }
    Ok(granted)
}

/// An AccessToken/AccessSecret pair with all the client's scopes.
pub async fn issue_pair(
    ctx: &Context,
    client: &OAuthClient,
) -> Result<(String, GeneratedSecret), AuthError> {
    let (token, secret) = pair::mint();
    let now = ctx.now();
    let record = AccessPair {
        id: PairId(secret.id),
        client_id: client.id,
        secret_hash: secret.hash(),
        scopes: client.scopes.clone(),
        issued_at: now,
        expires_at: now + ctx.config().runtime.lifetimes.access_token,
    };
    ctx.store.create_pair(&record).await?;
    Ok((token, secret))
}

/// A signed RFC 9068 access token for the client_credentials grant.
pub fn issue_access_token(
    ctx: &Context,
    client: &OAuthClient,
    scopes: &[Scope],
) -> Result<(String, AccessToken), AuthError> {
    let config = ctx.config();
    let now = ctx.now();
    let claims = AccessToken {
        iss: config.server.external_url_base.clone(),
        sub: client.id.to_string(),
        aud: config.tokens.audience.clone(),
        client_id: client.id.to_string(),
        scope: Scope::join(scopes),
        iat: now.unix_timestamp(),
        exp: (now + config.runtime.lifetimes.access_token).unix_timestamp(),
        nbf: None,
        jti: Uuid::new_v4().to_string(),
    };
    Ok((claims.sign(&ctx.keys)?, claims))
}
