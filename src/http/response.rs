//! Response helpers shared by every route.

use actix_web::http::header;
use actix_web::HttpResponseBuilder;

/// Marks an answer that carries a token or a secret as never to be cached (RFC 6749 §5.1:
/// `Cache-Control: no-store` and `Pragma: no-cache`).
pub fn no_store(mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    builder
}
