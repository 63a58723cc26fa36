//! Errors map to HTTP here and only here (STYLE habit 3): a JSON body with the request id, the
//! cause of a 5xx logged locally under that id and never sent (SPEC §9). The log line is
//! written inside the request's scope, where the binary's log format adds the id.

use crate::auth::caller::CallerError;
use crate::auth::AuthError;
use crate::domain::ValidationError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use std::error::Error;
use std::fmt;

/// The id of the request being served, set by the request-id middleware. It lives in
/// [`crate::auth::request`] so that the use cases can carry it into their blocking jobs.
pub use crate::request::REQUEST_ID;

/// The id of the request being served, or "" outside a request.
pub fn current_request_id() -> String {
    crate::request::current().unwrap_or_default()
}

pub use crate::errors::chain as cause_chain;

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
    /// 503 with Retry-After: the store does not answer, or cannot make a write durable.
    Unavailable,
    /// 500; the cause (with its chain of sources) is logged, never sent.
    Internal(Box<dyn Error + Send + Sync>),
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

impl Error for ApiError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ApiError::Internal(cause) => Some(cause.as_ref()),
            _ => None,
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
            log::error!("internal error: {}", cause_chain(cause.as_ref()));
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
            // A database that comes back, a disk that is freed: worth trying again shortly.
            ApiError::Unavailable => {
                response.insert_header((header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER));
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

/// The seconds a 503 for an unavailable store asks a client to wait.
const UNAVAILABLE_RETRY_AFTER: &str = "5";

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
            AuthError::Contended => ApiError::Conflict(
                "the record was changed by concurrent requests; nothing was changed, try again"
                    .into(),
            ),
            AuthError::NotFound => ApiError::NotFound,
            AuthError::InvalidClient => ApiError::InvalidClient { realm: None },
            AuthError::InvalidScope => ApiError::OAuth {
                code: "invalid_scope",
                description: "the requested scope is not granted to this client".into(),
            },
            AuthError::Busy => ApiError::Busy,
            AuthError::StorageFull => {
                log::error!("the disk is full; a write was refused");
                ApiError::Unavailable
            }
            AuthError::StorageUnavailable => {
                log::error!("the store is unavailable; the request was refused");
                ApiError::Unavailable
            }
            AuthError::Locked {
                retry_after_seconds,
            } => ApiError::TooManyRequests {
                retry_after_seconds,
            },
            other => ApiError::Internal(Box::new(other)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Mutex, OnceLock};

    /// What the log was given: the request id in scope, the level and the message.
    type Line = (Option<String>, log::Level, String);

    struct Capture(Mutex<Vec<Line>>);

    impl log::Log for Capture {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }

        fn log(&self, record: &log::Record<'_>) {
            let line = (
                crate::request::current(),
                record.level(),
                record.args().to_string(),
            );
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }

        fn flush(&self) {}
    }

    /// The lines logged in the scope of request `id` (the process has one logger: this one).
    fn logged_under(id: &str) -> Vec<(log::Level, String)> {
        static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
        let capture = CAPTURE.get_or_init(|| {
            let capture: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
            log::set_logger(capture).expect("no other logger in the unit tests");
            log::set_max_level(log::LevelFilter::Trace);
            capture
        });
        let lines = capture.0.lock().unwrap_or_else(|e| e.into_inner());
        lines
            .iter()
            .filter(|(at, _, _)| at.as_deref() == Some(id))
            .map(|(_, level, message)| (*level, message.clone()))
            .collect()
    }

    #[derive(Debug, thiserror::Error)]
    #[error("the outer step failed")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read the file: {0}")]
    struct Quoting(#[source] std::io::Error);

    #[actix_rt::test]
    async fn an_internal_error_answers_an_opaque_500_and_logs_its_cause_chain_under_the_request_id()
    {
        logged_under("arm the capture");
        let cause = Outer(std::io::Error::other("sector 7 unreadable"));

        let res = REQUEST_ID.sync_scope("req-500".to_string(), || {
            ApiError::Internal(Box::new(cause)).error_response()
        });

        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = actix_web::body::to_bytes(res.into_body())
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(
            body,
            json!({
                "error": "internal_error",
                "error_description": "an internal error occurred",
                "request_id": "req-500",
            })
        );
        assert!(
            !text.contains("outer step") && !text.contains("sector"),
            "{text}"
        );
        assert_eq!(
            logged_under("req-500"),
            vec![(
                log::Level::Error,
                "internal error: the outer step failed: sector 7 unreadable".to_string()
            )]
        );
    }

    #[test]
    fn an_auth_error_becomes_an_internal_error_that_keeps_its_sources() {
        let hashing = crate::crypto::password::HashError::Failed("no memory".into());

        let api: ApiError = AuthError::from(hashing).into();

        assert!(matches!(api, ApiError::Internal(_)), "{api:?}");
        assert_eq!(
            api.to_string(),
            "internal_error: an internal error occurred"
        );
        let cause = api.source().expect("the cause is kept");
        assert_eq!(cause_chain(cause), "password hashing failed: no memory");
    }

    #[test]
    fn a_cause_chain_names_each_cause_once() {
        let quoting = Quoting(std::io::Error::other("permission denied"));
        let outer = Outer(std::io::Error::other("sector 7 unreadable"));

        assert_eq!(
            cause_chain(&quoting),
            "cannot read the file: permission denied"
        );
        assert_eq!(
            cause_chain(&outer),
            "the outer step failed: sector 7 unreadable"
        );
    }

    #[test]
    fn a_validation_error_is_a_400_with_its_message() {
        let refused = crate::domain::UserId::parse("").expect_err("an empty userid is refused");
        let message = refused.to_string();

        let api = ApiError::from(refused);

        assert_eq!(api.status_code(), StatusCode::BAD_REQUEST);
        assert!(matches!(api, ApiError::BadRequest(ref m) if *m == message));
    }
}
