//! Device auth tokens (`tsd_`), one per application, sent as `X-Device-AuthToken`. The
//! secret's id is the application's id, so a presented token leads straight to its app.

use super::secret::{self, GeneratedSecret, ParsedSecret, SecretKind};
use crate::domain::AppId;

pub fn mint(app_id: AppId) -> GeneratedSecret {
    GeneratedSecret::with_id(SecretKind::DeviceToken, app_id.0)
}

pub fn parse(text: &str) -> Option<ParsedSecret> {
    secret::parse(SecretKind::DeviceToken, text.trim())
}
