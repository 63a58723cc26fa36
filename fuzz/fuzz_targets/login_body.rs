//! Login bodies, JSON or form, with any Content-Type: parsing never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.split_first() {
        Some((0, rest)) => (
            Some(&b"application/json;charset=UTF-8;charset=UTF-8"[..]),
            rest,
        ),
        Some((1, rest)) => (Some(&b"application/x-www-form-urlencoded"[..]), rest),
        Some((2, rest)) => (None, rest),
        Some((_, rest)) => match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (None, rest),
        },
        None => return,
    };
    let _ = tessera::http::extract::parse_body::<serde_json::Value>(content_type, body);
});
