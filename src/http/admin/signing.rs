//! `/api/v1/signing-keys`: list and rotate the JWT signing keys (SPEC §4).

use super::{rfc3339, rfc3339_opt};
use crate::auth::{signing, Context};
use crate::domain::StoredSigningKey;
use crate::http::error::ApiError;
use crate::http::extract::AdminCaller;
use actix_web::web::Data;
use actix_web::HttpResponse;
use serde_json::{json, Value};

/// Public facts about a key; never its material.
fn key_json(k: &StoredSigningKey) -> Value {
    json!({
        "kid": k.kid,
        "alg": k.alg,
        "created_at": rfc3339(k.created_at),
        "active": k.active,
        "retired_at": rfc3339_opt(k.retired_at),
    })
}

/// `GET /api/v1/signing-keys`.
pub async fn list(_: AdminCaller, ctx: Data<Context>) -> Result<HttpResponse, ApiError> {
    let keys = signing::list(&ctx).await?;
    Ok(HttpResponse::Ok().json(json!({"keys": keys.iter().map(key_json).collect::<Vec<_>>()})))
}

/// `POST /api/v1/signing-keys/rotate`.
pub async fn rotate(_: AdminCaller, ctx: Data<Context>) -> Result<HttpResponse, ApiError> {
    let key = signing::rotate(&ctx).await?;
    Ok(HttpResponse::Created().json(key_json(&key)))
}
