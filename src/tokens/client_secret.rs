//! OAuth client secrets (`tsc_`). The secret's id is the client id.

use super::secret::{self, GeneratedSecret, ParsedSecret, SecretKind};
use uuid::Uuid;

pub fn mint(client_id: Uuid) -> GeneratedSecret {
    GeneratedSecret::with_id(SecretKind::ClientSecret, client_id)
}

pub fn parse(text: &str) -> Option<ParsedSecret> {
    secret::parse(SecretKind::ClientSecret, text.trim())
}
