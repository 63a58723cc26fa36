//! Live reload (SPEC §2): parse → validate → swap whole → log. A file that does not parse or
//! validate changes nothing; settings that only take effect at start are kept as they are and
//! named, never half-applied.

use super::Context;
use crate::config::{self, Config, ConfigError, Settings};
use std::sync::Mutex;

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// Changed settings that apply at the next start (their old values stay in force).
    pub restart_required: Vec<&'static str>,
}

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Re-reads the configuration file and puts it in force for the next request.
pub fn reload(ctx: &Context) -> Result<Reloaded, ConfigError> {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let current = ctx.config();
    let path = current.source.clone().ok_or(ConfigError::NoFile)?;
    let mut restart_required = Vec::new();
    let loaded = config::load(&path).and_then(|(mut new, _)| {
        restart_required = keep_start_only_settings(current.config(), &mut new);
        // Parsed once here; requests read the parsed values and parse nothing.
        Settings::new(new)
    });
    let new = match loaded {
        Ok(new) => new,
        Err(e) => {
            log::error!(
                "configuration reload from {} refused, nothing changed: {e}",
                path.display()
            );
            return Err(e);
        }
    };
    for key in &restart_required {
        log::warn!("configuration reload: {key} changed; it applies at the next start");
    }
    ctx.swap_config(new);
    log::info!("configuration reloaded from {}", path.display());
    Ok(Reloaded { restart_required })
}

/// Copies into `new` the settings read only at start (listeners, TLS, the data dir, the
/// password hasher), and names those that differ.
fn keep_start_only_settings(current: &Config, new: &mut Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    macro_rules! keep {
        ($($field:ident).+, $name:literal) => {
            if new.$($field).+ != current.$($field).+ {
                changed.push($name);
                new.$($field).+ = current.$($field).+.clone();
            }
        };
    }
    keep!(server.bind, "server.bind");
    keep!(server.admin_bind, "server.admin_bind");
    keep!(server.data_dir, "server.data_dir");
    keep!(tls.enable_ssl, "tls.enable_ssl");
    keep!(tls.cert, "tls.cert");
    keep!(tls.key, "tls.key");
    keep!(tls.redirect_http_bind, "tls.redirect_http_bind");
    keep!(passwords.argon2_memory_kib, "passwords.argon2_memory_kib");
    keep!(passwords.argon2_iterations, "passwords.argon2_iterations");
    keep!(passwords.argon2_parallelism, "passwords.argon2_parallelism");
    keep!(
        passwords.max_concurrent_hashes,
        "passwords.max_concurrent_hashes"
    );
    new.bootstrap_admin_password = current.bootstrap_admin_password.clone();
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::secretbox;
    use crate::storage::sled::SledStore;
    use crate::storage::Store;
    use std::path::Path;
    use std::sync::Arc;

    /// A context whose config was loaded from `file`, with its store in `data_dir`.
    async fn context(file: &Path, data_dir: &Path) -> Context {
        let (config, _) = config::load(file).unwrap();
        let store: Arc<dyn Store> = Arc::new(SledStore::open(data_dir).unwrap());
        crate::auth::testing::with_config(store, config).await
    }

    fn toml_config(data_dir: &Path, extra: &str) -> String {
        format!(
            "[server]\ndata_dir = {:?}\n{extra}",
            data_dir.display().to_string()
        )
    }

    use crate::fs::files_under as tree;

    #[actix_rt::test]
    async fn a_reload_naming_a_new_data_dir_with_a_crypt_value_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        let file = tmp.path().join("tessera.toml");
        std::fs::write(&file, toml_config(&data_dir, "")).unwrap();
        let ctx = context(&file, &data_dir).await;
        let (master, _) = secretbox::load_master_key(&data_dir, None).unwrap();
        let secret = secretbox::encrypt_config_value(&master, "hunter2");

        let elsewhere = tmp.path().join("elsewhere");
        std::fs::write(
            &file,
            toml_config(&elsewhere, &format!("password = {secret:?}\n")),
        )
        .unwrap();
        let before = tree(tmp.path());
        let err = reload(&ctx).unwrap_err();

        assert!(
            err.to_string()
                .contains("CRYPT: values need the master key"),
            "{err}"
        );
        assert!(!elsewhere.exists(), "the reload created the new data dir");
        assert_eq!(tree(tmp.path()), before, "the reload wrote to disk");
        assert_eq!(ctx.config().server.data_dir, data_dir, "nothing changed");
    }

    #[actix_rt::test]
    async fn a_reload_puts_the_parsed_values_and_the_cors_policy_in_force() {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        let file = tmp.path().join("tessera.toml");
        std::fs::write(&file, toml_config(&data_dir, "")).unwrap();
        let ctx = context(&file, &data_dir).await;
        let cors = ctx.cors.clone();
        assert!(!cors.current().enabled);

        let uuid = "6f9619ff-8b86-d011-b42d-00c04fc964ff";
        let text = toml_config(
            &data_dir,
            &format!(
                "[preamble]\ntoken_uuid = {uuid:?}\n[cors]\nallowed_origins = [\"https://a.example\"]\n"
            ),
        );
        std::fs::write(&file, text).unwrap();
        reload(&ctx).unwrap();

        assert!(cors.current().origins.matches("https://a.example"));
        let token_uuid = ctx.config().runtime.token_uuid.unwrap();
        assert_eq!(token_uuid.hyphenated().to_string(), uuid);
    }

    #[test]
    fn start_only_settings_are_kept_and_named() {
        let current = Config::default();
        let mut new = Config::default();
        new.server.bind = "127.0.0.1:9999".parse().expect("addr");
        new.tokens.claims_ttl_seconds = 60;
        let changed = keep_start_only_settings(&current, &mut new);
        assert_eq!(changed, vec!["server.bind"]);
        assert_eq!(new.server.bind, current.server.bind);
        assert_eq!(
            new.tokens.claims_ttl_seconds, 60,
            "live settings go through"
        );
    }
}
