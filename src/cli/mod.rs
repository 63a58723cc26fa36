//! The command line (SPEC §1): `serve` (the default), `encrypt`, `user add`,
//! `token preamble`, `backup`, `restore` and `check`.

mod backup;
mod check;
mod encrypt;
mod serve;
mod token;
mod user;

use crate::config::Config;
use crate::storage::{Store, StoreError};
use anyhow::{anyhow, Context as _};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

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
    /// Print `CRYPT:…` for SECRET and exit (the same as `tessera encrypt SECRET`).
    #[arg(long, value_name = "SECRET")]
    pub encrypt: Option<String>,
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
    /// Encrypt a secret for the config file: prints `CRYPT:…` (SPEC §2). `-` reads the
    /// secret from standard input, keeping it out of the process list.
    Encrypt { secret: String },
    /// Write a snapshot of a stopped server's data dir to FILE (`-`: standard output).
    Backup { file: std::path::PathBuf },
    /// Load a snapshot into an empty data dir (it may already hold the master.key).
    Restore { file: std::path::PathBuf },
    /// Check the consistency of a stopped server's data dir; exits non-zero on any problem.
    Check,
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
    if let Some(secret) = cli.encrypt {
        return finish(encrypt::run(&cli.config, &secret));
    }
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Encrypt { secret } => encrypt::run(&cli.config, &secret),
        Command::Backup { file } => offline(backup::backup(&cli.config, &file)),
        Command::Check => offline(check::run(&cli.config)),
        Command::Restore { file } => offline(backup::restore(&cli.config, &file)),
        Command::Serve => serve::run(&cli.config),
        Command::Token(TokenCommand::Preamble { user }) => {
            offline(token::preamble(&cli.config, &user))
        }
        Command::User(UserCommand::Add {
            userid,
            roles,
            email,
            firstname,
            lastname,
            password_stdin,
        }) => offline(user::add(
            &cli.config,
            user::AddUser {
                userid,
                roles,
                email,
                firstname,
                lastname,
                password_stdin,
            },
        )),
    };
    finish(result)
}

/// Runs a command that works on the store without serving: on a runtime of its own, which
/// the store's async calls (and its blocking jobs) need.
fn offline(command: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?
        .block_on(command)
}

/// Prints a failure with its whole cause chain, each cause once, and says how the run went.
fn finish(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tessera: {}", crate::errors::chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// Opens the store of a stopped server, as the configuration names it. sled lets one process
/// hold a data dir (STYLE, note on sled): when a running server does, the error says so, and
/// `held` what to do instead.
async fn open_stopped_store(config: &Config, held: &str) -> anyhow::Result<Arc<dyn Store>> {
    let dir = &config.server.data_dir;
    crate::storage::open(config).await.map_err(|e| match e {
        StoreError::Locked => anyhow!(
            "the data dir {} is held by a running tessera server{held}",
            dir.display()
        ),
        other => anyhow::Error::new(other).context(crate::storage::described(config)),
    })
}

fn init_logging() {
    let logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
            .format(log_line)
            .build();
    let max = logger.filter();
    if log::set_boxed_logger(Box::new(NoStoreDumps(logger))).is_ok() {
        log::set_max_level(max);
    }
}

/// Whether log lines are JSON (`logging.format`); text until a configuration says otherwise.
static JSON_LOGS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes log lines as `config` says from now on (SPEC §14). The logger starts before the
/// configuration is read, and only the lines before this one are in the default text layout.
pub(crate) fn apply_logging(config: &Config) {
    let json = config.logging.format == crate::config::LogFormat::Json;
    JSON_LOGS.store(json, std::sync::atomic::Ordering::Relaxed);
}

/// env_logger's own layout (`[time LEVEL target] message`), with the id of the request a line
/// was written for, when it was: an error's cause is found in the log by the id its answer
/// carried (SPEC §9), and so are the lines of the blocking jobs the request started. With
/// `logging.format = "json"`, the same fields as one JSON object per line.
fn log_line(buf: &mut env_logger::fmt::Formatter, record: &log::Record<'_>) -> std::io::Result<()> {
    if JSON_LOGS.load(std::sync::atomic::Ordering::Relaxed) {
        let mut line = serde_json::json!({
            "time": buf.timestamp_millis().to_string(),
            "level": record.level().as_str(),
            "target": record.target(),
            "message": record.args().to_string(),
        });
        if let Some(id) = crate::request::current() {
            line["request_id"] = serde_json::Value::String(id.to_string());
        }
        return writeln!(buf, "{line}");
    }
    let level = buf.default_level_style(record.level());
    write!(
        buf,
        "[{} {level}{:<5}{level:#} {}] ",
        buf.timestamp_millis(),
        record.level(),
        record.target()
    )?;
    // An access line begins with its request id already.
    if record.target() != crate::request::ACCESS_TARGET {
        if let Some(id) = crate::request::current() {
            write!(buf, "request {id}: ")?;
        }
    }
    writeln!(buf, "{}", record.args())
}

/// sled logs the bytes of every record it stores at debug and trace (`sled::pagecache`:
/// "linking pid … with Set(key, value)"): password hashes, the stored preamble token_uuid.
/// Those levels of sled never reach the log, whatever `RUST_LOG` asks — a wrapper, because a
/// more specific `RUST_LOG` directive would override a filter of ours (SPEC §9).
struct NoStoreDumps(env_logger::Logger);

impl NoStoreDumps {
    fn allowed(metadata: &log::Metadata<'_>) -> bool {
        !(metadata.target().starts_with("sled") && metadata.level() > log::Level::Info)
    }
}

impl log::Log for NoStoreDumps {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        Self::allowed(metadata) && self.0.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        if Self::allowed(record.metadata()) {
            self.0.log(record);
        }
    }

    fn flush(&self) {
        self.0.flush();
    }
}
