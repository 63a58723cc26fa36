//! The configuration's values parsed once per load (STYLE habit 4): the CORS policy, the
//! preamble `token_uuid`, the roles of each service and the lifetimes. Downstream code reads
//! these and parses nothing; a value that does not parse stops the load, so there is no
//! fallback to fall back on.

use super::origins::OriginMatcher;
use super::{Config, ConfigError, CorsConfig, ServiceConfig};
use crate::domain::Role;
use std::sync::{Arc, RwLock};
use time::Duration;
use uuid::Uuid;

/// A validated [`Config`] together with the values parsed from it, swapped whole on reload.
/// It reads as the `Config` it was built from (`settings.tokens.audience`), and adds
/// [`Settings::runtime`].
#[derive(Debug, Clone)]
pub struct Settings {
    config: Config,
    pub runtime: Runtime,
}

impl Settings {
    /// Parses what `config` holds as text or numbers into the types the code uses.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        let runtime = Runtime::new(&config)?;
        Ok(Self { config, runtime })
    }

    /// The settings as written, without the parsed values.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

impl std::ops::Deref for Settings {
    type Target = Config;

    fn deref(&self) -> &Config {
        &self.config
    }
}

/// The parsed values of one configuration.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// `[cors]`, compiled.
    pub cors: Arc<CorsPolicy>,
    /// `preamble.token_uuid`; `None` when the config sets none (the generated one applies).
    pub token_uuid: Option<Uuid>,
    /// The roles allowed to call each service, the SPEC §6 defaults filled in.
    pub roles: ServiceRoles,
    pub lifetimes: Lifetimes,
}

impl Runtime {
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        let token_uuid = match &config.preamble.token_uuid {
            Some(text) => Some(
                Uuid::try_parse(text)
                    .map_err(|_| invalid("preamble.token_uuid", "must be a UUID"))?,
            ),
            None => None,
        };
        Ok(Self {
            cors: Arc::new(CorsPolicy::new(&config.cors)?),
            token_uuid,
            roles: ServiceRoles::new(config)?,
            lifetimes: Lifetimes::new(config)?,
        })
    }
}

fn invalid(key: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        reason: reason.to_string(),
    }
}

/// The roles that may call each protected service (SPEC §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRoles {
    pub introspection: Vec<Role>,
    pub admin: Vec<Role>,
    pub statistics: Vec<Role>,
}

impl ServiceRoles {
    fn new(config: &Config) -> Result<Self, ConfigError> {
        let s = &config.service;
        Ok(Self {
            introspection: roles("introspection", &s.introspection, &[Role::ADMINISTRATOR])?,
            admin: roles("admin", &s.admin, &[Role::ADMINISTRATOR])?,
            statistics: roles(
                "statistics",
                &s.statistics,
                &[Role::ADMINISTRATOR, Role::SUPERVISOR],
            )?,
        })
    }
}

/// A service's configured roles, or its defaults when it configures none.
fn roles(name: &str, service: &ServiceConfig, default: &[&str]) -> Result<Vec<Role>, ConfigError> {
    let names: Vec<&str> = match &service.roles {
        Some(configured) => configured.iter().map(String::as_str).collect(),
        None => default.to_vec(),
    };
    names
        .into_iter()
        .map(|r| {
            Role::parse(r).map_err(|_| {
                invalid(
                    &format!("service.{name}.roles"),
                    &format!("{r:?} is not a valid role name"),
                )
            })
        })
        .collect()
}

/// The configured lifetimes as durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// `tokens.claims_ttl_seconds`.
    pub claims: Duration,
    /// `tokens.refresh_ttl_seconds`.
    pub refresh: Duration,
    /// `tokens.session_max_age_seconds`.
    pub session_max_age: Duration,
    /// `tokens.access_token_ttl_seconds`.
    pub access_token: Duration,
    /// `sessions.idle_timeout_seconds` (browser sessions).
    pub browser_idle: Duration,
    /// `preamble.token_life_in_minutes`: how long a minted preamble token lives.
    pub preamble_life: Duration,
    /// `preamble.token_ttl_minutes`.
    pub preamble_ttl: Duration,
    /// `preamble.token_tolerance_seconds`.
    pub preamble_tolerance: Duration,
}

impl Lifetimes {
    fn new(config: &Config) -> Result<Self, ConfigError> {
        let t = &config.tokens;
        let p = &config.preamble;
        Ok(Self {
            claims: seconds("tokens.claims_ttl_seconds", t.claims_ttl_seconds)?,
            refresh: seconds("tokens.refresh_ttl_seconds", t.refresh_ttl_seconds)?,
            session_max_age: seconds("tokens.session_max_age_seconds", t.session_max_age_seconds)?,
            access_token: seconds(
                "tokens.access_token_ttl_seconds",
                t.access_token_ttl_seconds,
            )?,
            browser_idle: seconds(
                "sessions.idle_timeout_seconds",
                config.sessions.idle_timeout_seconds,
            )?,
            preamble_life: minutes("preamble.token_life_in_minutes", p.token_life_in_minutes)?,
            preamble_ttl: minutes("preamble.token_ttl_minutes", p.token_ttl_minutes)?,
            preamble_tolerance: seconds(
                "preamble.token_tolerance_seconds",
                p.token_tolerance_seconds,
            )?,
        })
    }

    /// The longest lifetime of a signed token (claims or access JWT): how long a retired key
    /// stays in the JWKS (SPEC §4).
    pub fn longest_jwt(&self) -> Duration {
        self.claims.max(self.access_token)
    }
}

/// Ranges are checked by `Config::validate`; this only refuses what no duration can hold.
fn seconds(key: &str, value: u64) -> Result<Duration, ConfigError> {
    i64::try_from(value)
        .map(Duration::seconds)
        .map_err(|_| invalid(key, "is too large"))
}

fn minutes(key: &str, value: u64) -> Result<Duration, ConfigError> {
    value
        .checked_mul(60)
        .ok_or_else(|| invalid(key, "is too large"))
        .and_then(|s| seconds(key, s))
}

/// `[cors]`, compiled: the origin patterns parsed, the lists trimmed and joined as they are
/// sent. Empty `allowed_origins` means CORS is off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsPolicy {
    /// Whether any origin is configured; when not, the filter adds nothing at all.
    pub enabled: bool,
    pub origins: OriginMatcher,
    pub allow_credentials: bool,
    /// The allowed methods, compared byte for byte with `Access-Control-Request-Method`.
    pub methods: Vec<String>,
    /// `Access-Control-Allow-Methods`.
    pub allow_methods: String,
    /// `Access-Control-Allow-Headers`; empty means the header is not sent.
    pub allow_headers: String,
    /// The configured exposed headers, trimmed.
    pub exposed_headers: Vec<String>,
    /// `Access-Control-Max-Age`.
    pub max_age: String,
}

impl CorsPolicy {
    pub fn new(cors: &CorsConfig) -> Result<Self, ConfigError> {
        let origins = OriginMatcher::try_new(&cors.allowed_origins).map_err(|bad| {
            invalid(
                "cors.allowed_origins",
                &format!(
                    "{:?} is not an origin or a wildcard like https://*.example.com",
                    bad.0
                ),
            )
        })?;
        let trimmed = |items: &[String]| -> Vec<String> {
            items
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        // Compared as browsers send them: upper case.
        let methods: Vec<String> = trimmed(&cors.allowed_methods)
            .into_iter()
            .map(|m| m.to_ascii_uppercase())
            .collect();
        Ok(Self {
            enabled: !cors.allowed_origins.is_empty(),
            origins,
            allow_credentials: cors.allow_credentials,
            allow_methods: methods.join(", "),
            methods,
            allow_headers: trimmed(&cors.allowed_headers).join(", "),
            exposed_headers: trimmed(&cors.exposed_headers),
            max_age: cors.max_age_seconds.to_string(),
        })
    }
}

/// The CORS policy in force, shared by the reload that replaces it and the CORS filter that
/// reads it on every request, so the filter needs nothing else.
#[derive(Debug, Clone, Default)]
pub struct LiveCors(Arc<RwLock<Arc<CorsPolicy>>>);

impl LiveCors {
    pub fn new(policy: Arc<CorsPolicy>) -> Self {
        Self(Arc::new(RwLock::new(policy)))
    }

    pub fn current(&self) -> Arc<CorsPolicy> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn replace(&self, policy: Arc<CorsPolicy>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = policy;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_in_the_roles_of_each_service() {
        let runtime = Runtime::new(&Config::default()).unwrap();
        let names = |roles: &[Role]| {
            roles
                .iter()
                .map(|r| r.as_str().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&runtime.roles.statistics),
            ["Administrator", "Supervisor"]
        );
        assert_eq!(names(&runtime.roles.introspection), ["Administrator"]);
        assert_eq!(names(&runtime.roles.admin), ["Administrator"]);
        assert_eq!(runtime.token_uuid, None);
        assert!(!runtime.cors.enabled);
    }

    #[test]
    fn configured_values_are_parsed_once_into_their_types() {
        let mut config = Config::default();
        config.service.statistics.roles = Some(vec!["Auditor".into()]);
        config.preamble.token_uuid = Some("6F9619FF-8B86-D011-B42D-00C04FC964FF".into());
        config.tokens.claims_ttl_seconds = 60;
        config.preamble.token_ttl_minutes = 2;
        config.cors.allowed_origins = vec!["https://*.example.com".into()];
        config.cors.allowed_headers = vec![" A ".into(), "".into(), "B".into()];
        let runtime = Runtime::new(&config).unwrap();
        assert_eq!(runtime.roles.statistics[0].as_str(), "Auditor");
        assert_eq!(
            runtime.token_uuid.unwrap().hyphenated().to_string(),
            "6f9619ff-8b86-d011-b42d-00c04fc964ff"
        );
        assert_eq!(runtime.lifetimes.claims, Duration::seconds(60));
        assert_eq!(runtime.lifetimes.preamble_ttl, Duration::minutes(2));
        assert_eq!(runtime.lifetimes.longest_jwt(), Duration::hours(1));
        assert!(runtime.cors.enabled && runtime.cors.origins.matches("https://a.example.com"));
        assert_eq!(runtime.cors.allow_headers, "A, B");
    }

    #[test]
    fn what_does_not_parse_is_refused_by_key() {
        let refused = |adjust: fn(&mut Config), key: &str| {
            let mut config = Config::default();
            adjust(&mut config);
            let err = Runtime::new(&config).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        };
        refused(
            |c| c.preamble.token_uuid = Some("nope".into()),
            "preamble.token_uuid",
        );
        refused(
            |c| c.service.admin.roles = Some(vec!["no spaces".into()]),
            "service.admin.roles",
        );
        refused(
            |c| c.cors.allowed_origins = vec!["example.com".into()],
            "cors.allowed_origins",
        );
        refused(
            |c| c.tokens.refresh_ttl_seconds = u64::MAX,
            "tokens.refresh_ttl_seconds",
        );
    }

    #[test]
    fn a_replaced_cors_policy_is_seen_by_every_holder() {
        let live = LiveCors::new(Arc::new(CorsPolicy::default()));
        let held = live.clone();
        let cors = CorsConfig {
            allowed_origins: vec!["https://a.example".into()],
            ..CorsConfig::default()
        };
        live.replace(Arc::new(CorsPolicy::new(&cors).unwrap()));
        assert!(held.current().enabled);
    }
}
