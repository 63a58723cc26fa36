//! tessera: a token-issuing identity service.
//!
//! It stores users, sessions and keys in an embedded store and issues, verifies, rotates and
//! revokes the credentials of SPEC.md over two HTTP listeners: a public one for apps and
//! services and an intranet one for administration. Dependencies point one way: `http` and
//! `cli` call `auth`; `auth` calls `tokens`, `crypto`, `storage` and `domain`.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod errors;
pub mod fs;
pub mod http;
pub mod request;
pub mod storage;
pub mod tls;
pub mod tokens;

#[cfg(test)]
mod layers {
    //! STYLE "The shape of the code": dependencies point one way. `http` and `cli` call `auth`;
    //! `auth` calls `tokens`, `crypto`, `storage` and `domain`; `domain` imports no other layer,
    //! and `crypto` takes its parameters as its own types. Every line of a layer's files counts
    //! (its tests too), comments aside.

    use std::path::{Path, PathBuf};

    /// Each layer, and the modules it must not name.
    const RULES: &[(&str, &[&str])] = &[
        (
            "domain",
            &[
                "app", "cli", "http", "auth", "config", "storage", "tokens", "crypto",
            ],
        ),
        (
            "crypto",
            &["app", "cli", "http", "auth", "config", "storage", "tokens"],
        ),
        (
            "tokens",
            &["app", "cli", "http", "auth", "config", "storage"],
        ),
        (
            "storage",
            &["app", "cli", "http", "auth", "tokens", "crypto"],
        ),
        (
            "config",
            &["app", "cli", "http", "auth", "storage", "tokens"],
        ),
        ("auth", &["app", "cli", "http"]),
        ("http", &["app", "cli", "storage"]),
        ("cli", &["http"]),
    ];

    fn sources(dir: &Path) -> Vec<PathBuf> {
        let mut pending = vec![dir.to_path_buf()];
        let mut found = Vec::new();
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).expect("read_dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    found.push(path);
                }
            }
        }
        found
    }

    #[test]
    fn no_layer_imports_one_above_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut wrong = Vec::new();
        for (layer, above) in RULES {
            let files = sources(&src.join(layer));
            assert!(!files.is_empty(), "no sources under src/{layer}");
            for path in files {
                let text = std::fs::read_to_string(&path).expect("read");
                for (n, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or_default();
                    for other in *above {
                        // Built at run time, so this file does not trip its own check.
                        let import = format!("crate::{other}");
                        let named = code.match_indices(&import).any(|(at, _)| {
                            !code[at + import.len()..]
                                .starts_with(|c: char| c.is_alphanumeric() || c == '_')
                        });
                        if named {
                            wrong.push(format!("{}:{}: {line}", path.display(), n + 1));
                        }
                    }
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "imports against the layers:\n{}",
            wrong.join("\n")
        );
    }
}
