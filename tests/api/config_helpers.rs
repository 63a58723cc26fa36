//! Servers started from a configuration file (decisions-4 "Live reload"): write the file, load it
//! the way the binary does, change it under the running server, and wait for the change.

use crate::helpers::{spawn_on, TestApp, ADMIN_PASSWORD};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `toml` with the test settings added where it does not set them: loopback port 0 for both
/// listeners, the data dir under `dir`, and a cheap argon2id. Text that does not parse is
/// returned as it is (a broken file is broken whatever is added to it).
fn with_test_settings(toml: &str, dir: &Path) -> String {
    let Ok(mut table) = toml.parse::<toml::Table>() else {
        return toml.to_string();
    };
    let mut section = |name: &str, defaults: Vec<(&str, toml::Value)>| {
        let entry = table
            .entry(name.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(section) = entry {
            for (key, value) in defaults {
                section.entry(key.to_string()).or_insert(value);
            }
        }
    };
    section(
        "server",
        vec![
            ("bind", "127.0.0.1:0".into()),
            ("admin_bind", "127.0.0.1:0".into()),
            ("data_dir", dir.join("data").display().to_string().into()),
        ],
    );
    section(
        "passwords",
        vec![
            ("argon2_memory_kib", toml::Value::Integer(1024)),
            ("argon2_iterations", toml::Value::Integer(1)),
        ],
    );
    toml::to_string(&table).expect("toml serializes")
}

/// Writes `<dir>/tessera.toml` from `toml` plus the test settings; returns its path.
pub fn write_config(dir: &Path, toml: &str) -> PathBuf {
    let path = dir.join("tessera.toml");
    std::fs::write(&path, with_test_settings(toml, dir)).expect("config written");
    path
}

/// Starts tessera from a file holding `toml` plus the test settings, loaded with
/// `tessera::config::load` so that live reload knows the file.
pub async fn spawn_from_file(toml: &str) -> (TestApp, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(dir.path(), toml);
    let (mut config, _) = tessera::config::load(&path)
        .unwrap_or_else(|e| panic!("test config does not load: {e}\n{toml}"));
    config.bootstrap_admin_password = Some(ADMIN_PASSWORD.into());
    (spawn_on(config, dir).await, path)
}

/// Replaces the file at `path` with `toml` plus the test settings, atomically: written beside it
/// and renamed over it, so the server never reads half a file.
pub fn rewrite(path: &Path, toml: &str) {
    let dir = path.parent().expect("config file has a directory");
    let text = with_test_settings(toml, dir);
    let temp = dir.join(".tessera.toml.new");
    std::fs::write(&temp, text).expect("new config written");
    std::fs::rename(&temp, path).expect("config replaced");
}

/// Polls `check` every 100 ms for up to 10 s; panics naming `what` if it never holds.
pub async fn eventually<F, Fut>(mut check: F, what: &str)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if check().await {
            return;
        }
        if Instant::now() >= deadline {
            panic!("never happened within 10 s: {what}");
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}
