//! `tessera check`: the consistency check of a stopped server's data dir (issue 7).

use crate::config;
use crate::storage::sled::SledStore;
use crate::storage::{BackupStore, StoreError};
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
    let problems = store.check().map_err(|e| e.to_string())?;
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
