//! decisions-5 "CRYPT: config secrets" and "Files at rest" (SPEC §2 "Encrypted secrets", §10)
//! through the real binary: `tessera encrypt` in its three forms, a `CRYPT:` password that
//! works, one that is tampered with or sealed under another key and stops the start without
//! showing itself, private files, and signing keys that never sit on disk in clear.

use crate::binary_helpers::{data_dir, run_to_end, start, tessera, write_config, Finished};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

const SECRET: &str = "gw-secret-1";
const PREFIX: &str = "CRYPT:";
/// DER prefix of an Ed25519 PKCS#8 v1 private key: SEQUENCE, version 0, AlgorithmIdentifier
/// id-Ed25519 (1.3.101.112), OCTET STRING { OCTET STRING (32) } (RFC 8410 §7).
const ED25519_PKCS8_V1: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// The part every Ed25519 PKCS#8 key has, v1 or v2 (with the public key): the algorithm and
/// the start of the private key octets.
const ED25519_PKCS8_ALGORITHM: [u8; 11] = [
    0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// base64 of 32 bytes, none of them the key any data dir here was made with.
const OTHER_MASTER_KEY: &str = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";

fn gateway_server_lines(password: &str) -> String {
    format!("username = \"gateway\"\npassword = \"{password}\"")
}

/// `tessera --config <config> encrypt <secret>`, which must succeed.
fn encrypt(config: &Path, dir: &Path, secret: &str) -> String {
    let mut cmd = tessera(config);
    cmd.args(["encrypt", secret]);
    let run = run_to_end(cmd, dir);
    assert!(run.status.success(), "encrypt failed: {}", run.stderr);
    one_line(&run.stdout)
}

fn one_line(stdout: &str) -> String {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stdout: {stdout:?}");
    lines[0].to_string()
}

/// `value` with one character inside its base64url body replaced by another base64url
/// character (away from the version byte at the start and the padding bits at the end).
fn tampered(value: &str) -> String {
    let body = value.strip_prefix(PREFIX).expect("CRYPT: value");
    let mut chars: Vec<char> = body.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    format!("{PREFIX}{}", chars.into_iter().collect::<String>())
}

/// Introspects a junk token as the `gateway` static caller: 200 if `password` is its password.
pub(crate) async fn introspect_as_gateway(intranet: &str, password: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{intranet}/oauth2/introspect"))
        .basic_auth("gateway", Some(password))
        .form(&[("token", "not-a-token")])
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else if path.is_file() {
            found.push(path);
        }
    }
    found
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn assert_refused_without_the_secret(run: &Finished, value: &str, what: &str) {
    assert!(!run.status.success(), "{what}: the start was not stopped");
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(said.contains("server.password"), "{what}: {said}");
    let body = value.strip_prefix(PREFIX).expect("CRYPT: value");
    assert!(!said.contains(body), "{what}: the value is shown: {said}");
    assert!(
        !said.contains(SECRET),
        "{what}: the secret is shown: {said}"
    );
}

// --- tessera encrypt --------------------------------------------------------------------

#[test]
fn encrypt_prints_a_crypt_value_and_exits_in_each_of_its_three_forms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "", "");

    let argument = encrypt(&config, dir.path(), SECRET);
    let mut flag = tessera(&config);
    flag.args(["--encrypt", SECRET]);
    let flag = run_to_end(flag, dir.path());
    let mut piped = tessera(&config)
        .args(["encrypt", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tessera runs");
    piped
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{SECRET}\n").as_bytes())
        .expect("secret written");
    let piped = piped.wait_with_output().expect("tessera ends");

    assert!(flag.status.success(), "--encrypt: {}", flag.stderr);
    assert!(
        piped.status.success(),
        "encrypt -: {}",
        String::from_utf8_lossy(&piped.stderr)
    );
    let flag = one_line(&flag.stdout);
    let piped = one_line(&String::from_utf8(piped.stdout).expect("utf-8"));
    for value in [&argument, &flag, &piped] {
        assert!(value.starts_with(PREFIX), "{value}");
        assert!(!value.contains(SECRET), "{value}");
    }
    assert!(
        argument != flag && flag != piped && argument != piped,
        "a fresh nonce each time"
    );
}

#[test]
fn encrypt_creates_a_private_master_key_in_a_private_data_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "", "");

    encrypt(&config, dir.path(), SECRET);

    let key = data_dir(dir.path()).join("master.key");
    assert!(key.is_file());
    #[cfg(unix)]
    {
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&data_dir(dir.path())), 0o700);
    }
}

// --- a CRYPT: password in the config ----------------------------------------------------

#[actix_rt::test]
async fn a_crypt_server_password_lets_the_gateway_introspect_with_the_plain_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "", "");
    let value = encrypt(&config, dir.path(), SECRET);
    let config = write_config(dir.path(), &gateway_server_lines(&value), "");
    let mut serve = tessera(&config);
    serve.arg("serve");

    let server = start(serve, &dir.path().join("serve.log"));

    assert_eq!(introspect_as_gateway(&server.intranet, SECRET).await, 200);
    assert_eq!(
        introspect_as_gateway(&server.intranet, &value).await,
        401,
        "the CRYPT value itself is not the password"
    );
    let log = server.stop();
    assert!(!log.contains(SECRET), "{log}");
    assert!(!log.contains(&value[PREFIX.len()..]), "{log}");
}

#[test]
fn a_tampered_crypt_value_stops_the_start_naming_the_key_but_not_the_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "", "");
    let value = tampered(&encrypt(&config, dir.path(), SECRET));
    let config = write_config(dir.path(), &gateway_server_lines(&value), "");
    let mut serve = tessera(&config);
    serve.arg("serve");

    let run = run_to_end(serve, dir.path());

    assert_refused_without_the_secret(&run, &value, "tampered");
}

#[test]
fn a_crypt_value_does_not_open_under_another_master_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "", "");
    let value = encrypt(&config, dir.path(), SECRET);
    let config = write_config(dir.path(), &gateway_server_lines(&value), "");
    let mut serve = tessera(&config);
    serve
        .arg("serve")
        .env("TESSERA_MASTER_KEY", OTHER_MASTER_KEY);

    let run = run_to_end(serve, dir.path());

    assert_refused_without_the_secret(&run, &value, "other master key");
}

#[actix_rt::test]
async fn a_master_key_from_the_environment_encrypts_and_decrypts_without_a_key_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "", "");
    let mut cmd = tessera(&config);
    cmd.args(["encrypt", SECRET])
        .env("TESSERA_MASTER_KEY", OTHER_MASTER_KEY);
    let run = run_to_end(cmd, dir.path());
    assert!(run.status.success(), "{}", run.stderr);
    let value = one_line(&run.stdout);
    let config = write_config(dir.path(), &gateway_server_lines(&value), "");
    let mut serve = tessera(&config);
    serve
        .arg("serve")
        .env("TESSERA_MASTER_KEY", OTHER_MASTER_KEY);

    let server = start(serve, &dir.path().join("serve.log"));

    assert_eq!(introspect_as_gateway(&server.intranet, SECRET).await, 200);
    assert!(!data_dir(dir.path()).join("master.key").exists());
}

// --- the data dir at rest ---------------------------------------------------------------

#[actix_rt::test]
async fn the_data_dir_and_master_key_are_private_and_no_signing_key_is_stored_in_clear() {
    // The needles must be what an Ed25519 key of this build looks like in clear: raw DER,
    // and the base64 that a JSON record would hold it as (a key starts its field, so the
    // encoding of its first 15 bytes is fixed).
    let sample = tessera::crypto::jwt::generate(
        tessera::config::SigningAlg::EdDSA,
        time::OffsetDateTime::UNIX_EPOCH,
    )
    .expect("a key");
    assert!(contains(&sample.private, &ED25519_PKCS8_ALGORITHM));
    let mut needles: Vec<Vec<u8>> = vec![
        ED25519_PKCS8_V1.to_vec(),
        ED25519_PKCS8_ALGORITHM.to_vec(),
        sample.private[..16].to_vec(),
    ];
    for head in [&ED25519_PKCS8_V1[..15], &sample.private[..15]] {
        needles.push(STANDARD.encode(head).into_bytes());
        needles.push(URL_SAFE_NO_PAD.encode(head).into_bytes());
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "", "");
    let mut serve = tessera(&config);
    serve.arg("serve");

    let server = start(serve, &dir.path().join("serve.log"));
    let jwks: serde_json::Value = reqwest::get(format!("{}/.well-known/jwks.json", server.public))
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    server.stop();

    assert_eq!(jwks["keys"][0]["crv"], "Ed25519", "{jwks}");
    let data = data_dir(dir.path());
    #[cfg(unix)]
    {
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("master.key")), 0o600);
    }
    let files = files_under(&data);
    assert!(files.len() > 1, "{files:?}");
    for file in files {
        let bytes = std::fs::read(&file).expect("readable");
        for needle in &needles {
            assert!(
                !contains(&bytes, needle),
                "{} holds a signing key in clear ({})",
                file.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
}

#[actix_rt::test]
async fn another_master_key_does_not_open_the_signing_keys_of_a_data_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "", "");
    let mut first = tessera(&config);
    first.arg("serve");
    start(first, &dir.path().join("first.log")).stop();
    let mut other = tessera(&config);
    other
        .arg("serve")
        .env("TESSERA_MASTER_KEY", OTHER_MASTER_KEY);

    let run = run_to_end(other, dir.path());

    assert!(!run.status.success(), "started with another master key");
    assert!(
        run.stderr.to_lowercase().contains("master key"),
        "{}",
        run.stderr
    );
    let mut again = tessera(&config);
    again.arg("serve");
    start(again, &dir.path().join("again.log")).stop();
}
