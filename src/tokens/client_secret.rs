//! OAuth client secrets (`tsc_`). The secret's id is the client id.

use super::secret::{self, GeneratedSecret, ParsedSecret, SecretKind};
use crate::domain::ClientId;

pub fn mint(client_id: ClientId) -> GeneratedSecret {
    GeneratedSecret::with_id(SecretKind::ClientSecret, client_id.0)
}

pub fn parse(text: &str) -> Option<ParsedSecret> {
    secret::parse(SecretKind::ClientSecret, text.trim())
}
