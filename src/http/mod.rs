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

use actix_web::http::Method;
use actix_web::web::{self, ServiceConfig};
use error::ApiError;

/// Which listener serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    Public,
    Intranet,
    Both,
}

impl Listener {
    fn serves_on(self, here: Listener) -> bool {
        self == Both || self == here
    }
}

/// Who may call a route: what its handler's caller extractor demands (STYLE habit 2). Declared
/// beside the handler in [`ROUTES`], so that the tests sweep every route of a kind, including
/// one added tomorrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No caller check: the credential the request carries is its subject (a login, a refresh,
    /// a check), or there is none (metadata).
    Open,
    /// The `admin` service (SPEC §6): `AdminCaller`.
    Admin,
    /// The `introspection` service: `IntrospectionCaller`.
    Introspection,
    /// The `statistics` service: `StatisticsCaller`.
    Statistics,
    /// An application's own API key or device token.
    App,
    /// The browser session cookie (SPEC §8).
    Browser,
}

/// One route: where it is served, who may call it, and its handler.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub on: Listener,
    pub access: Access,
    handler: fn(actix_web::Route) -> actix_web::Route,
}

use Access::{Admin, Browser, Introspection, Open, Statistics};
use Listener::{Both, Intranet, Public};

const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PUT: Method = Method::PUT;
const PATCH: Method = Method::PATCH;
const DELETE: Method = Method::DELETE;

const fn route(
    method: Method,
    path: &'static str,
    on: Listener,
    access: Access,
    handler: fn(actix_web::Route) -> actix_web::Route,
) -> Route {
    Route {
        method,
        path,
        on,
        access,
        handler,
    }
}

/// Every route: the listeners are built from this table, and the tests hold `openapi.yaml`,
/// the listeners and the caller checks to it.
pub static ROUTES: &[Route] = {
    use admin::{apps, clients, service, signing, users};
    &[
        route(POST, "/login", Public, Open, |r| r.to(accounts::login)),
        route(POST, "/authService/accounts/login", Public, Open, |r| {
            r.to(accounts::login)
        }),
        route(POST, "/authService/accounts/refresh", Public, Open, |r| {
            r.to(accounts::refresh)
        }),
        route(POST, "/authService/accounts/claims", Public, Open, |r| {
            r.to(accounts::claims)
        }),
        route(POST, "/authService/accounts/logout", Public, Open, |r| {
            r.to(accounts::logout)
        }),
        route(POST, "/oauth2/token", Public, Open, |r| r.to(oauth::token)),
        route(POST, "/oauth2/introspect", Both, Introspection, |r| {
            r.to(oauth::introspect)
        }),
        route(POST, "/oauth2/revoke", Both, Introspection, |r| {
            r.to(oauth::revoke)
        }),
        route(GET, "/api/v1/check", Public, Open, |r| r.to(check::check)),
        route(GET, "/api/v1/oauth/accesstoken", Public, Open, |r| {
            r.to(oauth::access_token_pair)
        }),
        route(GET, "/.well-known/jwks.json", Public, Open, |r| {
            r.to(meta::jwks)
        }),
        route(
            GET,
            "/.well-known/openid-configuration",
            Public,
            Open,
            |r| r.to(meta::discovery),
        ),
        route(
            GET,
            "/.well-known/oauth-authorization-server",
            Public,
            Open,
            |r| r.to(meta::discovery),
        ),
        route(GET, "/health", Both, Open, |r| r.to(meta::health)),
        route(GET, "/openapi.yaml", Both, Open, |r| r.to(meta::openapi)),
        route(POST, "/api/v1/users", Intranet, Admin, |r| {
            r.to(users::create)
        }),
        route(GET, "/api/v1/users", Intranet, Admin, |r| r.to(users::list)),
        route(GET, "/api/v1/users/{userid}", Intranet, Admin, |r| {
            r.to(users::get)
        }),
        route(PATCH, "/api/v1/users/{userid}", Intranet, Admin, |r| {
            r.to(users::patch)
        }),
        route(DELETE, "/api/v1/users/{userid}", Intranet, Admin, |r| {
            r.to(users::delete)
        }),
        route(
            PUT,
            "/api/v1/users/{userid}/password",
            Intranet,
            Admin,
            |r| r.to(users::set_password),
        ),
        route(POST, "/api/v1/applications", Intranet, Admin, |r| {
            r.to(apps::create)
        }),
        route(GET, "/api/v1/applications", Intranet, Admin, |r| {
            r.to(apps::list)
        }),
        // One path, two handlers: the app itself on the public listener, admins on the other.
        route(
            GET,
            "/api/v1/applications/{app_id}",
            Public,
            Access::App,
            |r| r.to(apps::get_own),
        ),
        route(GET, "/api/v1/applications/{app_id}", Intranet, Admin, |r| {
            r.to(apps::get)
        }),
        route(
            DELETE,
            "/api/v1/applications/{app_id}",
            Intranet,
            Admin,
            |r| r.to(apps::delete),
        ),
        route(
            POST,
            "/api/v1/applications/{app_id}/keys",
            Intranet,
            Admin,
            |r| r.to(apps::create_key),
        ),
        route(
            GET,
            "/api/v1/applications/{app_id}/keys",
            Intranet,
            Admin,
            |r| r.to(apps::list_keys),
        ),
        route(
            PATCH,
            "/api/v1/applications/{app_id}/keys/{id}",
            Intranet,
            Admin,
            |r| r.to(apps::patch_key),
        ),
        route(
            DELETE,
            "/api/v1/applications/{app_id}/keys/{id}",
            Intranet,
            Admin,
            |r| r.to(apps::delete_key),
        ),
        route(
            POST,
            "/api/v1/applications/{app_id}/keys/{id}/refresh",
            Intranet,
            Admin,
            |r| r.to(apps::refresh_key),
        ),
        route(
            POST,
            "/api/v1/applications/{app_id}/device-token",
            Intranet,
            Admin,
            |r| r.to(apps::issue_device_token),
        ),
        route(
            GET,
            "/api/v1/applications/{app_id}/device-token",
            Intranet,
            Admin,
            |r| r.to(apps::device_token),
        ),
        route(
            DELETE,
            "/api/v1/applications/{app_id}/device-token",
            Intranet,
            Admin,
            |r| r.to(apps::delete_device_token),
        ),
        route(POST, "/api/v1/oauth/clients", Intranet, Admin, |r| {
            r.to(clients::create)
        }),
        route(GET, "/api/v1/oauth/clients", Intranet, Admin, |r| {
            r.to(clients::list)
        }),
        route(
            GET,
            "/api/v1/oauth/clients/{client_id}",
            Intranet,
            Admin,
            |r| r.to(clients::get),
        ),
        route(
            DELETE,
            "/api/v1/oauth/clients/{client_id}",
            Intranet,
            Admin,
            |r| r.to(clients::delete),
        ),
        route(
            POST,
            "/api/v1/oauth/clients/{client_id}/secret",
            Intranet,
            Admin,
            |r| r.to(clients::rotate_secret),
        ),
        route(GET, "/api/v1/signing-keys", Intranet, Admin, |r| {
            r.to(signing::list)
        }),
        route(POST, "/api/v1/signing-keys/rotate", Intranet, Admin, |r| {
            r.to(signing::rotate)
        }),
        route(GET, "/api/v1/statistics", Intranet, Statistics, |r| {
            r.to(service::statistics)
        }),
        route(POST, "/api/v1/admin/reload", Intranet, Admin, |r| {
            r.to(service::reload)
        }),
        route(POST, "/api/v1/tokens/preamble", Intranet, Admin, |r| {
            r.to(service::mint_preamble)
        }),
        route(GET, "/api/v1/admin/backup", Intranet, Admin, |r| {
            r.to(service::backup)
        }),
        // Signing in is the credential check itself; the cookie it sets is the caller after.
        route(POST, "/api/v1/session", Intranet, Open, |r| {
            r.to(session::sign_in)
        }),
        route(GET, "/api/v1/session", Intranet, Browser, |r| {
            r.to(session::who)
        }),
        route(DELETE, "/api/v1/session", Intranet, Browser, |r| {
            r.to(session::sign_out)
        }),
    ]
};

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
        .filter(|r| r.path == pattern && here.is_none_or(|h| r.on.serves_on(h)))
        .map(|r| r.method.as_str())
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

/// The routes of [`ROUTES`] served on `here`, one resource per path (in the table's order),
/// each answering 405 with `Allow` for the methods it does not serve.
fn listener(cfg: &mut ServiceConfig, here: Listener) {
    extractor_errors(cfg);
    let mut paths: Vec<&'static str> = Vec::new();
    for r in ROUTES.iter().filter(|r| r.on.serves_on(here)) {
        if !paths.contains(&r.path) {
            paths.push(r.path);
        }
    }
    for path in paths {
        let mut res = resource(path);
        for r in ROUTES
            .iter()
            .filter(|r| r.path == path && r.on.serves_on(here))
        {
            res = res.route((r.handler)(web::method(r.method.clone())));
        }
        cfg.service(res);
    }
    cfg.default_service(web::to(not_found));
}

/// The public listener: apps and services.
pub fn public(cfg: &mut ServiceConfig) {
    listener(cfg, Public);
}

/// The intranet listener: administration.
pub fn intranet(cfg: &mut ServiceConfig) {
    listener(cfg, Intranet);
}
