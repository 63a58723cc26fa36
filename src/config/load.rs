//! Loading the configuration: defaults, then the TOML file, then the environment (SPEC §1–§2).

use super::Config;
use crate::crypto::secretbox;
use crate::crypto::SecretString;
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
    #[error("environment variable {name}: {reason}")]
    Env { name: &'static str, reason: String },
    #[error("config key {key}: {reason}")]
    Secret { key: String, reason: String },
    #[error("the master key: {0}")]
    MasterKey(String),
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

const OVERRIDES: [&str; 6] = [
    "TESSERA_DATA_DIR",
    "TESSERA_DATABASE_URL",
    "TESSERA_BIND",
    "TESSERA_ADMIN_BIND",
    "TESSERA_ADMIN_PASSWORD",
    "TESSERA_MASTER_KEY",
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
    let mut config = parse_toml(text)?;
    apply_env(&mut config, env)?;
    decrypt_secrets(&mut config)?;
    config.validate()?;
    Ok(config)
}

/// The file's text as typed settings, before the environment, decryption and validation.
/// Touches nothing outside memory, so fuzzers and property tests can call it freely.
pub fn parse_toml(text: &str) -> Result<Config, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: PathBuf::new(),
        // Messages name keys and lines; quoted values are redacted (redact_values).
        message: redact_values(e.message()) + &span_suffix(text, e.span()),
    })
}

/// Decrypts every `CRYPT:` password (SPEC §2). The master key is read only if one is
/// needed, and must already exist (start-up creates it; reading a config writes nothing); a value that does not decrypt stops the load with an error naming the key, never
/// the value.
fn decrypt_secrets(config: &mut Config) -> Result<(), ConfigError> {
    let data_dir = config.server.data_dir.clone();
    let env_key = config.master_key.clone();
    let mut master = None;
    let slots = [
        ("server.password".to_string(), &mut config.server.password),
        ("store.password".to_string(), &mut config.store.password),
    ]
    .into_iter()
    .chain(
        [
            ("introspection", &mut config.service.introspection.password),
            ("admin", &mut config.service.admin.password),
            ("statistics", &mut config.service.statistics.password),
        ]
        .into_iter()
        .map(|(name, slot)| (format!("service.{name}.password"), slot)),
    );
    for (key, slot) in slots {
        let Some(value) = slot
            .as_ref()
            .filter(|v| secretbox::is_encrypted(v.expose()))
        else {
            continue;
        };
        if master.is_none() {
            // Read only: loading a config never creates the key or the data dir.
            // The error names the first value that needs the key, never the value.
            let found =
                secretbox::read_master_key(&data_dir, env_key.as_ref().map(SecretString::expose))
                    .map_err(|e| ConfigError::Secret {
                    key: key.clone(),
                    reason: e.to_string(),
                })?;
            master = Some(found);
        }
        let Some(master) = master.as_ref() else {
            continue;
        };
        let plain = secretbox::decrypt_config_value(master, value.expose()).map_err(|e| {
            ConfigError::Secret {
                key: key.clone(),
                reason: e.to_string(),
            }
        })?;
        *slot = Some(SecretString::new(plain));
    }
    Ok(())
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
    if let Some(url) = env.get("TESSERA_DATABASE_URL").filter(|u| !u.is_empty()) {
        config.store.url = Some(SecretString::new(url));
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
            config.bootstrap_admin_password = Some(SecretString::new(password));
        }
    }
    if let Some(key) = env.get("TESSERA_MASTER_KEY") {
        if !key.is_empty() {
            config.master_key = Some(SecretString::new(key));
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

    use crate::fs::files_under as tree;

    #[test]
    fn loading_a_crypt_value_creates_no_key_and_no_data_dir() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data_dir = tmp.path().join("new-data");
        let text = format!(
            "[server]\ndata_dir = {:?}\npassword = \"CRYPT:AQ\"\n",
            data_dir.display().to_string()
        );
        let path = tmp.path().join("tessera.toml");
        std::fs::write(&path, text).expect("write");
        let before = tree(tmp.path());
        let err = parse_str(
            &std::fs::read_to_string(&path).expect("read"),
            &Env::empty(),
        )
        .expect_err("no master key");
        assert!(
            err.to_string()
                .contains("CRYPT: values need the master key"),
            "{err}"
        );
        assert!(err.to_string().contains("master.key"), "{err}");
        assert!(err.to_string().contains("server.password"), "{err}");
        assert_eq!(tree(tmp.path()), before, "loading wrote to disk");
        assert!(!data_dir.exists());
    }

    #[test]
    fn a_crypt_value_decrypts_with_an_existing_key_and_writes_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data_dir = tmp.path().join("data");
        let (key, _) = secretbox::load_master_key(&data_dir, None).expect("key");
        let value = secretbox::encrypt_config_value(&key, "hunter2");
        let text = format!(
            "[server]\ndata_dir = {:?}\npassword = {value:?}\n",
            data_dir.display().to_string()
        );
        let before = tree(tmp.path());
        let config = parse_str(&text, &Env::empty()).expect("decrypts");
        assert_eq!(
            config.server.password.as_ref().map(SecretString::expose),
            Some("hunter2")
        );
        assert_eq!(tree(tmp.path()), before);
    }

    #[test]
    fn missing_file_means_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (config, source) = load(&dir.path().join("absent.toml")).expect("defaults");
        assert!(matches!(source, ConfigSource::Defaults(_)));
        assert_eq!(config.server.realm, "tessera");
    }
}
