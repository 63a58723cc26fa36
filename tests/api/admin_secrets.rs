//! decisions-3 "Secrets" (SPEC §4, §10): the store keeps only hashes of the secrets tessera
//! issues, and a mistyped or truncated secret is refused.

use crate::admin_helpers::{
    admin_post, admin_put, app_side_get, check, create_app, create_client, create_device_token,
    create_key, expect_json, mistyped, pair, request_pair, str_of, truncated,
};
use crate::helpers::{spawn_app, ADMIN_PASSWORD, PASSWORD};
use serde_json::json;
use std::path::Path;

fn every_file(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            every_file(&path, out);
        } else {
            out.push((
                path.display().to_string(),
                std::fs::read(&path).expect("read"),
            ));
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[actix_rt::test]
async fn no_issued_secret_or_password_is_stored_in_the_clear() {
    let app = spawn_app().await;
    let user_password = "plaintext-canary-password";
    let created = admin_post(
        &app,
        "/api/v1/users",
        json!({"userid": "alice", "password": user_password, "firstname": "MarkerFirstname"}),
    )
    .await;
    assert_eq!(created.status(), 201);
    app.add_user("bob", &[]).await;
    let changed_password = "another-canary-password";
    let put = admin_put(
        &app,
        "/api/v1/users/bob/password",
        json!({"password": changed_password}),
    )
    .await;
    assert_eq!(put.status(), 204);
    let login = app.login("alice", user_password).await;
    let login = expect_json(login, 200, "login").await;
    let refresh_token = str_of(&login["refresh_token"]);
    let app_id = create_app(&app, "MarkerApplicationName").await;
    let (key_id, api_key) = create_key(&app, &app_id, "kiosk").await;
    let refreshed = expect_json(
        admin_post(
            &app,
            &format!("/api/v1/applications/{app_id}/keys/{key_id}/refresh"),
            json!({"grace_seconds": 60}),
        )
        .await,
        200,
        "refresh key",
    )
    .await;
    let refreshed_key = str_of(&refreshed["key"]);
    let device_token = create_device_token(&app, &app_id).await;
    let (client_id, client_secret) = create_client(&app, "billing", &["read"]).await;
    let (_, access_secret) = pair(&app, &client_id, &client_secret).await;
    let rotated = expect_json(
        admin_post(
            &app,
            &format!("/api/v1/oauth/clients/{client_id}/secret"),
            json!({}),
        )
        .await,
        200,
        "rotate client secret",
    )
    .await;
    let rotated_secret = str_of(&rotated["client_secret"]);

    let mut files = Vec::new();
    every_file(app._data_dir.path(), &mut files);

    assert!(
        files
            .iter()
            .any(|(_, bytes)| contains(bytes, b"MarkerApplicationName")),
        "the store is somewhere else than the data dir"
    );
    assert!(
        files
            .iter()
            .any(|(_, bytes)| contains(bytes, b"$argon2id$")),
        "passwords are stored as argon2id PHC strings"
    );
    for (what, secret) in [
        ("refresh token", refresh_token.as_str()),
        ("api key", api_key.as_str()),
        ("refreshed api key", refreshed_key.as_str()),
        ("device token", device_token.as_str()),
        ("client secret", client_secret.as_str()),
        ("rotated client secret", rotated_secret.as_str()),
        ("access secret", access_secret.as_str()),
        ("created user's password", user_password),
        ("changed password", changed_password),
        ("add_user password", PASSWORD),
        ("admin password", ADMIN_PASSWORD),
    ] {
        // The random part alone, so a stored value without its prefix is caught as well.
        let core = secret
            .get(4..)
            .filter(|_| secret.contains('_'))
            .unwrap_or(secret);
        for (path, bytes) in &files {
            assert!(!contains(bytes, core.as_bytes()), "{what} in {path}");
        }
    }
}

#[actix_rt::test]
async fn a_mistyped_or_truncated_api_key_is_refused() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let (_, key) = create_key(&app, &app_id, "kiosk").await;

    for (what, presented) in [
        ("mistyped", mistyped(&key)),
        ("truncated", truncated(&key)),
        ("upper case", key.to_uppercase()),
    ] {
        assert_eq!(
            app_side_get(&app, &app_id, Some(&presented)).await.status(),
            401,
            "{what}"
        );
        assert_eq!(
            check(&app, &[("X-VoltMX-App-API-Key", &presented)])
                .await
                .status(),
            401,
            "{what}"
        );
        assert_eq!(
            app.introspect(&presented).await,
            json!({"active": false}),
            "{what}"
        );
    }
    assert_eq!(app_side_get(&app, &app_id, Some(&key)).await.status(), 200);
}

#[actix_rt::test]
async fn a_mistyped_or_truncated_device_token_is_refused() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let token = create_device_token(&app, &app_id).await;

    for (what, presented) in [
        ("mistyped", mistyped(&token)),
        ("truncated", truncated(&token)),
    ] {
        assert_eq!(
            check(&app, &[("X-Device-AuthToken", &presented)])
                .await
                .status(),
            401,
            "{what}"
        );
        assert_eq!(
            app.introspect(&presented).await,
            json!({"active": false}),
            "{what}"
        );
    }
    assert_eq!(
        check(&app, &[("X-Device-AuthToken", &token)])
            .await
            .status(),
        200
    );
}

#[actix_rt::test]
async fn a_mistyped_client_secret_or_access_secret_is_refused() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &[]).await;
    let (token, access_secret) = pair(&app, &client_id, &secret).await;

    let bad_client = request_pair(&app, &client_id, &mistyped(&secret)).await;
    let bad_pair = check(
        &app,
        &[
            ("AccessToken", &token),
            ("AccessSecret", &mistyped(&access_secret)),
        ],
    )
    .await;
    let short_pair = check(
        &app,
        &[
            ("AccessToken", &token),
            ("AccessSecret", &truncated(&access_secret)),
        ],
    )
    .await;

    assert_eq!(bad_client.status(), 401);
    assert_eq!(bad_pair.status(), 401);
    assert_eq!(short_pair.status(), 401);
}
