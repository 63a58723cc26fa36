//! The `CRYPT:` format of encrypted config values (SPEC §2 "Encrypted secrets"):
//! `CRYPT:` + base64url-nopad(`0x01 || sealed`), sealed with the AAD `tessera-config-v1`, so a
//! config secret cannot be swapped with a sealed blob of another purpose.

use super::{open, seal, MasterKey, SecretBoxError, NONCE_LEN, TAG_LEN};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use zeroize::Zeroizing;

/// Marks an encrypted config value (SPEC §2).
pub const PREFIX: &str = "CRYPT:";
const CONFIG_VERSION: u8 = 0x01;
const CONFIG_AAD: &[u8] = b"tessera-config-v1";

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
    // Wiped if it is not UTF-8; otherwise it becomes the returned secret.
    let plaintext = Zeroizing::new(open(key, sealed, CONFIG_AAD)?);
    std::str::from_utf8(&plaintext)
        .map(str::to_owned)
        .map_err(|_| SecretBoxError::Malformed {
            reason: "the secret is not UTF-8",
        })
}

#[cfg(test)]
mod tests {
    use super::super::tests::key;
    use super::*;

    fn is_malformed(result: Result<String, SecretBoxError>) -> bool {
        matches!(result, Err(SecretBoxError::Malformed { .. }))
    }

    #[test]
    fn config_values_round_trip() {
        let k = key(7);
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
    fn the_wrong_key_or_a_foreign_blob_does_not_decrypt() {
        let value = encrypt_config_value(&key(1), "secret");
        assert!(matches!(
            decrypt_config_value(&key(2), &value),
            Err(SecretBoxError::Decrypt)
        ));
        // A blob sealed for another purpose is not a config value.
        let sealed = seal(&key(1), b"secret", b"aad");
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
}
