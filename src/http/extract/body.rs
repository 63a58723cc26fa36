//! The request body: JSON or `application/x-www-form-urlencoded` (SPEC §3), read up to
//! `server.max_body_bytes` (413 beyond), parsed into the handler's type, and described for the
//! access log (SPEC §9).

use super::context;
use crate::http::error::ApiError;
use crate::http::params::{describe_json, describe_pairs, LoggedParams};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

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
