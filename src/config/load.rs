//! Loading the configuration: defaults, then the TOML file, then the environment (SPEC §1–§2).

use super::Config;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config key {key}: {reason}")]
    Invalid { key: String, reason: String },
    #[error("config key {key}: not supported by this build of tessera yet")]
    Unsupported { key: String },
    #[error("environment variable {name}: {reason}")]
    Env { name: &'static str, reason: String },
    #[error(
        "this server was not started from a configuration file, so there is nothing to reload"
    )]
    NoFile,
}

/// Where the configuration came from, for the start-up log line.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    File(PathBuf),
    /// The file does not exist: all defaults.
    Defaults(PathBuf),
}

/// The environment overrides, captured once so tests can pass their own.
#[derive(Debug, Default, Clone)]
pub struct Env {
    vars: HashMap<&'static str, String>,
}

const OVERRIDES: [&str; 4] = [
    "TESSERA_DATA_DIR",
    "TESSERA_BIND",
    "TESSERA_ADMIN_BIND",
    "TESSERA_ADMIN_PASSWORD",
];

impl Env {
    #[cfg(test)]
    pub fn empty() -> Self {
        Self::default()
    }

    pub fn from_process() -> Self {
        let vars = OVERRIDES
            .iter()
            .filter_map(|name| std::env::var(name).ok().map(|v| (*name, v)))
            .collect();
        Self { vars }
    }

    fn get(&self, name: &'static str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

/// Loads the configuration from `path` (a missing file means all defaults) and the process
/// environment, and validates it.
pub fn load(path: &Path) -> Result<(Config, ConfigSource), ConfigError> {
    let (text, source) = match std::fs::read_to_string(path) {
        Ok(text) => (text, ConfigSource::File(path.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (String::new(), ConfigSource::Defaults(path.to_path_buf()))
        }
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let mut config = parse_str(&text, &Env::from_process()).map_err(|e| match e {
        ConfigError::Parse { message, .. } => ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        },
        other => other,
    })?;
    config.source = Some(path.to_path_buf());
    Ok((config, source))
}

/// Parses TOML text, applies the environment and validates.
pub(crate) fn parse_str(text: &str, env: &Env) -> Result<Config, ConfigError> {
    let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: PathBuf::new(),
        // toml's message names the key and the line; it never repeats a value it rejected
        // except for type errors of short scalars, which are not secrets by position.
        message: redact_values(e.message()) + &span_suffix(text, e.span()),
    })?;
    apply_env(&mut config, env)?;
    config.validate()?;
    Ok(config)
}

/// A type error quotes the value it rejected, and that value may be a password: keep the
/// shape of the message, drop what was quoted. Messages about keys keep their key names.
fn redact_values(message: &str) -> String {
    if !message.starts_with("invalid") {
        return message.to_string();
    }
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if c == '`' || c == '"' => {
                out.push(c);
                quote = Some(c);
            }
            None => out.push(c),
        }
    }
    out
}

fn span_suffix(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
}

fn apply_env(config: &mut Config, env: &Env) -> Result<(), ConfigError> {
    if let Some(dir) = env.get("TESSERA_DATA_DIR") {
        config.server.data_dir = PathBuf::from(dir);
    }
    for (name, slot) in [
        ("TESSERA_BIND", &mut config.server.bind),
        ("TESSERA_ADMIN_BIND", &mut config.server.admin_bind),
    ] {
        if let Some(value) = env.get(name) {
            *slot = value.parse().map_err(|_| ConfigError::Env {
                name,
                reason: "expected an address like 127.0.0.1:8080".into(),
            })?;
        }
    }
    if let Some(password) = env.get("TESSERA_ADMIN_PASSWORD") {
        if !password.is_empty() {
            config.bootstrap_admin_password = Some(password.to_string());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_file() {
        let mut env = Env::empty();
        env.vars.insert("TESSERA_BIND", "127.0.0.1:9999".into());
        env.vars.insert("TESSERA_DATA_DIR", "/tmp/x".into());
        let config = parse_str("[server]\nbind = \"127.0.0.1:1234\"\n", &env).expect("valid");
        assert_eq!(config.server.bind.port(), 9999);
        assert_eq!(config.server.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn bad_bind_in_environment_is_named() {
        let mut env = Env::empty();
        env.vars.insert("TESSERA_ADMIN_BIND", "nonsense".into());
        let err = parse_str("", &env).expect_err("bad address");
        assert!(err.to_string().contains("TESSERA_ADMIN_BIND"));
    }

    #[test]
    fn syntax_error_names_the_line() {
        let err = parse_str("[server]\n\nbind = \n", &Env::empty()).expect_err("bad toml");
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn a_mistyped_password_is_not_repeated_in_the_error() {
        let err = parse_str("[server]\npassword = 12345678\n", &Env::empty()).expect_err("type");
        assert!(!err.to_string().contains("12345678"), "{err}");
        assert!(err.to_string().contains("invalid type"), "{err}");
    }

    #[test]
    fn missing_file_means_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (config, source) = load(&dir.path().join("absent.toml")).expect("defaults");
        assert!(matches!(source, ConfigSource::Defaults(_)));
        assert_eq!(config.server.realm, "tessera");
    }
}
