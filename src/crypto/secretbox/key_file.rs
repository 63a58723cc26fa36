//! Where the master key comes from (SPEC §2): `TESSERA_MASTER_KEY`, else
//! `<data_dir>/master.key`. Reading it ([`read_master_key`], [`find_master_key`]) touches
//! nothing on disk; only start-up and `tessera encrypt` create it ([`load_master_key`]).

use super::{MasterKey, SecretBoxError};
use crate::crypto::random_bytes;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The name of the key file inside the data dir.
pub const MASTER_KEY_FILE: &str = "master.key";
/// A key file is ~45 bytes; reading at most this much keeps a misplaced huge file harmless.
const MAX_KEY_FILE_BYTES: u64 = 1024;

/// Where [`load_master_key`] found the key, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterKeySource {
    /// `TESSERA_MASTER_KEY`.
    Environment,
    /// An existing `<data_dir>/master.key`.
    File(PathBuf),
    /// `<data_dir>/master.key`, generated now.
    Created(PathBuf),
}

/// The master key (SPEC §2): `env_value` (the content of `TESSERA_MASTER_KEY`, read by the
/// caller) when set, else `<data_dir>/master.key`, created with mode 0600 (and the data dir
/// with 0700) when missing. Concurrent first starts agree on one key: the file appears
/// atomically, complete, and a process that loses the race reads the winner's.
pub fn load_master_key(
    data_dir: &Path,
    env_value: Option<&str>,
) -> Result<(MasterKey, MasterKeySource), SecretBoxError> {
    if let Some(value) = env_value {
        let key = MasterKey::decode(value).ok_or(SecretBoxError::BadEnvKey)?;
        return Ok((key, MasterKeySource::Environment));
    }
    let path = data_dir.join(MASTER_KEY_FILE);
    if let Some(key) = read_key_file(&path)? {
        return Ok((key, MasterKeySource::File(path)));
    }
    crate::fs::create_private_dir(data_dir).map_err(|source| SecretBoxError::DataDir {
        path: data_dir.to_path_buf(),
        source,
    })?;
    let (key, encoded) = MasterKey::generate();
    let content = Zeroizing::new(format!("{}\n", encoded.as_str()));
    if create_key_file(data_dir, &path, content.as_bytes())? {
        return Ok((key, MasterKeySource::Created(path)));
    }
    // Another process created it first: use the winner's.
    match read_key_file(&path)? {
        Some(key) => Ok((key, MasterKeySource::File(path))),
        None => Err(SecretBoxError::KeyFile {
            path,
            source: io::ErrorKind::NotFound.into(),
        }),
    }
}

/// The master key as [`load_master_key`] would find it, but never created: `None` when neither
/// `env_value` nor `<data_dir>/master.key` exists (for `tessera check`).
pub fn find_master_key(
    data_dir: &Path,
    env_value: Option<&str>,
) -> Result<Option<MasterKey>, SecretBoxError> {
    if let Some(value) = env_value {
        return MasterKey::decode(value)
            .map(Some)
            .ok_or(SecretBoxError::BadEnvKey);
    }
    read_key_file(&data_dir.join(MASTER_KEY_FILE))
}

/// The master key that already exists, for reading a config's `CRYPT:` values: loading a
/// configuration only reads, so a reload that names another data dir creates nothing there.
pub fn read_master_key(
    data_dir: &Path,
    env_value: Option<&str>,
) -> Result<MasterKey, SecretBoxError> {
    find_master_key(data_dir, env_value)?.ok_or_else(|| SecretBoxError::NoMasterKey {
        path: data_dir.join(MASTER_KEY_FILE),
    })
}

/// The key in the file at `path`; `None` when there is no such file.
fn read_key_file(path: &Path) -> Result<Option<MasterKey>, SecretBoxError> {
    let io_err = |source| SecretBoxError::KeyFile {
        path: path.to_path_buf(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map_err(io_err)?.permissions().mode();
        // Warn rather than refuse, as ssh would: secret mounts (Kubernetes defaults to 0644)
        // are often wider, and a refusal there would stop the service, not the exposure.
        if mode & 0o077 != 0 {
            log::warn!(
                "master key file {} has mode {:o}: group or others can access it; chmod 600 it",
                path.display(),
                mode & 0o777
            );
        }
    }
    let mut content = Zeroizing::new(Vec::new());
    file.take(MAX_KEY_FILE_BYTES)
        .read_to_end(&mut content)
        .map_err(io_err)?;
    std::str::from_utf8(&content)
        .ok()
        .and_then(MasterKey::decode)
        .map(Some)
        .ok_or_else(|| SecretBoxError::InvalidKeyFile {
            path: path.to_path_buf(),
        })
}

/// Writes the key file so that it appears complete or not at all: the content goes to a
/// private temporary file, which is then hard-linked to `path` (a link never replaces an
/// existing file). `Ok(false)`: another process created `path` first. A plain `create_new`
/// would let a racing reader see an empty file, and a crash leave one behind for good.
fn create_key_file(data_dir: &Path, path: &Path, content: &[u8]) -> Result<bool, SecretBoxError> {
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| SecretBoxError::KeyFile { path: p, source }
    };
    let tmp = data_dir.join(format!(
        ".{MASTER_KEY_FILE}.{}.tmp",
        u64::from_le_bytes(random_bytes::<8>())
    ));
    write_new_private_file(&tmp, content).map_err(io_err(&tmp))?;
    let linked = std::fs::hard_link(&tmp, path);
    if let Err(e) = std::fs::remove_file(&tmp) {
        log::warn!("removing {}: {e}", tmp.display());
    }
    let created = match linked {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        // A file system without hard links: create in place, still never over another's file.
        Err(_) => match write_new_private_file(path, content) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(io_err(path)(e)),
        },
    };
    if created {
        // The new name must survive a crash: data sealed under this key is written next.
        #[cfg(unix)]
        std::fs::File::open(data_dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io_err(data_dir))?;
    }
    Ok(created)
}

/// Creates `path` (failing if it exists) with mode 0600 and writes `content` durably.
fn write_new_private_file(path: &Path, content: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600); // narrowed further by the umask, never widened
    }
    let mut file = options.open(path)?;
    file.write_all(content)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::super::tests::key;
    use super::super::{decrypt_config_value, encrypt_config_value, KEY_LEN, STANDARD_ANY_PAD};
    use super::*;
    use base64::Engine;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_key_file_is_created_private_then_read_back() {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        let path = data_dir.join(MASTER_KEY_FILE);

        let (first, source) = load_master_key(&data_dir, None).unwrap();
        assert_eq!(source, MasterKeySource::Created(path.clone()));
        #[cfg(unix)]
        {
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(&data_dir), 0o700);
        }
        let content = std::fs::read_to_string(&path).unwrap();
        assert_eq!(STANDARD_ANY_PAD.decode(content.trim()).unwrap().len(), 32);
        let leftovers = std::fs::read_dir(&data_dir).unwrap().count();
        assert_eq!(leftovers, 1, "the temporary file is removed");

        let (second, source) = load_master_key(&data_dir, None).unwrap();
        assert_eq!(source, MasterKeySource::File(path));
        let value = encrypt_config_value(&first, "hunter2");
        assert_eq!(decrypt_config_value(&second, &value).unwrap(), "hunter2");
        let third = read_master_key(&data_dir, None).unwrap();
        assert_eq!(decrypt_config_value(&third, &value).unwrap(), "hunter2");
    }

    #[test]
    fn reading_the_key_creates_nothing_and_names_the_missing_file() {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        assert!(find_master_key(&data_dir, None).unwrap().is_none());
        let err = read_master_key(&data_dir, None).unwrap_err();
        assert!(matches!(err, SecretBoxError::NoMasterKey { .. }));
        let shown = err.to_string();
        assert!(
            shown.contains("CRYPT: values need the master key"),
            "{shown}"
        );
        assert!(
            shown.contains(&data_dir.join(MASTER_KEY_FILE).display().to_string()),
            "{shown}"
        );
        assert!(!data_dir.exists(), "reading created the data dir");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn racing_first_starts_agree_on_one_key() {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        let keys: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| load_master_key(&data_dir, None).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let created = keys
            .iter()
            .filter(|(_, s)| matches!(s, MasterKeySource::Created(_)))
            .count();
        assert_eq!(created, 1);
        let value = encrypt_config_value(&keys[0].0, "hunter2");
        for (k, _) in &keys {
            assert_eq!(decrypt_config_value(k, &value).unwrap(), "hunter2");
        }
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        load_master_key(tmp.path(), None).unwrap();
        let env = STANDARD_ANY_PAD.encode([9u8; KEY_LEN]);
        let (k, source) = load_master_key(tmp.path(), Some(&env)).unwrap();
        assert_eq!(source, MasterKeySource::Environment);
        let value = encrypt_config_value(&key(9), "hunter2");
        assert_eq!(decrypt_config_value(&k, &value).unwrap(), "hunter2");
        let read = read_master_key(tmp.path(), Some(&env)).unwrap();
        assert_eq!(decrypt_config_value(&read, &value).unwrap(), "hunter2");
        // Padding is optional and a trailing newline is ignored.
        let unpadded = format!("{}\n", env.trim_end_matches('='));
        assert!(load_master_key(tmp.path(), Some(&unpadded)).is_ok());
    }

    #[test]
    fn a_bad_environment_value_is_refused_without_echoing_it() {
        let tmp = tempfile::tempdir().unwrap();
        for bad in [
            "not-base64-at-all!!".to_owned(),
            STANDARD_ANY_PAD.encode([5u8; 31]),
            STANDARD_ANY_PAD.encode([5u8; 33]),
            String::new(),
        ] {
            let err = load_master_key(tmp.path(), Some(&bad)).unwrap_err();
            assert!(matches!(err, SecretBoxError::BadEnvKey));
            let shown = format!("{err} {err:?}");
            assert_eq!(
                err.to_string(),
                "TESSERA_MASTER_KEY must be base64 of 32 bytes"
            );
            assert!(bad.is_empty() || !shown.contains(&bad), "{shown}");
        }
        assert!(!tmp.path().join(MASTER_KEY_FILE).exists());
    }

    #[test]
    fn an_invalid_key_file_is_refused_by_path_not_content() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(MASTER_KEY_FILE);
        let content = STANDARD_ANY_PAD.encode([3u8; 16]);
        std::fs::write(&path, &content).unwrap();
        let err = load_master_key(tmp.path(), None).unwrap_err();
        assert!(matches!(&err, SecretBoxError::InvalidKeyFile { path: p } if *p == path));
        assert!(!format!("{err} {err:?}").contains(&content));
        assert!(read_master_key(tmp.path(), None).is_err());
        // The bad file is left for the operator, not replaced.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
    }
}
