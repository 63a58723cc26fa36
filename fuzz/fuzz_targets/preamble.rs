//! Preamble token decoding and verification never panic; nothing random verifies.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tessera::tokens::preamble::{claimed_expiry, PreambleKey};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let key = PreambleKey::derive(&uuid::Uuid::from_u128(
        0x6f9619ff_8b86_d011_b42d_00c04fc964ff,
    ));
    let _ = claimed_expiry("{PXZ}", text);
    let (userid, token) = text.split_once('\n').unwrap_or(("alice", text));
    if key.verify("{PXZ}", token, userid).is_some() {
        // Only a token this key minted for this userid verifies.
        let (start, exp) = key.verify("{PXZ}", token, userid).unwrap_or_default();
        assert_eq!(key.mint("{PXZ}", userid, start, exp), token);
    }
});
