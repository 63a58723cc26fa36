//! The master key and authenticated encryption under it: `CRYPT:` config secrets (SPEC §2
//! "Encrypted secrets") and data at rest such as signing private keys (SPEC §10).
//!
//! The AEAD is XChaCha20-Poly1305. Its 192-bit nonce is why: a random nonce per message is safe
//! for any number of messages we will ever seal under one long-lived master key (a collision
//! after 2^80 messages is still only a ~2^-32 chance), whereas the 96-bit nonce of
//! ChaCha20-Poly1305 or AES-GCM calls for a counter we would have to persist, or for rotating the
//! key after ~2^32 random-nonce messages. It is also pure Rust and constant-time without AES-NI.
//!
//! Sealed form: `nonce (24) || ciphertext || tag (16)`. A config value is
//! `CRYPT:` + base64url-nopad(`0x01 || sealed`), sealed with the AAD `tessera-config-v1`, so a
//! config secret cannot be swapped with a sealed blob of another purpose.

use crate::crypto::random_bytes;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{Key, KeyInit, XChaCha20Poly1305, XNonce};
use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Marks an encrypted config value (SPEC §2).
pub const PREFIX: &str = "CRYPT:";
/// The name of the key file inside the data dir.
pub const MASTER_KEY_FILE: &str = "master.key";

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const CONFIG_VERSION: u8 = 0x01;
const CONFIG_AAD: &[u8] = b"tessera-config-v1";
/// A key file is ~45 bytes; reading at most this much keeps a misplaced huge file harmless.
const MAX_KEY_FILE_BYTES: u64 = 1024;

/// Standard base64 that accepts the padding or not: operators paste keys from many tools.
const STANDARD_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Messages name the source and the path, never key material, plaintext or ciphertext.
#[derive(Debug, thiserror::Error)]
pub enum SecretBoxError {
    #[error("TESSERA_MASTER_KEY must be base64 of 32 bytes")]
    BadEnvKey,
    #[error("creating the data dir {path}: {source}")]
    DataDir { path: PathBuf, source: io::Error },
    #[error("master key file {path}: {source}")]
    KeyFile { path: PathBuf, source: io::Error },
    #[error("master key file {path} must hold base64 of 32 bytes")]
    InvalidKeyFile { path: PathBuf },
    #[error("malformed {PREFIX} value: {reason}")]
    Malformed { reason: &'static str },
    #[error("decryption failed: wrong master key, or the data was altered")]
    Decrypt,
}

/// The 32-byte master key. It lives only inside the cipher, which zeroizes it on drop; it never
/// prints, and there is deliberately no accessor for the bytes.
pub struct MasterKey {
    cipher: XChaCha20Poly1305,
}

impl MasterKey {
    pub fn from_bytes(mut bytes: [u8; KEY_LEN]) -> Self {
        let cipher = XChaCha20Poly1305::new(&Key::from(bytes));
        wipe(&mut bytes);
        Self { cipher }
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

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
        let key = decode_key(value).ok_or(SecretBoxError::BadEnvKey)?;
        return Ok((key, MasterKeySource::Environment));
    }
    let path = data_dir.join(MASTER_KEY_FILE);
    match read_key_file(&path) {
        Err(SecretBoxError::KeyFile { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            // First need: create it below.
        }
        found => return found.map(|key| (key, MasterKeySource::File(path))),
    }
    create_data_dir(data_dir)?;
    let mut bytes = random_bytes::<KEY_LEN>();
    let mut encoded = STANDARD_ANY_PAD.encode(bytes);
    encoded.push('\n');
    let created = create_key_file(data_dir, &path, encoded.as_bytes());
    wipe_string(encoded);
    match created {
        Ok(true) => {
            let key = MasterKey::from_bytes(bytes);
            Ok((key, MasterKeySource::Created(path)))
        }
        Ok(false) => {
            wipe(&mut bytes);
            read_key_file(&path).map(|key| (key, MasterKeySource::File(path)))
        }
        Err(e) => {
            wipe(&mut bytes);
            Err(e)
        }
    }
}

/// The master key as [`load_master_key`] would find it, but never created: `None` when neither
/// `env_value` nor `<data_dir>/master.key` exists (for `tessera check`).
pub fn find_master_key(
    data_dir: &Path,
    env_value: Option<&str>,
) -> Result<Option<MasterKey>, SecretBoxError> {
    if let Some(value) = env_value {
        return decode_key(value).map(Some).ok_or(SecretBoxError::BadEnvKey);
    }
    match read_key_file(&data_dir.join(MASTER_KEY_FILE)) {
        Err(SecretBoxError::KeyFile { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            Ok(None)
        }
        found => found.map(Some),
    }
}

/// Encrypts `plaintext`, binding `aad` to it: `nonce || ciphertext || tag`.
#[expect(
    clippy::expect_used,
    reason = "XChaCha20-Poly1305 refuses only plaintexts of 256 GiB and more, never held in memory"
)]
pub fn seal(key: &MasterKey, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let nonce = random_bytes::<NONCE_LEN>();
    let ciphertext = key
        .cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("plaintext within the XChaCha20-Poly1305 length limit");
    let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

/// Decrypts what [`seal`] produced with the same key and `aad`.
pub fn open(key: &MasterKey, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SecretBoxError> {
    let Some((nonce, ciphertext)) = sealed
        .split_first_chunk::<NONCE_LEN>()
        .filter(|(_, rest)| rest.len() >= TAG_LEN)
    else {
        return Err(SecretBoxError::Malformed {
            reason: "too short",
        });
    };
    key.cipher
        .decrypt(
            &XNonce::from(*nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| SecretBoxError::Decrypt)
}

/// Whether a config value is written encrypted (`CRYPT:…`).
pub fn is_encrypted(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// What `tessera encrypt SECRET` prints (SPEC §2). Two calls never give the same value.
pub fn encrypt_config_value(key: &MasterKey, secret: &str) -> String {
    let mut blob = Vec::with_capacity(1 + NONCE_LEN + secret.len() + TAG_LEN);
    blob.push(CONFIG_VERSION);
    blob.extend_from_slice(&seal(key, secret.as_bytes(), CONFIG_AAD));
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(blob))
}

/// The secret in a config value: a `CRYPT:` value decrypted, any other value as written.
pub fn decrypt_config_value(key: &MasterKey, value: &str) -> Result<String, SecretBoxError> {
    let Some(encoded) = value.strip_prefix(PREFIX) else {
        return Ok(value.to_owned());
    };
    let blob = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| SecretBoxError::Malformed {
            reason: "not base64url",
        })?;
    let Some((&version, sealed)) = blob.split_first() else {
        return Err(SecretBoxError::Malformed { reason: "empty" });
    };
    if version != CONFIG_VERSION {
        return Err(SecretBoxError::Malformed {
            reason: "unknown version",
        });
    }
    let plaintext = open(key, sealed, CONFIG_AAD)?;
    String::from_utf8(plaintext).map_err(|_| SecretBoxError::Malformed {
        reason: "the secret is not UTF-8",
    })
}

/// 32 bytes in base64 (standard alphabet, padding optional, surrounding whitespace ignored).
fn decode_key(text: &str) -> Option<MasterKey> {
    let mut decoded = STANDARD_ANY_PAD.decode(text.trim()).ok()?;
    let bytes = <[u8; KEY_LEN]>::try_from(decoded.as_slice()).ok();
    wipe(&mut decoded);
    bytes.map(MasterKey::from_bytes)
}

fn read_key_file(path: &Path) -> Result<MasterKey, SecretBoxError> {
    let io_err = |source| SecretBoxError::KeyFile {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
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
    let mut content = Vec::new();
    file.take(MAX_KEY_FILE_BYTES)
        .read_to_end(&mut content)
        .map_err(io_err)?;
    let key = std::str::from_utf8(&content).ok().and_then(decode_key);
    wipe(&mut content);
    key.ok_or_else(|| SecretBoxError::InvalidKeyFile {
        path: path.to_path_buf(),
    })
}

fn create_data_dir(data_dir: &Path) -> Result<(), SecretBoxError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700); // SPEC §10; an existing dir keeps its mode
    }
    builder
        .create(data_dir)
        .map_err(|source| SecretBoxError::DataDir {
            path: data_dir.to_path_buf(),
            source,
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

/// Best effort without the `zeroize` crate: `black_box` keeps the writes from being elided.
fn wipe(bytes: &mut [u8]) {
    bytes.fill(0);
    std::hint::black_box(bytes);
}

fn wipe_string(text: String) {
    wipe(&mut text.into_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> MasterKey {
        MasterKey::from_bytes([byte; KEY_LEN])
    }

    fn is_malformed(result: Result<String, SecretBoxError>) -> bool {
        matches!(result, Err(SecretBoxError::Malformed { .. }))
    }

    #[test]
    fn sealed_data_and_config_values_round_trip() {
        let k = key(7);
        let sealed = seal(&k, b"private key bytes", b"purpose");
        assert_eq!(open(&k, &sealed, b"purpose").unwrap(), b"private key bytes");
        for secret in ["hunter2", "", "pässwörd with spaces"] {
            let value = encrypt_config_value(&k, secret);
            assert!(is_encrypted(&value));
            assert_eq!(decrypt_config_value(&k, &value).unwrap(), secret);
        }
    }

    #[test]
    fn two_encryptions_of_one_secret_differ() {
        let k = key(7);
        assert_ne!(
            encrypt_config_value(&k, "hunter2"),
            encrypt_config_value(&k, "hunter2")
        );
    }

    #[test]
    fn tampered_data_does_not_open() {
        let k = key(7);
        let sealed = seal(&k, b"attack at dawn", b"aad");
        // In the nonce, the ciphertext and the tag.
        for i in [0, NONCE_LEN - 1, NONCE_LEN, NONCE_LEN + 5, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(matches!(
                open(&k, &bad, b"aad"),
                Err(SecretBoxError::Decrypt)
            ));
        }
        assert!(open(&k, &sealed[..sealed.len() - 1], b"aad").is_err());
        assert!(matches!(
            open(&k, &sealed[..NONCE_LEN + TAG_LEN - 1], b"aad"),
            Err(SecretBoxError::Malformed { .. })
        ));
    }

    #[test]
    fn a_tampered_config_value_fails_without_echoing_it() {
        let k = key(7);
        let value = encrypt_config_value(&k, "hunter2");
        let mut blob = URL_SAFE_NO_PAD.decode(&value[PREFIX.len()..]).unwrap();
        blob[10] ^= 0x80;
        let bad = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&blob));
        let err = decrypt_config_value(&k, &bad).unwrap_err();
        assert!(matches!(err, SecretBoxError::Decrypt));
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(&bad[PREFIX.len()..]) && !shown.contains("hunter2"));
    }

    #[test]
    fn the_wrong_key_or_aad_does_not_open() {
        let sealed = seal(&key(1), b"secret", b"aad");
        assert!(matches!(
            open(&key(2), &sealed, b"aad"),
            Err(SecretBoxError::Decrypt)
        ));
        assert!(matches!(
            open(&key(1), &sealed, b"other"),
            Err(SecretBoxError::Decrypt)
        ));
        let value = encrypt_config_value(&key(1), "secret");
        assert!(matches!(
            decrypt_config_value(&key(2), &value),
            Err(SecretBoxError::Decrypt)
        ));
        // A blob sealed for another purpose is not a config value.
        let foreign = format!(
            "{PREFIX}{}",
            URL_SAFE_NO_PAD.encode([&[CONFIG_VERSION][..], &sealed].concat())
        );
        assert!(decrypt_config_value(&key(1), &foreign).is_err());
    }

    #[test]
    fn plain_values_pass_through() {
        let k = key(7);
        for plain in [
            "hunter2",
            "",
            "crypt:lowercase is plain",
            " CRYPT:leading space",
        ] {
            assert!(!is_encrypted(plain));
            assert_eq!(decrypt_config_value(&k, plain).unwrap(), plain);
        }
    }

    #[test]
    fn malformed_crypt_values_are_refused_as_malformed() {
        let k = key(7);
        let good = encrypt_config_value(&k, "hunter2");
        let mut blob = URL_SAFE_NO_PAD.decode(&good[PREFIX.len()..]).unwrap();
        blob[0] = 0x02;
        let wrong_version = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&blob));
        let too_short = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode([CONFIG_VERSION; 40]));
        for bad in [
            "CRYPT:".to_owned(),
            "CRYPT:not base64!".to_owned(),
            format!("{good}="),
            "CRYPT:AQ".to_owned(),
            too_short,
            wrong_version,
        ] {
            assert!(is_malformed(decrypt_config_value(&k, &bad)), "{bad}");
        }
    }

    #[test]
    fn debug_never_prints_the_key() {
        assert_eq!(format!("{:?}", key(7)), "<redacted>");
    }

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
        // The bad file is left for the operator, not replaced.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
    }
}
