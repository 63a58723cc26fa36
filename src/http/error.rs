//! Errors map to HTTP here and only here (STYLE habit 3): a JSON body with the request id, the
//! cause of a 5xx logged locally under that id and never sent.

use crate::auth::caller::CallerError;
use crate::auth::AuthError;
use crate::domain::ValidationError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use std::fmt;

tokio::task_local! {
    /// The id of the request being served, set by the request-id middleware.
    pub static REQUEST_ID: String;
}

pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

#[derive(Debug)]
pub enum ApiError {
    /// 400 with `invalid_request` (malformed body, missing field, bad header).
    BadRequest(String),
    /// 400 with an RFC 6749 §5.2 code (the token endpoint).
    OAuth {
        code: &'static str,
        description: String,
    },
    /// 401 on login: unknown user or wrong password, one answer.
    InvalidCredentials,
    /// 401 for a refresh or claims token that is not live.
    InvalidGrant,
    /// 401 for a protected service: Basic challenge, empty body (SPEC §6).
    Challenge {
        realm: String,
    },
    Forbidden,
    /// 403: a cookie-borne state change without the right `X-CSRF-TOKEN` (SPEC §8).
    CsrfFailed,
    /// 401 `invalid_client` (RFC 6749 §5.2), with the Basic challenge when Basic was tried.
    InvalidClient {
        realm: Option<String>,
    },
    /// 401 without a Basic challenge: a missing or bad API key, device token or pair.
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge {
        limit: usize,
    },
    UnsupportedMediaType,
    Conflict(String),
    /// 422: a configuration reload was refused; the message says why (values redacted).
    InvalidConfig(String),
    /// 429 with Retry-After: a lockout after too many failed attempts (SPEC §3).
    TooManyRequests {
        retry_after_seconds: u64,
    },
    /// 503 with Retry-After: the password pool is saturated.
    Busy,
    /// 503: the store does not answer.
    Unavailable,
    /// 500; the cause is logged, never sent.
    Internal(String),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (_, code, description) = self.parts();
        write!(f, "{code}: {description}")
    }
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        use ApiError::*;
        match self {
            BadRequest(d) => (StatusCode::BAD_REQUEST, "invalid_request", d.clone()),
            OAuth { code, description } => (StatusCode::BAD_REQUEST, code, description.clone()),
            InvalidCredentials => (
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "invalid userid or password".into(),
            ),
            InvalidGrant => (
                StatusCode::UNAUTHORIZED,
                "invalid_grant",
                "the token is invalid, expired or revoked".into(),
            ),
            Challenge { .. } => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "authentication required".into(),
            ),
            Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "the caller is not allowed to do this".into(),
            ),
            CsrfFailed => (
                StatusCode::FORBIDDEN,
                "csrf_token_invalid",
                "send the session's token in X-CSRF-TOKEN".into(),
            ),
            InvalidClient { .. } => (
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed".into(),
            ),
            Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or invalid credentials".into(),
            ),
            NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such resource".into(),
            ),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this method is not allowed on this resource".into(),
            ),
            PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body is larger than {limit} bytes"),
            ),
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send application/json or application/x-www-form-urlencoded".into(),
            ),
            Conflict(d) => (StatusCode::CONFLICT, "conflict", d.clone()),
            InvalidConfig(d) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_config",
                d.clone(),
            ),
            TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "too many failed attempts; retry later".into(),
            ),
            Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the server is busy; retry shortly".into(),
            ),
            Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the change could not be stored; nothing was changed — retry later".into(),
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "an internal error occurred".into(),
            ),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let request_id = current_request_id();
        let (status, code, description) = self.parts();
        if let ApiError::Internal(cause) = self {
            log::error!("request {request_id}: internal error: {cause}");
        }
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            ApiError::Challenge { realm } => {
                let challenge = format!("Basic realm=\"{realm}\"");
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    response.insert_header((header::WWW_AUTHENTICATE, value));
                }
                return response.finish();
            }
            ApiError::Busy => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            ApiError::TooManyRequests {
                retry_after_seconds,
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()));
            }
            ApiError::InvalidClient { realm: Some(realm) } => {
                if let Ok(value) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\"")) {
                    response.insert_header((header::WWW_AUTHENTICATE, value));
                }
            }
            _ => {}
        }
        response.json(json!({
            "error": code,
            "error_description": description,
            "request_id": request_id,
        }))
    }
}

/// A value refused at the edge (STYLE habit 4): 400, and the message says what is wrong with it.
impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidCredentials => ApiError::InvalidCredentials,
            AuthError::InvalidGrant => ApiError::InvalidGrant,
            AuthError::Validation(v) => v.into(),
            AuthError::Conflict => ApiError::Conflict("the resource already exists".into()),
            AuthError::NotFound => ApiError::NotFound,
            AuthError::InvalidClient => ApiError::InvalidClient { realm: None },
            AuthError::InvalidScope => ApiError::OAuth {
                code: "invalid_scope",
                description: "the requested scope is not granted to this client".into(),
            },
            AuthError::Busy => ApiError::Busy,
            AuthError::StorageFull => {
                log::error!(
                    "request {}: the disk is full; a write was refused",
                    current_request_id()
                );
                ApiError::Unavailable
            }
            AuthError::StorageUnavailable => {
                log::error!(
                    "request {}: the store is recovering from a failed write",
                    current_request_id()
                );
                ApiError::Unavailable
            }
            AuthError::Locked {
                retry_after_seconds,
            } => ApiError::TooManyRequests {
                retry_after_seconds,
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl ApiError {
    pub fn from_caller(e: CallerError, realm: &str) -> Self {
        match e {
            CallerError::Unauthenticated => ApiError::Challenge {
                realm: realm.to_string(),
            },
            CallerError::Forbidden => ApiError::Forbidden,
            CallerError::Csrf => ApiError::CsrfFailed,
            CallerError::Auth(e) => e.into(),
        }
    }
}
