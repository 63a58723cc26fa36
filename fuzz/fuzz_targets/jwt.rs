//! JWT header and claims decoding never panic, whatever the segments hold.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tessera::config::SigningAlg;
use tessera::crypto::jwt::{generate, KeyRing};
use tessera::tokens::claims::ClaimsToken;
use tessera::tokens::jwt::Expiry;
use time::OffsetDateTime;

fn ring() -> &'static KeyRing {
    static RING: OnceLock<KeyRing> = OnceLock::new();
    RING.get_or_init(|| {
        let key = generate(SigningAlg::EdDSA, OffsetDateTime::UNIX_EPOCH)
            .unwrap_or_else(|_| std::process::abort());
        KeyRing::new(&[key]).unwrap_or_else(|_| std::process::abort())
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = OffsetDateTime::UNIX_EPOCH;
    let verified = ClaimsToken::verify(ring(), text, "https://iss", "aud", now, Expiry::Ignore);
    assert!(
        verified.is_err(),
        "nothing the fuzzer makes is signed by our key"
    );
});
