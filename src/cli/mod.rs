//! The command line (SPEC §1): `serve` (the default), `user add` and `token preamble`.

mod serve;
mod token;
mod user;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "tessera", version, about = "A token-issuing identity service")]
pub struct Cli {
    /// The configuration file; a missing file means all defaults.
    #[arg(
        long,
        global = true,
        env = "TESSERA_CONFIG",
        default_value = "config/tessera.toml"
    )]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the public and intranet listeners (the default).
    Serve,
    /// Manage directory users in the data dir of a stopped server.
    #[command(subcommand)]
    User(UserCommand),
    /// Mint tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Mint a preamble token for a user (SPEC §5); prints the token, then its expiry.
    Preamble {
        /// The userid the token logs in.
        #[arg(long = "user")]
        user: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user. Without --password-stdin a random password is generated and printed once.
    Add {
        userid: String,
        /// A role to grant (repeatable), e.g. --role Administrator.
        #[arg(long = "role")]
        roles: Vec<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        firstname: Option<String>,
        #[arg(long)]
        lastname: Option<String>,
        /// Read the password from the first line of standard input (never from the command
        /// line, where other users could see it).
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Parses the command line and runs it; the exit code says how it went.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve::run(&cli.config),
        Command::Token(TokenCommand::Preamble { user }) => token::preamble(&cli.config, &user),
        Command::User(UserCommand::Add {
            userid,
            roles,
            email,
            firstname,
            lastname,
            password_stdin,
        }) => user::add(
            &cli.config,
            user::AddUser {
                userid,
                roles,
                email,
                firstname,
                lastname,
                password_stdin,
            },
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tessera: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
}
