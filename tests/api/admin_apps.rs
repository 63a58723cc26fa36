//! decisions-3 "Applications" and "App API keys" (SPEC §4): the admin side on the intranet
//! listener and the application side (`X-VoltMX-App-API-Key`) on the public one.

use crate::admin_helpers::{
    admin_delete, admin_get, admin_patch, admin_post, app_side_get, check, create_app,
    create_device_token, create_key, expect_json, field_set, fields, header, is_uuid, now,
    parse_time, rfc3339, str_of, truncated,
};
use crate::helpers::{json, spawn_app, TestApp};
use serde_json::{json, Value};
use time::Duration;

const KEY_CREATED_FIELDS: &[&str] = &["id", "name", "key", "created_at", "expires_at", "enabled"];
const KEY_FIELDS: &[&str] = &[
    "id",
    "name",
    "created_at",
    "expires_at",
    "enabled",
    "last_used_at",
];

fn keys_path(app_id: &str) -> String {
    format!("/api/v1/applications/{app_id}/keys")
}

async fn list_keys(app: &TestApp, app_id: &str) -> Value {
    expect_json(admin_get(app, &keys_path(app_id)).await, 200, "list keys").await
}

async fn assert_refused(res: reqwest::Response, what: &str) {
    assert_eq!(res.status(), 401, "{what}");
    assert!(
        header(&res, "www-authenticate").is_none(),
        "{what}: no Basic challenge for an app key"
    );
    assert_eq!(json(res).await["error"], "unauthorized", "{what}");
}

// --- applications -------------------------------------------------------------------------

#[actix_rt::test]
async fn creating_an_application_answers_201_with_a_uuid_app_id() {
    let app = spawn_app().await;

    let res = admin_post(
        &app,
        "/api/v1/applications",
        json!({"name": "Contact centre"}),
    )
    .await;

    let body = expect_json(res, 201, "create").await;
    assert_eq!(fields(&body), field_set(&["app_id", "name", "created_at"]));
    assert!(is_uuid(&body["app_id"]), "{body}");
    assert_eq!(body["name"], "Contact centre");
    assert_eq!(parse_time(&body["created_at"]), now(&app));
}

#[actix_rt::test]
async fn applications_are_listed_and_fetched_by_id() {
    let app = spawn_app().await;
    let one = create_app(&app, "one").await;
    let two = create_app(&app, "two").await;

    let listed = expect_json(admin_get(&app, "/api/v1/applications").await, 200, "list").await;
    let fetched = expect_json(
        admin_get(&app, &format!("/api/v1/applications/{two}")).await,
        200,
        "get",
    )
    .await;

    let apps = listed["applications"].as_array().expect("applications");
    let mut ids: Vec<String> = apps.iter().map(|a| str_of(&a["app_id"])).collect();
    ids.sort();
    let mut expected = vec![one, two.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    for a in apps {
        assert_eq!(fields(a), field_set(&["app_id", "name", "created_at"]));
    }
    assert_eq!(fetched["app_id"], two.as_str());
    assert_eq!(fetched["name"], "two");
    assert!(apps.contains(&fetched));
}

#[actix_rt::test]
async fn an_unknown_application_is_404() {
    let app = spawn_app().await;
    let unknown = uuid::Uuid::new_v4();

    let get = admin_get(&app, &format!("/api/v1/applications/{unknown}")).await;
    let delete = admin_delete(&app, &format!("/api/v1/applications/{unknown}")).await;
    let keys = admin_post(&app, &keys_path(&unknown.to_string()), json!({"name": "k"})).await;

    assert_eq!(get.status(), 404);
    assert_eq!(json(get).await["error"], "not_found");
    assert_eq!(delete.status(), 404);
    assert_eq!(keys.status(), 404);
}

#[actix_rt::test]
async fn unknown_fields_in_an_application_body_are_400() {
    let app = spawn_app().await;

    let res = admin_post(
        &app,
        "/api/v1/applications",
        json!({"name": "x", "owner": "y"}),
    )
    .await;

    assert_eq!(res.status(), 400);
    assert_eq!(json(res).await["error"], "invalid_request");
}

#[actix_rt::test]
async fn deleting_an_application_takes_its_keys_and_device_token_with_it() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "doomed").await;
    let (_, key) = create_key(&app, &app_id, "kiosk").await;
    let device = create_device_token(&app, &app_id).await;
    assert_eq!(app_side_get(&app, &app_id, Some(&key)).await.status(), 200);

    let res = admin_delete(&app, &format!("/api/v1/applications/{app_id}")).await;

    assert_eq!(res.status(), 204);
    assert_eq!(
        admin_get(&app, &format!("/api/v1/applications/{app_id}"))
            .await
            .status(),
        404
    );
    assert_refused(app_side_get(&app, &app_id, Some(&key)).await, "key").await;
    assert_eq!(
        check(&app, &[("X-VoltMX-App-API-Key", &key)])
            .await
            .status(),
        401
    );
    assert_eq!(
        check(&app, &[("X-Device-AuthToken", &device)])
            .await
            .status(),
        401
    );
    assert_eq!(app.introspect(&key).await, json!({"active": false}));
    assert_eq!(app.introspect(&device).await, json!({"active": false}));
    let listed = json(admin_get(&app, "/api/v1/applications").await).await;
    assert_eq!(listed["applications"], json!([]));
}

// --- API keys: admin side -----------------------------------------------------------------

#[actix_rt::test]
async fn creating_an_api_key_shows_its_secret_once() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;

    let res = admin_post(&app, &keys_path(&app_id), json!({"name": "kiosk"})).await;

    let created = expect_json(res, 201, "create key").await;
    assert_eq!(fields(&created), field_set(KEY_CREATED_FIELDS));
    let key = str_of(&created["key"]);
    assert!(key.starts_with("tsk_"), "{key}");
    assert!(is_uuid(&created["id"]), "{created}");
    assert_eq!(created["name"], "kiosk");
    assert_eq!(created["enabled"], true);
    assert!(created["expires_at"].is_null());
    assert_eq!(parse_time(&created["created_at"]), now(&app));
    let listed = admin_get(&app, &keys_path(&app_id)).await;
    let text = listed.text().await.expect("body");
    assert!(!text.contains(&key), "the list shows the secret: {text}");
    let listed: Value = serde_json::from_str(&text).expect("json");
    let keys = listed["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(fields(&keys[0]), field_set(KEY_FIELDS));
    assert_eq!(keys[0]["id"], created["id"]);
    assert_eq!(keys[0]["name"], "kiosk");
    assert_eq!(keys[0]["enabled"], true);
    assert!(keys[0]["last_used_at"].is_null());
    assert_eq!(keys[0]["created_at"], created["created_at"]);
}

#[actix_rt::test]
async fn an_app_has_several_keys_each_working() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let (one, first) = create_key(&app, &app_id, "one").await;
    let (two, second) = create_key(&app, &app_id, "two").await;

    let a = app_side_get(&app, &app_id, Some(&first)).await;
    let b = app_side_get(&app, &app_id, Some(&second)).await;

    assert_ne!(one, two);
    assert_ne!(first, second);
    assert_eq!(a.status(), 200);
    assert_eq!(b.status(), 200);
    assert_eq!(
        list_keys(&app, &app_id).await["keys"]
            .as_array()
            .expect("keys")
            .len(),
        2
    );
}

#[actix_rt::test]
async fn last_used_at_is_set_once_the_key_is_used() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let (_, key) = create_key(&app, &app_id, "kiosk").await;
    app.clock.advance(Duration::seconds(42));

    assert_eq!(app_side_get(&app, &app_id, Some(&key)).await.status(), 200);

    let listed = list_keys(&app, &app_id).await;
    let entry = &listed["keys"][0];
    let used = parse_time(&entry["last_used_at"]);
    assert!(used > parse_time(&entry["created_at"]), "{entry}");
    assert!(used <= now(&app), "{entry}");
}

#[actix_rt::test]
async fn patch_renames_a_key_and_answers_its_metadata() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let (id, key) = create_key(&app, &app_id, "old name").await;

    let res = admin_patch(
        &app,
        &format!("{}/{id}", keys_path(&app_id)),
        json!({"name": "new name"}),
    )
    .await;
    let missing = admin_patch(
        &app,
        &format!("{}/{}", keys_path(&app_id), uuid::Uuid::new_v4()),
        json!({"name": "x"}),
    )
    .await;
    let unknown_field = admin_patch(
        &app,
        &format!("{}/{id}", keys_path(&app_id)),
        json!({"colour": "red"}),
    )
    .await;

    let body = expect_json(res, 200, "patch").await;
    assert_eq!(fields(&body), field_set(KEY_FIELDS));
    assert_eq!(body["name"], "new name");
    assert_eq!(body["id"], id.as_str());
    assert_eq!(missing.status(), 404);
    assert_eq!(unknown_field.status(), 400);
    assert_eq!(
        list_keys(&app, &app_id).await["keys"][0]["name"],
        "new name"
    );
    assert_eq!(app_side_get(&app, &app_id, Some(&key)).await.status(), 200);
}

// --- API keys: application side -----------------------------------------------------------

#[actix_rt::test]
async fn the_app_side_get_answers_on_the_public_listener_with_a_key_of_that_app() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let (_, key) = create_key(&app, &app_id, "kiosk").await;
    let admin_view = json(admin_get(&app, &format!("/api/v1/applications/{app_id}")).await).await;

    let res = app_side_get(&app, &app_id, Some(&key)).await;

    assert_eq!(expect_json(res, 200, "app side").await, admin_view);
}

#[actix_rt::test]
async fn a_key_of_another_app_is_403() {
    let app = spawn_app().await;
    let mine = create_app(&app, "mine").await;
    let theirs = create_app(&app, "theirs").await;
    let (_, key) = create_key(&app, &theirs, "kiosk").await;

    let res = app_side_get(&app, &mine, Some(&key)).await;

    assert_eq!(res.status(), 403);
}

#[actix_rt::test]
async fn a_missing_garbage_or_truncated_key_is_401_without_a_challenge() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let (_, key) = create_key(&app, &app_id, "kiosk").await;

    assert_refused(app_side_get(&app, &app_id, None).await, "missing").await;
    assert_refused(
        app_side_get(&app, &app_id, Some("garbage")).await,
        "garbage",
    )
    .await;
    assert_refused(app_side_get(&app, &app_id, Some("tsk_")).await, "prefix").await;
    assert_refused(
        app_side_get(&app, &app_id, Some(&truncated(&key))).await,
        "truncated",
    )
    .await;
    assert_refused(
        app_side_get(&app, &app_id, Some(&format!("{key}a"))).await,
        "longer",
    )
    .await;
}

#[actix_rt::test]
async fn a_disabled_key_is_refused_until_it_is_enabled_again() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let (id, key) = create_key(&app, &app_id, "kiosk").await;
    let path = format!("{}/{id}", keys_path(&app_id));

    let disabled = admin_patch(&app, &path, json!({"enabled": false})).await;
    assert_eq!(
        expect_json(disabled, 200, "disable").await["enabled"],
        false
    );
    assert_refused(app_side_get(&app, &app_id, Some(&key)).await, "disabled").await;
    assert_eq!(list_keys(&app, &app_id).await["keys"][0]["enabled"], false);

    let enabled = admin_patch(&app, &path, json!({"enabled": true})).await;
    assert_eq!(expect_json(enabled, 200, "enable").await["enabled"], true);
    assert_eq!(app_side_get(&app, &app_id, Some(&key)).await.status(), 200);
}

#[actix_rt::test]
async fn a_key_past_its_expires_at_is_refused() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let expires = now(&app) + Duration::seconds(60);

    let created = expect_json(
        admin_post(
            &app,
            &keys_path(&app_id),
            json!({"name": "short-lived", "expires_at": rfc3339(expires)}),
        )
        .await,
        201,
        "create",
    )
    .await;
    let key = str_of(&created["key"]);

    assert_eq!(parse_time(&created["expires_at"]), expires);
    assert_eq!(app_side_get(&app, &app_id, Some(&key)).await.status(), 200);
    app.clock.advance(Duration::seconds(120));
    assert_refused(app_side_get(&app, &app_id, Some(&key)).await, "expired").await;
    assert_eq!(
        check(&app, &[("X-VoltMX-App-API-Key", &key)])
            .await
            .status(),
        401
    );
}

#[actix_rt::test]
async fn patch_can_clear_or_set_expires_at() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let created = expect_json(
        admin_post(
            &app,
            &keys_path(&app_id),
            json!({"name": "k", "expires_at": rfc3339(now(&app) + Duration::seconds(60))}),
        )
        .await,
        201,
        "create",
    )
    .await;
    let (id, key) = (str_of(&created["id"]), str_of(&created["key"]));
    let path = format!("{}/{id}", keys_path(&app_id));

    let cleared = admin_patch(&app, &path, json!({"expires_at": null})).await;
    assert!(expect_json(cleared, 200, "clear").await["expires_at"].is_null());
    app.clock.advance(Duration::seconds(120));
    assert_eq!(app_side_get(&app, &app_id, Some(&key)).await.status(), 200);

    let soon = now(&app) + Duration::seconds(10);
    let set = admin_patch(&app, &path, json!({"expires_at": rfc3339(soon)})).await;
    assert_eq!(
        parse_time(&expect_json(set, 200, "set").await["expires_at"]),
        soon
    );
    app.clock.advance(Duration::seconds(11));
    assert_refused(app_side_get(&app, &app_id, Some(&key)).await, "expired").await;
}

#[actix_rt::test]
async fn expires_at_in_the_past_or_not_rfc3339_is_400() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let past = rfc3339(now(&app) - Duration::seconds(60));

    for expires_at in [past.as_str(), "tomorrow", "1700000000"] {
        let res = admin_post(
            &app,
            &keys_path(&app_id),
            json!({"name": "k", "expires_at": expires_at}),
        )
        .await;
        assert_eq!(res.status(), 400, "{expires_at}");
        assert_eq!(json(res).await["error"], "invalid_request", "{expires_at}");
    }
    assert_eq!(list_keys(&app, &app_id).await["keys"], json!([]));
}

#[actix_rt::test]
async fn refreshing_a_key_gives_a_new_secret_and_refuses_the_old_at_once() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let (id, old) = create_key(&app, &app_id, "kiosk").await;

    let res = admin_post(
        &app,
        &format!("{}/{id}/refresh", keys_path(&app_id)),
        json!({}),
    )
    .await;

    let body = expect_json(res, 200, "refresh").await;
    assert_eq!(fields(&body), field_set(KEY_CREATED_FIELDS));
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["name"], "kiosk");
    let new = str_of(&body["key"]);
    assert!(new.starts_with("tsk_"));
    assert_ne!(new, old);
    assert_refused(app_side_get(&app, &app_id, Some(&old)).await, "old").await;
    assert_eq!(app_side_get(&app, &app_id, Some(&new)).await.status(), 200);
    assert_eq!(
        list_keys(&app, &app_id).await["keys"]
            .as_array()
            .expect("keys")
            .len(),
        1
    );
}

#[actix_rt::test]
async fn refreshing_with_grace_keeps_the_old_secret_for_that_long() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let (id, old) = create_key(&app, &app_id, "kiosk").await;

    let body = expect_json(
        admin_post(
            &app,
            &format!("{}/{id}/refresh", keys_path(&app_id)),
            json!({"grace_seconds": 300}),
        )
        .await,
        200,
        "refresh",
    )
    .await;
    let new = str_of(&body["key"]);

    assert_eq!(app_side_get(&app, &app_id, Some(&old)).await.status(), 200);
    assert_eq!(app_side_get(&app, &app_id, Some(&new)).await.status(), 200);
    app.clock.advance(Duration::seconds(299));
    assert_eq!(app_side_get(&app, &app_id, Some(&old)).await.status(), 200);
    app.clock.advance(Duration::seconds(2));
    assert_refused(app_side_get(&app, &app_id, Some(&old)).await, "after grace").await;
    assert_eq!(app_side_get(&app, &app_id, Some(&new)).await.status(), 200);
}

#[actix_rt::test]
async fn grace_seconds_beyond_thirty_days_is_400_and_an_unknown_key_404() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let (id, key) = create_key(&app, &app_id, "kiosk").await;

    let too_long = admin_post(
        &app,
        &format!("{}/{id}/refresh", keys_path(&app_id)),
        json!({"grace_seconds": 2_592_001}),
    )
    .await;
    let negative = admin_post(
        &app,
        &format!("{}/{id}/refresh", keys_path(&app_id)),
        json!({"grace_seconds": -1}),
    )
    .await;
    let unknown = admin_post(
        &app,
        &format!("{}/{}/refresh", keys_path(&app_id), uuid::Uuid::new_v4()),
        json!({}),
    )
    .await;

    assert_eq!(too_long.status(), 400);
    assert_eq!(negative.status(), 400);
    assert_eq!(unknown.status(), 404);
    assert_eq!(app_side_get(&app, &app_id, Some(&key)).await.status(), 200);
}

#[actix_rt::test]
async fn deleting_a_key_refuses_it_at_once() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let (id, key) = create_key(&app, &app_id, "kiosk").await;
    let (_, other) = create_key(&app, &app_id, "other").await;
    let path = format!("{}/{id}", keys_path(&app_id));

    let res = admin_delete(&app, &path).await;

    assert_eq!(res.status(), 204);
    assert_refused(app_side_get(&app, &app_id, Some(&key)).await, "deleted").await;
    assert_eq!(
        app_side_get(&app, &app_id, Some(&other)).await.status(),
        200
    );
    assert_eq!(admin_delete(&app, &path).await.status(), 404);
    let keys = list_keys(&app, &app_id).await;
    assert_eq!(keys["keys"].as_array().expect("keys").len(), 1);
    assert_eq!(keys["keys"][0]["name"], "other");
}

#[actix_rt::test]
async fn an_application_or_key_without_a_name_is_400() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;

    let no_app_name = admin_post(&app, "/api/v1/applications", json!({})).await;
    let no_key_name = admin_post(&app, &keys_path(&app_id), json!({})).await;

    assert_eq!(no_app_name.status(), 400);
    assert_eq!(json(no_app_name).await["error"], "invalid_request");
    assert_eq!(no_key_name.status(), 400);
    assert_eq!(json(no_key_name).await["error"], "invalid_request");
}
