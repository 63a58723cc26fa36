//! Backups of the running server (SPEC §10): a consistent snapshot into a private scratch file.

use super::{AuthError, Context};
use crate::storage::{Store, StoreError};
use std::fs::File;
use std::path::Path;

/// Takes a snapshot into a new 0600 file in the data dir, unlinked at once (on Unix it lives
/// on while open), and returns it rewound for reading. Mutations wait only while the snapshot
/// is written locally, never on a client's download.
pub async fn snapshot(ctx: &Context) -> Result<File, AuthError> {
    let dir = ctx.config().server.data_dir.clone();
    Ok(write_snapshot(&*ctx.store, &dir).await?)
}

fn scratch(e: std::io::Error) -> StoreError {
    if e.kind() == std::io::ErrorKind::StorageFull {
        return StoreError::Full;
    }
    StoreError::Backend {
        context: "the backup's scratch file",
        source: Box::new(e),
    }
}

async fn write_snapshot(store: &dyn Store, dir: &Path) -> Result<File, StoreError> {
    use std::io::Seek;
    let path = dir.join(format!(".backup-{}", uuid::Uuid::new_v4().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&path).map_err(scratch)?;
    let _ = std::fs::remove_file(&path);
    // The store takes (and flushes) a writer over a second handle of the same open file.
    let writer = file.try_clone().map_err(scratch)?;
    store
        .export(Box::new(std::io::BufWriter::new(writer)))
        .await?;
    let mut file = file;
    file.rewind().map_err(scratch)?;
    Ok(file)
}
