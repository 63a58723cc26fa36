//! The throwaway PostgreSQL harness itself (`testkit/postgres.rs`): the shared server and its
//! fresh databases, password logins over TCP, stop / kill / start with the data kept, a
//! dedicated server gone when dropped, no server left behind by a killed test process, and a
//! machine without PostgreSQL skipping loudly (or failing, when PostgreSQL is required).

use crate::postgres;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The variable that turns the `child_*` tests below from no-ops into the child processes of
/// the tests that run them.
const CHILD: &str = "TESSERA_PG_HARNESS_CHILD";

#[test]
fn two_fresh_databases_are_distinct_and_take_the_password_over_tcp() {
    let Some(pg) =
        postgres::server_or_skip("two_fresh_databases_are_distinct_and_take_the_password_over_tcp")
    else {
        return;
    };
    let a = pg.fresh_database();
    let b = pg.fresh_database();

    assert_ne!(a.name(), b.name());
    assert_ne!(a.url(), b.url());
    for db in [&a, &b] {
        assert_eq!(db.host(), "127.0.0.1");
        assert_eq!(db.port(), pg.port());
        assert_eq!(db.user(), "tessera");
        assert_eq!(db.password(), pg.password());
        assert_eq!(
            db.url(),
            format!(
                "postgres://tessera:{}@127.0.0.1:{}/{}",
                db.password(),
                db.port(),
                db.name()
            )
        );
        assert_eq!(
            db.url_without_password(),
            format!("postgres://tessera@127.0.0.1:{}/{}", db.port(), db.name())
        );
        assert_eq!(pg.psql_url(&db.url(), "SELECT 1").unwrap(), "1");
        assert_eq!(
            pg.psql_url(&db.url(), "SELECT current_database()").unwrap(),
            db.name()
        );
    }
    // Separate databases: a table of one is not in the other.
    pg.psql(a.name(), "CREATE TABLE only_in_a (x int)");
    assert!(pg.try_psql(b.name(), "SELECT * FROM only_in_a").is_err());
    assert!(pg.psql_url(&b.url(), "SELECT * FROM only_in_a").is_err());
}

#[test]
fn tcp_logins_need_the_right_password() {
    let Some(pg) = postgres::server_or_skip("tcp_logins_need_the_right_password") else {
        return;
    };
    let db = pg.fresh_database();

    let none = pg
        .psql_url(&db.url_without_password(), "SELECT 1")
        .unwrap_err();
    let wrong_url = db.url().replace(db.password(), "not-the-password");
    let wrong = pg.psql_url(&wrong_url, "SELECT 1").unwrap_err();

    assert!(none.contains("no password supplied"), "{none}");
    assert!(wrong.contains("password authentication failed"), "{wrong}");
    assert_eq!(
        pg.psql(
            db.name(),
            "SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host' LIMIT 1"
        ),
        "scram-sha-256"
    );
}

#[test]
fn the_shared_server_is_one_per_process_with_the_test_settings() {
    let Some(pg) =
        postgres::server_or_skip("the_shared_server_is_one_per_process_with_the_test_settings")
    else {
        return;
    };

    assert!(std::ptr::eq(pg, postgres::server().unwrap()));
    assert!(pg.is_running());
    let show = |setting: &str| pg.psql("postgres", &format!("SHOW {setting}"));
    assert_eq!(show("listen_addresses"), "127.0.0.1");
    assert_eq!(show("fsync"), "off");
    assert_eq!(show("full_page_writes"), "off");
    assert_eq!(show("synchronous_commit"), "on");
    assert_eq!(show("max_connections"), "200");
    assert_eq!(show("port"), pg.port().to_string());
}

#[test]
fn the_shared_server_cannot_be_stopped_under_the_other_tests() {
    let Some(pg) =
        postgres::server_or_skip("the_shared_server_cannot_be_stopped_under_the_other_tests")
    else {
        return;
    };

    let stop = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pg.stop()));
    let kill = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pg.kill()));

    assert!(stop.is_err() && kill.is_err());
    assert!(pg.is_running());
    assert_eq!(pg.psql("postgres", "SELECT 1"), "1");
}

#[test]
fn a_stopped_or_killed_server_starts_again_on_its_port_with_its_data() {
    let Some(pg) = postgres::dedicated_or_skip(
        "a_stopped_or_killed_server_starts_again_on_its_port_with_its_data",
    ) else {
        return;
    };
    let db = pg.fresh_database();
    pg.psql(
        db.name(),
        "CREATE TABLE kept (x int); INSERT INTO kept VALUES (1)",
    );

    pg.stop();
    assert!(!pg.is_running());
    assert!(pg.psql_url(&db.url(), "SELECT 1").is_err());
    assert!(TcpStream::connect(("127.0.0.1", pg.port())).is_err());
    pg.start();
    assert!(pg.is_running());
    pg.psql(db.name(), "INSERT INTO kept VALUES (2)");

    pg.kill();
    assert!(!pg.is_running());
    assert!(pg.psql_url(&db.url(), "SELECT 1").is_err());
    pg.start();

    // Both commits survive: the fast shutdown's checkpoint, and crash recovery after SIGKILL.
    assert_eq!(
        pg.psql_url(
            &db.url(),
            "SELECT string_agg(x::text, ',' ORDER BY x) FROM kept"
        )
        .unwrap(),
        "1,2"
    );
}

#[test]
fn a_dedicated_server_is_its_own_and_goes_away_when_dropped() {
    let Some(pg) =
        postgres::dedicated_or_skip("a_dedicated_server_is_its_own_and_goes_away_when_dropped")
    else {
        return;
    };
    if let Some(shared) = postgres::server() {
        assert_ne!(pg.port(), shared.port());
    }
    let db = pg.fresh_database();
    assert_eq!(pg.psql_url(&db.url(), "SELECT 1").unwrap(), "1");
    let (port, data) = (pg.port(), pg.data_dir().to_path_buf());

    drop(pg);

    assert!(!data.exists(), "{} is still there", data.display());
    assert!(!data.parent().unwrap().exists());
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    assert_eq!(live_processes_in(&data), Vec::<u32>::new());
}

#[test]
fn a_killed_test_process_leaves_no_server_behind() {
    if postgres::server_or_skip("a_killed_test_process_leaves_no_server_behind").is_none() {
        return;
    }
    let mut child = child_test("child_holds_the_shared_server")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let announced = lines
        // After libtest's "test … ... " on the same line.
        .find_map(|line| Some(line.unwrap().split_once("SERVER ")?.1.to_owned()))
        .expect("the child names its server");
    let (port, data) = announced.split_once(' ').unwrap();
    let (port, data): (u16, PathBuf) = (port.parse().unwrap(), data.into());
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(!live_processes_in(&data).is_empty());

    child.kill().unwrap(); // SIGKILL: no destructor, no exit handler runs
    child.wait().unwrap();

    let root = data.parent().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while root.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!root.exists(), "{} is still there", root.display());
    assert_eq!(live_processes_in(&data), Vec::<u32>::new());
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn without_postgresql_a_test_is_skipped_loudly_or_fails_when_required() {
    let skipped = child_test("child_asks_for_a_server")
        .env("TESSERA_PG_BIN", "/nonexistent")
        .env_remove("TESSERA_REQUIRE_POSTGRES")
        .output()
        .unwrap();
    let required = child_test("child_asks_for_a_server")
        .env("TESSERA_PG_BIN", "/nonexistent")
        .env("TESSERA_REQUIRE_POSTGRES", "1")
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&skipped.stderr);
    assert!(skipped.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "SKIPPED child_asks_for_a_server: PostgreSQL not found (install the postgresql \
             package, or set TESSERA_PG_BIN); TESSERA_PG_BIN=/nonexistent has no initdb"
        ),
        "{stderr}"
    );
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&required.stdout),
        String::from_utf8_lossy(&required.stderr)
    );
    assert!(!required.status.success(), "{output}");
    assert!(
        output.contains("TESSERA_REQUIRE_POSTGRES=1 but PostgreSQL was not found"),
        "{output}"
    );
}

/// Run by `a_killed_test_process_leaves_no_server_behind`: starts the shared server, says where
/// it is, and waits to be killed.
#[test]
#[ignore = "a child process of a_killed_test_process_leaves_no_server_behind"]
fn child_holds_the_shared_server() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let pg = postgres::server().unwrap();
    println!("SERVER {} {}", pg.port(), pg.data_dir().display());
    std::thread::sleep(Duration::from_secs(120));
}

/// Run by `without_postgresql_a_test_is_skipped_loudly_or_fails_when_required`.
#[test]
#[ignore = "a child process of without_postgresql_a_test_is_skipped_loudly_or_fails_when_required"]
fn child_asks_for_a_server() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    assert!(postgres::server_or_skip("child_asks_for_a_server").is_none());
}

/// This test binary, running only the ignored test `name` of this module.
fn child_test(name: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", &format!("postgres_harness::{name}")])
        .args(["--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdin(Stdio::null());
    cmd
}

/// Live processes whose working directory is `dir` (a postgres server's is its data dir),
/// also after `dir` was removed (the kernel then shows it with " (deleted)").
fn live_processes_in(dir: &Path) -> Vec<u32> {
    let deleted = PathBuf::from(format!("{} (deleted)", dir.display()));
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid: &u32| {
            std::fs::read_link(format!("/proc/{pid}/cwd"))
                .is_ok_and(|cwd| cwd == dir || cwd == deleted)
        })
        .collect()
}
