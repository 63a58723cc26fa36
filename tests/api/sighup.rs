//! SPEC §2 "Live reload": the configuration file is re-read on SIGHUP. The real binary gets the
//! signal (the handler is the process's own). The file is changed in a way its poll cannot
//! see — same length, same modification time — so only the signal can apply the change.

use crate::binary_helpers::{start, tessera, write_config, Server};
use crate::crash::client::ADMIN_PASSWORD;
use std::path::Path;
use std::time::{Duration, Instant};

/// The same length as [`NEW_PASSWORD`]: the rewritten file keeps its size.
const OLD_PASSWORD: &str = "old-password-1";
const NEW_PASSWORD: &str = "new-password-1";

/// Introspection's static credentials, without a lockout (the test tries a password that is
/// not in force yet, on purpose).
fn settings(password: &str) -> String {
    format!(
        "[service.introspection]\npassword = \"{password}\"\n\n\
         [login_protection]\nmax_failures = 1000\nmax_failures_per_address = 1000\n"
    )
}

async fn gateway_status(server: &Server, password: &str) -> u16 {
    crate::secrets_at_rest::introspect_as_gateway(&server.intranet, password).await
}

/// Replaces the file at `path` with `text`, keeping its length and modification time, so that
/// the server's poll (which compares the two) sees no change. Written beside it and renamed
/// over it, so the server never reads half a file.
fn rewrite_unnoticed(path: &Path, text: &str) {
    let before = std::fs::metadata(path).expect("config metadata");
    assert_eq!(before.len(), text.len() as u64, "the same length");
    let temp = path.with_extension("new");
    std::fs::write(&temp, text).expect("new config written");
    std::fs::File::options()
        .write(true)
        .open(&temp)
        .expect("new config opened")
        .set_modified(before.modified().expect("mtime"))
        .expect("mtime kept");
    std::fs::rename(&temp, path).expect("config replaced");
    let after = std::fs::metadata(path).expect("config metadata");
    assert_eq!(
        (after.len(), after.modified().ok()),
        (before.len(), before.modified().ok())
    );
}

fn send_sighup(pid: u32) {
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -HUP {pid}: {sent}");
}

#[actix_rt::test]
async fn sighup_rereads_the_configuration_file() {
    // Arrange: a server whose introspection password is the old one.
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        "username = \"gateway\"",
        &settings(OLD_PASSWORD),
    );
    let mut serve = tessera(&config);
    serve
        .arg("serve")
        .env("TESSERA_ADMIN_PASSWORD", ADMIN_PASSWORD);
    let server = start(serve, &dir.path().join("tessera.log"));
    assert_eq!(gateway_status(&server, OLD_PASSWORD).await, 200);
    let text = std::fs::read_to_string(&config).expect("config readable");
    rewrite_unnoticed(&config, &text.replace(OLD_PASSWORD, NEW_PASSWORD));
    // Three polls of the file (every 500 ms) go by: the change is not seen without the signal.
    actix_rt::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(
        gateway_status(&server, OLD_PASSWORD).await,
        200,
        "the poll must not see this change, or the test shows nothing about SIGHUP"
    );

    // Act
    send_sighup(server.pid());

    // Assert: the new password is in force, the old one is not, and the log says why.
    let deadline = Instant::now() + Duration::from_secs(10);
    while gateway_status(&server, NEW_PASSWORD).await != 200 {
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not apply the file within 10 s:\n{}",
            server.log()
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(gateway_status(&server, OLD_PASSWORD).await, 401);
    let log = server.stop();
    assert!(log.contains("SIGHUP: reloading the configuration"), "{log}");
    assert!(log.contains("configuration reloaded from"), "{log}");
    assert!(!log.contains(NEW_PASSWORD), "a password in the log:\n{log}");
}
