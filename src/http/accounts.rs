//! The Volt MX MBaaS account routes (SPEC §3): login, refresh, claims, logout.

use super::error::ApiError;
use super::extract::{claims_header, note_caller, Body};
use super::response::no_store;
use crate::auth::login::{self, Grant, LoginRequest, LogoutBy};
use crate::auth::Context;
use crate::crypto::SecretString;
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
pub struct LoginBody {
    userid: Option<String>,
    password: Option<SecretString>,
    provider: Option<String>,
    domain: Option<String>,
}

#[derive(Deserialize)]
pub struct RefreshBody {
    refresh_token: Option<SecretString>,
}

fn required<T>(value: Option<T>, name: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::BadRequest(format!("{name} is required")))
}

/// The Volt MX login answer; `exp` in milliseconds. Token responses are never cached.
pub fn grant_response(grant: &Grant) -> HttpResponse {
    let user = &grant.user;
    no_store(HttpResponse::Ok()).json(json!({
        "profile": {
            "email": user.email.as_ref().map(|e| e.as_str()),
            "userid": user.userid.as_str(),
            "firstname": user.firstname,
            "lastname": user.lastname,
        },
        "refresh_token": grant.refresh_token.expose(),
        "claims_token": {
            "value": grant.claims_token,
            "exp": grant.claims.exp.saturating_mul(1000),
        },
    }))
}

/// `POST /login`, `POST /authService/accounts/login`.
pub async fn login(
    req: HttpRequest,
    ctx: Data<Context>,
    Body(body): Body<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let request = LoginRequest {
        userid: required(body.userid, "userid")?,
        password: required(body.password, "password")?,
        provider: body.provider,
        domain: body.domain,
        address: req.peer_addr().map(|a| a.ip()),
    };
    let grant = login::login(&ctx, request).await?;
    note_caller(&req, grant.user.userid.as_str());
    Ok(grant_response(&grant))
}

/// `POST /authService/accounts/refresh` with `refresh_token` in the body.
pub async fn refresh(
    req: HttpRequest,
    ctx: Data<Context>,
    Body(body): Body<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let token = required(body.refresh_token, "refresh_token")?;
    let grant = login::refresh(&ctx, token).await?;
    note_caller(&req, grant.user.userid.as_str());
    Ok(grant_response(&grant))
}

/// `POST /authService/accounts/claims`: the Volt MX SDKs send the raw refresh token in
/// `Authorization` (some with a `Bearer` scheme) and an empty form body.
pub async fn claims(req: HttpRequest, ctx: Data<Context>) -> Result<HttpResponse, ApiError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let v = v.trim();
            match v.split_once(' ') {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
                _ => v,
            }
        })
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError::BadRequest("the refresh token is required in Authorization".into())
        })?;
    let grant = login::refresh(&ctx, SecretString::new(token)).await?;
    note_caller(&req, grant.user.userid.as_str());
    Ok(grant_response(&grant))
}

/// `POST /authService/accounts/logout` with `refresh_token`, or the claims token in a header.
pub async fn logout(
    req: HttpRequest,
    ctx: Data<Context>,
    Body(body): Body<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let by = match (body.refresh_token, claims_header(req.headers())) {
        (Some(token), _) => LogoutBy::RefreshToken(token),
        (None, Some(jwt)) => LogoutBy::ClaimsToken(jwt),
        (None, None) => {
            return Err(ApiError::BadRequest(
                "send refresh_token, or the claims token in X-VoltMX-Authorization".into(),
            ))
        }
    };
    login::logout(&ctx, by).await?;
    Ok(no_store(HttpResponse::Ok()).json(json!({})))
}
