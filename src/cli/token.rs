//! `tessera token preamble --user USERID`: mint a preamble token (SPEC §5).

use crate::auth::bootstrap::PREAMBLE_TOKEN_UUID;
use crate::auth::preamble::mint_for;
use crate::clock::{Clock, SystemClock};
use crate::config;
use crate::domain::UserId;
use anyhow::{anyhow, Context as _};
use std::path::Path;

pub async fn preamble(config_path: &Path, userid: &str) -> anyhow::Result<()> {
    let (config, _) = config::load(config_path)?;
    super::apply_logging(&config);
    let userid = UserId::parse(userid)?;
    // Parsed once, as a start parses it: a token_uuid that is not a UUID is refused.
    let configured = crate::config::Settings::new(config.clone())?
        .runtime
        .token_uuid;
    // With token_uuid in the config no store is needed, so this works beside a running server
    // (the user is then not checked). Otherwise the generated one is read from the store.
    let token_uuid = match configured {
        Some(uuid) => uuid,
        None => {
            let store = super::open_stopped_store(
                &config,
                ": set preamble.token_uuid in the config, or mint through POST \
                 /api/v1/tokens/preamble",
            )
            .await?;
            if store.get_user(&userid).await?.is_none() {
                return Err(anyhow!("no user {userid}"));
            }
            let stored = store
                .get_meta(PREAMBLE_TOKEN_UUID)
                .await?
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| uuid::Uuid::try_parse(&s).ok());
            stored
                .context("no token_uuid yet: start the server once, or set preamble.token_uuid")?
        }
    };
    let (token, exp) = mint_for(
        &config,
        &token_uuid,
        &userid,
        SystemClock.now().unix_timestamp(),
    )?;
    println!("{token}");
    println!("exp: {exp}");
    Ok(())
}
