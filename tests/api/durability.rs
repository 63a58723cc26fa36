//! SPEC §1 and §10 through the real binary: first start, the CLI, acknowledged writes that
//! survive SIGKILL, rotation state across restarts, and config errors that name the key.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

pub(crate) struct Server {
    child: Child,
    pub(crate) public: String,
    pub(crate) intranet: String,
}

pub(crate) fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("tessera.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nbind = \"127.0.0.1:0\"\nadmin_bind = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n\n\
             [passwords]\nargon2_memory_kib = 1024\nargon2_iterations = 1\n",
            dir.join("data").display()
        ),
    )
    .expect("config written");
    path
}

pub(crate) fn command(config: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("TESSERA_CONFIG", config)
        .env("RUST_LOG", "info")
        .env_remove("TESSERA_ADMIN_PASSWORD")
        .env_remove("TESSERA_DATA_DIR")
        .env_remove("TESSERA_BIND")
        .env_remove("TESSERA_ADMIN_BIND");
    cmd
}

/// Starts `tessera serve` and reads its log until it says where it listens.
pub(crate) fn start(config: &Path, admin_password: Option<&str>) -> Server {
    let mut cmd = command(config);
    cmd.arg("serve")
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    if let Some(p) = admin_password {
        cmd.env("TESSERA_ADMIN_PASSWORD", p);
    }
    let mut child = cmd.spawn().expect("tessera starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening: public http://").nth(1) {
                let mut words = rest.split(' ');
                let public = words.next().unwrap_or_default().to_string();
                let intranet = rest
                    .split("intranet http://")
                    .nth(1)
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                let _ = tx.send((public, intranet));
            }
        }
    });
    let (public, intranet) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("tessera logged its listeners");
    Server {
        child,
        public: format!("http://{public}"),
        intranet: format!("http://{intranet}"),
    }
}

impl Server {
    pub(crate) fn kill9(mut self) {
        // Child::kill sends SIGKILL on Unix: no shutdown hook, no flush on drop.
        self.child.kill().expect("kill");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn post_json(url: String, body: serde_json::Value) -> (u16, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

pub(crate) async fn login(
    server: &Server,
    userid: &str,
    password: &str,
) -> (u16, serde_json::Value) {
    post_json(
        format!("{}/login", server.public),
        serde_json::json!({"userid": userid, "password": password}),
    )
    .await
}

pub(crate) async fn refresh(server: &Server, token: &str) -> (u16, serde_json::Value) {
    post_json(
        format!("{}/authService/accounts/refresh", server.public),
        serde_json::json!({"refresh_token": token}),
    )
    .await
}

pub(crate) fn add_user(config: &Path, userid: &str, password: &str) -> std::process::Output {
    let mut child = command(config)
        .args([
            "user",
            "add",
            userid,
            "--role",
            "Supervisor",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cli runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("password written");
    child.wait_with_output().expect("cli finishes")
}

#[actix_rt::test]
async fn first_start_writes_a_private_admin_password_that_logs_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    let server = start(&config, None);
    let file = dir.path().join("data").join("initial-admin-password");
    let password = std::fs::read_to_string(&file).expect("password file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(dir.path().join("data"))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }
    let (status, body) = login(&server, "admin", &password).await;
    assert_eq!(status, 200);
    assert_eq!(body["profile"]["userid"], "admin");
}

#[actix_rt::test]
async fn cli_user_add_works_on_a_stopped_server_and_refuses_a_running_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());

    let added = add_user(&config, "bob", "bobs-password-1");
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let duplicate = add_user(&config, "bob", "bobs-password-1");
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));

    let server = start(&config, Some("admin-password-1"));
    let (status, body) = login(&server, "bob", "bobs-password-1").await;
    assert_eq!(status, 200, "{body}");
    let refused = add_user(&config, "carol", "carols-password");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("held by a running tessera server"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[actix_rt::test]
async fn acknowledged_logins_and_rotations_survive_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    assert!(add_user(&config, "bob", "bobs-password-1").status.success());

    let server = start(&config, Some("admin-password-1"));
    let (_, first) = login(&server, "bob", "bobs-password-1").await;
    let spent = first["refresh_token"].as_str().expect("token").to_string();
    let (status, rotated) = refresh(&server, &spent).await;
    assert_eq!(status, 200);
    let live = rotated["refresh_token"]
        .as_str()
        .expect("token")
        .to_string();
    let (_, other) = login(&server, "bob", "bobs-password-1").await;
    let other = other["refresh_token"].as_str().expect("token").to_string();
    server.kill9();
    let check = command(&config).arg("check").output().expect("check runs");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    let server = start(&config, None);
    let (status, _) = refresh(&server, &live).await;
    assert_eq!(status, 200, "the rotated token survived SIGKILL");
    let (status, _) = refresh(&server, &spent).await;
    assert_eq!(
        status, 401,
        "the spent token is still spent after a restart"
    );
    let (status, _) = refresh(&server, &other).await;
    assert_eq!(status, 200, "the other session survived too");
}

#[actix_rt::test]
async fn check_finds_signing_keys_that_the_master_key_does_not_open() {
    use base64::Engine;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    let server = start(&config, Some("admin-password-1"));
    server.kill9();
    let check = |master: Option<&str>| {
        let mut cmd = command(&config);
        cmd.arg("check");
        match master {
            Some(key) => cmd.env("TESSERA_MASTER_KEY", key),
            None => cmd.env_remove("TESSERA_MASTER_KEY"),
        };
        let out = cmd.output().expect("check runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, out) = check(None);
    assert!(ok, "with the data dir's own master key: {out}");

    let other = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let (ok, out) = check(Some(&other));
    assert!(!ok, "another master key must not pass: {out}");
    assert!(out.contains("does not open with this master key"), "{out}");

    std::fs::remove_file(dir.path().join("data").join("master.key")).expect("removed");
    let (ok, out) = check(None);
    assert!(!ok, "no master key must not pass: {out}");
    assert!(out.contains("there is no master key"), "{out}");
    assert!(
        !dir.path().join("data").join("master.key").exists(),
        "check must not create a master key"
    );
}

#[test]
fn an_unknown_config_key_stops_the_start_and_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[server]\nbindd = \"127.0.0.1:0\"\n").expect("written");

    let output = command(&config).arg("serve").output().expect("runs");

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bindd"), "{stderr}");
}

async fn admin_post(server: &Server, path: &str, body: serde_json::Value) -> serde_json::Value {
    let res = reqwest::Client::new()
        .post(format!("{}{path}", server.intranet))
        .basic_auth("admin", Some("admin-password-1"))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 201, "{path}");
    res.json().await.expect("json")
}

#[actix_rt::test]
async fn a_user_and_a_key_created_just_before_sigkill_are_both_there_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    let server = start(&config, Some("admin-password-1"));
    admin_post(
        &server,
        "/api/v1/users",
        serde_json::json!({"userid": "erin", "password": "erins-password-1"}),
    )
    .await;
    let app = admin_post(
        &server,
        "/api/v1/applications",
        serde_json::json!({"name": "web"}),
    )
    .await;
    let app_id = app["app_id"].as_str().expect("app id").to_string();
    let key = admin_post(
        &server,
        &format!("/api/v1/applications/{app_id}/keys"),
        serde_json::json!({"name": "k"}),
    )
    .await;
    let key = key["key"].as_str().expect("key").to_string();
    server.kill9();
    let check = command(&config).arg("check").output().expect("check runs");
    assert!(
        check.status.success(),
        "the store is consistent after SIGKILL: {}",
        String::from_utf8_lossy(&check.stdout)
    );

    let server = start(&config, None);
    let (status, _) = login(&server, "erin", "erins-password-1").await;
    assert_eq!(status, 200, "the user survived SIGKILL");
    let check = reqwest::Client::new()
        .get(format!("{}/api/v1/check", server.public))
        .header("X-VoltMX-App-API-Key", &key)
        .send()
        .await
        .expect("request");
    assert_eq!(check.status(), 200, "the key survived SIGKILL");
}

#[actix_rt::test]
async fn a_preamble_token_minted_by_the_cli_logs_in_beside_a_running_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(
        "\n[preamble]\ntoken_authentication_mode = \"enable\"\n\
         token_uuid = \"6f9619ff-8b86-d011-b42d-00c04fc964ff\"\n",
    );
    std::fs::write(&config, text).expect("written");
    assert!(add_user(&config, "bob", "bobs-password-1").status.success());
    let server = start(&config, Some("admin-password-1"));

    let minted = command(&config)
        .args(["token", "preamble", "--user", "bob"])
        .output()
        .expect("cli runs");

    assert!(
        minted.status.success(),
        "{}",
        String::from_utf8_lossy(&minted.stderr)
    );
    let stdout = String::from_utf8(minted.stdout).expect("utf-8");
    let token = stdout.lines().next().expect("a token line");
    assert!(token.starts_with("{PXZ}") && token.len() == 49, "{token}");
    let (status, body) = login(&server, "bob", token).await;
    assert_eq!(status, 200, "{body}");
}
