//! A throwaway PostgreSQL server for tests (SPEC §11): `initdb` into a temporary directory, a
//! postmaster on 127.0.0.1 with password (SCRAM) authentication, one fresh database per test.
//!
//! Included as a module both by the integration tests (`tests/api/main.rs`) and by the
//! library's unit tests, so it uses std only. Linux only (it reads `/proc`).
//!
//! - [`server`] / [`server_or_skip`]: one server per test process, started on first use.
//! - [`PgServer::start_dedicated`] / [`dedicated_or_skip`]: a private server for a test that
//!   stops, kills or restarts it; stopped and removed when dropped.
//! - Without the binaries a test is skipped with a `SKIPPED …` line on stderr, or fails when
//!   `TESSERA_REQUIRE_POSTGRES=1` (CI). `TESSERA_PG_BIN` names the directory of `initdb` and
//!   `postgres`; otherwise the newest `/usr/lib/postgresql/*/bin`, otherwise `PATH`.
//!
//! PostgreSQL refuses to run as root: as root, `initdb` and `postgres` run as `nobody` through
//! `setpriv` (or `runuser`). Nothing runs a destructor for a `static`, and a test binary may be
//! SIGKILLed, so every server has a watchdog shell holding the read end of a pipe whose write
//! end only the test process holds: when that process ends, however it ends, the pipe reaches
//! end-of-file and the watchdog shuts the postmaster down (immediate mode) and removes the
//! directory; a postmaster that has not gone after 30 s loses its directory anyway, and stops
//! by itself within a minute (it rechecks its `postmaster.pid`). The watchdog and the
//! postmaster have process groups of their own, so a Ctrl-C or a test runner's signal to the
//! tests' group reaches neither; only a SIGKILL of the watchdog itself would leave a server.

// Each includer uses a part of the API.
#![allow(
    dead_code,
    reason = "each test binary that includes this module uses a part of it"
)]
// Test support: a server that cannot be set up is a failed test, said as plainly as possible.
#![allow(
    clippy::panic,
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "test support: a failure here is a failed test"
)]

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The superuser `initdb` creates; every URL logs in as it.
pub const SUPERUSER: &str = "tessera";
/// The only address the server listens on.
pub const HOST: &str = "127.0.0.1";

/// How long a start (crash recovery included) or a shutdown may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// The server shared by every test of this process, started on first use. `None` when
/// PostgreSQL is not installed (and `TESSERA_REQUIRE_POSTGRES` is not `1`); panics when it is
/// installed but does not start.
pub fn server() -> Option<&'static PgServer> {
    static SHARED: OnceLock<Result<PgServer, Unavailable>> = OnceLock::new();
    // The closure returns its failure instead of panicking, so that a broken installation
    // fails every test that asks with the same message, without trying again each time.
    let shared = SHARED.get_or_init(|| {
        let bins = binaries().clone()?;
        PgServer::launch(bins, false).map_err(Unavailable::Failed)
    });
    match shared {
        Ok(server) => Some(server),
        Err(unavailable) => unavailable.handle(),
    }
}

/// [`server`], and when there is none a `SKIPPED <test>: …` line on stderr (past the test
/// harness's capture, so that it shows in a passing run). Use as
/// `let Some(pg) = postgres::server_or_skip("name") else { return };`.
pub fn server_or_skip(test: &str) -> Option<&'static PgServer> {
    let server = server();
    if server.is_none() {
        say_skipped(test);
    }
    server
}

/// [`PgServer::start_dedicated`], and the `SKIPPED` line when there is none.
pub fn dedicated_or_skip(test: &str) -> Option<PgServer> {
    let server = PgServer::start_dedicated();
    if server.is_none() {
        say_skipped(test);
    }
    server
}

fn say_skipped(test: &str) {
    let detail = match binaries() {
        Err(Unavailable::NotInstalled(detail)) => format!("; {detail}"),
        _ => String::new(),
    };
    // `eprintln!` would be captured and shown only for a failing test.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: PostgreSQL not found (install the postgresql package, or set \
         TESSERA_PG_BIN){detail}"
    );
}

/// Why there is no server.
#[derive(Clone, Debug)]
enum Unavailable {
    /// The binaries are not there (the detail says where they were looked for).
    NotInstalled(String),
    /// They are there, but setting a server up failed.
    Failed(String),
}

impl Unavailable {
    fn handle<T>(&self) -> Option<T> {
        match self {
            Unavailable::NotInstalled(detail) if required() => panic!(
                "TESSERA_REQUIRE_POSTGRES=1 but PostgreSQL was not found ({detail}): install the \
                 postgresql package, or set TESSERA_PG_BIN to the directory of initdb and postgres"
            ),
            Unavailable::NotInstalled(_) => None,
            Unavailable::Failed(message) => panic!("throwaway PostgreSQL server: {message}"),
        }
    }
}

fn required() -> bool {
    std::env::var("TESSERA_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// Where the PostgreSQL programs are.
#[derive(Clone, Debug)]
struct Binaries {
    /// The directory of `initdb` and `postgres`.
    dir: PathBuf,
    /// `psql` of the same installation when it has one, else the first on `PATH`.
    psql: PathBuf,
}

fn binaries() -> &'static Result<Binaries, Unavailable> {
    static FOUND: OnceLock<Result<Binaries, Unavailable>> = OnceLock::new();
    FOUND.get_or_init(find_binaries)
}

fn find_binaries() -> Result<Binaries, Unavailable> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let dir = if let Some(dir) = std::env::var_os("TESSERA_PG_BIN").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        if !has_server(&dir) {
            return Err(Unavailable::NotInstalled(format!(
                "TESSERA_PG_BIN={} has no initdb and postgres",
                dir.display()
            )));
        }
        dir
    } else if let Some(dir) = newest_debian_bin(&has_server) {
        dir
    } else {
        // Through symlinks (/usr/local/bin/initdb → …/bin/initdb) to the installation's own
        // directory, where postgres and psql of the same version are.
        on_path("initdb")
            .and_then(|initdb| fs::canonicalize(initdb).ok())
            .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
            .filter(|dir| has_server(dir))
            .ok_or_else(|| {
                Unavailable::NotInstalled(
                    "no initdb in /usr/lib/postgresql/*/bin or on PATH".to_owned(),
                )
            })?
    };
    let psql = Some(dir.join("psql"))
        .filter(|p| p.is_file())
        .or_else(|| on_path("psql"))
        .ok_or_else(|| Unavailable::Failed(format!("no psql in {} or on PATH", dir.display())))?;
    Ok(Binaries { dir, psql })
}

/// The highest version's `bin` under `/usr/lib/postgresql` (Debian's layout: 15, 16, …).
fn newest_debian_bin(has_server: &dyn Fn(&Path) -> bool) -> Option<PathBuf> {
    let version = |name: &str| -> Option<Vec<u32>> {
        name.split('.').map(|part| part.parse().ok()).collect()
    };
    fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let v = version(entry.file_name().to_str()?)?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((v, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// A running (or deliberately stopped) server and its temporary directory.
pub struct PgServer {
    bins: Binaries,
    run_as: RunAs,
    /// The temporary directory: `data/`, the logs and the unix socket.
    root: PathBuf,
    data: PathBuf,
    log: PathBuf,
    port: u16,
    password: String,
    /// The postmaster (or, with `runuser`, its parent), reaped by us when it stops.
    postmaster: Mutex<Option<Child>>,
    databases: AtomicU32,
    /// Only a dedicated server may be stopped, killed or started: other tests use the shared one.
    dedicated: bool,
    /// Declared last: its drop (after `Drop for PgServer` and the fields above) removes `root`.
    watchdog: Watchdog,
}

impl PgServer {
    /// A private server for one test (one that stops, kills or restarts it). `None` when
    /// PostgreSQL is not installed (and not required); stopped and removed on drop.
    pub fn start_dedicated() -> Option<PgServer> {
        match binaries() {
            Ok(bins) => match PgServer::launch(bins.clone(), true) {
                Ok(server) => Some(server),
                Err(message) => Unavailable::Failed(message).handle(),
            },
            Err(unavailable) => unavailable.handle(),
        }
    }

    fn launch(bins: Binaries, dedicated: bool) -> Result<PgServer, String> {
        let run_as = RunAs::detect()?;
        let root = make_root(&run_as)?;
        // First, so that the directory goes with the test process whatever happens next.
        let watchdog = Watchdog::spawn(&root)?;
        let data = root.join("data");
        let log = root.join("postgres.log");
        let password = random_hex(16);
        let server = init_cluster(&bins, &run_as, &root, &data, &password)
            .and_then(|()| pick_port_and_start(&bins, &run_as, &root, &data, &log));
        let (port, child) = match server {
            Ok(started) => started,
            Err(message) => {
                // Read before the watchdog removes it with the directory.
                let logs = [root.join("initdb.log"), log.clone()]
                    .iter()
                    .map(|p| tail(p, 40))
                    .collect::<Vec<_>>()
                    .join("\n");
                drop(watchdog);
                return Err(format!(
                    "{message}\n--- initdb.log, postgres.log (tails):\n{logs}"
                ));
            }
        };
        Ok(PgServer {
            bins,
            run_as,
            root,
            data,
            log,
            port,
            password,
            postmaster: Mutex::new(Some(child)),
            databases: AtomicU32::new(0),
            dedicated,
            watchdog,
        })
    }

    /// A new, empty database owned by the superuser, with a name no other call returns.
    pub fn fresh_database(&self) -> PgDatabase {
        let n = self.databases.fetch_add(1, Ordering::Relaxed) + 1;
        let name = format!("test_{n}");
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        PgDatabase {
            name,
            port: self.port,
            password: self.password.clone(),
        }
    }

    /// Runs `sql` in database `db` as the superuser (over the unix socket) and returns what it
    /// prints, unaligned and without headers (`SELECT 1` → `"1"`). Panics when psql fails.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        self.try_psql(db, sql)
            .unwrap_or_else(|e| panic!("psql in database {db}: {sql}\n{e}"))
    }

    /// [`PgServer::psql`], with psql's error text instead of a panic.
    pub fn try_psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let mut cmd = self.psql_command();
        cmd.arg("-h").arg(&self.root);
        cmd.args(["-p", &self.port.to_string(), "-U", SUPERUSER, "-d", db]);
        run_psql(cmd, sql)
    }

    /// Runs `sql` through a connection URL (TCP, password and all, as tessera connects).
    pub fn psql_url(&self, url: &str, sql: &str) -> Result<String, String> {
        let mut cmd = self.psql_command();
        cmd.args(["-d", url]);
        run_psql(cmd, sql)
    }

    fn psql_command(&self) -> Command {
        let mut cmd = Command::new(&self.bins.psql);
        clean_env(&mut cmd);
        // -X: no ~/.psqlrc; -w: fail rather than prompt for a password.
        cmd.args(["-X", "-q", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1"])
            .env("PGCONNECT_TIMEOUT", "10")
            .stdin(Stdio::null());
        cmd
    }

    /// Stops the server (fast shutdown: clients are disconnected, a checkpoint is written) and
    /// waits until it has gone.
    pub fn stop(&self) {
        let mut postmaster = self.lock_faults("stop");
        let child = postmaster
            .as_mut()
            .expect("stop: the server is not running");
        if let Err(e) = shut_down(child, &self.data, "INT") {
            panic!("stop: {e}\n{}", tail(&self.log, 20));
        }
        *postmaster = None;
    }

    /// Kills the postmaster and every process of the server with SIGKILL, like a crash of the
    /// database host: nothing is flushed or cleaned up. [`PgServer::start`] recovers.
    pub fn kill(&self) {
        let mut postmaster = self.lock_faults("kill");
        let mut child = postmaster.take().expect("kill: the server is not running");
        // Our child first (the postmaster, or runuser above it), then the rest.
        let _ = child.kill();
        // Every process of the server has the data dir as its working directory. Killed in a
        // loop, because the postmaster may have forked one more meanwhile.
        let deadline = Instant::now() + PATIENCE;
        loop {
            let pids = processes_in(&self.data);
            if pids.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "kill: processes {pids:?} outlived SIGKILL"
            );
            signal("KILL", &pids);
            // Reaps the postmaster: a zombie would keep its pid, and the next postmaster
            // would take postmaster.pid for a live server's.
            let _ = child.try_wait();
            sleep(Duration::from_millis(10));
        }
        let _ = child.wait();
    }

    /// Starts the stopped or killed server again, on the same port and data dir, and waits
    /// until it accepts connections (after crash recovery, if it was killed).
    pub fn start(&self) {
        let mut postmaster = self.lock_faults("start");
        assert!(postmaster.is_none(), "start: the server is already running");
        match start_postmaster(
            &self.bins,
            &self.run_as,
            &self.root,
            &self.data,
            &self.log,
            self.port,
        ) {
            Ok(child) => *postmaster = Some(child),
            Err(e) => panic!("start: {e}\n{}", tail(&self.log, 20)),
        }
    }

    /// Whether the postmaster runs (started, and not stopped or killed since).
    pub fn is_running(&self) -> bool {
        let mut postmaster = self.lock_postmaster();
        postmaster
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    pub fn host(&self) -> &str {
        HOST
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn user(&self) -> &str {
        SUPERUSER
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// The data directory (owned by `nobody` when the tests run as root).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The directory of the unix socket (`psql -h <it>`; trust authentication).
    pub fn socket_dir(&self) -> &Path {
        &self.root
    }

    /// The server's log so far, for a failing test's message.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn lock_postmaster(&self) -> MutexGuard<'_, Option<Child>> {
        self.postmaster
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_faults(&self, what: &str) -> MutexGuard<'_, Option<Child>> {
        assert!(
            self.dedicated,
            "{what}: the shared server is used by other tests at the same time; take one of your \
             own with PgServer::start_dedicated"
        );
        self.lock_postmaster()
    }
}

impl std::fmt::Debug for PgServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgServer")
            .field("port", &self.port)
            .field("data", &self.data)
            .field("dedicated", &self.dedicated)
            .finish_non_exhaustive()
    }
}

impl Drop for PgServer {
    /// A dedicated server: immediate shutdown, then the watchdog (dropped next) removes the
    /// directory. The shared server is never dropped; its watchdog does both at exit.
    fn drop(&mut self) {
        let mut postmaster = self.lock_postmaster();
        if let Some(mut child) = postmaster.take() {
            if shut_down(&mut child, &self.data, "QUIT").is_err() {
                signal("KILL", &processes_in(&self.data));
                let _ = child.wait();
            }
        }
    }
}

/// A database of a [`PgServer`], and how to reach it over TCP.
#[derive(Clone, Debug)]
pub struct PgDatabase {
    name: String,
    port: u16,
    password: String,
}

impl PgDatabase {
    /// `postgres://tessera:PASSWORD@127.0.0.1:PORT/NAME`.
    pub fn url(&self) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@{HOST}:{}/{}",
            self.password, self.port, self.name
        )
    }

    /// `postgres://tessera@127.0.0.1:PORT/NAME`, for a test that gives the password apart.
    pub fn url_without_password(&self) -> String {
        format!("postgres://{SUPERUSER}@{HOST}:{}/{}", self.port, self.name)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn user(&self) -> &str {
        SUPERUSER
    }

    /// Hex digits only, so it needs no escaping in a URL.
    pub fn password(&self) -> &str {
        &self.password
    }

    pub fn host(&self) -> &str {
        HOST
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

/// Who runs `initdb` and `postgres`: ourselves, or — as root, which PostgreSQL refuses —
/// `nobody` through a command prefix.
#[derive(Clone, Debug)]
struct RunAs {
    prefix: Vec<OsString>,
    /// `nobody`'s uid and gid, for chown, when not ourselves.
    ids: Option<(u32, u32)>,
}

impl RunAs {
    fn detect() -> Result<RunAs, String> {
        if !is_root()? {
            return Ok(RunAs {
                prefix: Vec::new(),
                ids: None,
            });
        }
        let (uid, gid) = nobody()?;
        // setpriv execs the program, so the postmaster is our child and its pid is the one
        // we signal; runuser forks and stays in between (handled: see wait_until_ready).
        let prefix: Vec<OsString> = if let Some(setpriv) = on_path("setpriv") {
            vec![
                setpriv.into(),
                format!("--reuid={uid}").into(),
                format!("--regid={gid}").into(),
                "--clear-groups".into(),
                "--".into(),
            ]
        } else if let Some(runuser) = on_path("runuser") {
            vec![runuser.into(), "-u".into(), "nobody".into(), "--".into()]
        } else {
            return Err(
                "running as root, and PostgreSQL refuses root: need setpriv or runuser \
                 (util-linux) to run it as nobody"
                    .to_owned(),
            );
        };
        Ok(RunAs {
            prefix,
            ids: Some((uid, gid)),
        })
    }

    fn command(&self, program: &Path, root: &Path) -> Command {
        let mut cmd = match self.prefix.split_first() {
            Some((first, rest)) => {
                let mut cmd = Command::new(first);
                cmd.args(rest).arg(program);
                cmd
            }
            None => Command::new(program),
        };
        clean_env(&mut cmd);
        // English messages in the logs; a directory `nobody` may enter.
        cmd.env("LC_ALL", "C").current_dir(root);
        cmd
    }
}

/// Whether our effective uid is 0, from `/proc/self/status` (`Uid: real effective …`).
fn is_root() -> Result<bool, String> {
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("Uid:")) {
            return Ok(line.split_whitespace().nth(2) == Some("0"));
        }
    }
    let out = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| format!("id -u: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// `nobody`'s uid and primary gid from /etc/passwd (its group is `nogroup` on Debian, `nobody`
/// elsewhere, so numbers rather than names).
fn nobody() -> Result<(u32, u32), String> {
    let passwd = fs::read_to_string("/etc/passwd").map_err(|e| format!("/etc/passwd: {e}"))?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&"nobody"))
        .and_then(|fields| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))
        .ok_or_else(|| "running as root, and there is no user nobody to run PostgreSQL".to_owned())
}

/// A `PG*` variable of the caller's environment (PGHOST, PGPASSWORD, PGDATA, …) would
/// redirect psql or the server.
fn clean_env(cmd: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PG") {
            cmd.env_remove(name);
        }
    }
}

/// `$TMPDIR/tessera-pg-<pid>-<n>`, mode 0700, owned by whoever runs the server.
fn make_root(run_as: &RunAs) -> Result<PathBuf, String> {
    static SERIAL: AtomicU32 = AtomicU32::new(0);
    let base = std::env::temp_dir();
    let root = loop {
        let n = SERIAL.fetch_add(1, Ordering::Relaxed);
        let candidate = base.join(format!("tessera-pg-{}-{n}", std::process::id()));
        match fs::DirBuilder::new().mode(0o700).create(&candidate) {
            Ok(()) => break candidate,
            // Left behind by an earlier process with the same pid.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("{}: {e}", candidate.display())),
        }
    };
    // The watchdog compares it with /proc/<pid>/cwd, which is canonical.
    let root = fs::canonicalize(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    if let Some((uid, gid)) = run_as.ids {
        std::os::unix::fs::chown(&root, Some(uid), Some(gid))
            .map_err(|e| format!("chown {}: {e}", root.display()))?;
        let reachable = run_as
            .command(Path::new("test"), Path::new("/"))
            .arg("-w")
            .arg(&root)
            .status()
            .is_ok_and(|s| s.success());
        if !reachable {
            return Err(format!(
                "{} is not reachable for nobody, who runs PostgreSQL here (we are root): set \
                 TMPDIR to a directory every user may enter, such as /tmp",
                root.display()
            ));
        }
    }
    Ok(root)
}

/// The shell that outlives nothing: see the module's documentation. `$1` is the temporary
/// directory, `$2` the data dir.
const WATCHDOG: &str = r#"
root=$1
data=$2
cleanup() {
    pid=$(sed -n 1p "$data/postmaster.pid" 2>/dev/null)
    # Only our postmaster has our data dir as its working directory (a stale pid may have been
    # reused); a zombie has none, so the wait below also ends when it has exited.
    if [ -n "$pid" ] && [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$data" ]; then
        kill -QUIT "$pid" 2>/dev/null
        i=0
        while [ $i -lt 600 ] && [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$data" ]; do
            sleep 0.05
            i=$((i + 1))
        done
    fi
    rm -rf "$root"
}
# Ctrl-C and a closed terminal are for the test process; its end reaches us as end-of-file.
trap '' INT HUP
trap 'cleanup; exit 0' TERM
# Returns at end-of-file: the test process has closed the pipe, or has ended.
read -r _ignored
cleanup
"#;

/// The watchdog of one server; dropping it (a dedicated server's end) closes the pipe and
/// waits until the directory is gone.
struct Watchdog {
    child: Child,
    pipe: Option<ChildStdin>,
}

impl Watchdog {
    fn spawn(root: &Path) -> Result<Watchdog, String> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("tessera-pg-watchdog")
            .arg(root)
            .arg(root.join("data"))
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: a Ctrl-C or a test runner's signal to our group must
            // leave it to do its work.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("watchdog shell: {e}"))?;
        // std makes its pipes close-on-exec: no other child of ours inherits the write end.
        let pipe = child.stdin.take();
        Ok(Watchdog { child, pipe })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.pipe.take());
        let _ = self.child.wait();
    }
}

/// `initdb` with the superuser's password from a file, SCRAM for TCP, trust on the socket
/// (psql as the superuser), then our settings.
fn init_cluster(
    bins: &Binaries,
    run_as: &RunAs,
    root: &Path,
    data: &Path,
    password: &str,
) -> Result<(), String> {
    let pwfile = root.join("pwfile");
    fs::write(&pwfile, format!("{password}\n")).map_err(|e| format!("pwfile: {e}"))?;
    fs::set_permissions(&pwfile, fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("pwfile: {e}"))?;
    if let Some((uid, gid)) = run_as.ids {
        std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid))
            .map_err(|e| format!("chown pwfile: {e}"))?;
    }
    let log = fs::File::create(root.join("initdb.log")).map_err(|e| format!("initdb.log: {e}"))?;
    let status = run_as
        .command(&bins.dir.join("initdb"), root)
        .arg("-D")
        .arg(data)
        .args([
            "-U",
            SUPERUSER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ])
        .arg(format!("--pwfile={}", pwfile.display()))
        // --no-sync: a throwaway cluster need not reach the disk.
        .args(["-E", "UTF8", "--locale=C", "--no-sync"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .status()
        .map_err(|e| format!("initdb: {e}"))?;
    let _ = fs::remove_file(&pwfile);
    if !status.success() {
        return Err(format!("initdb failed ({status})"));
    }
    let mut settings = String::from("\n# tessera's throwaway test server (testkit/postgres.rs)\n");
    let socket_dir = root.display().to_string().replace('\'', "''");
    let lines = [
        "listen_addresses = '127.0.0.1'".to_owned(),
        format!("unix_socket_directories = '{socket_dir}'"),
        // Many tests at once, each with a pool of its own.
        "max_connections = 200".to_owned(),
        "shared_buffers = '32MB'".to_owned(),
        // A crash of the machine loses the throwaway server anyway; a killed postgres loses
        // nothing without fsync (the page cache survives it). Commits stay synchronous, so a
        // test of "a 2xx means committed" (SPEC §11) is still a real one.
        "fsync = off".to_owned(),
        "full_page_writes = off".to_owned(),
        "synchronous_commit = on".to_owned(),
        // Short-lived tables; no background work competing with the tests for two cores.
        "autovacuum = off".to_owned(),
        "timezone = 'UTC'".to_owned(),
        "log_timezone = 'UTC'".to_owned(),
        "log_line_prefix = '%m [%p] %q%u@%d '".to_owned(),
    ];
    for line in lines {
        let _ = writeln!(settings, "{line}");
    }
    fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .and_then(|mut conf| conf.write_all(settings.as_bytes()))
        .map_err(|e| format!("postgresql.conf: {e}"))
}

/// The first start: a free port, and another if someone takes it before the postmaster binds.
fn pick_port_and_start(
    bins: &Binaries,
    run_as: &RunAs,
    root: &Path,
    data: &Path,
    log: &Path,
) -> Result<(u16, Child), String> {
    let mut last_error = String::new();
    for _ in 0..5 {
        let port = free_port()?;
        let before = fs::metadata(log).map(|m| m.len()).unwrap_or(0);
        match start_postmaster(bins, run_as, root, data, log, port) {
            Ok(child) => return Ok((port, child)),
            Err(e) => {
                let since = fs::read(log).unwrap_or_default();
                let since = String::from_utf8_lossy(since.get(before as usize..).unwrap_or(&[]));
                if !since.contains("Address already in use") {
                    return Err(e);
                }
                last_error = e;
            }
        }
    }
    Err(format!("no free port after 5 tries: {last_error}"))
}

/// A port that is free now, and that is likely to stay free while the server is stopped in a
/// fault test: below the kernel's ephemeral range, from which every `bind(…:0)` and every
/// outgoing connection of the machine draws. Port 0 when that range cannot be read.
fn free_port() -> Result<u16, String> {
    let low = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .filter(|&low| low >= 2048);
    if let Some(low) = low {
        let span = low / 2;
        for _ in 0..50 {
            let bytes = random_bytes(2);
            let offset = u16::from_le_bytes([bytes[0], bytes[1]]) % span;
            let port = low - span + offset;
            if TcpListener::bind((HOST, port)).is_ok() {
                return Ok(port);
            }
        }
    }
    TcpListener::bind((HOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Spawns `postgres` (our child, in a process group of its own) and waits until it is ready.
fn start_postmaster(
    bins: &Binaries,
    run_as: &RunAs,
    root: &Path,
    data: &Path,
    log: &Path,
    port: u16,
) -> Result<Child, String> {
    let log_file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let mut child = run_as
        .command(&bins.dir.join("postgres"), root)
        .arg("-D")
        .arg(data)
        .args(["-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("postgres: {e}"))?;
    match wait_until_ready(&mut child, data) {
        Ok(()) => Ok(child),
        Err(e) => {
            if matches!(child.try_wait(), Ok(None)) {
                signal("KILL", &processes_in(data));
                let _ = child.kill();
            }
            let _ = child.wait();
            Err(e)
        }
    }
}

/// Until `postmaster.pid` names our postmaster and says `ready` (what `pg_ctl -w` waits for).
fn wait_until_ready(child: &mut Child, data: &Path) -> Result<(), String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("postgres exited ({status}) before it was ready"));
        }
        if let Ok(text) = fs::read_to_string(data.join("postmaster.pid")) {
            let lines: Vec<&str> = text.lines().collect();
            let pid = lines.first().and_then(|l| l.trim().parse::<u32>().ok());
            // Our child, or its child when runuser stands in between. A file left by a killed
            // postmaster says "ready" too, but names another pid.
            let ours =
                pid.is_some_and(|pid| pid == child.id() || parent_of(pid) == Some(child.id()));
            if ours && lines.get(7).map(|l| l.trim()) == Some("ready") {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(format!("postgres not ready after {} s", PATIENCE.as_secs()));
        }
        sleep(Duration::from_millis(10));
    }
}

/// Sends `sig` (INT: fast shutdown, QUIT: immediate) to the postmaster and reaps it.
fn shut_down(child: &mut Child, data: &Path, sig: &str) -> Result<(), String> {
    let pid = postmaster_pid(data).unwrap_or(child.id());
    signal(sig, &[pid]);
    let deadline = Instant::now() + PATIENCE;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return Ok(()),
            Ok(None) if Instant::now() < deadline => sleep(Duration::from_millis(10)),
            Ok(None) => {
                return Err(format!(
                    "postgres still running {} s after SIG{sig}",
                    PATIENCE.as_secs()
                ))
            }
            Err(e) => return Err(format!("waiting for postgres: {e}")),
        }
    }
}

fn postmaster_pid(data: &Path) -> Option<u32> {
    fs::read_to_string(data.join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// The live processes whose working directory is `dir` (a server's: postgres chdirs into its
/// data dir). Zombies have none, so they are not counted.
fn processes_in(dir: &Path) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == dir))
        .collect()
}

/// The parent pid, from `/proc/<pid>/stat` (fields after the parenthesised command name).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// `kill -s <sig> <pids…>` (no libc here); errors such as an already gone pid are ignored.
fn signal(sig: &str, pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("sh")
        .arg("-c")
        .arg(r#"sig=$1; shift; kill -s "$sig" "$@" 2>/dev/null"#)
        .arg("sh")
        .arg(sig)
        .args(pids.iter().map(u32::to_string))
        .stdin(Stdio::null())
        .status();
}

fn run_psql(mut cmd: Command, sql: &str) -> Result<String, String> {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd
        .arg("-c")
        .arg(sql)
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if status.success() {
        Ok(String::from_utf8_lossy(&stdout).trim().to_owned())
    } else {
        Err(format!(
            "psql failed ({status}): {}",
            String::from_utf8_lossy(&stderr).trim()
        ))
    }
}

/// The last `lines` lines of a file, or a note that there is none.
fn tail(path: &Path, lines: usize) -> String {
    match fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("({}: {e})", path.display()),
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0; n];
    let read = fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        // Not a secret worth more: the server listens on loopback for the length of a test.
        use std::hash::{BuildHasher, Hasher};
        for chunk in bytes.chunks_mut(8) {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_usize(chunk.len());
            let word = hasher.finish().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
    bytes
}

fn random_hex(n: usize) -> String {
    random_bytes(n).iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
