//! The secret-format parser never panics, and accepts nothing without its prefix.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tessera::tokens::secret::{parse, SecretKind};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for kind in SecretKind::ALL {
        if let Some(parsed) = parse(kind, text) {
            assert!(text.starts_with(kind.prefix()));
            assert_eq!(parsed.kind, kind);
        }
    }
});
