//! The Basic authorization header parser never panics, and whatever it returns splits at
//! the first colon.
#![no_main]
use actix_web::http::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    if let Ok(Some((userid, _))) = tessera::http::extract::basic_credentials(&headers) {
        assert!(!userid.contains(':'));
    }
});
