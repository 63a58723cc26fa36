//! The real `tessera` binary for tests that need a process of its own (master key, exit codes,
//! the log at every level): a config file, `serve` with its log in a file, and the CLI.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// `<dir>/data`, the data dir of every config written here.
pub fn data_dir(dir: &Path) -> PathBuf {
    dir.join("data")
}

/// Writes `<dir>/tessera.toml`: both listeners on loopback port 0, the data dir under `dir`, a
/// cheap argon2id; `server_lines` go into `[server]`, `rest` (more sections) after it.
pub fn write_config(dir: &Path, server_lines: &str, rest: &str) -> PathBuf {
    let path = dir.join("tessera.toml");
    let text = format!(
        "[server]\nbind = \"127.0.0.1:0\"\nadmin_bind = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n{server_lines}\n\n\
         [passwords]\nargon2_memory_kib = 1024\nargon2_iterations = 1\n\n{rest}\n",
        data_dir(dir).display()
    );
    std::fs::write(&path, text).expect("config written");
    path
}

/// `tessera --config <config>` with no `TESSERA_*` from the test's environment and
/// `RUST_LOG=info`; the caller adds the subcommand and anything else.
pub fn tessera(config: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--config")
        .arg(config)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null());
    for name in [
        "TESSERA_CONFIG",
        "TESSERA_ADMIN_PASSWORD",
        "TESSERA_DATA_DIR",
        "TESSERA_BIND",
        "TESSERA_ADMIN_BIND",
        "TESSERA_MASTER_KEY",
    ] {
        cmd.env_remove(name);
    }
    cmd
}

/// A running `tessera serve`, killed on drop.
pub struct Server {
    child: Child,
    pub public: String,
    pub intranet: String,
    log: PathBuf,
}

/// The first word after `marker` in `text` (up to a quote: the line may be a JSON log line).
fn word_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    text.split(marker)
        .nth(1)?
        .split_whitespace()
        .next()?
        .split('"')
        .next()
}

/// Starts `cmd` (a [`tessera`] command with `serve` added), its stderr going to the file `log`,
/// and waits until the log says where it listens. Panics with the log if it never does.
pub fn start(mut cmd: Command, log: &Path) -> Server {
    let file = std::fs::File::create(log).expect("log file");
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::from(file))
        .spawn()
        .expect("tessera starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("listening: public ")) {
            let public = word_after(line, "listening: public ").expect("public address");
            let intranet = word_after(line, " intranet ").expect("intranet address");
            return Server {
                public: public.to_string(),
                intranet: intranet.to_string(),
                child,
                log: log.to_path_buf(),
            };
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("tessera exited ({status}) before listening:\n{text}");
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("tessera did not say where it listens within 30 s:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Server {
    /// The process id, to send the server a signal.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to `within` for the server to exit by itself (after a signal), and returns
    /// its exit status with everything it logged; kills it and panics if it does not.
    pub fn wait_for_exit(mut self, within: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return (status, self.log());
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!("tessera did not exit within {within:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server and returns everything it logged.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).expect("log readable")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a run that was expected to end said.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` to its end (killed after 30 s, so a start that should fail but serves instead
/// does not hang the suite), its output captured in files under `dir`.
pub fn run_to_end(mut cmd: Command, dir: &Path) -> Finished {
    let out = dir.join("run.stdout");
    let err = dir.join("run.stderr");
    let mut child = cmd
        .stdout(Stdio::from(
            std::fs::File::create(&out).expect("stdout file"),
        ))
        .stderr(Stdio::from(
            std::fs::File::create(&err).expect("stderr file"),
        ))
        .spawn()
        .expect("tessera runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "tessera still running after 30 s:\n{}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Finished {
        status,
        stdout: std::fs::read_to_string(&out).expect("stdout"),
        stderr: std::fs::read_to_string(&err).expect("stderr"),
    }
}
