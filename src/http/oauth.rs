//! The OAuth 2.0 endpoints: introspection (RFC 7662), revocation (RFC 7009), the token
//! endpoint (RFC 6749: client_credentials and refresh_token) and the Volt MX AccessToken pair.

use super::error::ApiError;
use super::extract::{
    basic_credentials, context, note_caller, Body, IntrospectionCaller, WithBody,
};
/// Re-exported from its new home [`crate::http::response`] for callers not yet moved to it.
pub use super::response::no_store;
use crate::auth::caller::Caller;
use crate::auth::credentials::Credential;
use crate::auth::introspect::RevokeScope;
use crate::auth::{clients, introspect, login, AuthError, Context};
use crate::crypto::SecretString;
use crate::domain::{OAuthClient, Scope};
use crate::tokens::pair;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
pub struct TokenParam {
    token: Option<SecretString>,
    #[allow(
        dead_code,
        reason = "accepted per RFC 7662; every kind is tried regardless"
    )]
    token_type_hint: Option<String>,
    /// Completes an AccessToken (SPEC §7).
    access_secret: Option<SecretString>,
    /// The user a preamble token is for (SPEC §7): the token itself does not name them.
    username: Option<String>,
}

/// The RFC 7662 answer for a live credential (also the body of `/api/v1/check`).
pub fn describe(credential: &Credential) -> Value {
    match credential {
        Credential::Claims(c) => json!({
            "active": true,
            "token_type": "claims_token",
            "sub": c.sub,
            "username": c.sub,
            "roles": c.roles,
            "exp": c.exp,
            "iat": c.iat,
            "iss": c.iss,
            "aud": c.aud,
            "jti": c.jti,
            "sid": c.sid,
        }),
        Credential::Refresh(r) => json!({
            "active": true,
            "token_type": "refresh_token",
            "sub": r.userid.as_str(),
            "username": r.userid.as_str(),
            "exp": r.expires_at.unix_timestamp(),
            "iat": r.issued_at.unix_timestamp(),
            "sid": r.session.to_string(),
        }),
        Credential::Access(a) => json!({
            "active": true,
            "token_type": "access_token",
            "sub": a.sub,
            "client_id": a.client_id,
            "scope": a.scope,
            "exp": a.exp,
            "iat": a.iat,
            "iss": a.iss,
            "aud": a.aud,
            "jti": a.jti,
        }),
        Credential::Pair(p) => json!({
            "active": true,
            "token_type": "access_token_pair",
            "sub": p.client_id.to_string(),
            "client_id": p.client_id.to_string(),
            "scope": Scope::join(&p.scopes),
            "exp": p.expires_at.unix_timestamp(),
            "iat": p.issued_at.unix_timestamp(),
        }),
        Credential::ApiKey(k) => {
            let mut body = json!({
                "active": true,
                "token_type": "api_key",
                "sub": k.app_id.to_string(),
                "app_id": k.app_id.to_string(),
                "key_id": k.id.to_string(),
                "iat": k.created_at.unix_timestamp(),
            });
            if let Some(exp) = k.expires_at {
                body["exp"] = json!(exp.unix_timestamp());
            }
            body
        }
        Credential::Preamble { userid, start, exp } => json!({
            "active": true,
            "token_type": "preamble_token",
            "sub": userid,
            "username": userid,
            "nbf": start,
            "iat": start,
            "exp": exp,
        }),
        Credential::Device(app) => json!({
            "active": true,
            "token_type": "device_token",
            "sub": app.id.to_string(),
            "app_id": app.id.to_string(),
            "iat": app.device_token.as_ref().map(|d| d.created_at.unix_timestamp()),
        }),
    }
}

fn required_token(token: Option<SecretString>) -> Result<SecretString, ApiError> {
    token.ok_or_else(|| ApiError::BadRequest("token is required".into()))
}

/// `POST /oauth2/introspect`.
pub async fn introspect(
    ctx: Data<Context>,
    WithBody(_, body): WithBody<IntrospectionCaller, TokenParam>,
) -> Result<HttpResponse, ApiError> {
    let token = required_token(body.token)?;
    let secret = body.access_secret.as_ref().map(SecretString::expose);
    let username = body.username.as_deref();
    let answer = match introspect::introspect(&ctx, token.expose(), secret, username).await? {
        Some(credential) => describe(&credential),
        None => json!({"active": false}),
    };
    Ok(no_store(HttpResponse::Ok()).json(answer))
}

/// `POST /oauth2/revoke`: 200 whatever the token (RFC 7009 §2.2).
pub async fn revoke(
    ctx: Data<Context>,
    WithBody(IntrospectionCaller(caller), body): WithBody<IntrospectionCaller, TokenParam>,
) -> Result<HttpResponse, ApiError> {
    let token = required_token(body.token)?;
    let scope = match &caller {
        Caller::Client(c) => RevokeScope::Client(c.id),
        Caller::Pair(p) => RevokeScope::Client(p.client_id),
        Caller::Static(_) | Caller::User(_) | Caller::Anonymous => RevokeScope::Any,
    };
    introspect::revoke(&ctx, token.expose(), scope).await?;
    Ok(no_store(HttpResponse::Ok()).finish())
}

#[derive(Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    refresh_token: Option<SecretString>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
}

fn oauth_error(code: &'static str, description: &str) -> ApiError {
    ApiError::OAuth {
        code,
        description: description.to_string(),
    }
}

/// RFC 6749 §2.3.1: Basic credentials of a client are form-urlencoded before base64.
fn form_decoded(text: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={text}"))
        .ok()
        .and_then(|mut v| v.pop())
        .map_or_else(|| text.to_string(), |(_, v)| v)
}

/// Authenticates the OAuth client of a request: Basic (client_secret_basic) or, for the token
/// endpoint, form fields (client_secret_post).
async fn client_of(
    req: &HttpRequest,
    ctx: &Context,
    form: Option<(Option<String>, Option<SecretString>)>,
) -> Result<OAuthClient, ApiError> {
    let realm = ctx.config().server.realm.clone();
    let address = req.peer_addr().map(|a| a.ip());
    if let Some((id, secret)) = basic_credentials(req.headers())? {
        let client = clients::authenticate_from(
            ctx,
            &form_decoded(&id),
            &form_decoded(secret.expose()),
            address,
        )
        .await
        .map_err(|e| match e {
            AuthError::InvalidClient => ApiError::InvalidClient { realm: Some(realm) },
            other => other.into(),
        })?;
        note_caller(req, &format!("client:{}", client.id));
        return Ok(client);
    }
    match form {
        Some((Some(id), Some(secret))) => {
            let client = clients::authenticate_from(ctx, &id, secret.expose(), address).await?;
            note_caller(req, &format!("client:{}", client.id));
            Ok(client)
        }
        _ => Err(ApiError::InvalidClient { realm: Some(realm) }),
    }
}

/// `POST /oauth2/token`.
pub async fn token(
    req: HttpRequest,
    ctx: Data<Context>,
    Body(body): Body<TokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let grant_type = body
        .grant_type
        .ok_or_else(|| oauth_error("invalid_request", "grant_type is required"))?;
    match grant_type.as_str() {
        "client_credentials" => {
            let client = client_of(&req, &ctx, Some((body.client_id, body.client_secret))).await?;
            let scopes = clients::granted_scopes(&client, body.scope.as_deref())?;
            let (token, claims) = clients::issue_access_token(&ctx, &client, &scopes)?;
            Ok(no_store(HttpResponse::Ok()).json(json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": claims.exp - claims.iat,
                "scope": claims.scope,
            })))
        }
        "refresh_token" => {
            let presented = body
                .refresh_token
                .ok_or_else(|| oauth_error("invalid_request", "refresh_token is required"))?;
            let grant = login::refresh(&ctx, presented).await.map_err(|e| match e {
                // RFC 6749 §5.2: a bad refresh token is 400 invalid_grant here.
                AuthError::InvalidGrant => oauth_error(
                    "invalid_grant",
                    "the refresh token is invalid, expired or revoked",
                ),
                other => other.into(),
            })?;
            note_caller(&req, grant.user.userid.as_str());
            let expires_in = (grant.claims.exp - ctx.now().unix_timestamp()).max(0);
            Ok(no_store(HttpResponse::Ok()).json(json!({
                "access_token": grant.claims_token,
                "token_type": "Bearer",
                "expires_in": expires_in,
                "refresh_token": grant.refresh_token.expose(),
            })))
        }
        _ => Err(oauth_error(
            "unsupported_grant_type",
            "this server supports the client_credentials and refresh_token grants",
        )),
    }
}

/// `GET /api/v1/oauth/accesstoken`: a Volt MX AccessToken/AccessSecret pair for a client
/// authenticated by Basic.
pub async fn access_token_pair(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let ctx = context(&req)?;
    let client = client_of(&req, &ctx, None).await?;
    let (token, secret) = clients::issue_pair(&ctx, &client).await?;
    debug_assert_eq!(
        pair::parse_access_token(&token).map(|id| id.0),
        Some(secret.id)
    );
    Ok(no_store(HttpResponse::Ok()).json(json!({
        "AccessToken": token,
        "AccessSecret": secret.expose(),
    })))
}
