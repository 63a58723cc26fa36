//! App API keys (`tsk_`), sent as `X-VoltMX-App-API-Key`. The secret's id is the key's id.

use super::secret::{self, GeneratedSecret, ParsedSecret, SecretKind};
use uuid::Uuid;

pub fn mint(key_id: Uuid) -> GeneratedSecret {
    GeneratedSecret::with_id(SecretKind::ApiKey, key_id)
}

pub fn parse(text: &str) -> Option<ParsedSecret> {
    secret::parse(SecretKind::ApiKey, text.trim())
}
