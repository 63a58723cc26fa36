//! decisions-4 "Live reload" (SPEC §2): a changed file applies to the next request without a
//! restart; `POST /api/v1/admin/reload`; a broken file changes nothing and is explained with
//! its values redacted; start-only settings are kept and named.

use crate::admin_helpers::{admin_request, expect_json, header, jwt_part};
use crate::config_helpers::{eventually, rewrite, spawn_from_file};
use crate::helpers::{json, spawn_app, TestApp, ADMIN_PASSWORD};
use serde_json::json;

const OLD: &str = r#"
[server]
username = "gateway"

[service.introspection]
password = "old-password-1"

# The test polls with a password not yet in force: lift the lockout it is not about.
[login_protection]
max_failures = 1000
max_failures_per_address = 1000
"#;

const NEW: &str = r#"
[server]
username = "gateway"

[service.introspection]
password = "new-password-22"

# The test polls with a password not yet in force: lift the lockout it is not about.
[login_protection]
max_failures = 1000
max_failures_per_address = 1000
"#;

/// Introspects `token` on the intranet listener as the static `gateway` caller.
async fn introspect_as_gateway(app: &TestApp, password: &str, token: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/oauth2/introspect", app.intranet))
        .basic_auth("gateway", Some(password))
        .form(&[("token", token)])
        .send()
        .await
        .expect("request")
}

async fn gateway_status(app: &TestApp, password: &str) -> u16 {
    introspect_as_gateway(app, password, "not-a-token")
        .await
        .status()
        .as_u16()
}

async fn post_reload(app: &TestApp) -> reqwest::Response {
    admin_request(app, reqwest::Method::POST, "/api/v1/admin/reload")
        .send()
        .await
        .expect("request")
}

async fn admin_claims(app: &TestApp) -> String {
    let res = app.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(res.status(), 200);
    json(res).await["claims_token"]["value"]
        .as_str()
        .expect("claims")
        .to_string()
}

#[actix_rt::test]
async fn a_rewritten_file_swaps_the_introspection_password_without_a_restart() {
    let (app, path) = spawn_from_file(OLD).await;
    let claims = admin_claims(&app).await;
    assert_eq!(gateway_status(&app, "old-password-1").await, 200);

    rewrite(&path, NEW);

    let running = &app;
    eventually(
        || async move { gateway_status(running, "new-password-22").await == 200 },
        "the rewritten password is accepted",
    )
    .await;
    assert_eq!(gateway_status(&app, "old-password-1").await, 401);
    // Same listeners, same store, same signing keys: a token issued before the reload is live.
    let res = introspect_as_gateway(&app, "new-password-22", &claims).await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["active"], true);
}

#[actix_rt::test]
async fn post_admin_reload_applies_the_file_and_answers_reloaded() {
    let (app, path) = spawn_from_file(OLD).await;
    rewrite(&path, NEW);

    let res = post_reload(&app).await;

    let body = expect_json(res, 200, "reload").await;
    assert_eq!(body, json!({"status": "reloaded", "restart_required": []}));
    assert_eq!(gateway_status(&app, "new-password-22").await, 200);
    assert_eq!(gateway_status(&app, "old-password-1").await, 401);
}

#[actix_rt::test]
async fn a_broken_file_is_refused_with_422_and_the_old_settings_stay() {
    let (app, path) = spawn_from_file(OLD).await;
    // Each file would also change the password, so a half-applied reload would show.
    let cases = [
        (
            "syntax error",
            "[server]\nusername = \"gateway\"\n\n[service.introspection]\npassword = \"new-password-22\"\n\n[tokens\nclaims_ttl_seconds = 60\n",
            "line 7",
        ),
        (
            "unknown key",
            "[server]\nusername = \"gateway\"\n\n[service.introspection]\npassword = \"new-password-22\"\npasword = \"new-password-22\"\n",
            "pasword",
        ),
        (
            "invalid value",
            "[server]\nusername = \"gateway\"\n\n[service.introspection]\npassword = \"new-password-22\"\n\n[tokens]\nclaims_ttl_seconds = 0\n",
            "tokens.claims_ttl_seconds",
        ),
        (
            "unknown service",
            "[server]\nusername = \"gateway\"\n\n[service.introspection]\npassword = \"new-password-22\"\n\n[service.billing]\nroles = []\n",
            "billing",
        ),
    ];

    for (what, text, named) in cases {
        rewrite(&path, text);

        let res = post_reload(&app).await;

        let body = expect_json(res, 422, what).await;
        assert_eq!(body["error"], "invalid_config", "{what}");
        assert!(body["request_id"].is_string(), "{what}: {body}");
        let description = body["error_description"].as_str().unwrap_or_default();
        assert!(description.contains(named), "{what}: {description}");
        assert_eq!(gateway_status(&app, "old-password-1").await, 200, "{what}");
        assert_eq!(gateway_status(&app, "new-password-22").await, 401, "{what}");
    }
}

#[actix_rt::test]
async fn a_refused_reload_does_not_repeat_the_values_of_the_file() {
    let (app, path) = spawn_from_file(OLD).await;
    let cases = [
        (
            "wrong type",
            "[server]\nusername = \"gateway\"\n\n[service.introspection]\npassword = 12345678\n",
            "12345678",
        ),
        (
            "unterminated string",
            "[server]\nusername = \"gateway\"\n\n[service.introspection]\npassword = \"leaky-secret-7\n",
            "leaky-secret-7",
        ),
        (
            "wrong type in server",
            "[server]\nusername = \"gateway\"\npassword = [\"array-secret-8\"]\n",
            "array-secret-8",
        ),
    ];

    for (what, text, secret) in cases {
        rewrite(&path, text);

        let res = post_reload(&app).await;

        assert_eq!(res.status(), 422, "{what}");
        let text = res.text().await.expect("body");
        assert!(text.contains("invalid_config"), "{what}: {text}");
        assert!(
            !text.contains(secret),
            "{what}: the value is repeated: {text}"
        );
        assert_eq!(gateway_status(&app, "old-password-1").await, 200, "{what}");
    }
}

#[actix_rt::test]
async fn a_changed_bind_is_named_as_restart_required_and_the_old_port_keeps_serving() {
    let (app, path) = spawn_from_file(OLD).await;
    rewrite(
        &path,
        r#"
        [server]
        username = "gateway"
        bind = "127.0.0.1:1"

        [service.introspection]
        password = "new-password-22"
        "#,
    );

    let res = post_reload(&app).await;

    let body = expect_json(res, 200, "reload").await;
    assert_eq!(body["status"], "reloaded");
    assert_eq!(body["restart_required"], json!(["server.bind"]));
    let health = app
        .client
        .get(format!("{}/health", app.public))
        .send()
        .await
        .expect("the public listener still answers on its old port");
    assert_eq!(health.status(), 200);
    assert_eq!(
        gateway_status(&app, "new-password-22").await,
        200,
        "the live settings of the same file are applied"
    );
}

#[actix_rt::test]
async fn a_server_started_without_a_file_answers_422_to_reload() {
    let app = spawn_app().await;

    let res = post_reload(&app).await;

    let body = expect_json(res, 422, "reload").await;
    assert_eq!(body["error"], "invalid_config");
}

#[actix_rt::test]
async fn a_new_claims_lifetime_applies_to_the_next_login() {
    let (app, path) = spawn_from_file(OLD).await;
    let before = jwt_part(&admin_claims(&app).await, 1);
    assert_eq!(
        before["exp"].as_i64().expect("exp") - before["iat"].as_i64().expect("iat"),
        900
    );
    rewrite(
        &path,
        &format!("{OLD}\n[tokens]\nclaims_ttl_seconds = 60\n"),
    );

    let res = post_reload(&app).await;

    assert_eq!(res.status(), 200);
    let after = jwt_part(&admin_claims(&app).await, 1);
    assert_eq!(
        after["exp"].as_i64().expect("exp") - after["iat"].as_i64().expect("iat"),
        60
    );
}

#[actix_rt::test]
async fn a_new_realm_is_in_the_next_challenge() {
    let (app, path) = spawn_from_file(OLD).await;
    rewrite(
        &path,
        r#"
        [server]
        username = "gateway"
        realm = "renamed"

        [service.introspection]
        password = "old-password-1"
        "#,
    );

    let res = post_reload(&app).await;

    assert_eq!(res.status(), 200);
    let refused = introspect_as_gateway(&app, "wrong-password", "x").await;
    assert_eq!(refused.status(), 401);
    assert_eq!(
        header(&refused, "www-authenticate").as_deref(),
        Some(r#"Basic realm="renamed""#)
    );
}
