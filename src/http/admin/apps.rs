//! `/api/v1/applications`: applications, their API keys and device token (SPEC §4).

use super::{double_option, parse_time, path_id, rfc3339, rfc3339_opt};
use crate::auth::apps::{self, IssuedKey, KeyPatch};
use crate::auth::Context;
use crate::domain::{ApiKey, Application, Name};
use crate::http::error::ApiError;
use crate::http::extract::{AdminCaller, ApiKeyCaller, WithBody};
use crate::http::response::no_store;
use actix_web::web::{Data, Path};
use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, Value};

fn name(raw: &str) -> Result<Name, ApiError> {
    Ok(Name::parse(raw)?)
}

fn app_json(app: &Application) -> Value {
    json!({
        "app_id": app.id.to_string(),
        "name": app.name.as_str(),
        "created_at": rfc3339(app.created_at),
    })
}

fn key_json(key: &ApiKey) -> Value {
    json!({
        "id": key.id.to_string(),
        "name": key.name.as_str(),
        "created_at": rfc3339(key.created_at),
        "expires_at": rfc3339_opt(key.expires_at),
        "enabled": key.enabled,
        "last_used_at": rfc3339_opt(key.last_used_at),
    })
}

/// A key with its secret: the only answers that ever show it.
fn issued_json(issued: &IssuedKey) -> Value {
    let key = &issued.key;
    json!({
        "id": key.id.to_string(),
        "name": key.name.as_str(),
        "key": issued.secret.expose(),
        "created_at": rfc3339(key.created_at),
        "expires_at": rfc3339_opt(key.expires_at),
        "enabled": key.enabled,
    })
}

/// Answers that carry a secret are never cached.
fn secret_response(builder: actix_web::HttpResponseBuilder, body: Value) -> HttpResponse {
    no_store(builder).json(body)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApp {
    name: String,
}

/// `POST /api/v1/applications`.
pub async fn create(
    ctx: Data<Context>,
    WithBody(_, body): WithBody<AdminCaller, CreateApp>,
) -> Result<HttpResponse, ApiError> {
    let app = apps::create_app(&ctx, name(&body.name)?).await?;
    Ok(HttpResponse::Created().json(app_json(&app)))
}

/// `GET /api/v1/applications`.
pub async fn list(_: AdminCaller, ctx: Data<Context>) -> Result<HttpResponse, ApiError> {
    let apps = apps::list_apps(&ctx).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"applications": apps.iter().map(app_json).collect::<Vec<_>>()})))
}

/// `GET /api/v1/applications/{app_id}` on the intranet listener.
pub async fn get(
    _: AdminCaller,
    ctx: Data<Context>,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let app = apps::get_app(&ctx, path_id(&path)?).await?;
    Ok(HttpResponse::Ok().json(app_json(&app)))
}

/// `GET /api/v1/applications/{app_id}` on the public listener: the app itself, with one of its
/// own API keys (SPEC §4 application-side API).
pub async fn get_own(
    ApiKeyCaller(key): ApiKeyCaller,
    ctx: Data<Context>,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let app_id = path_id(&path).map_err(|_| ApiError::Forbidden)?;
    if key.app_id != app_id {
        return Err(ApiError::Forbidden);
    }
    let app = apps::get_app(&ctx, app_id).await?;
    Ok(HttpResponse::Ok().json(app_json(&app)))
}

/// `DELETE /api/v1/applications/{app_id}`.
pub async fn delete(
    _: AdminCaller,
    ctx: Data<Context>,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    apps::delete_app(&ctx, path_id(&path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    name: String,
    expires_at: Option<String>,
}

/// `POST /api/v1/applications/{app_id}/keys`.
pub async fn create_key(
    ctx: Data<Context>,
    path: Path<String>,
    WithBody(_, body): WithBody<AdminCaller, CreateKey>,
) -> Result<HttpResponse, ApiError> {
    let app_id = path_id(&path)?;
    let expires_at = body
        .expires_at
        .as_deref()
        .map(|t| parse_time("expires_at", t))
        .transpose()?;
    let issued = apps::create_key(&ctx, app_id, name(&body.name)?, expires_at).await?;
    Ok(secret_response(
        HttpResponse::Created(),
        issued_json(&issued),
    ))
}

/// `GET /api/v1/applications/{app_id}/keys`: metadata only, never a secret or a hash.
pub async fn list_keys(
    _: AdminCaller,
    ctx: Data<Context>,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let keys = apps::list_keys(&ctx, path_id(&path)?).await?;
    Ok(HttpResponse::Ok().json(json!({"keys": keys.iter().map(key_json).collect::<Vec<_>>()})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchKey {
    name: Option<String>,
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    expires_at: Option<Option<String>>,
}

/// `PATCH /api/v1/applications/{app_id}/keys/{id}`.
pub async fn patch_key(
    ctx: Data<Context>,
    path: Path<(String, String)>,
    WithBody(_, body): WithBody<AdminCaller, PatchKey>,
) -> Result<HttpResponse, ApiError> {
    let (app_id, key_id) = (path_id(&path.0)?, path_id(&path.1)?);
    let patch = KeyPatch {
        name: body.name.as_deref().map(name).transpose()?,
        enabled: body.enabled,
        expires_at: body
            .expires_at
            .map(|t| {
                t.as_deref()
                    .map(|t| parse_time("expires_at", t))
                    .transpose()
            })
            .transpose()?,
    };
    let key = apps::update_key(&ctx, app_id, key_id, patch).await?;
    Ok(HttpResponse::Ok().json(key_json(&key)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RefreshKey {
    #[serde(default, deserialize_with = "super::whole_number")]
    grace_seconds: Option<u64>,
}

/// `POST /api/v1/applications/{app_id}/keys/{id}/refresh`.
pub async fn refresh_key(
    ctx: Data<Context>,
    path: Path<(String, String)>,
    WithBody(_, body): WithBody<AdminCaller, RefreshKey>,
) -> Result<HttpResponse, ApiError> {
    let (app_id, key_id) = (path_id(&path.0)?, path_id(&path.1)?);
    let issued = apps::refresh_key(&ctx, app_id, key_id, body.grace_seconds.unwrap_or(0)).await?;
    Ok(secret_response(HttpResponse::Ok(), issued_json(&issued)))
}

/// `DELETE /api/v1/applications/{app_id}/keys/{id}`.
pub async fn delete_key(
    _: AdminCaller,
    ctx: Data<Context>,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    apps::delete_key(&ctx, path_id(&path.0)?, path_id(&path.1)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/applications/{app_id}/device-token`: creates or rotates; either way a new
/// token exists, so 201.
pub async fn issue_device_token(
    _: AdminCaller,
    ctx: Data<Context>,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let secret = apps::issue_device_token(&ctx, path_id(&path)?).await?;
    Ok(secret_response(
        HttpResponse::Created(),
        json!({"device_auth_token": secret.expose()}),
    ))
}

/// `GET /api/v1/applications/{app_id}/device-token`.
pub async fn device_token(
    _: AdminCaller,
    ctx: Data<Context>,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let app = apps::get_app(&ctx, path_id(&path)?).await?;
    Ok(HttpResponse::Ok().json(json!({
        "enabled": app.device_token.is_some(),
        "created_at": rfc3339_opt(app.device_token.as_ref().map(|d| d.created_at)),
    })))
}

/// `DELETE /api/v1/applications/{app_id}/device-token`.
pub async fn delete_device_token(
    _: AdminCaller,
    ctx: Data<Context>,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    apps::delete_device_token(&ctx, path_id(&path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
