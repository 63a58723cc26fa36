//! Typed configuration (SPEC §2): every section and key, their defaults, and validation.
//!
//! Loading (defaults → file → environment) lives in [`load`]. Unknown keys are refused by
//! `deny_unknown_fields`, so a typo names itself instead of being silently ignored.

mod load;
pub mod origins;
mod runtime;

pub use load::{load, parse_toml, ConfigError, ConfigSource};
pub use runtime::{CorsPolicy, Lifetimes, LiveCors, Runtime, ServiceRoles, Settings};

use crate::crypto::SecretString;
/// `tokens.signing_alg`: a domain type, re-exported where the config names it.
pub use crate::domain::SigningAlg;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The whole configuration file. Every key is optional.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    /// `[service.NAME]` sections for the protected services.
    pub service: Services,
    pub tokens: TokensConfig,
    pub passwords: PasswordsConfig,
    pub preamble: PreambleConfig,
    pub login_protection: LoginProtectionConfig,
    pub tls: TlsConfig,
    pub cors: CorsConfig,
    pub csrf: CsrfConfig,
    pub sessions: SessionsConfig,
    /// `[store]`: which backend holds the data (SPEC §11).
    pub store: StoreConfig,
    /// `[logging]`: how log lines are written (SPEC §14).
    pub logging: LoggingConfig,
    /// `TESSERA_ADMIN_PASSWORD`: the password of `admin` created on first start. Environment only.
    #[serde(skip)]
    pub bootstrap_admin_password: Option<SecretString>,
    /// `TESSERA_MASTER_KEY`: base64 of the 32-byte master key. Environment only.
    #[serde(skip)]
    pub master_key: Option<SecretString>,
    /// The file this configuration was read from, for live reload; `None` when built in code.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The public listener, for apps and services.
    pub bind: SocketAddr,
    /// The intranet listener, for administration.
    pub admin_bind: SocketAddr,
    /// The token issuer (`iss`) and the base of every URL in discovery documents.
    pub external_url_base: String,
    /// The realm of `WWW-Authenticate: Basic realm="…"`.
    pub realm: String,
    /// Where the embedded store keeps its files.
    pub data_dir: PathBuf,
    /// Bodies larger than this answer 413.
    pub max_body_bytes: usize,
    /// Global static credentials for protected services (SPEC §6).
    pub username: Option<String>,
    pub password: Option<SecretString>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_bind: SocketAddr::from(([127, 0, 0, 1], 8081)),
            external_url_base: "http://127.0.0.1:8080".into(),
            realm: "tessera".into(),
            data_dir: PathBuf::from("data"),
            max_body_bytes: 65_536,
            username: None,
            password: None,
        }
    }
}

/// The protected services. Only these three names are accepted.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Services {
    pub introspection: ServiceConfig,
    pub admin: ServiceConfig,
    pub statistics: ServiceConfig,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    /// Overrides `[server] username` for this service.
    pub username: Option<String>,
    /// Overrides `[server] password` for this service.
    pub password: Option<SecretString>,
    /// No caller authentication, on the intranet listener only; never allowed for `admin`.
    pub disable_authentication: bool,
    /// Directory roles that may call the service; `None` means the service's default roles.
    pub roles: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokensConfig {
    /// `aud` of issued JWTs.
    pub audience: String,
    pub signing_alg: SigningAlg,
    /// Lifetime of a claims token.
    pub claims_ttl_seconds: u64,
    /// Idle lifetime of one refresh token.
    pub refresh_ttl_seconds: u64,
    /// Absolute lifetime of a login session (a refresh family).
    pub session_max_age_seconds: u64,
    /// Lifetime of AccessToken/AccessSecret pairs and client_credentials tokens.
    pub access_token_ttl_seconds: u64,
}

impl Default for TokensConfig {
    fn default() -> Self {
        Self {
            audience: "tessera".into(),
            signing_alg: SigningAlg::EdDSA,
            claims_ttl_seconds: 900,
            refresh_ttl_seconds: 1_209_600,
            session_max_age_seconds: 2_592_000,
            access_token_ttl_seconds: 3600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordsConfig {
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Password hashes computed at once; 0 = the number of cores.
    pub max_concurrent_hashes: usize,
    /// Minimum password length in characters; no composition rules (NIST SP 800-63B).
    pub min_length: usize,
}

impl Default for PasswordsConfig {
    fn default() -> Self {
        Self {
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            max_concurrent_hashes: 0,
            min_length: 8,
        }
    }
}

impl From<&PasswordsConfig> for crate::crypto::password::HasherParams {
    fn from(p: &PasswordsConfig) -> Self {
        Self {
            memory_kib: p.argon2_memory_kib,
            iterations: p.argon2_iterations,
            parallelism: p.argon2_parallelism,
            max_concurrent_hashes: p.max_concurrent_hashes,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PreambleMode {
    Enable,
    #[default]
    Disable,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PreambleConfig {
    pub token_authentication_mode: PreambleMode,
    pub token_preambula: String,
    pub token_uuid: Option<String>,
    pub token_life_in_minutes: u64,
    pub token_ttl_minutes: u64,
    pub token_tolerance_seconds: u64,
}

impl Default for PreambleConfig {
    fn default() -> Self {
        Self {
            token_authentication_mode: PreambleMode::Disable,
            token_preambula: "{PXZ}".into(),
            token_uuid: None,
            token_life_in_minutes: 10,
            token_ttl_minutes: 1440,
            token_tolerance_seconds: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginProtectionConfig {
    pub max_failures: u32,
    pub max_failures_per_address: u32,
    pub window_seconds: u64,
    pub lockout_seconds: u64,
}

impl Default for LoginProtectionConfig {
    fn default() -> Self {
        Self {
            max_failures: 5,
            max_failures_per_address: 100,
            window_seconds: 300,
            lockout_seconds: 300,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    pub enable_ssl: bool,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub redirect_http_bind: Option<SocketAddr>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            enable_ssl: false,
            cert: PathBuf::from("config/tls/cert.pem"),
            key: PathBuf::from("config/tls/key.pem"),
            redirect_http_bind: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsConfig {
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub exposed_headers: Vec<String>,
    pub allow_credentials: bool,
    pub max_age_seconds: u64,
}

impl Default for CorsConfig {
    fn default() -> Self {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Self {
            allowed_origins: Vec::new(),
            allowed_methods: strings(&["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
            allowed_headers: strings(&[
                "Authorization",
                "Content-Type",
                "X-VoltMX-Authorization",
                "X-CSRF-TOKEN",
                "AccessToken",
                "AccessSecret",
                "X-VoltMX-App-API-Key",
                "X-Device-AuthToken",
            ]),
            exposed_headers: strings(&["X-CSRF-HEADER", "X-CSRF-TOKEN"]),
            allow_credentials: true,
            max_age_seconds: 120,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CsrfConfig {
    pub enable: bool,
}

impl Default for CsrfConfig {
    fn default() -> Self {
        Self { enable: true }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionsConfig {
    pub idle_timeout_seconds: u64,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self {
            idle_timeout_seconds: 1800,
        }
    }
}

/// `[logging]` (SPEC §14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    pub format: LogFormat,
}

/// `logging.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `[time LEVEL target] message`, env_logger's layout.
    #[default]
    Text,
    /// One JSON object per line: `time`, `level`, `target`, `request_id` (when the line was
    /// written for a request) and `message`.
    Json,
}

/// `store.backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    /// Embedded, in `server.data_dir`: one node, nothing to install.
    #[default]
    Sled,
    /// A PostgreSQL database shared by every node of a cluster.
    Postgres,
}

/// `store.tls`: how the connection to PostgreSQL is protected (libpq's `sslmode` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DatabaseTls {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, without checking its certificate (libpq's default).
    #[default]
    Prefer,
    /// TLS or no connection; the certificate is not checked.
    Require,
    /// TLS with the certificate checked against `ca_cert` (or the system's roots) and the
    /// host name.
    VerifyFull,
}

/// `[store]` (SPEC §11).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    pub backend: StoreBackend,
    /// `postgres://user@host:port/database`; also `TESSERA_DATABASE_URL`.
    pub url: Option<SecretString>,
    /// Overrides the URL's password; may be `CRYPT:`.
    pub password: Option<SecretString>,
    /// Connections each node keeps open at most.
    pub max_connections: usize,
    /// How long a connection attempt (and a wait for a free connection) may take.
    pub connect_timeout_seconds: u64,
    pub tls: DatabaseTls,
    /// The CA certificate (PEM) that `tls = "verify-full"` checks the server against.
    pub ca_cert: Option<PathBuf>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            backend: StoreBackend::Sled,
            url: None,
            password: None,
            max_connections: 16,
            connect_timeout_seconds: 5,
            tls: DatabaseTls::Prefer,
            ca_cert: None,
        }
    }
}

impl StoreConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, why: &str| ConfigError::Invalid {
            key: key.to_string(),
            reason: why.to_string(),
        };
        if self.backend == StoreBackend::Postgres && self.url.is_none() {
            return Err(invalid(
                "store.url",
                "is required with backend = \"postgres\" (or set TESSERA_DATABASE_URL)",
            ));
        }
        if let Some(url) = &self.url {
            let url = url.expose();
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                // Never the URL itself: it may carry a password.
                return Err(invalid("store.url", "must start with postgres://"));
            }
        }
        if !(1..=1000).contains(&self.max_connections) {
            return Err(invalid("store.max_connections", "must be 1 to 1000"));
        }
        if !(1..=300).contains(&self.connect_timeout_seconds) {
            return Err(invalid("store.connect_timeout_seconds", "must be 1 to 300"));
        }
        Ok(())
    }
}

impl Config {
    /// Checks what serde cannot: ranges, combinations, and settings this build does not support
    /// yet (refused loudly rather than silently ignored).
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        let invalid = |key: &str, why: &str| ConfigError::Invalid {
            key: key.to_string(),
            reason: why.to_string(),
        };
        let base = self
            .server
            .external_url_base
            .trim_end_matches('/')
            .to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() < 10 {
            return Err(invalid(
                "server.external_url_base",
                "must be an absolute http(s) URL",
            ));
        }
        self.server.external_url_base = base;
        if self.server.realm.is_empty()
            || self
                .server
                .realm
                .chars()
                .any(|c| c == '"' || c == '\\' || c.is_control())
        {
            return Err(invalid(
                "server.realm",
                "must be non-empty, without quotes, backslashes or control characters",
            ));
        }
        if self.server.max_body_bytes < 1024 {
            return Err(invalid("server.max_body_bytes", "must be at least 1024"));
        }
        if self.server.bind == self.server.admin_bind && self.server.bind.port() != 0 {
            return Err(invalid(
                "server.admin_bind",
                "must differ from server.bind: the public and intranet listeners are separate",
            ));
        }
        let t = &self.tokens;
        for (key, value) in [
            ("tokens.claims_ttl_seconds", t.claims_ttl_seconds),
            ("tokens.refresh_ttl_seconds", t.refresh_ttl_seconds),
            ("tokens.session_max_age_seconds", t.session_max_age_seconds),
            (
                "tokens.access_token_ttl_seconds",
                t.access_token_ttl_seconds,
            ),
        ] {
            // Bounded so that `now + ttl` can never overflow a timestamp.
            if value == 0 || value > 10 * 365 * 86_400 {
                return Err(invalid(key, "must be between 1 second and 10 years"));
            }
        }
        if t.audience.is_empty() {
            return Err(invalid("tokens.audience", "must not be empty"));
        }
        let p = &self.passwords;
        // argon2 computes `p_cost * 8` unchecked: a huge parallelism must not reach it.
        if !(argon2::Params::MIN_P_COST..=argon2::Params::MAX_P_COST)
            .contains(&p.argon2_parallelism)
            || argon2::Params::new(
                p.argon2_memory_kib,
                p.argon2_iterations,
                p.argon2_parallelism,
                None,
            )
            .is_err()
        {
            return Err(invalid(
                "passwords",
                "argon2_memory_kib, argon2_iterations and argon2_parallelism are not valid argon2id parameters",
            ));
        }
        if p.min_length == 0 || p.min_length > 1024 {
            return Err(invalid(
                "passwords.min_length",
                "must be between 1 and 1024",
            ));
        }
        if self.service.admin.disable_authentication {
            return Err(invalid(
                "service.admin.disable_authentication",
                "the admin service always authenticates its callers",
            ));
        }
        let pre = &self.preamble.token_preambula;
        if pre.is_empty() || pre.len() > 16 || pre.chars().any(|c| c.is_control() || c == ':') {
            return Err(invalid(
                "preamble.token_preambula",
                "must be 1 to 16 bytes without control characters or ':'",
            ));
        }
        if self.preamble.token_life_in_minutes == 0 || self.preamble.token_life_in_minutes > 525_600
        {
            return Err(invalid(
                "preamble.token_life_in_minutes",
                "must be between 1 and 525600",
            ));
        }
        if self.preamble.token_ttl_minutes > 525_600
            || self.preamble.token_tolerance_seconds > 86_400
        {
            return Err(invalid(
                "preamble",
                "token_ttl_minutes is at most 525600 and token_tolerance_seconds at most 86400",
            ));
        }
        let lp = &self.login_protection;
        if lp.max_failures == 0
            || lp.max_failures_per_address == 0
            || lp.window_seconds == 0
            || lp.lockout_seconds == 0
        {
            return Err(invalid(
                "login_protection",
                "max_failures, max_failures_per_address, window_seconds and lockout_seconds must be positive",
            ));
        }
        if self.sessions.idle_timeout_seconds == 0 {
            return Err(invalid(
                "sessions.idle_timeout_seconds",
                "must be positive: 0 would end every browser session at once",
            ));
        }
        if self.cors.allow_credentials && self.cors.allowed_origins.iter().any(|o| o == "*") {
            return Err(invalid(
                "cors.allowed_origins",
                "\"*\" cannot be combined with allow_credentials = true",
            ));
        }
        self.store.validate()?;
        // The token_uuid, the service roles, the CORS patterns and the lifetimes are checked
        // by parsing them, with the parser the running server uses (runtime.rs).
        Runtime::new(self)?;
        Ok(())
    }
}

impl Services {
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &ServiceConfig)> {
        [
            ("introspection", &self.introspection),
            ("admin", &self.admin),
            ("statistics", &self.statistics),
        ]
        .into_iter()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_huge_argon2_parallelism_is_refused_not_a_panic() {
        let mut config = super::Config::default();
        config.passwords.argon2_parallelism = u32::MAX;
        assert!(config.validate().is_err());
    }

    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        load::parse_str(text, &load::Env::empty())
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let config = parse("").expect("defaults are valid");
        assert_eq!(config.server.bind.port(), 8080);
        assert_eq!(config.server.admin_bind.port(), 8081);
        assert_eq!(config.tokens.signing_alg, SigningAlg::EdDSA);
        assert_eq!(config.passwords.argon2_memory_kib, 19_456);
        let runtime = Runtime::new(&config).expect("defaults parse");
        assert_eq!(runtime.roles.statistics.len(), 2);
    }

    #[test]
    fn unknown_key_is_named_in_the_error() {
        let err = parse("[tokens]\nclaims_tll_seconds = 5\n").expect_err("typo must fail");
        assert!(err.to_string().contains("claims_tll_seconds"), "{err}");
    }

    #[test]
    fn the_log_format_is_text_or_json_and_nothing_else() {
        assert_eq!(parse("").expect("defaults").logging.format, LogFormat::Text);
        let json = parse("[logging]\nformat = \"json\"\n").expect("json");
        assert_eq!(json.logging.format, LogFormat::Json);
        let err = parse("[logging]\nformat = \"xml\"\n").expect_err("xml");
        assert!(err.to_string().contains("xml"), "{err}");
        let err = parse("[logging]\nformt = \"json\"\n").expect_err("typo");
        assert!(err.to_string().contains("formt"), "{err}");
    }

    #[test]
    fn unknown_service_section_is_refused() {
        let err = parse("[service.billing]\nroles = []\n").expect_err("unknown service");
        assert!(err.to_string().contains("billing"), "{err}");
    }

    #[test]
    fn admin_service_cannot_disable_authentication() {
        let err = parse("[service.admin]\ndisable_authentication = true\n").expect_err("refused");
        assert!(err
            .to_string()
            .contains("service.admin.disable_authentication"));
    }

    #[test]
    fn wildcard_origin_with_credentials_is_refused() {
        let err = parse("[cors]\nallowed_origins = [\"*\"]\n").expect_err("refused");
        assert!(err.to_string().contains("cors.allowed_origins"));
    }

    #[test]
    fn trailing_slash_of_the_issuer_is_dropped() {
        let config =
            parse("[server]\nexternal_url_base = \"https://id.example.com/\"\n").expect("valid");
        assert_eq!(config.server.external_url_base, "https://id.example.com");
    }

    #[test]
    fn a_token_uuid_must_be_a_uuid() {
        let err = parse("[preamble]\ntoken_uuid = \"nope\"\n").expect_err("refused");
        assert!(err.to_string().contains("preamble.token_uuid"));
    }
}
