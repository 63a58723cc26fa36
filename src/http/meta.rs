//! Routes about the service itself: health, discovery (RFC 8414, OIDC Discovery), the JWKS and
//! the OpenAPI document.

use crate::auth::Context;
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::HttpResponse;
use serde_json::json;

const OPENAPI: &str = include_str!("../../openapi.yaml");

/// `GET /health`: 200 while the store answers, 503 otherwise (a load balancer's node check).
pub async fn health(ctx: Data<Context>) -> HttpResponse {
    match ctx.store.ping().await {
        Ok(()) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(json!({"status": "ok"})),
        Err(e) => {
            log::error!("health check: the store does not answer: {e}");
            HttpResponse::ServiceUnavailable()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(json!({"status": "unavailable"}))
        }
    }
}

/// `GET /.well-known/jwks.json`.
pub async fn jwks(ctx: Data<Context>) -> HttpResponse {
    let longest = ctx.config().runtime.lifetimes.longest_jwt();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(ctx.keys.jwks(ctx.now(), longest))
}

/// `GET /.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.
pub async fn discovery(ctx: Data<Context>) -> HttpResponse {
    let config = ctx.config();
    let base = &config.server.external_url_base;
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(json!({
            "issuer": base,
            "token_endpoint": format!("{base}/oauth2/token"),
            "introspection_endpoint": format!("{base}/oauth2/introspect"),
            "revocation_endpoint": format!("{base}/oauth2/revoke"),
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "grant_types_supported": ["client_credentials", "refresh_token"],
            "response_types_supported": [],
            "subject_types_supported": ["public"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic"],
            "id_token_signing_alg_values_supported": ctx.keys.algorithms(),
        }))
}

/// `GET /openapi.yaml`.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI)
}
