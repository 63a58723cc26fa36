//! What an answer says when the store fails, through the real binary and its log (SPEC §9):
//! `/health` answers 503 while the store does not answer; an internal error answers an opaque
//! JSON 500 whose cause is in the log under the request id; and what a request's blocking job
//! logs carries that request's id too.

use crate::binary_helpers::{data_dir, start, tessera, write_config, Server};
use crate::crash::client::{Api, Outcome, ADMIN_PASSWORD};
use crate::disk_full::{fill, Tmpfs};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

fn serve(config: &Path, log: &Path) -> Server {
    let mut cmd = tessera(config);
    cmd.arg("serve")
        .env("TESSERA_ADMIN_PASSWORD", ADMIN_PASSWORD);
    start(cmd, log)
}

/// An admin request with our own `X-Request-Id`: the answer and the log then share a known id.
async fn admin_with_id(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    id: &str,
) -> reqwest::Response {
    reqwest::Client::new()
        .request(method, format!("{}{path}", server.intranet))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("X-Request-Id", id)
        .send()
        .await
        .expect("request")
}

/// The lines of `log` that name request `id`.
fn lines_of<'a>(log: &'a str, id: &str) -> Vec<&'a str> {
    let marker = format!("request {id}: ");
    log.lines().filter(|l| l.contains(&marker)).collect()
}

#[actix_rt::test]
async fn an_internal_error_answers_an_opaque_500_and_logs_its_cause_under_the_request_id() {
    // Arrange: a user whose stored record no longer decodes (written by hand while the server
    // is stopped, as a bad disk or a botched migration would leave it).
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "", "");
    let server = serve(&config, &dir.path().join("serve-1.log"));
    let api = Api::new(&server.public, &server.intranet);
    let created = api.create_user("bob").await;
    assert_eq!(created.status(), Some(201), "{created}");
    server.stop();
    {
        let db = sled::open(data_dir(dir.path()).join("store")).expect("the stopped store opens");
        let users = db.open_tree("users").expect("users tree");
        assert!(users.get(b"bob").expect("read").is_some(), "bob is stored");
        users
            .insert(b"bob", &b"\x00not a user record"[..])
            .expect("overwritten");
        db.flush().expect("flushed");
    }
    let server = serve(&config, &dir.path().join("serve-2.log"));

    // Act
    let id = "probe-500-7f3a";
    let res = admin_with_id(&server, reqwest::Method::GET, "/api/v1/users/bob", id).await;

    // Assert: an opaque JSON 500 that names the request, and the cause in the log under it.
    assert_eq!(res.status(), 500);
    assert_eq!(
        res.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some(id)
    );
    let text = res.text().await.expect("body");
    let body: Value = serde_json::from_str(&text).expect("a JSON body");
    assert_eq!(
        body,
        json!({
            "error": "internal_error",
            "error_description": "an internal error occurred",
            "request_id": id,
        })
    );
    for cause in ["users", "decode", "record", "bob"] {
        assert!(!text.contains(cause), "the body tells of its cause: {text}");
    }
    let log = server.stop();
    let errors = lines_of(&log, id)
        .into_iter()
        .filter(|l| l.contains("ERROR"))
        .collect::<Vec<_>>();
    assert!(
        errors.iter().any(|l| l.contains(&format!(
            "request {id}: internal error: a record in users cannot be decoded"
        ))),
        "no logged cause under request {id}:\n{log}"
    );
}

#[actix_rt::test]
async fn what_a_blocking_job_logs_carries_the_request_id() {
    // Arrange
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "", "");
    let server = serve(&config, &dir.path().join("tessera.log"));
    let id = "probe-rotate-2c9e";

    // Act: a key rotation logs from the blocking job that stores the keys.
    let res = admin_with_id(
        &server,
        reqwest::Method::POST,
        "/api/v1/signing-keys/rotate",
        id,
    )
    .await;

    // Assert
    assert_eq!(res.status(), 201);
    let log = server.stop();
    assert!(
        lines_of(&log, id)
            .iter()
            .any(|l| l.contains(&format!("request {id}: rotated signing keys"))),
        "the rotation's log line does not name request {id}:\n{log}"
    );
}

/// Polls `check` every 250 ms for up to 10 s; the last outcome it saw.
async fn poll_until<F, Fut>(mut check: F) -> Outcome
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (bool, Outcome)>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (done, outcome) = check().await;
        if done || Instant::now() >= deadline {
            return outcome;
        }
        actix_rt::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Mounting a tmpfs needs root: elsewhere the test says "skipped" and passes (as disk_full.rs).
#[actix_rt::test]
async fn health_answers_503_while_the_store_cannot_be_opened_and_200_once_it_can() {
    // Arrange: a full disk under the running server makes a flush fail; the store must then
    // be opened again, and its directory is no longer one it can open.
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(tmpfs) = Tmpfs::mount(&data_dir(dir.path()), "4m") else {
        println!("skipped: cannot mount a tmpfs here");
        return;
    };
    let config = write_config(dir.path(), "", "");
    let server = serve(&config, &dir.path().join("tessera.log"));
    let api = Api::new(&server.public, &server.intranet);
    assert_eq!(api.health().await.status(), Some(200));
    let filler = tmpfs.path.join("filler");
    fill(&filler);
    let refused = poll_until(|| async {
        let outcome = api
            .create_user(&format!("u{}", rand::random::<u32>()))
            .await;
        (outcome.status() == Some(503), outcome)
    })
    .await;
    assert_eq!(
        refused.status(),
        Some(503),
        "a write on the full disk: {refused}"
    );
    let store = tmpfs.path.join("store");
    let moved = tmpfs.path.join("store.moved");
    std::fs::rename(&store, &moved).expect("store moved aside");
    // Empty: a full tmpfs has inodes to spare, not pages.
    std::fs::File::create(&store).expect("a file in its place");
    std::fs::remove_file(&filler).expect("space returns");

    // Act: a write makes the store try to open again, which fails.
    let health = poll_until(|| async {
        let _ = api.create_user("retry").await;
        let health = api.health().await;
        (health.status() == Some(503), health)
    })
    .await;

    // Assert: 503 with the JSON status, and back to 200 once the store opens again.
    match &health {
        Outcome::Answered(503, body) => assert_eq!(body, &json!({"status": "unavailable"})),
        other => panic!(
            "GET /health while the store cannot be opened: {other}\n{}",
            server.log()
        ),
    }
    std::fs::remove_file(&store).expect("the file removed");
    std::fs::rename(&moved, &store).expect("store moved back");
    let recovered = poll_until(|| async {
        let health = api.health().await;
        (health.status() == Some(200), health)
    })
    .await;
    assert_eq!(
        recovered.status(),
        Some(200),
        "{recovered}\n{}",
        server.log()
    );
    let log = server.stop();
    assert!(
        log.contains("health check: the store does not answer"),
        "{log}"
    );
    drop(tmpfs);
}
