//! App API keys (`tsk_`), sent as `X-VoltMX-App-API-Key`. The secret's id is the key's id.

use super::secret::{self, GeneratedSecret, ParsedSecret, SecretKind};
use crate::domain::KeyId;

pub fn mint(key_id: KeyId) -> GeneratedSecret {
    GeneratedSecret::with_id(SecretKind::ApiKey, key_id.0)
}

pub fn parse(text: &str) -> Option<ParsedSecret> {
    secret::parse(SecretKind::ApiKey, text.trim())
}
