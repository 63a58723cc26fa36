//! The service itself: statistics (SPEC §6), configuration reload (SPEC §2) and preamble
//! token minting (SPEC §5).

use crate::auth::{preamble, reload, Context};
use crate::domain::UserId;
use crate::http::error::ApiError;
use crate::http::extract::{AdminCaller, StatisticsCaller, WithBody};
use crate::http::oauth::no_store;
use actix_web::web::Data;
use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::json;

/// `GET /api/v1/statistics`.
pub async fn statistics(_: StatisticsCaller, ctx: Data<Context>) -> Result<HttpResponse, ApiError> {
    let now = ctx.now();
    let store = &ctx.store;
    let hour = ctx.stats.last_hour(now);
    Ok(no_store(HttpResponse::Ok()).json(json!({
        "users": store.count_users().map_err(crate::auth::AuthError::from)?,
        "applications": store.count_apps().map_err(crate::auth::AuthError::from)?,
        "api_keys": store.count_api_keys().map_err(crate::auth::AuthError::from)?,
        "live_sessions": store.count_live_sessions(now).map_err(crate::auth::AuthError::from)?,
        "logins_last_hour": hour.logins,
        "failed_logins_last_hour": hour.failures,
    })))
}

/// `POST /api/v1/admin/reload`.
pub async fn reload(_: AdminCaller, ctx: Data<Context>) -> Result<HttpResponse, ApiError> {
    match reload::reload(&ctx) {
        Ok(done) => Ok(HttpResponse::Ok().json(json!({
            "status": "reloaded",
            "restart_required": done.restart_required,
        }))),
        Err(e) => Err(ApiError::InvalidConfig(e.to_string())),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MintPreamble {
    userid: String,
}

/// `POST /api/v1/tokens/preamble`.
pub async fn mint_preamble(
    ctx: Data<Context>,
    WithBody(_, body): WithBody<AdminCaller, MintPreamble>,
) -> Result<HttpResponse, ApiError> {
    let userid = UserId::parse(&body.userid).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let (token, exp) = preamble::mint(&ctx, &userid)?;
    Ok(no_store(HttpResponse::Ok()).json(json!({"token": token, "exp": exp})))
}
