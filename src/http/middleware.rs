//! Per-request plumbing: the request id (SPEC §9, also `X-Request-Id`), the access log line,
//! and the security headers every response carries.

use super::error::{ApiError, REQUEST_ID};
use super::extract::CallerName;
use super::params::{describe_pairs, LoggedParams};
use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use actix_web::ResponseError;
use std::time::Instant;

pub const X_REQUEST_ID: &str = "x-request-id";

/// Accepts a proxy's request id if it is short and plain, else makes one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

/// Whether a query string carries a bearer credential by one of its usual names.
fn query_carries_a_token(query: &str) -> bool {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .iter()
        .any(|(name, _)| {
            let name = name.to_ascii_lowercase();
            matches!(
                name.as_str(),
                "access_token" | "refresh_token" | "id_token" | "accesssecret" | "access_secret"
            )
        })
}

/// Wraps every request: sets the request id for the handlers and error bodies, answers it in
/// `X-Request-Id`, adds the security headers, and writes one access line.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = request_id(&req);
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.path().chars().take(256).collect::<String>();
    let query = describe_pairs(
        serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .unwrap_or_default()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
    );
    // Handler and extractor errors become responses inside this scope, so their JSON bodies
    // carry the id. (The request must not be cloned before routing: actix needs it unshared.)
    let tls = req
        .app_data::<actix_web::web::Data<crate::auth::Context>>()
        .is_some_and(|ctx| ctx.config().tls.enable_ssl);
    let mut res = REQUEST_ID
        .scope(id.clone(), async move {
            // RFC 6750 §2.3 / RFC 9700 §4.3.2: a token in a URL ends up in logs, histories and
            // Referer headers. Refuse it before any handler sees it.
            if query_carries_a_token(req.query_string()) {
                let refused = ApiError::BadRequest(
                    "tokens are not accepted in the query string; send them in a header or the body"
                        .into(),
                );
                return Ok(req.into_response(refused.error_response()));
            }
            next.call(req).await
        })
        .await?;
    let headers = res.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(HeaderName::from_static(X_REQUEST_ID), value);
    }
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    if tls {
        // RFC 6797: browsers that saw us over TLS never fall back to plain http for a year.
        headers.insert(
            HeaderName::from_static("strict-transport-security"),
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    let caller = res
        .request()
        .extensions()
        .get::<CallerName>()
        .map(|c| c.0.clone())
        .unwrap_or_else(|| "-".into());
    let body_params = res
        .request()
        .extensions()
        .get::<LoggedParams>()
        .map(|p| p.0.clone())
        .unwrap_or_default();
    let params = [query, body_params]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let (status, ms) = (
        res.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0,
    );
    // In the request's scope, so that a JSON line carries its `request_id` field too.
    REQUEST_ID.sync_scope(id.clone(), || {
        log::info!(
            target: crate::request::ACCESS_TARGET,
            "{id} {method} {path} {status} {ms:.1}ms caller={caller} params=[{params}]",
        )
    });
    Ok(res.map_into_boxed_body())
}
