//! The master key and authenticated encryption under it: `CRYPT:` config secrets (SPEC §2
//! "Encrypted secrets") and data at rest such as signing private keys (SPEC §10).
//!
//! This file is the cipher; [`key_file`] finds (or, at start-up, creates) the master key, and
//! [`crypt_value`] is the `CRYPT:` format of config values.
//!
//! The AEAD is XChaCha20-Poly1305. Its 192-bit nonce is why: a random nonce per message is safe
//! for any number of messages we will ever seal under one long-lived master key (a collision
//! after 2^80 messages is still only a ~2^-32 chance), whereas the 96-bit nonce of
//! ChaCha20-Poly1305 or AES-GCM calls for a counter we would have to persist, or for rotating the
//! key after ~2^32 random-nonce messages. It is also pure Rust and constant-time without AES-NI.
//!
//! Sealed form: `nonce (24) || ciphertext || tag (16)`.

pub mod crypt_value;
pub mod key_file;

pub use crypt_value::{decrypt_config_value, encrypt_config_value, is_encrypted, PREFIX};
pub use key_file::{
    find_master_key, load_master_key, read_master_key, MasterKeySource, MASTER_KEY_FILE,
};

use crate::crypto::random_bytes;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{Key, KeyInit, XChaCha20Poly1305, XNonce};
use std::fmt;
use std::io;
use std::path::PathBuf;
use zeroize::{Zeroize, Zeroizing};

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

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
    /// Reading a config never creates the key (SPEC §2): a `CRYPT:` value needs one that exists.
    #[error(
        "CRYPT: values need the master key (TESSERA_MASTER_KEY or <data_dir>/{MASTER_KEY_FILE}); \
         none at {path}"
    )]
    NoMasterKey { path: PathBuf },
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
        bytes.zeroize();
        Self { cipher }
    }

    /// A new random key, and its base64 text (for the key file), wiped when dropped.
    fn generate() -> (Self, Zeroizing<String>) {
        let bytes = Zeroizing::new(random_bytes::<KEY_LEN>());
        let encoded = Zeroizing::new(STANDARD_ANY_PAD.encode(*bytes));
        (Self::from_bytes(*bytes), encoded)
    }

    /// 32 bytes in base64 (standard alphabet, padding optional, surrounding whitespace ignored).
    fn decode(text: &str) -> Option<Self> {
        let decoded = Zeroizing::new(STANDARD_ANY_PAD.decode(text.trim()).ok()?);
        let bytes = <[u8; KEY_LEN]>::try_from(decoded.as_slice()).ok()?;
        Some(Self::from_bytes(bytes))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
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

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn key(byte: u8) -> MasterKey {
        MasterKey::from_bytes([byte; KEY_LEN])
    }

    #[test]
    fn sealed_data_round_trips() {
        let k = key(7);
        let sealed = seal(&k, b"private key bytes", b"purpose");
        assert_eq!(open(&k, &sealed, b"purpose").unwrap(), b"private key bytes");
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
    }

    #[test]
    fn a_generated_key_is_its_text() {
        let (k, text) = MasterKey::generate();
        let again = MasterKey::decode(&text).unwrap();
        let sealed = seal(&k, b"x", b"aad");
        assert_eq!(open(&again, &sealed, b"aad").unwrap(), b"x");
    }

    #[test]
    fn debug_never_prints_the_key() {
        assert_eq!(format!("{:?}", key(7)), "<redacted>");
    }
}
