//! The routes of the public and the intranet listener (SPEC §9). Each listener answers only
//! its own routes; anything else is a JSON 404, a known path with the wrong method a JSON 405.

mod accounts;
pub mod error;
pub mod extract;
mod meta;
pub mod middleware;
mod oauth;
pub mod params;

use actix_web::web::{self, ServiceConfig};
use error::ApiError;

/// Which listener serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    Public,
    Intranet,
    Both,
}

/// Every route, for the documentation test that holds `openapi.yaml` to the code. Keep it in
/// step with [`public`] and [`intranet`]; the integration tests check each entry is served.
pub const ROUTES: &[(&str, &str, Listener)] = &[
    ("POST", "/login", Listener::Public),
    ("POST", "/authService/accounts/login", Listener::Public),
    ("POST", "/authService/accounts/refresh", Listener::Public),
    ("POST", "/authService/accounts/claims", Listener::Public),
    ("POST", "/authService/accounts/logout", Listener::Public),
    ("POST", "/oauth2/token", Listener::Public),
    ("POST", "/oauth2/introspect", Listener::Both),
    ("POST", "/oauth2/revoke", Listener::Both),
    ("GET", "/.well-known/jwks.json", Listener::Public),
    ("GET", "/.well-known/openid-configuration", Listener::Public),
    (
        "GET",
        "/.well-known/oauth-authorization-server",
        Listener::Public,
    ),
    ("GET", "/health", Listener::Both),
    ("GET", "/openapi.yaml", Listener::Both),
];

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

async fn method_not_allowed() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

fn shared(cfg: &mut ServiceConfig) {
    cfg.service(resource("/health").route(web::get().to(meta::health)))
        .service(resource("/openapi.yaml").route(web::get().to(meta::openapi)))
        .service(resource("/oauth2/introspect").route(web::post().to(oauth::introspect)))
        .service(resource("/oauth2/revoke").route(web::post().to(oauth::revoke)));
}

/// The public listener: apps and services.
pub fn public(cfg: &mut ServiceConfig) {
    shared(cfg);
    cfg.service(resource("/login").route(web::post().to(accounts::login)))
        .service(resource("/authService/accounts/login").route(web::post().to(accounts::login)))
        .service(resource("/authService/accounts/refresh").route(web::post().to(accounts::refresh)))
        .service(resource("/authService/accounts/claims").route(web::post().to(accounts::claims)))
        .service(resource("/authService/accounts/logout").route(web::post().to(accounts::logout)))
        .service(resource("/oauth2/token").route(web::post().to(oauth::token)))
        .service(resource("/.well-known/jwks.json").route(web::get().to(meta::jwks)))
        .service(
            resource("/.well-known/openid-configuration").route(web::get().to(meta::discovery)),
        )
        .service(
            resource("/.well-known/oauth-authorization-server")
                .route(web::get().to(meta::discovery)),
        )
        .default_service(web::to(not_found));
}

/// The intranet listener: administration.
pub fn intranet(cfg: &mut ServiceConfig) {
    shared(cfg);
    cfg.default_service(web::to(not_found));
}
