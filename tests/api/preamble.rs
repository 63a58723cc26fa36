//! decisions-4 "Preamble tokens" (SPEC §5): tokens minted here, independently of tessera's code
//! and byte by byte from the SPEC formula, checked against the published vectors and then
//! presented to /login, to Basic on introspection, and to introspection itself.

use crate::admin_helpers::{admin_patch, admin_post, expect_json, header, introspect_form};
use crate::config_helpers::write_config;
use crate::helpers::{json, spawn_app_with, TestApp, PASSWORD};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use tessera::clock::Clock;
use tessera::config::{Config, PreambleMode};

const TOKEN_UUID: &str = "6f9619ff-8b86-d011-b42d-00c04fc964ff";
const OTHER_UUID: &str = "00000000-0000-4000-8000-000000000001";

/// HMAC-SHA256 of the concatenated `parts` under `key`.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// A `{PXZ}` token, following SPEC §5 byte by byte:
/// `K = HMAC-SHA256(UTF-8(token_uuid lowercase hyphenated), "tessera-preamble-v1")`,
/// `mac = HMAC-SHA256(K, 0x01 || start || exp || UTF-8(userid))[0..24]`,
/// `token = "{PXZ}" + base64url_nopad(0x01 || start || exp || mac)`.
fn mint(token_uuid: &str, userid: &str, start: u32, exp: u32) -> String {
    let k = hmac_sha256(
        token_uuid.to_lowercase().as_bytes(),
        &[b"tessera-preamble-v1"],
    );
    let mut head = vec![0x01u8];
    head.extend_from_slice(&start.to_be_bytes());
    head.extend_from_slice(&exp.to_be_bytes());
    let mac = hmac_sha256(&k, &[&head, userid.as_bytes()]);
    let mut raw = head;
    raw.extend_from_slice(&mac[..24]);
    format!("{{PXZ}}{}", URL_SAFE_NO_PAD.encode(raw))
}

/// `token` with one bit of its raw byte `index` flipped (0 = version, 1..9 = times, 9.. = mac).
fn flipped(token: &str, index: usize) -> String {
    let body = token.strip_prefix("{PXZ}").expect("preamble");
    let mut raw = URL_SAFE_NO_PAD.decode(body).expect("base64url");
    raw[index] ^= 0x01;
    format!("{{PXZ}}{}", URL_SAFE_NO_PAD.encode(raw))
}

/// The server's now (the test's fixed clock) in Unix seconds, moved by `offset` seconds.
fn at(app: &TestApp, offset: i64) -> u32 {
    u32::try_from(app.clock.now().unix_timestamp() + offset).expect("fits a u32")
}

/// A token for `userid` under the configured `token_uuid`, from `start` to `exp` seconds from now.
fn token_for(app: &TestApp, userid: &str, start: i64, exp: i64) -> String {
    mint(TOKEN_UUID, userid, at(app, start), at(app, exp))
}

/// Preamble tokens on, with a configured `token_uuid`. Login protection is loosened because
/// these tests refuse the same user many times on purpose.
fn enabled(config: &mut Config) {
    config.preamble.token_authentication_mode = PreambleMode::Enable;
    config.preamble.token_uuid = Some(TOKEN_UUID.into());
    config.login_protection.max_failures = 1000;
    config.login_protection.max_failures_per_address = 10_000;
}

async fn spawn_enabled() -> TestApp {
    spawn_app_with(enabled).await
}

fn without_request_id(mut body: Value) -> Value {
    body.as_object_mut().expect("object").remove("request_id");
    body
}

/// Asserts that logging in as `userid` with `token` is refused exactly like a wrong password.
async fn assert_refused_like_a_wrong_password(
    app: &TestApp,
    userid: &str,
    token: &str,
    what: &str,
) {
    let refused = app.login(userid, token).await;
    assert_eq!(refused.status(), 401, "{what}");
    let refused = without_request_id(json(refused).await);
    let wrong = app.login(userid, "wrong password").await;
    assert_eq!(wrong.status(), 401, "{what}: the wrong password");
    let wrong = without_request_id(json(wrong).await);
    assert_eq!(refused, wrong, "{what}");
}

async fn introspect_as(app: &TestApp, userid: &str, password: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/oauth2/introspect", app.intranet))
        .basic_auth(userid, Some(password))
        .form(&[("token", "not-a-token")])
        .send()
        .await
        .expect("request")
}

async fn mint_by_api(app: &TestApp, userid: &str) -> reqwest::Response {
    admin_post(app, "/api/v1/tokens/preamble", json!({"userid": userid})).await
}

#[test]
fn the_independent_minter_reproduces_the_published_vectors() {
    let vectors = [
        (
            "6f9619ff-8b86-d011-b42d-00c04fc964ff",
            "alice",
            1_700_000_000,
            1_700_000_600,
            "{PXZ}AWVT8QBlU_NYTR-7cRN-7seudAPEosMlBJ8_w7jypq0a",
        ),
        (
            "6f9619ff-8b86-d011-b42d-00c04fc964ff",
            "bob@example.com",
            1_700_000_000,
            1_700_000_600,
            "{PXZ}AWVT8QBlU_NYvx5ndly-EQMY8ondpCldENGorf4pTJH3",
        ),
        (
            "00000000-0000-4000-8000-000000000001",
            "élodie",
            1_800_000_000,
            1_800_003_600,
            "{PXZ}AWtJ0gBrSeAQCkWs_SIFpd79_8FS2q4aiZQPJCpBN_SE",
        ),
    ];
    for (uuid, userid, start, exp, expected) in vectors {
        let token = mint(uuid, userid, start, exp);

        assert_eq!(token, expected, "{userid}");
        assert_eq!(token.len(), 49, "{userid}");
    }
    let published = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/preamble-alice.txt"
    ))
    .expect("vector file");
    assert_eq!(published.trim(), vectors[0].4);
}

#[actix_rt::test]
async fn a_valid_token_logs_in_through_login() {
    let app = spawn_enabled().await;
    app.add_user("alice", &[]).await;
    let token = token_for(&app, "alice", 0, 600);

    let res = app.login("alice", &token).await;

    assert_eq!(res.status(), 200);
    let body = json(res).await;
    assert_eq!(body["profile"]["userid"], "alice");
    assert!(body["refresh_token"].is_string());
}

#[actix_rt::test]
async fn a_valid_token_is_the_basic_password_of_a_user_with_the_services_role() {
    let app = spawn_enabled().await;
    app.add_user("ops", &["Administrator"]).await;
    app.add_user("plain", &[]).await;

    let ops = introspect_as(&app, "ops", &token_for(&app, "ops", 0, 600)).await;
    let plain = introspect_as(&app, "plain", &token_for(&app, "plain", 0, 600)).await;
    let forged = introspect_as(&app, "ops", &flipped(&token_for(&app, "ops", 0, 600), 32)).await;

    assert_eq!(ops.status(), 200);
    assert_eq!(plain.status(), 403, "the user still needs the service role");
    assert_eq!(forged.status(), 401);
    assert_eq!(
        header(&forged, "www-authenticate").as_deref(),
        Some(r#"Basic realm="tessera""#)
    );
    assert!(forged.text().await.expect("body").is_empty());
}

#[actix_rt::test]
async fn another_users_token_is_refused() {
    let app = spawn_enabled().await;
    app.add_user("alice", &[]).await;
    app.add_user("bob", &[]).await;
    let bobs = token_for(&app, "bob", 0, 600);
    assert_eq!(app.login("bob", &bobs).await.status(), 200);

    assert_refused_like_a_wrong_password(&app, "alice", &bobs, "bob's token as alice").await;
}

#[actix_rt::test]
async fn a_token_past_its_expiry_and_the_tolerance_is_refused() {
    let app = spawn_enabled().await;
    app.add_user("alice", &[]).await;

    // Default tolerance: 60 s. `now <= exp + tolerance` holds at exp = now - 60, not at now - 61.
    let last_second = app
        .login("alice", &token_for(&app, "alice", -600, -60))
        .await;
    assert_eq!(last_second.status(), 200);
    assert_refused_like_a_wrong_password(
        &app,
        "alice",
        &token_for(&app, "alice", -600, -61),
        "expired beyond the tolerance",
    )
    .await;
    assert_refused_like_a_wrong_password(
        &app,
        "alice",
        &token_for(&app, "alice", -7200, -3600),
        "expired an hour ago",
    )
    .await;
}

#[actix_rt::test]
async fn a_token_inside_the_tolerance_after_expiry_or_before_its_start_logs_in() {
    let app = spawn_enabled().await;
    app.add_user("alice", &[]).await;

    for (what, start, exp) in [
        ("expired 30 s ago", -600, -30),
        ("starts in 30 s", 30, 600),
        ("starts in 60 s", 60, 600),
    ] {
        let res = app
            .login("alice", &token_for(&app, "alice", start, exp))
            .await;

        assert_eq!(res.status(), 200, "{what}");
    }
    assert_refused_like_a_wrong_password(
        &app,
        "alice",
        &token_for(&app, "alice", 61, 600),
        "starts in 61 s",
    )
    .await;
}

#[actix_rt::test]
async fn a_token_whose_expiry_is_further_than_the_ttl_is_refused_until_it_nears() {
    let app = spawn_app_with(|config| {
        enabled(config);
        config.preamble.token_ttl_minutes = 5;
    })
    .await;
    app.add_user("alice", &[]).await;

    // max(start, exp - 300) - 60 <= now: exp = now + 360 is the furthest accepted.
    let nearest = app
        .login("alice", &token_for(&app, "alice", -3600, 360))
        .await;
    assert_eq!(nearest.status(), 200);
    assert_refused_like_a_wrong_password(
        &app,
        "alice",
        &token_for(&app, "alice", -3600, 361),
        "exp - ttl - tolerance is after now",
    )
    .await;
    assert_refused_like_a_wrong_password(
        &app,
        "alice",
        &token_for(&app, "alice", -3600, 86_400),
        "exp a day away",
    )
    .await;
}

#[actix_rt::test]
async fn a_forged_token_is_refused() {
    let app = spawn_enabled().await;
    app.add_user("alice", &[]).await;
    let token = token_for(&app, "alice", 0, 600);

    for (what, index) in [
        ("mac first byte", 9),
        ("mac last byte", 32),
        ("exp", 8),
        ("start", 4),
        ("version", 0),
    ] {
        assert_refused_like_a_wrong_password(&app, "alice", &flipped(&token, index), what).await;
    }
    let truncated = format!("{{PXZ}}{}", &token["{PXZ}".len()..token.len() - 2]);
    assert_refused_like_a_wrong_password(&app, "alice", &truncated, "truncated").await;
}

#[actix_rt::test]
async fn a_token_minted_under_another_token_uuid_is_refused() {
    let app = spawn_enabled().await;
    app.add_user("alice", &[]).await;
    let token = mint(OTHER_UUID, "alice", at(&app, 0), at(&app, 600));

    assert_refused_like_a_wrong_password(&app, "alice", &token, "another token_uuid").await;
}

#[actix_rt::test]
async fn tokens_for_unknown_or_disabled_users_are_refused() {
    let app = spawn_enabled().await;
    app.add_user("dave", &[]).await;
    let daves = token_for(&app, "dave", 0, 600);
    assert_eq!(app.login("dave", &daves).await.status(), 200);

    assert_refused_like_a_wrong_password(
        &app,
        "ghost",
        &token_for(&app, "ghost", 0, 600),
        "unknown user",
    )
    .await;
    let disabled = admin_patch(&app, "/api/v1/users/dave", json!({"disabled": true})).await;
    assert_eq!(disabled.status(), 200);
    assert_refused_like_a_wrong_password(&app, "dave", &daves, "disabled user").await;
}

#[actix_rt::test]
async fn with_the_mode_disabled_a_valid_token_is_only_a_wrong_password() {
    let app = spawn_app_with(|config| {
        enabled(config);
        config.preamble.token_authentication_mode = PreambleMode::Disable;
    })
    .await;
    app.add_user("alice", &[]).await;
    app.add_user("ops", &["Administrator"]).await;

    assert_refused_like_a_wrong_password(
        &app,
        "alice",
        &token_for(&app, "alice", 0, 600),
        "mode disable",
    )
    .await;
    let basic = introspect_as(&app, "ops", &token_for(&app, "ops", 0, 600)).await;
    assert_eq!(basic.status(), 401);
}

async fn create_user_with_password(app: &TestApp, userid: &str, password: &str) {
    let res = admin_post(
        app,
        "/api/v1/users",
        json!({"userid": userid, "password": password}),
    )
    .await;
    expect_json(res, 201, "create user").await;
}

#[actix_rt::test]
async fn with_the_mode_enabled_a_password_starting_with_the_preamble_is_never_tried() {
    let on = spawn_enabled().await;
    let off = spawn_app_with(|config| {
        enabled(config);
        config.preamble.token_authentication_mode = PreambleMode::Disable;
    })
    .await;
    let password = "{PXZ}pats-own-password";
    create_user_with_password(&on, "pat", password).await;
    create_user_with_password(&off, "pat", password).await;

    let enabled_login = on.login("pat", password).await;
    let disabled_login = off.login("pat", password).await;

    assert_eq!(
        enabled_login.status(),
        401,
        "taken as a token, and not a valid one"
    );
    assert_eq!(disabled_login.status(), 200, "an ordinary password");
}

#[actix_rt::test]
async fn the_admin_api_mints_the_token_the_spec_formula_gives() {
    let app = spawn_app_with(|config| {
        enabled(config);
        config.preamble.token_life_in_minutes = 7;
    })
    .await;
    app.add_user("alice", &[]).await;

    let res = mint_by_api(&app, "alice").await;

    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = expect_json(res, 200, "mint").await;
    let token = body["token"].as_str().expect("token").to_string();
    let exp = body["exp"].as_u64().expect("exp in Unix seconds");
    assert_eq!(exp - u64::from(at(&app, 0)), 7 * 60);
    assert_eq!(
        token,
        mint(TOKEN_UUID, "alice", at(&app, 0), at(&app, 7 * 60)),
        "start = now, exp = now + token_life_in_minutes"
    );
    assert_eq!(app.login("alice", &token).await.status(), 200);
}

#[actix_rt::test]
async fn minting_for_an_unknown_user_is_404() {
    let app = spawn_enabled().await;

    let res = mint_by_api(&app, "ghost").await;

    assert_eq!(res.status(), 404);
}

#[actix_rt::test]
async fn minting_with_the_mode_disabled_is_400_invalid_request() {
    let app = spawn_app_with(|config| {
        enabled(config);
        config.preamble.token_authentication_mode = PreambleMode::Disable;
    })
    .await;
    app.add_user("alice", &[]).await;

    let res = mint_by_api(&app, "alice").await;

    let body = expect_json(res, 400, "mint").await;
    assert_eq!(body["error"], "invalid_request");
}

#[actix_rt::test]
async fn minting_needs_an_admin_caller() {
    let app = spawn_enabled().await;
    app.add_user("alice", &[]).await;

    let mint_as = |auth: Option<(&'static str, &'static str)>| {
        let mut req = app
            .client
            .post(format!("{}/api/v1/tokens/preamble", app.intranet))
            .json(&json!({"userid": "alice"}));
        if let Some((user, password)) = auth {
            req = req.basic_auth(user, Some(password));
        }
        req.send()
    };

    let roleless = mint_as(Some(("alice", PASSWORD))).await.expect("request");
    let anonymous = mint_as(None).await.expect("request");

    assert_eq!(roleless.status(), 403);
    assert_eq!(anonymous.status(), 401);
}

#[actix_rt::test]
async fn introspection_of_a_preamble_token_needs_its_username() {
    let app = spawn_enabled().await;
    app.add_user("alice", &[]).await;
    app.add_user("bob", &[]).await;
    let (start, exp) = (at(&app, -10), at(&app, 590));
    let token = mint(TOKEN_UUID, "alice", start, exp);

    let named = introspect_form(&app, &[("token", &token), ("username", "alice")]).await;
    let unnamed = introspect_form(&app, &[("token", &token)]).await;
    let misnamed = introspect_form(&app, &[("token", &token), ("username", "bob")]).await;

    assert_eq!(
        named,
        json!({
            "active": true,
            "token_type": "preamble_token",
            "sub": "alice",
            "username": "alice",
            "nbf": start,
            "iat": start,
            "exp": exp,
        })
    );
    assert_eq!(unnamed, json!({"active": false}));
    assert_eq!(misnamed, json!({"active": false}));
}

// The real binary, for a token_uuid generated on first start and read back after a restart
// (process helpers as in durability.rs).

const BIN: &str = env!("CARGO_BIN_EXE_tessera");
const BINARY_ADMIN_PASSWORD: &str = "admin-password-1";

struct Server {
    child: Child,
    public: String,
    intranet: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn kill9(mut self) {
        // SIGKILL: nothing is flushed on the way out.
        self.child.kill().expect("kill");
        self.child.wait().expect("reaped");
    }
}

/// Starts `tessera serve` and reads its log until it says where it listens.
fn start(config: &Path, admin_password: Option<&str>) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.env("TESSERA_CONFIG", config)
        .env("RUST_LOG", "info")
        .env_remove("TESSERA_ADMIN_PASSWORD")
        .env_remove("TESSERA_DATA_DIR")
        .env_remove("TESSERA_BIND")
        .env_remove("TESSERA_ADMIN_BIND")
        .arg("serve")
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
                let public = rest.split(' ').next().unwrap_or_default().to_string();
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
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("tessera logged its listeners");
    Server {
        child,
        public: format!("http://{public}"),
        intranet: format!("http://{intranet}"),
    }
}

async fn binary_login(server: &Server, userid: &str, password: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/login", server.public))
        .json(&json!({"userid": userid, "password": password}))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[actix_rt::test]
async fn a_generated_token_uuid_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        "[preamble]\ntoken_authentication_mode = \"enable\"\n",
    );
    let server = start(&config, Some(BINARY_ADMIN_PASSWORD));
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/tokens/preamble", server.intranet))
        .basic_auth("admin", Some(BINARY_ADMIN_PASSWORD))
        .json(&json!({"userid": "admin"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    let token = res.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    assert_eq!(binary_login(&server, "admin", &token).await, 200);
    server.kill9();

    let server = start(&config, None);

    assert_eq!(
        binary_login(&server, "admin", &token).await,
        200,
        "the token_uuid generated on first start was kept"
    );
}
