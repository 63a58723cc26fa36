//! Issue 7, property tests of the parsers that take hostile input (the cargo-fuzz targets'
//! counterparts in the normal suite): the Basic header, the secret format, preamble tokens,
//! JWT decoding, the config file, and login bodies over HTTP. A modest number of cases each,
//! so the suite stays fast; the fuzz targets run long.

mod bodies;
mod jwt;
mod parsers;

use proptest::test_runner::Config as ProptestConfig;

/// Cases per property.
pub fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}
