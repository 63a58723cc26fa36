//! `tessera check`: the consistency check of a stopped server's data dir (issue 7).

use crate::auth::bootstrap;
use crate::config;
use crate::crypto::secretbox;
use crate::crypto::SecretString;
use crate::storage::sled::SledStore;
use crate::storage::{Maintenance, StoreError};
use std::path::Path;

pub fn run(config_path: &Path) -> Result<(), String> {
    let (config, _) = config::load(config_path).map_err(|e| e.to_string())?;
    let dir = &config.server.data_dir;
    let store = SledStore::open(dir).map_err(|e| match e {
        StoreError::Locked => format!(
            "the data dir {} is held by a running tessera server; stop it first",
            dir.display()
        ),
        other => format!("the data dir {}: {other}", dir.display()),
    })?;
    let mut problems = store.check().map_err(|e| e.to_string())?;
    problems.extend(signing_key_problems(&store, &config)?);
    if problems.is_empty() {
        println!("{}: consistent", dir.display());
        return Ok(());
    }
    for problem in &problems {
        println!("{problem}");
    }
    Err(format!(
        "{} problem(s) in {}",
        problems.len(),
        dir.display()
    ))
}

/// Whether the signing keys open with the master key the server would use, parse, and make a
/// ring with one active key: a server that could not do this would refuse to start. The
/// opening is the start's own (auth::bootstrap); nothing is written, nor a master key created.
fn signing_key_problems(store: &SledStore, config: &config::Config) -> Result<Vec<String>, String> {
    use crate::storage::KeyStore;
    let keys = store.signing_keys().map_err(|e| e.to_string())?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let env = config.master_key.as_ref().map(SecretString::expose);
    let master = secretbox::find_master_key(&config.server.data_dir, env)
        .map_err(|e| format!("the master key: {e}"))?;
    Ok(bootstrap::signing_key_problems(&keys, master.as_ref()))
}
