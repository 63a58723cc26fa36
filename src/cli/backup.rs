//! `tessera backup FILE` and `tessera restore FILE` (SPEC §10), on the data dir of a stopped
//! server. A running server is backed up through `GET /api/v1/admin/backup` instead.

use crate::auth::signing;
use crate::config::{self, Config};
use crate::crypto::secretbox::{self, MASTER_KEY_FILE};
use crate::crypto::SecretString;
use crate::storage::{Store, StoreError};
use anyhow::{anyhow, bail, Context as _};
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;

async fn open(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    super::open_stopped_store(config, ": back it up with GET /api/v1/admin/backup").await
}

/// Writes a snapshot of the data dir to FILE (`-` for standard output), mode 0600. An existing
/// FILE is never overwritten: the snapshot goes to a new file renamed into place.
pub async fn backup(config_path: &Path, file: &Path) -> anyhow::Result<()> {
    let (config, _) = config::load(config_path)?;
    super::apply_logging(&config);
    let store = open(&config).await?;
    if file == Path::new("-") {
        let count = store
            .export(Box::new(BufWriter::new(std::io::stdout())))
            .await?;
        eprintln!("tessera: wrote {count} records");
        return Ok(());
    }
    if file.exists() {
        bail!("{} exists; choose a new file", file.display());
    }
    let partial = PathBuf::from(format!("{}.partial", file.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let handle = options
        .open(&partial)
        .with_context(|| partial.display().to_string())?;
    let result = async {
        // The store flushes the writer; the clone of the handle syncs what reached the file.
        let synced = handle.try_clone()?;
        let count = store.export(Box::new(BufWriter::new(handle))).await?;
        synced.sync_all()?;
        Ok::<_, anyhow::Error>(count)
    }
    .await;
    match result {
        Ok(count) => {
            std::fs::rename(&partial, file).with_context(|| file.display().to_string())?;
            eprintln!("tessera: wrote {count} records to {}", file.display());
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// The master key a restore needs: `TESSERA_MASTER_KEY`, or a `master.key` already placed in
/// the data dir. Never a new one: the backup's signing keys are sealed under the old one.
fn master_key(config: &Config) -> anyhow::Result<secretbox::MasterKey> {
    let dir = &config.server.data_dir;
    if config.master_key.is_none() && !dir.join(MASTER_KEY_FILE).exists() {
        return Err(anyhow!(
            "a restore needs the master key the backup's signing keys were sealed with: set \
             TESSERA_MASTER_KEY, or copy its master.key into {} first",
            dir.display()
        ));
    }
    let (key, _) =
        secretbox::load_master_key(dir, config.master_key.as_ref().map(SecretString::expose))?;
    Ok(key)
}

/// Loads FILE into the empty store the configuration names: sled's data dir, or a PostgreSQL
/// database (the way a sled deployment moves to PostgreSQL, SPEC §11). The backup's signing
/// keys must open with the master key before anything is written, and the store loads the
/// file all or nothing.
pub async fn restore(config_path: &Path, file: &Path) -> anyhow::Result<()> {
    let (config, _) = config::load(config_path)?;
    super::apply_logging(&config);
    let read = || -> anyhow::Result<BufReader<File>> {
        Ok(BufReader::new(
            File::open(file).with_context(|| file.display().to_string())?,
        ))
    };
    let keys = crate::storage::snapshot::signing_keys_in(&mut read()?)?;
    if !keys.is_empty() {
        let master = master_key(&config)?;
        for key in keys {
            signing::open(&master, &key)?;
        }
    }
    let count = crate::storage::restore(&config, Box::new(read()?))
        .await
        .map_err(|e| match e {
            StoreError::Locked => anyhow!(
                "the data dir {} is held by a running tessera server; stop it first",
                config.server.data_dir.display()
            ),
            other => anyhow::Error::new(other),
        })?;
    eprintln!("tessera: restored {count} records");
    Ok(())
}
