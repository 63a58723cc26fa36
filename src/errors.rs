//! Error reporting shared by every layer: an error with its causes, for a log line.

use std::error::Error;

/// The error and each of its sources, joined by ": " (the way anyhow prints `{:#}`), each
/// cause once: a `Display` that already quotes its source (`"cannot read {path}: {source}"`)
/// is not repeated. The local log's view of a failure; never for a response body.
pub fn chain(e: &(dyn Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !out.contains(&part) {
            out.push_str(": ");
            out.push_str(&part);
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_chain_names_every_cause() {
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(chain(&e), "outer: inner");
    }
}
