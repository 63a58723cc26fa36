//! `/api/v1/oauth/clients`: OAuth clients (SPEC §4).

use super::{path_id, rfc3339};
use crate::auth::clients;
use crate::auth::Context;
use crate::domain::{Name, OAuthClient, Scope};
use crate::http::error::ApiError;
use crate::http::extract::{AdminCaller, WithBody};
use crate::http::response::no_store;
use crate::tokens::secret::GeneratedSecret;
use actix_web::web::{Data, Path};
use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, Value};

fn client_json(c: &OAuthClient) -> Value {
    json!({
        "client_id": c.id.to_string(),
        "name": c.name.as_str(),
        "scopes": c.scopes.iter().map(Scope::as_str).collect::<Vec<_>>(),
        "created_at": rfc3339(c.created_at),
    })
}

fn with_secret(c: &OAuthClient, secret: &GeneratedSecret) -> Value {
    let mut body = client_json(c);
    body["client_secret"] = json!(secret.expose());
    body
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    name: String,
    #[serde(default)]
    scopes: Vec<String>,
}

/// `POST /api/v1/oauth/clients`.
pub async fn create(
    ctx: Data<Context>,
    WithBody(_, body): WithBody<AdminCaller, CreateClient>,
) -> Result<HttpResponse, ApiError> {
    let name = Name::parse(&body.name)?;
    let scopes = body
        .scopes
        .iter()
        .map(|s| Scope::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let (client, secret) = clients::create_client(&ctx, name, scopes).await?;
    Ok(no_store(HttpResponse::Created()).json(with_secret(&client, &secret)))
}

/// `GET /api/v1/oauth/clients`.
pub async fn list(_: AdminCaller, ctx: Data<Context>) -> Result<HttpResponse, ApiError> {
    let all = clients::list_clients(&ctx).await?;
    Ok(
        HttpResponse::Ok()
            .json(json!({"clients": all.iter().map(client_json).collect::<Vec<_>>()})),
    )
}

/// `GET /api/v1/oauth/clients/{client_id}`.
pub async fn get(
    _: AdminCaller,
    ctx: Data<Context>,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let client = clients::get_client(&ctx, path_id(&path)?).await?;
    Ok(HttpResponse::Ok().json(client_json(&client)))
}

/// `DELETE /api/v1/oauth/clients/{client_id}`.
pub async fn delete(
    _: AdminCaller,
    ctx: Data<Context>,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    clients::delete_client(&ctx, path_id(&path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/oauth/clients/{client_id}/secret`: a new secret; the old one stops at once.
pub async fn rotate_secret(
    _: AdminCaller,
    ctx: Data<Context>,
    path: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (client, secret) = clients::rotate_secret(&ctx, path_id(&path)?).await?;
    Ok(no_store(HttpResponse::Ok()).json(with_secret(&client, &secret)))
}
