//! TLS (issue 5): both listeners speak https with the configured PEM files, plain http is
//! refused on them, HSTS is sent, the optional plain listener redirects to https, and a bad
//! certificate stops the start.

use crate::helpers::{spawn_on, test_config, ADMIN_PASSWORD};
use std::path::Path;

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM into `dir`.
fn certificate(dir: &Path) -> String {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("certificate");
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).expect("cert written");
    std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).expect("key written");
    cert.cert.pem()
}

fn https_client(cert_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("pem"))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn tls_config(dir: &tempfile::TempDir) -> tessera::config::Config {
    let mut config = test_config(&dir.path().join("data"));
    config.tls.enable_ssl = true;
    config.tls.cert = dir.path().join("cert.pem");
    config.tls.key = dir.path().join("key.pem");
    config
}

#[actix_rt::test]
async fn both_listeners_speak_https_with_hsts_and_refuse_plain_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pem = certificate(dir.path());
    let config = tls_config(&dir);
    let app = spawn_on(config, dir).await;
    let client = https_client(&pem);
    let public = app.public.replacen("http://", "https://", 1);
    let intranet = app.intranet.replacen("http://", "https://", 1);

    let health = client
        .get(format!("{public}/health"))
        .send()
        .await
        .expect("https");
    let introspect = client
        .post(format!("{intranet}/oauth2/introspect"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .form(&[("token", "x")])
        .send()
        .await
        .expect("https");
    let plain = reqwest::Client::new()
        .get(format!("{}/health", app.public))
        .send()
        .await;

    assert_eq!(health.status(), 200);
    assert_eq!(
        health.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    assert_eq!(introspect.status(), 200);
    assert!(plain.is_err() || !plain.expect("response").status().is_success());
}

#[actix_rt::test]
async fn the_session_cookie_is_secure_under_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pem = certificate(dir.path());
    let app = spawn_on(tls_config(&dir), dir).await;
    let intranet = app.intranet.replacen("http://", "https://", 1);

    let res = https_client(&pem)
        .post(format!("{intranet}/api/v1/session"))
        .json(&serde_json::json!({"userid": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("https");

    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
}

#[actix_rt::test]
async fn the_plain_listener_redirects_to_https() {
    let dir = tempfile::tempdir().expect("tempdir");
    certificate(dir.path());
    let mut config = tls_config(&dir);
    config.tls.redirect_http_bind = Some("127.0.0.1:0".parse().expect("addr"));
    config.server.external_url_base = "https://id.example.com".into();
    let data = tempfile::tempdir().expect("tempdir");
    // The redirect listener's port is only known to the Application; build it directly.
    config.server.data_dir = data.path().join("data");
    let clock = std::sync::Arc::new(tessera::clock::FixedClock::starting_now());
    let built = tessera::app::Application::build(config, clock)
        .await
        .expect("starts");
    let redirect = built.redirect_addr().expect("a redirect listener");
    actix_rt::spawn(built.run_until_stopped());

    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(format!("http://{redirect}/login?x=1"))
        .send()
        .await
        .expect("plain http");

    assert_eq!(res.status(), 308);
    assert_eq!(
        res.headers()["location"],
        "https://id.example.com/login?x=1"
    );
    drop(dir);
}

#[actix_rt::test]
async fn a_missing_or_bad_certificate_stops_the_start_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = tls_config(&dir);
    let clock = std::sync::Arc::new(tessera::clock::FixedClock::starting_now());
    let missing = tessera::app::Application::build(config, clock.clone())
        .await
        .err()
        .expect("refused");
    assert!(missing.to_string().contains("tls.cert"), "{missing}");
    assert!(missing.to_string().contains("cert.pem"), "{missing}");

    let other = tempfile::tempdir().expect("tempdir");
    std::fs::write(other.path().join("cert.pem"), "not a certificate").expect("written");
    std::fs::write(other.path().join("key.pem"), "not a key").expect("written");
    let bad = tessera::app::Application::build(tls_config(&other), clock)
        .await
        .err()
        .expect("refused");
    assert!(bad.to_string().contains("tls.cert"), "{bad}");
}
