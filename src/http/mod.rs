//! The routes of the public and intranet listeners (SPEC §9). Each listener answers only
//! its own routes; anything else is a JSON 404, a known path with the wrong method a JSON 405.

mod accounts;
pub mod admin;
mod check;
pub mod cors;
pub mod error;
pub mod extract;
mod meta;
pub mod middleware;
mod oauth;
pub mod params;
pub mod response;
mod session;

use actix_web::web::{self, ServiceConfig};
use error::ApiError;

/// Which listener serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    Public,
    Intranet,
    Both,
}

use Listener::{Both, Intranet, Public};

/// Every route, for the tests that hold `openapi.yaml` and the listeners to the code. Keep it
/// in step with [`public`] and [`intranet`]; the integration tests check each entry is served
/// where it says and nowhere else.
pub const ROUTES: &[(&str, &str, Listener)] = &[
    ("POST", "/login", Public),
    ("POST", "/authService/accounts/login", Public),
    ("POST", "/authService/accounts/refresh", Public),
    ("POST", "/authService/accounts/claims", Public),
    ("POST", "/authService/accounts/logout", Public),
    ("POST", "/oauth2/token", Public),
    ("POST", "/oauth2/introspect", Both),
    ("POST", "/oauth2/revoke", Both),
    ("GET", "/api/v1/check", Public),
    ("GET", "/api/v1/oauth/accesstoken", Public),
    ("GET", "/.well-known/jwks.json", Public),
    ("GET", "/.well-known/openid-configuration", Public),
    ("GET", "/.well-known/oauth-authorization-server", Public),
    ("GET", "/health", Both),
    ("GET", "/openapi.yaml", Both),
    ("POST", "/api/v1/users", Intranet),
    ("GET", "/api/v1/users", Intranet),
    ("GET", "/api/v1/users/{userid}", Intranet),
    ("PATCH", "/api/v1/users/{userid}", Intranet),
    ("DELETE", "/api/v1/users/{userid}", Intranet),
    ("PUT", "/api/v1/users/{userid}/password", Intranet),
    ("POST", "/api/v1/applications", Intranet),
    ("GET", "/api/v1/applications", Intranet),
    ("GET", "/api/v1/applications/{app_id}", Both),
    ("DELETE", "/api/v1/applications/{app_id}", Intranet),
    ("POST", "/api/v1/applications/{app_id}/keys", Intranet),
    ("GET", "/api/v1/applications/{app_id}/keys", Intranet),
    ("PATCH", "/api/v1/applications/{app_id}/keys/{id}", Intranet),
    (
        "DELETE",
        "/api/v1/applications/{app_id}/keys/{id}",
        Intranet,
    ),
    (
        "POST",
        "/api/v1/applications/{app_id}/keys/{id}/refresh",
        Intranet,
    ),
    (
        "POST",
        "/api/v1/applications/{app_id}/device-token",
        Intranet,
    ),
    (
        "GET",
        "/api/v1/applications/{app_id}/device-token",
        Intranet,
    ),
    (
        "DELETE",
        "/api/v1/applications/{app_id}/device-token",
        Intranet,
    ),
    ("POST", "/api/v1/oauth/clients", Intranet),
    ("GET", "/api/v1/oauth/clients", Intranet),
    ("GET", "/api/v1/oauth/clients/{client_id}", Intranet),
    ("DELETE", "/api/v1/oauth/clients/{client_id}", Intranet),
    ("POST", "/api/v1/oauth/clients/{client_id}/secret", Intranet),
    ("GET", "/api/v1/signing-keys", Intranet),
    ("POST", "/api/v1/signing-keys/rotate", Intranet),
    ("GET", "/api/v1/statistics", Intranet),
    ("POST", "/api/v1/admin/reload", Intranet),
    ("POST", "/api/v1/tokens/preamble", Intranet),
    ("GET", "/api/v1/admin/backup", Intranet),
    ("POST", "/api/v1/session", Intranet),
    ("GET", "/api/v1/session", Intranet),
    ("DELETE", "/api/v1/session", Intranet),
];

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// 405 with `Allow` (RFC 9110 §15.5.6): the methods [`ROUTES`] serves on this path here.
async fn method_not_allowed(req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    use actix_web::http::header::{HeaderValue, ALLOW};
    let here = req.app_data::<web::Data<Listener>>().map(|l| *l.get_ref());
    let pattern = req.match_pattern().unwrap_or_default();
    let allow: Vec<&str> = ROUTES
        .iter()
        .filter(|(_, path, on)| *path == pattern && (*on == Both || here.is_none_or(|h| h == *on)))
        .map(|(method, _, _)| *method)
        .collect();
    let mut response = actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed);
    if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
        response.headers_mut().insert(ALLOW, value);
    }
    response
}

fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// Query and path extraction failures answer like every other bad input: JSON 400.
fn extractor_errors(cfg: &mut ServiceConfig) {
    cfg.app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| ApiError::BadRequest(format!("bad query string: {e}")).into()),
    )
    .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into()));
}

fn shared(cfg: &mut ServiceConfig) {
    extractor_errors(cfg);
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
        .service(resource("/api/v1/check").route(web::get().to(check::check)))
        .service(
            resource("/api/v1/oauth/accesstoken").route(web::get().to(oauth::access_token_pair)),
        )
        .service(
            resource("/api/v1/applications/{app_id}").route(web::get().to(admin::apps::get_own)),
        )
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
    use admin::{apps, clients, service, signing, users};
    shared(cfg);
    cfg.service(
        resource("/api/v1/users")
            .route(web::post().to(users::create))
            .route(web::get().to(users::list)),
    )
    .service(
        resource("/api/v1/users/{userid}")
            .route(web::get().to(users::get))
            .route(web::patch().to(users::patch))
            .route(web::delete().to(users::delete)),
    )
    .service(resource("/api/v1/users/{userid}/password").route(web::put().to(users::set_password)))
    .service(
        resource("/api/v1/applications")
            .route(web::post().to(apps::create))
            .route(web::get().to(apps::list)),
    )
    .service(
        resource("/api/v1/applications/{app_id}")
            .route(web::get().to(apps::get))
            .route(web::delete().to(apps::delete)),
    )
    .service(
        resource("/api/v1/applications/{app_id}/keys")
            .route(web::post().to(apps::create_key))
            .route(web::get().to(apps::list_keys)),
    )
    .service(
        resource("/api/v1/applications/{app_id}/keys/{id}")
            .route(web::patch().to(apps::patch_key))
            .route(web::delete().to(apps::delete_key)),
    )
    .service(
        resource("/api/v1/applications/{app_id}/keys/{id}/refresh")
            .route(web::post().to(apps::refresh_key)),
    )
    .service(
        resource("/api/v1/applications/{app_id}/device-token")
            .route(web::post().to(apps::issue_device_token))
            .route(web::get().to(apps::device_token))
            .route(web::delete().to(apps::delete_device_token)),
    )
    .service(
        resource("/api/v1/oauth/clients")
            .route(web::post().to(clients::create))
            .route(web::get().to(clients::list)),
    )
    .service(
        resource("/api/v1/oauth/clients/{client_id}")
            .route(web::get().to(clients::get))
            .route(web::delete().to(clients::delete)),
    )
    .service(
        resource("/api/v1/oauth/clients/{client_id}/secret")
            .route(web::post().to(clients::rotate_secret)),
    )
    .service(resource("/api/v1/signing-keys").route(web::get().to(signing::list)))
    .service(resource("/api/v1/signing-keys/rotate").route(web::post().to(signing::rotate)))
    .service(resource("/api/v1/statistics").route(web::get().to(service::statistics)))
    .service(
        resource("/api/v1/session")
            .route(web::post().to(session::sign_in))
            .route(web::get().to(session::who))
            .route(web::delete().to(session::sign_out)),
    )
    .service(resource("/api/v1/admin/reload").route(web::post().to(service::reload)))
    .service(resource("/api/v1/admin/backup").route(web::get().to(service::backup)))
    .service(resource("/api/v1/tokens/preamble").route(web::post().to(service::mint_preamble)))
    .default_service(web::to(not_found));
}
