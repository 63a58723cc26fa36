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
pub fn path_id<Id: From<Uuid>>(text: &str) -> Result<Id, ApiError> {
    Uuid::try_parse(text)
        .map(Id::from)
        .map_err(|_| ApiError::NotFound)
}

/// An optional count in a JSON body: JSON Schema's `integer` admits `300.0` as well as `300`
/// (openapi.yaml says `integer`), so a whole number written with a fraction is taken too.
pub fn whole_number<'de, D>(d: D) -> Result<Option<u64>, D::Error>
where
    D: Deserializer<'de>,
{
    let Some(number) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(n) = number.as_u64() {
        return Ok(Some(n));
    }
    // Whole floats in 0..=2^53 (where every whole number is exact) only; else the wrong type.
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&f) => {
            Ok(Some(f as u64))
        }
        _ => Err(serde::de::Error::custom("expected a whole number")),
    }
}

/// For PATCH bodies: an absent field is `None`, `null` is `Some(None)`.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
