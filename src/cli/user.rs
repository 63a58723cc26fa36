//! `tessera user add`: create a directory user in the data dir of a stopped server.

use crate::auth::users::create_user_in;
use crate::auth::AuthError;
use crate::clock::{Clock, SystemClock};
use crate::config;
use crate::crypto::password::PasswordHasher;
use crate::domain::{Email, NewUser, Role, UserId};
use anyhow::{anyhow, Context as _};
use std::io::BufRead;
use std::path::Path;

pub struct AddUser {
    pub userid: String,
    pub roles: Vec<String>,
    pub email: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub password_stdin: bool,
}

pub async fn add(config_path: &Path, args: AddUser) -> anyhow::Result<()> {
    let (config, _) = config::load(config_path)?;
    super::apply_logging(&config);
    let (password, generated) = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        (line.trim_end_matches(['\r', '\n']).to_string(), false)
    } else {
        (crate::crypto::random_password(24), true)
    };
    let new = NewUser {
        userid: UserId::parse(&args.userid)?,
        password: password.clone(),
        email: args.email.as_deref().map(Email::parse).transpose()?,
        firstname: NewUser::text_field("firstname", args.firstname)?,
        lastname: NewUser::text_field("lastname", args.lastname)?,
        roles: args
            .roles
            .iter()
            .map(|r| Role::parse(r))
            .collect::<Result<_, _>>()?,
        provider: None,
        domain: None,
    };
    let store = super::open_stopped_store(&config, "; stop it first").await?;
    let hasher = PasswordHasher::new(&config.passwords)?;
    let user = create_user_in(
        &*store,
        &hasher,
        config.passwords.min_length,
        new,
        SystemClock.now(),
    )
    .await
    .map_err(|e| match e {
        AuthError::Conflict => anyhow!("user {} already exists", args.userid),
        other => other.into(),
    })?;
    println!("created user {}", user.userid);
    if generated {
        println!("password: {password}");
    }
    Ok(())
}
