//! SPEC §10 backups through the real binary: a snapshot taken while serving restores into an
//! empty data dir elsewhere and logs in; a restore never writes over a non-empty data dir; the
//! command-line backup leaves a running server's data dir alone.

use crate::durability::{add_user, command, login, start, write_config};
use crate::helpers::ADMIN_PASSWORD;

#[actix_rt::test]
async fn a_backup_taken_while_serving_restores_elsewhere_and_logs_in() {
    let source = tempfile::tempdir().expect("tempdir");
    let config = write_config(source.path());
    let server = start(&config, Some(ADMIN_PASSWORD));
    let created = reqwest::Client::new()
        .post(format!("{}/api/v1/users", server.intranet))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&serde_json::json!({"userid": "bob", "password": "bobs-password-1"}))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), 201);

    let res = reqwest::Client::new()
        .get(format!("{}/api/v1/admin/backup", server.intranet))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let snapshot = res.bytes().await.expect("body");
    assert!(snapshot.starts_with(br#"{"format":"tessera-backup","version":2}"#));
    assert!(
        !String::from_utf8_lossy(&snapshot).contains("bobs-password-1"),
        "passwords are hashed in the backup too"
    );
    let (status, _) = login(&server, "bob", "bobs-password-1").await;
    assert_eq!(status, 200, "the server goes on serving after a backup");

    let target = tempfile::tempdir().expect("tempdir");
    let target_config = write_config(target.path());
    let file = target.path().join("snapshot.jsonl");
    std::fs::write(&file, &snapshot).expect("written");
    let without_key = command(&target_config)
        .args(["restore", file.to_str().expect("utf-8")])
        .output()
        .expect("runs");
    assert!(!without_key.status.success(), "the master key is needed");
    assert!(String::from_utf8_lossy(&without_key.stderr).contains("master key"));
    std::fs::create_dir_all(target.path().join("data")).expect("dir");
    std::fs::copy(
        source.path().join("data").join("master.key"),
        target.path().join("data").join("master.key"),
    )
    .expect("master key copied");
    let restored = command(&target_config)
        .args(["restore", file.to_str().expect("utf-8")])
        .output()
        .expect("runs");
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );

    let copy = start(&target_config, None);
    let (status, body) = login(&copy, "bob", "bobs-password-1").await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = login(&copy, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, 200, "the admin came along; no second bootstrap");
}

#[actix_rt::test]
async fn restore_refuses_a_data_dir_that_is_not_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    assert!(add_user(&config, "bob", "bobs-password-1").status.success());
    let file = dir.path().join("snapshot.jsonl");
    let backup = command(&config)
        .args(["backup", file.to_str().expect("utf-8")])
        .output()
        .expect("runs");
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );

    let refused = command(&config)
        .args(["restore", file.to_str().expect("utf-8")])
        .output()
        .expect("runs");

    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not empty"));
}

#[actix_rt::test]
async fn the_cli_backup_of_a_running_servers_data_dir_points_to_the_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    let _server = start(&config, Some(ADMIN_PASSWORD));

    let output = command(&config)
        .args([
            "backup",
            dir.path().join("x.jsonl").to_str().expect("utf-8"),
        ])
        .output()
        .expect("runs");

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/api/v1/admin/backup"));
}
