//! The OAuth 2.0 endpoints: introspection (RFC 7662), revocation (RFC 7009) and the token
//! endpoint (RFC 6749) for the refresh_token grant.

use super::error::ApiError;
use super::extract::{note_caller, Body, IntrospectionCaller};
use crate::auth::introspect::{self, Introspection};
use crate::auth::login;
use crate::auth::{AuthError, Context};
use crate::crypto::SecretString;
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
pub struct TokenParam {
    token: Option<SecretString>,
    #[allow(
        dead_code,
        reason = "accepted per RFC 7662; every kind is tried regardless"
    )]
    token_type_hint: Option<String>,
}

fn no_store(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    builder
}

/// `POST /oauth2/introspect`.
pub async fn introspect(
    _caller: IntrospectionCaller,
    ctx: Data<Context>,
    Body(body): Body<TokenParam>,
) -> Result<HttpResponse, ApiError> {
    let token = body
        .token
        .ok_or_else(|| ApiError::BadRequest("token is required".into()))?;
    let answer = match introspect::introspect(&ctx, token.expose()).await? {
        Introspection::Inactive => json!({"active": false}),
        Introspection::Claims(c) => json!({
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
        Introspection::Refresh(r) => json!({
            "active": true,
            "token_type": "refresh_token",
            "sub": r.userid.as_str(),
            "username": r.userid.as_str(),
            "exp": r.expires_at.unix_timestamp(),
            "iat": r.issued_at.unix_timestamp(),
            "sid": r.session.to_string(),
        }),
    };
    Ok(no_store(HttpResponse::Ok()).json(answer))
}

/// `POST /oauth2/revoke`: 200 whatever the token (RFC 7009 §2.2).
pub async fn revoke(
    _caller: IntrospectionCaller,
    ctx: Data<Context>,
    Body(body): Body<TokenParam>,
) -> Result<HttpResponse, ApiError> {
    let token = body
        .token
        .ok_or_else(|| ApiError::BadRequest("token is required".into()))?;
    introspect::revoke(&ctx, token.expose()).await?;
    Ok(no_store(HttpResponse::Ok()).finish())
}

#[derive(Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    refresh_token: Option<SecretString>,
}

fn oauth_error(code: &'static str, description: &str) -> ApiError {
    ApiError::OAuth {
        code,
        description: description.to_string(),
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
            "this server supports the refresh_token grant",
        )),
    }
}
