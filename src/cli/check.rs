//! `tessera check`: the consistency check of a stopped server's data dir (issue 7).

use crate::auth::bootstrap;
use crate::config;
use crate::crypto::secretbox;
use crate::crypto::SecretString;
use crate::storage::Store;
use anyhow::{bail, Context as _};
use std::path::Path;

pub async fn run(config_path: &Path) -> anyhow::Result<()> {
    let (config, _) = config::load(config_path)?;
    super::apply_logging(&config);
    let dir = &config.server.data_dir;
    let store = super::open_stopped_store(&config, "; stop it first").await?;
    let mut problems = store.check().await?;
    problems.extend(signing_key_problems(&*store, &config).await?);
    if problems.is_empty() {
        println!("{}: consistent", dir.display());
        return Ok(());
    }
    for problem in &problems {
        println!("{problem}");
    }
    bail!("{} problem(s) in {}", problems.len(), dir.display())
}

/// Whether the signing keys open with the master key the server would use, parse, and make a
/// ring with one active key: a server that could not do this would refuse to start. The
/// opening is the start's own (auth::bootstrap); nothing is written, nor a master key created.
async fn signing_key_problems(
    store: &dyn Store,
    config: &config::Config,
) -> anyhow::Result<Vec<String>> {
    let keys = store.signing_keys().await?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let env = config.master_key.as_ref().map(SecretString::expose);
    let master =
        secretbox::find_master_key(&config.server.data_dir, env).context("the master key")?;
    Ok(bootstrap::signing_key_problems(&keys, master.as_ref()))
}
