//! Extractors: what a handler takes from its request. [`body`] reads the request body (JSON or
//! form, SPEC §3); [`caller`] has one extractor per kind of caller (STYLE habit 2) — a handler
//! without one is public by intent. Both are re-exported here, so handlers name
//! `http::extract::…` whichever file an extractor lives in.

mod body;
mod caller;

pub use body::{parse_body, Body, WithBody};
pub use caller::{
    basic_credentials, claims_header, AdminCaller, ApiKeyCaller, IntrospectionCaller,
    StatisticsCaller, API_KEY_HEADER,
};

use super::error::ApiError;
use crate::auth::Context;
use actix_web::web::Data;
use actix_web::{HttpMessage, HttpRequest};

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
