//! Extractors: the request body (JSON or form, SPEC §3), Basic credentials, and one extractor
//! per kind of caller (STYLE habit 2) — a handler without one is public by intent.

use super::error::ApiError;
use super::params::{describe_json, describe_pairs, LoggedParams};
use super::Listener;
use crate::auth::caller::{self, Caller, Presented, Service};
use crate::auth::{browser, credentials, Context};
use crate::crypto::SecretString;
use crate::domain::ApiKey;
use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web::{BytesMut, Data};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

/// Who the caller turned out to be, for the access log.
#[derive(Debug, Clone)]
pub struct CallerName(pub String);

pub fn note_caller(req: &HttpRequest, name: &str) {
    req.extensions_mut().insert(CallerName(name.to_string()));
}

pub fn context(req: &HttpRequest) -> Result<Data<Context>, ApiError> {
    req.app_data::<Data<Context>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal("application context missing".into()))
}

enum BodyFormat {
    Json,
    Form,
}

fn body_format(content_type: Option<&[u8]>, body: &[u8]) -> Result<BodyFormat, ApiError> {
    let Some(value) = content_type else {
        // curl without -H, or an empty body: guess from the first byte.
        return Ok(match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => BodyFormat::Json,
            _ => BodyFormat::Form,
        });
    };
    let value = std::str::from_utf8(value)
        .map_err(|_| ApiError::BadRequest("Content-Type is not valid text".into()))?;
    // Parameters are ignored whatever they are, so the doubled `;charset=UTF-8;charset=UTF-8`
    // that Volt MX clients send is fine.
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(BodyFormat::Json),
        e if e.starts_with("application/") && e.ends_with("+json") => Ok(BodyFormat::Json),
        "application/x-www-form-urlencoded" => Ok(BodyFormat::Form),
        _ if body.is_empty() => Ok(BodyFormat::Form),
        _ => Err(ApiError::UnsupportedMediaType),
    }
}

/// Parses a request body of the given `Content-Type` (raw header bytes) into `T`, and says
/// how its parameters may be logged. Pure, so the fuzzer drives it directly.
pub fn parse_body<T: DeserializeOwned>(
    content_type: Option<&[u8]>,
    bytes: &[u8],
) -> Result<(T, LoggedParams), ApiError> {
    let value = match body_format(content_type, bytes)? {
        BodyFormat::Json if bytes.iter().all(u8::is_ascii_whitespace) => {
            serde_json::Value::Object(Default::default())
        }
        BodyFormat::Json => {
            let value: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| json_error(&e))?;
            if !value.is_object() {
                return Err(ApiError::BadRequest(
                    "the JSON body must be an object".into(),
                ));
            }
            value
        }
        BodyFormat::Form => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
                .map_err(|_| ApiError::BadRequest("the form body is malformed".into()))?;
            let logged = LoggedParams(describe_pairs(
                pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            ));
            // Later duplicates win, as with most form parsers.
            let map: serde_json::Map<String, serde_json::Value> = pairs
                .into_iter()
                .map(|(n, v)| (n, serde_json::Value::String(v)))
                .collect();
            let parsed = serde_json::from_value(serde_json::Value::Object(map))
                .map_err(|_| ApiError::BadRequest("a form field has the wrong form".into()))?;
            return Ok((parsed, logged));
        }
    };
    let logged = LoggedParams(describe_json(&value));
    let parsed = serde_json::from_value(value).map_err(|e| json_error(&e))?;
    Ok((parsed, logged))
}

async fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> Result<BytesMut, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::BadRequest("the body could not be read".into()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn json_error(e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let message = e.to_string();
    // serde's messages can quote the offending value (a password sent as a number, say):
    // say what kind of problem it is and where, never what was there.
    let what = match e.classify() {
        Category::Data
            if message.starts_with("missing field") || message.starts_with("unknown field") =>
        {
            message
                .split(" at line")
                .next()
                .unwrap_or("missing field")
                .to_string()
        }
        Category::Data => "a field has the wrong type".into(),
        Category::Eof => "the JSON body ends early".into(),
        _ => "the body is not valid JSON".into(),
    };
    if e.line() == 0 {
        return ApiError::BadRequest(what);
    }
    ApiError::BadRequest(format!("{what} (line {}, column {})", e.line(), e.column()))
}

/// A request body in JSON or `application/x-www-form-urlencoded`, read up to
/// `server.max_body_bytes` (413 beyond). An empty body reads as no fields.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let limit = context(&req)?.config().server.max_body_bytes;
            let bytes = read_body(&req, &mut payload, limit).await?;
            let content_type = req
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.as_bytes().to_vec());
            let outcome = parse_body::<T>(content_type.as_deref(), &bytes);
            if let Ok((_, logged)) = &outcome {
                req.extensions_mut().insert(logged.clone());
            }
            outcome.map(|(body, _)| Body(body))
        })
    }
}

/// A protected request's caller, then its body — in that order. Actix polls a handler's
/// extractors together and answers the first error, so a separate [`Body`] would answer 400
/// for a bad body before the caller is known; an unauthenticated client must learn nothing.
pub struct WithBody<C, T>(pub C, pub T);

impl<C, T> FromRequest for WithBody<C, T>
where
    C: FromRequest<Error = ApiError> + 'static,
    T: DeserializeOwned + 'static,
{
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let mut payload = payload.take();
        let caller = C::from_request(req, &mut Payload::None);
        let req = req.clone();
        Box::pin(async move {
            let caller = caller.await?;
            let Body(body) = Body::<T>::from_request(&req, &mut payload).await?;
            Ok(WithBody(caller, body))
        })
    }
}

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

/// A caller of the `admin` service: every `/api/v1/…` admin route.
pub struct AdminCaller(pub Caller);

impl FromRequest for AdminCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let fut = authenticate(req, Service::Admin);
        Box::pin(async move { fut.await.map(AdminCaller) })
    }
}

/// A caller of the `introspection` service (SPEC §6, §7): introspect and revoke.
pub struct IntrospectionCaller(pub Caller);

impl FromRequest for IntrospectionCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let fut = authenticate(req, Service::Introspection);
        Box::pin(async move { fut.await.map(IntrospectionCaller) })
    }
}

/// A caller of the `statistics` service.
pub struct StatisticsCaller(pub Caller);

impl FromRequest for StatisticsCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let fut = authenticate(req, Service::Statistics);
        Box::pin(async move { fut.await.map(StatisticsCaller) })
    }
}

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
            let key = credentials::api_key(&ctx, text)?.ok_or(ApiError::Unauthorized)?;
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
