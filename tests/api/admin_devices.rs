//! decisions-3 "Device auth token" (SPEC §4): one per application, created or rotated by the
//! admin, presented by devices as `X-Device-AuthToken`.

use crate::admin_helpers::{
    admin_delete, admin_get, admin_post, check, create_app, create_device_token, expect_json,
    field_set, fields, header, now, parse_time, str_of,
};
use crate::helpers::{spawn_app, TestApp};
use serde_json::json;

fn device_path(app_id: &str) -> String {
    format!("/api/v1/applications/{app_id}/device-token")
}

async fn check_device(app: &TestApp, token: &str) -> reqwest::Response {
    check(app, &[("X-Device-AuthToken", token)]).await
}

#[actix_rt::test]
async fn a_device_token_is_created_and_described_without_its_secret() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let before = expect_json(admin_get(&app, &device_path(&app_id)).await, 200, "before").await;

    let res = admin_post(&app, &device_path(&app_id), json!({})).await;

    let body = expect_json(res, 201, "create").await;
    assert_eq!(fields(&body), field_set(&["device_auth_token"]));
    let token = str_of(&body["device_auth_token"]);
    assert!(token.starts_with("tsd_"), "{token}");
    assert_eq!(before, json!({"enabled": false, "created_at": null}));
    let after = expect_json(admin_get(&app, &device_path(&app_id)).await, 200, "after").await;
    assert_eq!(fields(&after), field_set(&["enabled", "created_at"]));
    assert_eq!(after["enabled"], true);
    assert_eq!(parse_time(&after["created_at"]), now(&app));
    assert_eq!(check_device(&app, &token).await.status(), 200);
}

#[actix_rt::test]
async fn rotating_the_device_token_refuses_the_previous_one() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let old = create_device_token(&app, &app_id).await;

    let new = create_device_token(&app, &app_id).await;

    assert_ne!(old, new);
    assert_eq!(check_device(&app, &old).await.status(), 401);
    let res = check_device(&app, &new).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "x-auth-kind").as_deref(), Some("device_token"));
    assert_eq!(header(&res, "x-auth-app").as_deref(), Some(app_id.as_str()));
}

#[actix_rt::test]
async fn deleting_the_device_token_refuses_it() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let token = create_device_token(&app, &app_id).await;

    let res = admin_delete(&app, &device_path(&app_id)).await;

    assert_eq!(res.status(), 204);
    assert_eq!(check_device(&app, &token).await.status(), 401);
    let described = expect_json(admin_get(&app, &device_path(&app_id)).await, 200, "get").await;
    assert_eq!(described["enabled"], false);
}

#[actix_rt::test]
async fn device_token_routes_of_an_unknown_app_are_404() {
    let app = spawn_app().await;
    let unknown = uuid::Uuid::new_v4().to_string();

    let delete = admin_delete(&app, &device_path(&unknown)).await;
    let create = admin_post(&app, &device_path(&unknown), json!({})).await;
    let get = admin_get(&app, &device_path(&unknown)).await;

    assert_eq!(delete.status(), 404);
    assert_eq!(create.status(), 404);
    assert_eq!(get.status(), 404);
}

#[actix_rt::test]
async fn a_device_token_of_one_app_says_which_app() {
    let app = spawn_app().await;
    let one = create_app(&app, "one").await;
    let two = create_app(&app, "two").await;
    let token_one = create_device_token(&app, &one).await;
    let token_two = create_device_token(&app, &two).await;

    let a = check_device(&app, &token_one).await;
    let b = check_device(&app, &token_two).await;

    assert_eq!(header(&a, "x-auth-app").as_deref(), Some(one.as_str()));
    assert_eq!(header(&b, "x-auth-app").as_deref(), Some(two.as_str()));
}

#[actix_rt::test]
async fn deleting_a_device_token_that_was_never_created_is_204() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;

    let res = admin_delete(&app, &device_path(&app_id)).await;

    assert_eq!(res.status(), 204);
}
