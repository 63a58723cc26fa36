//! Config parsing and validation never panic on any file contents.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mut config) = tessera::config::parse_toml(text) {
        let _ = config.validate();
    }
});
