//! `tessera encrypt SECRET` / `tessera --encrypt SECRET`: a `CRYPT:` value for the config file
//! (SPEC §2), sealed under the master key; prints it and exits without starting a server.

use crate::config;
use crate::crypto::secretbox::{self, MasterKeySource};
use crate::crypto::SecretString;
use anyhow::{bail, Context as _};
use std::io::BufRead;
use std::path::Path;

pub fn run(config_path: &Path, secret: &str) -> anyhow::Result<()> {
    let (config, _) = config::load(config_path)?;
    super::apply_logging(&config);
    let secret = if secret == "-" {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the secret from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        secret.to_string()
    };
    if secret.is_empty() {
        bail!("the secret is empty");
    }
    let (key, source) = secretbox::load_master_key(
        &config.server.data_dir,
        config.master_key.as_ref().map(SecretString::expose),
    )?;
    if let MasterKeySource::Created(path) = &source {
        eprintln!(
            "tessera: created the master key {} (mode 0600); keep a copy somewhere safe, apart from backups of the data, or move it to TESSERA_MASTER_KEY",
            path.display()
        );
    }
    println!("{}", secretbox::encrypt_config_value(&key, &secret));
    Ok(())
}
