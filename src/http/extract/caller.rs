//! Who is calling: Basic credentials, the claims-token headers, and one extractor per kind of
//! caller (STYLE habit 2; SPEC §6). A handler that takes none of these is public by intent.

use super::{context, note_caller};
use crate::auth::caller::{self, Caller, Presented, Service};
use crate::auth::{browser, credentials};
use crate::crypto::SecretString;
use crate::domain::ApiKey;
use crate::http::error::ApiError;
use crate::http::Listener;
use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use futures_util::future::LocalBoxFuture;

/// `Authorization: Basic …` decoded into userid and password. `Ok(None)` if the request has no
/// Basic credentials; an error (400) if it has a malformed Basic header (SPEC §9).
pub fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, SecretString)>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || ApiError::BadRequest("malformed Basic authorization header".into());
    let value = value.to_str().map_err(|_| malformed())?.trim();
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let encoded = encoded.trim();
    let decoded = STANDARD
        .decode(encoded)
        .or_else(|_| STANDARD_NO_PAD.decode(encoded))
        .map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (userid, password) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok(Some((userid.to_string(), SecretString::new(password))))
}

/// The claims token of a request: `X-VoltMX-Authorization`, the older `X-Kony-Authorization`,
/// or `Authorization: Bearer` (SPEC §3; header names are case-insensitive).
pub fn claims_header(headers: &HeaderMap) -> Option<SecretString> {
    for name in ["x-voltmx-authorization", "x-kony-authorization"] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            let v = v.trim();
            if !v.is_empty() {
                return Some(SecretString::new(v));
            }
        }
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| SecretString::new(token.trim()))
}

/// What the request presents to authenticate its caller (SPEC §6).
fn presented(req: &HttpRequest) -> Result<Presented, ApiError> {
    if let Some((username, password)) = basic_credentials(req.headers())? {
        return Ok(Presented::Basic { username, password });
    }
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let (Some(token), Some(secret)) = (header("accesstoken"), header("accesssecret")) {
        return Ok(Presented::Pair {
            token: token.trim().to_string(),
            secret: SecretString::new(secret.trim()),
        });
    }
    if let Some(token) = claims_header(req.headers()) {
        return Ok(Presented::ClaimsToken(token));
    }
    // Only a request with no header credentials is cookie-borne (SPEC §8), and only on the
    // intranet listener, where browser sessions live: a browser sends the cookie to every
    // port of the host, the public listener included.
    let on_intranet = req
        .app_data::<Data<Listener>>()
        .is_some_and(|l| *l.get_ref() == Listener::Intranet);
    if !on_intranet {
        return Ok(Presented::Nothing);
    }
    Ok(match req.cookie(browser::COOKIE) {
        Some(cookie) => Presented::Session {
            cookie: SecretString::new(cookie.value()),
            csrf: header("x-csrf-token").map(str::to_string),
            safe_method: matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS"),
        },
        None => Presented::Nothing,
    })
}

fn authenticate(
    req: &HttpRequest,
    service: Service,
) -> LocalBoxFuture<'static, Result<Caller, ApiError>> {
    let req = req.clone();
    Box::pin(async move {
        let ctx = context(&req)?;
        let realm = ctx.config().server.realm.clone();
        let presented = presented(&req)?;
        let on_intranet = req
            .app_data::<Data<Listener>>()
            .is_some_and(|l| *l.get_ref() == Listener::Intranet);
        let address = req.peer_addr().map(|a| a.ip());
        let caller = caller::authenticate(&ctx, service, presented, on_intranet, address)
            .await
            .map_err(|e| ApiError::from_caller(e, &realm))?;
        note_caller(&req, &caller.name());
        Ok(caller)
    })
}

/// Declares the extractor of one protected service: a caller let in by that service's chain
/// (SPEC §6). The services differ only in which chain they run, so one definition serves all.
macro_rules! service_caller {
    ($(#[$doc:meta])* $name:ident => $service:expr) => {
        $(#[$doc])*
        pub struct $name(pub Caller);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                let fut = authenticate(req, $service);
                Box::pin(async move { fut.await.map($name) })
            }
        }
    };
}

service_caller!(
    /// A caller of the `admin` service: every `/api/v1/…` admin route.
    AdminCaller => Service::Admin
);
service_caller!(
    /// A caller of the `introspection` service (SPEC §6, §7): introspect and revoke.
    IntrospectionCaller => Service::Introspection
);
service_caller!(
    /// A caller of the `statistics` service.
    StatisticsCaller => Service::Statistics
);

/// An application calling with one of its API keys in `X-VoltMX-App-API-Key`.
pub struct ApiKeyCaller(pub ApiKey);

pub const API_KEY_HEADER: &str = "x-voltmx-app-api-key";

impl FromRequest for ApiKeyCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let ctx = context(&req)?;
            let text = req
                .headers()
                .get(API_KEY_HEADER)
                .and_then(|v| v.to_str().ok())
                .ok_or(ApiError::Unauthorized)?;
            let key = credentials::api_key(&ctx, text)
                .await?
                .ok_or(ApiError::Unauthorized)?;
            note_caller(&req, &format!("key:{}", key.id));
            Ok(ApiKeyCaller(key))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("header"),
        );
        h
    }

    #[test]
    fn basic_header_parsing() {
        let (user, pass) = basic_credentials(&headers("Basic YWxpY2U6cHc6d2l0aDpjb2xvbnM="))
            .expect("ok")
            .expect("present");
        assert_eq!(user, "alice");
        assert_eq!(pass.expose(), "pw:with:colons");
        assert!(basic_credentials(&headers("basic YWxpY2U6cHc"))
            .expect("ok")
            .is_some());
        assert!(basic_credentials(&headers("Bearer abc"))
            .expect("ok")
            .is_none());
        assert!(basic_credentials(&HeaderMap::new()).expect("ok").is_none());
        assert!(basic_credentials(&headers("Basic !!!")).is_err());
        assert!(basic_credentials(&headers("Basic bm9jb2xvbg==")).is_err());
    }
}
