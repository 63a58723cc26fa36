//! `tessera user add`: create a directory user in the data dir of a stopped server.

use crate::auth::users::create_user_blocking;
use crate::auth::AuthError;
use crate::clock::{Clock, SystemClock};
use crate::config;
use crate::crypto::password::PasswordHasher;
use crate::domain::{Email, NewUser, Role, UserId};
use crate::storage::sled::SledStore;
use crate::storage::StoreError;
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

pub fn add(config_path: &Path, args: AddUser) -> Result<(), String> {
    let (config, _) = config::load(config_path).map_err(|e| e.to_string())?;
    let text = |name, value| NewUser::text_field(name, value).map_err(|e| e.to_string());
    let (password, generated) = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("reading the password from standard input: {e}"))?;
        (line.trim_end_matches(['\r', '\n']).to_string(), false)
    } else {
        (crate::crypto::random_password(24), true)
    };
    let new = NewUser {
        userid: UserId::parse(&args.userid).map_err(|e| e.to_string())?,
        password: password.clone(),
        email: args
            .email
            .as_deref()
            .map(Email::parse)
            .transpose()
            .map_err(|e| e.to_string())?,
        firstname: text("firstname", args.firstname)?,
        lastname: text("lastname", args.lastname)?,
        roles: args
            .roles
            .iter()
            .map(|r| Role::parse(r))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?,
        provider: None,
        domain: None,
    };
    let dir = &config.server.data_dir;
    let store = SledStore::open(dir).map_err(|e| match e {
        StoreError::Locked => format!(
            "the data dir {} is held by a running tessera server; stop it first",
            dir.display()
        ),
        other => format!("the data dir {}: {other}", dir.display()),
    })?;
    let hasher = PasswordHasher::new(&config.passwords).map_err(|e| e.to_string())?;
    let user = create_user_blocking(
        &store,
        &hasher,
        config.passwords.min_length,
        new,
        SystemClock.now(),
    )
    .map_err(|e| match e {
        AuthError::Conflict => format!("user {} already exists", args.userid),
        other => other.to_string(),
    })?;
    println!("created user {}", user.userid);
    if generated {
        println!("password: {password}");
    }
    Ok(())
}
