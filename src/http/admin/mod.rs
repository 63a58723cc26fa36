//! The admin REST API (SPEC §4) on the intranet listener. Every handler takes an
//! [`AdminCaller`](super::extract::AdminCaller); request bodies refuse unknown fields.

pub mod apps;
pub mod clients;
pub mod service;
pub mod signing;
pub mod users;

use super::error::ApiError;
use serde::{Deserialize, Deserializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

/// RFC 3339 UTC, as every admin timestamp is written (SPEC §4).
pub fn rfc3339(t: OffsetDateTime) -> String {
    // Whole seconds, as stored: a record reads back as it was first answered.
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

pub fn rfc3339_opt(t: Option<OffsetDateTime>) -> Option<String> {
    t.map(rfc3339)
}

pub fn parse_time(field: &str, text: &str) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| ApiError::BadRequest(format!("{field} must be an RFC 3339 timestamp")))
}

/// An id in a path: anything that is not a UUID names nothing (404).
pub fn path_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(text).map_err(|_| ApiError::NotFound)
}

/// For PATCH bodies: an absent field is `None`, `null` is `Some(None)`.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
