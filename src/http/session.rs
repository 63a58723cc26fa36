//! `/api/v1/session` (SPEC §8): browser sign-in with a cookie and a CSRF token.

use super::error::ApiError;
use super::extract::{note_caller, Body};
use super::response::no_store;
use crate::auth::browser::{self, Current, COOKIE, CSRF_HEADER};
use crate::auth::Context;
use crate::crypto::SecretString;
use crate::domain::{Email, Role, User};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
pub struct SignIn {
    userid: Option<String>,
    password: Option<SecretString>,
}

fn user_json(u: &User) -> Value {
    json!({
        "userid": u.userid.as_str(),
        "email": u.email.as_ref().map(Email::as_str),
        "firstname": u.firstname,
        "lastname": u.lastname,
        "roles": u.roles.iter().map(Role::as_str).collect::<Vec<_>>(),
    })
}

/// The session cookie: `HttpOnly`, `SameSite=Strict`, `Secure` under TLS (SPEC §8). No
/// `Max-Age`: the idle timeout is kept by the server.
fn cookie(ctx: &Context, value: &str) -> Cookie<'static> {
    Cookie::build(COOKIE, value.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(ctx.config().tls.enable_ssl)
        .finish()
}

fn with_csrf(mut builder: HttpResponseBuilder, csrf: &str) -> HttpResponseBuilder {
    builder
        .insert_header(("X-CSRF-HEADER", CSRF_HEADER))
        .insert_header((CSRF_HEADER, csrf.to_string()));
    no_store(builder)
}

async fn current(req: &HttpRequest, ctx: &Context) -> Result<Option<(String, Current)>, ApiError> {
    let Some(value) = req.cookie(COOKIE).map(|c| c.value().to_string()) else {
        return Ok(None);
    };
    Ok(browser::current(ctx, &value).await?.map(|c| (value, c)))
}

/// `POST /api/v1/session` `{userid, password}`.
pub async fn sign_in(
    req: HttpRequest,
    ctx: Data<Context>,
    Body(body): Body<SignIn>,
) -> Result<HttpResponse, ApiError> {
    let userid = body
        .userid
        .ok_or_else(|| ApiError::BadRequest("userid is required".into()))?;
    let password = body
        .password
        .ok_or_else(|| ApiError::BadRequest("password is required".into()))?;
    let address = req.peer_addr().map(|a| a.ip());
    let opened = browser::open(&ctx, &userid, password, address).await?;
    note_caller(&req, opened.user.userid.as_str());
    Ok(with_csrf(HttpResponse::Ok(), &opened.csrf)
        .cookie(cookie(&ctx, opened.cookie.expose()))
        .json(user_json(&opened.user)))
}

/// `GET /api/v1/session`: who the cookie belongs to, and the CSRF token again (a reloaded
/// page has lost it). No Basic challenge: a browser would pop up a password dialog.
pub async fn who(req: HttpRequest, ctx: Data<Context>) -> Result<HttpResponse, ApiError> {
    let (_, current) = current(&req, &ctx).await?.ok_or(ApiError::Unauthorized)?;
    note_caller(&req, current.user.userid.as_str());
    Ok(with_csrf(HttpResponse::Ok(), &current.csrf).json(user_json(&current.user)))
}

/// `DELETE /api/v1/session`: a state change like any other, so it needs the CSRF token.
pub async fn sign_out(req: HttpRequest, ctx: Data<Context>) -> Result<HttpResponse, ApiError> {
    let (value, current) = current(&req, &ctx).await?.ok_or(ApiError::Unauthorized)?;
    let presented = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    if ctx.config().csrf.enable && !browser::csrf_matches(&current, presented) {
        return Err(ApiError::CsrfFailed);
    }
    note_caller(&req, current.user.userid.as_str());
    browser::close(&ctx, &value).await?;
    let mut gone = cookie(&ctx, "");
    gone.make_removal();
    Ok(no_store(HttpResponse::NoContent()).cookie(gone).finish())
}
