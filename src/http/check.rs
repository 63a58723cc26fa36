//! `GET /api/v1/check` (SPEC §7): a verdict on whatever credential a request carries, for
//! reverse proxies (nginx `auth_request`, Traefik `forwardAuth`).

use super::error::ApiError;
use super::extract::{claims_header, context, note_caller, API_KEY_HEADER};
use super::oauth::describe;
use super::response::no_store;
use crate::auth::credentials::{self, Credential};
use crate::domain::Scope;
use actix_web::{HttpRequest, HttpResponse};

pub const DEVICE_HEADER: &str = "x-device-authtoken";

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The first credential present decides; an invalid one is not passed over for another.
pub async fn check(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let ctx = context(&req)?;
    let credential = if let Some(key) = header(&req, API_KEY_HEADER) {
        credentials::api_key(&ctx, key)
            .await?
            .map(Credential::ApiKey)
    } else if let Some(token) = header(&req, DEVICE_HEADER) {
        credentials::device_token(&ctx, token)
            .await?
            .map(Credential::Device)
    } else if header(&req, "accesstoken").is_some() || header(&req, "accesssecret").is_some() {
        match (header(&req, "accesstoken"), header(&req, "accesssecret")) {
            (Some(token), Some(secret)) => credentials::pair(&ctx, token, secret)
                .await?
                .map(Credential::Pair),
            // One half without the other is refused (SPEC §4).
            _ => None,
        }
    } else if let Some(jwt) = claims_header(req.headers()) {
        credentials::jwt(&ctx, jwt.expose()).await?
    } else {
        None
    };
    let credential = credential.ok_or(ApiError::Unauthorized)?;
    let mut res = no_store(HttpResponse::Ok());
    let (kind, subject) = match &credential {
        Credential::ApiKey(k) => {
            res.insert_header(("X-Auth-App", k.app_id.to_string()));
            ("api_key", k.app_id.to_string())
        }
        Credential::Device(app) => {
            res.insert_header(("X-Auth-App", app.id.to_string()));
            ("device_token", app.id.to_string())
        }
        Credential::Pair(p) => {
            res.insert_header(("X-Auth-Client", p.client_id.to_string()));
            res.insert_header(("X-Auth-Scope", Scope::join(&p.scopes)));
            ("access_token_pair", p.client_id.to_string())
        }
        Credential::Claims(c) => {
            res.insert_header(("X-Auth-Roles", c.roles.join(",")));
            ("claims_token", c.sub.clone())
        }
        Credential::Access(a) => {
            res.insert_header(("X-Auth-Client", a.client_id.clone()));
            res.insert_header(("X-Auth-Scope", a.scope.clone()));
            ("access_token", a.client_id.clone())
        }
        Credential::Refresh(_) | Credential::Preamble { .. } => return Err(ApiError::Unauthorized),
    };
    note_caller(&req, &subject);
    res.insert_header(("X-Auth-Kind", kind));
    // A userid is UTF-8; a header value that cannot carry it is left out, not mangled.
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&subject) {
        res.insert_header(("X-Auth-Subject", value));
    }
    Ok(res.json(describe(&credential)))
}
