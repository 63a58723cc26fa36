//! `tessera backup FILE` and `tessera restore FILE` (SPEC §10), on the data dir of a stopped
//! server. A running server is backed up through `GET /api/v1/admin/backup` instead.

use crate::auth::signing;
use crate::config::{self, Config};
use crate::crypto::secretbox::{self, MASTER_KEY_FILE};
use crate::crypto::SecretString;
use crate::storage::Store;
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

/// Whether `dir` holds nothing but, perhaps, the master key the backup needs.
fn is_empty_for_restore(dir: &Path) -> anyhow::Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.with_context(|| dir.display().to_string())?;
                if entry.file_name() != MASTER_KEY_FILE {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(anyhow::Error::new(e).context(dir.display().to_string())),
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

/// Loads FILE into an empty data dir. The records go into a scratch store inside the data dir,
/// which is moved into place only once the whole file has loaded and its signing keys open with
/// the master key; anything else leaves the data dir as it was.
pub async fn restore(config_path: &Path, file: &Path) -> anyhow::Result<()> {
    let (config, _) = config::load(config_path)?;
    let dir = config.server.data_dir.clone();
    if !is_empty_for_restore(&dir)? {
        bail!(
            "the data dir {} is not empty; restore only into an empty data dir",
            dir.display()
        );
    }
    let master = master_key(&config)?;
    let input = File::open(file).with_context(|| file.display().to_string())?;
    let scratch = dir.join(".restore");
    let _ = std::fs::remove_dir_all(&scratch);
    let result = async {
        // sled: the scratch store is a data dir of its own, renamed into place below.
        let mut at_scratch = config.clone();
        at_scratch.server.data_dir = scratch.clone();
        let store = open(&at_scratch).await?;
        let count = store.import(Box::new(BufReader::new(input))).await?;
        for key in store.signing_keys().await? {
            signing::open(&master, &key)?;
        }
        Ok::<_, anyhow::Error>(count)
    }
    .await;
    match result {
        Ok(count) => {
            std::fs::rename(scratch.join("store"), dir.join("store"))
                .context("moving the restored store into place")?;
            let _ = std::fs::remove_dir_all(&scratch);
            eprintln!("tessera: restored {count} records into {}", dir.display());
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&scratch);
            Err(e)
        }
    }
}
