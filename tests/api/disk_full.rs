//! Issue 7, a full disk: on a 4 MiB tmpfs data dir filled up under the running server, writes
//! that cannot be made durable answer 503 with a JSON error (never a 500, and never a 2xx for
//! a write that was not stored), reads keep working (`GET /health` included), and once space
//! returns writes succeed again and nothing acknowledged is lost or corrupt.
//!
//! A write may still fit in space sled had already taken before the filler came (tmpfs
//! allocates whole pages): those are acknowledged and must survive like any other; from the
//! first refusal on, every write is refused until space returns.
//!
//! sled 0.34 latches a failed flush and refuses every later write, and keeps the refused write
//! in memory. The store therefore reopens the database once a probe finds space again (it
//! cannot reopen it before: sled writes when it opens), which drops the refused writes before
//! any new write is taken. Until then reads are served from the open database.
//!
//! Mounting a tmpfs needs root. Where the test is not root, or `mount` fails (a container
//! without the capability), it prints "skipped: cannot mount a tmpfs here" and passes without
//! testing anything.

use crate::binary_helpers::{data_dir, run_to_end, start, tessera, write_config, Server};
use crate::crash::client::{Api, Outcome, ADMIN_PASSWORD};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmpfs mounted for the length of a test, unmounted on drop — also when the test fails.
/// (Also the full disk of store_failure.rs.)
pub(crate) struct Tmpfs {
    pub(crate) path: PathBuf,
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

impl Tmpfs {
    pub(crate) fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        if !running_as_root() {
            return None;
        }
        std::fs::create_dir_all(path).expect("mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        mounted.then(|| Tmpfs {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Something still holds a file there: detach it now, freed when let go.
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// User creations tried on the full disk before one must be refused.
const FIT_AT_MOST: usize = 50;

/// Writes `path` until the file system refuses with ENOSPC; returns how many bytes went in.
pub(crate) fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("filler file");
    let mut written = 0;
    // Big chunks first, then pages, so that the last free page goes too.
    for chunk in [64 * 1024, 4096, 512] {
        let bytes = vec![0xA5u8; chunk];
        for _ in 0..10_000 {
            match file.write(&bytes).and_then(|n| file.sync_data().map(|_| n)) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("filling the tmpfs failed with something else than ENOSPC: {e}"),
            }
        }
    }
    written
}

fn serve(config: &Path, log: &Path) -> Server {
    let mut cmd = tessera(config);
    cmd.arg("serve")
        .env("TESSERA_ADMIN_PASSWORD", ADMIN_PASSWORD);
    start(cmd, log)
}

/// Every expectation of the test, checked to the end so that one failure does not hide the
/// next (a store that stays read-only would otherwise hide whether anything was lost).
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    fn status(&mut self, outcome: &Outcome, status: u16, what: &str) {
        if outcome.status() != Some(status) {
            self.0
                .push(format!("{what}: expected {status}, got {outcome}"));
        }
    }

    /// A refused write: 503 with the JSON error of SPEC §9.
    fn refused_as_full(&mut self, outcome: &Outcome, what: &str) {
        let ok = match outcome {
            Outcome::Answered(503, body) => {
                body["error"] == "temporarily_unavailable"
                    && body["error_description"].is_string()
                    && body["request_id"].is_string()
            }
            _ => false,
        };
        if !ok {
            self.0.push(format!(
                "{what} on a full disk: expected 503 with a JSON error, got {outcome}"
            ));
        }
    }
}

/// Retries `write` for up to 5 s (a client told "retry later" does): the first write once
/// space returns may still meet the error of the last one.
async fn succeeds_again<F, Fut>(mut write: F) -> Outcome
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let outcome = write().await;
        if outcome.acknowledged() || Instant::now() >= deadline {
            return outcome;
        }
        actix_rt::time::sleep(Duration::from_millis(200)).await;
    }
}

#[actix_rt::test]
async fn a_full_disk_refuses_writes_with_503_keeps_reads_and_loses_nothing() {
    // Arrange: the server on a small tmpfs, with writes acknowledged before the disk fills.
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(tmpfs) = Tmpfs::mount(&data_dir(dir.path()), "4m") else {
        println!("skipped: cannot mount a tmpfs here");
        return;
    };
    let config = write_config(dir.path(), "", "");
    let server = serve(&config, &dir.path().join("serve-1.log"));
    let api = Api::new(&server.public, &server.intranet);
    let created = api.create_user("before").await;
    assert_eq!(created.status(), Some(201), "create a user: {created}");
    let app_id = api
        .create_app("before")
        .await
        .field("/app_id")
        .expect("an application");
    let key = api
        .create_key(&app_id, "before")
        .await
        .field("/key")
        .expect("a key");
    let login = api.login("before").await;
    let claims = login.field("/claims_token/value").expect("claims token");
    let refresh_token = login.field("/refresh_token").expect("refresh token");
    let mut findings = Findings::default();

    // Act: fill the disk under the running server.
    let filler = tmpfs.path.join("filler");
    let filled = fill(&filler);
    println!("the filler took {filled} bytes of the 4 MiB tmpfs");

    // Assert: writes are refused with 503 and a JSON error, and reads go on. What sled has
    // already allocated may still take a write or two; those are acknowledged like any other.
    let mut fitted = Vec::new();
    let mut refused = Vec::new();
    for n in 0..FIT_AT_MOST {
        let userid = format!("during-{n}");
        let outcome = api.create_user(&userid).await;
        if outcome.acknowledged() {
            fitted.push(userid);
        } else {
            findings.refused_as_full(&outcome, "POST /api/v1/users");
            refused.push(userid);
            break;
        }
    }
    println!(
        "{} user creations fitted in space already allocated before the first 503",
        fitted.len()
    );
    if refused.is_empty() {
        findings.0.push(format!(
            "{FIT_AT_MOST} user creations answered 201 on a full disk"
        ));
    }
    for n in 0..3 {
        let userid = format!("refused-{n}");
        let user = api.create_user(&userid).await;
        findings.refused_as_full(&user, "POST /api/v1/users");
        refused.push(userid);
        let app = api.create_app(&format!("refused-{n}")).await;
        findings.refused_as_full(&app, "POST /api/v1/applications");
        let login = api.login("before").await;
        findings.refused_as_full(&login, "a login (it opens a session)");
    }
    let f = &mut findings;
    f.status(&api.health().await, 200, "GET /health on a full disk");
    f.status(
        &api.list_users().await,
        200,
        "GET /api/v1/users on a full disk",
    );
    f.status(
        &api.get_user("before").await,
        200,
        "GET /api/v1/users/before on a full disk",
    );
    let introspected = api.introspect(&claims).await;
    if introspected.active() != Some(true) {
        f.0.push(format!(
            "a claims token issued before the disk filled, introspected on a full disk: {introspected}"
        ));
    }
    f.status(
        &api.check_key(&key).await,
        200,
        "an API key check on a full disk",
    );

    // Space returns: writes go through again.
    std::fs::remove_file(&filler).expect("filler removed");
    let after_user = succeeds_again(|| api.create_user("after")).await;
    f.status(
        &after_user,
        201,
        "POST /api/v1/users once space returned (retried for 5 s)",
    );
    for userid in &refused {
        // The 503 said nothing was changed. sled has the refused write in memory until the
        // store is reopened, which happens once space returns and before any new write is
        // taken: from then on a read must not show it (a client's retry would meet a conflict).
        let seen = api.get_user(userid).await;
        f.status(
            &seen,
            404,
            &format!("GET user {userid}, refused with 503, once space returned"),
        );
    }
    let after_app = api.create_app("after").await;
    f.status(
        &after_app,
        201,
        "POST /api/v1/applications once space returned",
    );
    f.status(
        &api.login("before").await,
        200,
        "a login once space returned",
    );
    // Nothing is corrupt after a SIGKILL, and everything acknowledged is there.
    server.stop();
    let mut check = tessera(&config);
    check.arg("check");
    let check = run_to_end(check, dir.path());
    if !check.status.success() {
        f.0.push(format!(
            "tessera check after the full disk: {}{}",
            check.stdout, check.stderr
        ));
    }
    let server = serve(&config, &dir.path().join("serve-2.log"));
    let api = Api::new(&server.public, &server.intranet);
    f.status(
        &api.get_user("before").await,
        200,
        "after a restart, the user made before",
    );
    f.status(
        &api.login("before").await,
        200,
        "after a restart, a login as that user",
    );
    f.status(
        &api.get_app(&app_id).await,
        200,
        "after a restart, the app made before",
    );
    f.status(
        &api.check_key(&key).await,
        200,
        "after a restart, the key made before",
    );
    let refreshed = api.refresh(&refresh_token).await;
    f.status(
        &refreshed,
        200,
        "after a restart, the session opened before",
    );
    if after_user.acknowledged() {
        f.status(
            &api.get_user("after").await,
            200,
            "after a restart, the user made after",
        );
    }
    if let Some(app) = after_app.field("/app_id") {
        f.status(
            &api.get_app(&app).await,
            200,
            "after a restart, the app made after",
        );
    }
    f.status(
        &api.create_user("restarted").await,
        201,
        "after a restart, a new user",
    );
    for userid in &fitted {
        let seen = api.get_user(userid).await;
        f.status(
            &seen,
            200,
            &format!("after a restart, user {userid} (201 on the full disk)"),
        );
    }
    for userid in &refused {
        let seen = api.get_user(userid).await;
        println!("after the restart, user {userid} (refused on the full disk): {seen}");
    }
    drop(server);
    if !findings.0.is_empty() {
        // What the server said about the failed flush and its recovery.
        let log = std::fs::read_to_string(dir.path().join("serve-1.log")).unwrap_or_default();
        for line in log.lines().filter(|l| !l.contains("tessera::access")) {
            println!("serve-1: {line}");
        }
    }
    drop(tmpfs);
    assert!(findings.0.is_empty(), "{}", findings.0.join("\n"));
}
