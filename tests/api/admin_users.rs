//! decisions-3 "Users": the directory over REST (SPEC §4 Users). Disabling, deleting or setting
//! the password of a user ends all of that user's sessions.

use crate::admin_helpers::{
    admin_delete, admin_get, admin_patch, admin_post, admin_put, check, expect_json, field_set,
    fields, jwt_part, now, parse_time,
};
use crate::helpers::{json, spawn_app, TestApp, PASSWORD};
use serde_json::{json, Value};
use time::Duration;

const USER_FIELDS: &[&str] = &[
    "userid",
    "email",
    "firstname",
    "lastname",
    "roles",
    "provider",
    "domain",
    "disabled",
    "created_at",
    "updated_at",
];

async fn create(app: &TestApp, body: Value) -> reqwest::Response {
    admin_post(app, "/api/v1/users", body).await
}

async fn list(app: &TestApp, query: &str) -> reqwest::Response {
    admin_get(app, &format!("/api/v1/users{query}")).await
}

fn userids(page: &Value) -> Vec<String> {
    page["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["userid"].as_str().expect("userid").to_string())
        .collect()
}

#[actix_rt::test]
async fn creating_a_user_answers_201_with_the_user_and_no_password() {
    let app = spawn_app().await;

    let res = create(
        &app,
        json!({
            "userid": "alice", "password": "looking-glass-7", "email": "alice@example.com",
            "firstname": "Alice", "lastname": "Liddell", "roles": ["Supervisor"],
            "provider": "userstore", "domain": "acme"
        }),
    )
    .await;

    let body = expect_json(res, 201, "create").await;
    assert_eq!(fields(&body), field_set(USER_FIELDS));
    assert_eq!(body["userid"], "alice");
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["firstname"], "Alice");
    assert_eq!(body["lastname"], "Liddell");
    assert_eq!(body["roles"], json!(["Supervisor"]));
    assert_eq!(body["provider"], "userstore");
    assert_eq!(body["domain"], "acme");
    assert_eq!(body["disabled"], false);
    assert_eq!(parse_time(&body["created_at"]), now(&app));
    assert_eq!(parse_time(&body["updated_at"]), now(&app));
    assert_eq!(app.login("alice", "looking-glass-7").await.status(), 200);
}

#[actix_rt::test]
async fn a_user_created_with_only_userid_and_password_has_empty_profile_fields() {
    let app = spawn_app().await;

    let res = create(&app, json!({"userid": "bob", "password": PASSWORD})).await;

    let body = expect_json(res, 201, "create").await;
    assert_eq!(fields(&body), field_set(USER_FIELDS));
    for field in ["email", "firstname", "lastname", "provider", "domain"] {
        assert!(body[field].is_null(), "{field}");
    }
    assert_eq!(body["roles"], json!([]));
    assert_eq!(body["disabled"], false);
}

#[actix_rt::test]
async fn a_user_is_also_created_from_a_form_body() {
    let app = spawn_app().await;

    let res = app
        .client
        .post(format!("{}/api/v1/users", app.intranet))
        .basic_auth("admin", Some(crate::helpers::ADMIN_PASSWORD))
        .form(&[("userid", "carol"), ("password", PASSWORD)])
        .send()
        .await
        .expect("request");

    assert_eq!(res.status(), 201);
    assert_eq!(app.login("carol", PASSWORD).await.status(), 200);
}

#[actix_rt::test]
async fn invalid_userids_are_400_and_256_bytes_is_the_limit() {
    let app = spawn_app().await;
    let longest = "a".repeat(256);
    let too_long = "a".repeat(257);

    for userid in ["bad:userid", "", too_long.as_str(), "tab\there"] {
        let res = create(&app, json!({"userid": userid, "password": PASSWORD})).await;
        assert_eq!(res.status(), 400, "{userid:?}");
        assert_eq!(json(res).await["error"], "invalid_request", "{userid:?}");
    }
    let res = create(&app, json!({"userid": longest, "password": PASSWORD})).await;
    assert_eq!(res.status(), 201);
}

#[actix_rt::test]
async fn a_short_password_an_invalid_email_or_role_is_400() {
    let app = spawn_app().await;

    for body in [
        json!({"userid": "alice", "password": "short"}),
        json!({"userid": "alice", "password": PASSWORD, "email": "not-an-email"}),
        json!({"userid": "alice", "password": PASSWORD, "roles": ["bad role"]}),
        json!({"userid": "alice"}),
    ] {
        let res = create(&app, body.clone()).await;
        assert_eq!(res.status(), 400, "{body}");
        assert_eq!(json(res).await["error"], "invalid_request", "{body}");
    }
    assert_eq!(admin_get(&app, "/api/v1/users/alice").await.status(), 404);
}

#[actix_rt::test]
async fn creating_an_existing_user_is_409_conflict() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;

    let again = create(
        &app,
        json!({"userid": "alice", "password": "another-one-9"}),
    )
    .await;
    let admin = create(&app, json!({"userid": "admin", "password": PASSWORD})).await;

    assert_eq!(again.status(), 409);
    assert_eq!(json(again).await["error"], "conflict");
    assert_eq!(admin.status(), 409);
    assert_eq!(app.login("alice", PASSWORD).await.status(), 200);
}

#[actix_rt::test]
async fn unknown_fields_in_user_bodies_are_400() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;

    let created = create(
        &app,
        json!({"userid": "bob", "password": PASSWORD, "is_admin": true}),
    )
    .await;
    let patched = admin_patch(&app, "/api/v1/users/alice", json!({"nickname": "al"})).await;
    let password = admin_put(
        &app,
        "/api/v1/users/alice/password",
        json!({"password": "another-one-9", "old": "x"}),
    )
    .await;

    for (what, res) in [
        ("create", created),
        ("patch", patched),
        ("password", password),
    ] {
        assert_eq!(res.status(), 400, "{what}");
        assert_eq!(json(res).await["error"], "invalid_request", "{what}");
    }
    assert_eq!(admin_get(&app, "/api/v1/users/bob").await.status(), 404);
}

#[actix_rt::test]
async fn get_user_answers_the_user_or_404() {
    let app = spawn_app().await;
    let created = expect_json(
        create(
            &app,
            json!({"userid": "alice", "password": PASSWORD, "roles": ["Agent"]}),
        )
        .await,
        201,
        "create",
    )
    .await;

    let found = admin_get(&app, "/api/v1/users/alice").await;
    let missing = admin_get(&app, "/api/v1/users/nobody").await;

    assert_eq!(expect_json(found, 200, "get").await, created);
    assert_eq!(missing.status(), 404);
    assert_eq!(json(missing).await["error"], "not_found");
}

#[actix_rt::test]
async fn the_user_list_pages_in_userid_order() {
    let app = spawn_app().await;
    for userid in ["u05", "u02", "u04", "u01", "u03"] {
        app.add_user(userid, &[]).await;
    }
    let everyone = ["admin", "u01", "u02", "u03", "u04", "u05"];

    let first = expect_json(list(&app, "?limit=2").await, 200, "first page").await;
    let second = expect_json(list(&app, "?limit=2&after=u01").await, 200, "second").await;
    let all = expect_json(list(&app, "").await, 200, "default limit").await;

    assert_eq!(userids(&first), ["admin", "u01"]);
    assert_eq!(first["next"], "u01");
    assert_eq!(userids(&second), ["u02", "u03"]);
    assert_eq!(second["next"], "u03");
    assert_eq!(userids(&all), everyone);
    assert!(all["next"].is_null());
    assert_eq!(fields(&all["users"][1]), field_set(USER_FIELDS));
}

#[actix_rt::test]
async fn following_next_visits_every_user_once_and_ends_with_null() {
    let app = spawn_app().await;
    for userid in ["u1", "u2", "u3", "u4"] {
        app.add_user(userid, &[]).await;
    }

    let mut seen = Vec::new();
    let mut query = "?limit=2".to_string();
    for _ in 0..10 {
        let page = expect_json(list(&app, &query).await, 200, &query).await;
        let ids = userids(&page);
        assert!(ids.len() <= 2, "{query}: {ids:?}");
        seen.extend(ids);
        match page["next"].as_str() {
            Some(next) => query = format!("?limit=2&after={next}"),
            None => break,
        }
    }

    assert_eq!(seen, ["admin", "u1", "u2", "u3", "u4"]);
}

#[actix_rt::test]
async fn a_limit_outside_1_to_1000_is_400() {
    let app = spawn_app().await;

    for query in [
        "?limit=0",
        "?limit=5000",
        "?limit=1001",
        "?limit=-1",
        "?limit=many",
    ] {
        let res = list(&app, query).await;
        assert_eq!(res.status(), 400, "{query}");
        assert_eq!(json(res).await["error"], "invalid_request", "{query}");
    }
    assert_eq!(list(&app, "?limit=1000").await.status(), 200);
    assert_eq!(list(&app, "?limit=1").await.status(), 200);
}

#[actix_rt::test]
async fn patch_changes_profile_and_roles_and_the_next_login_carries_the_roles() {
    let app = spawn_app().await;
    app.add_user("alice", &["Agent"]).await;
    let created =
        parse_time(&json(admin_get(&app, "/api/v1/users/alice").await).await["created_at"]);
    app.clock.advance(Duration::seconds(30));

    let res = admin_patch(
        &app,
        "/api/v1/users/alice",
        json!({"firstname": "Alice", "lastname": "Liddell", "roles": ["Supervisor"],
               "provider": "userstore", "domain": "acme"}),
    )
    .await;

    let body = expect_json(res, 200, "patch").await;
    assert_eq!(fields(&body), field_set(USER_FIELDS));
    assert_eq!(body["firstname"], "Alice");
    assert_eq!(body["lastname"], "Liddell");
    assert_eq!(body["roles"], json!(["Supervisor"]));
    assert_eq!(body["provider"], "userstore");
    assert_eq!(body["domain"], "acme");
    assert_eq!(body["email"], "alice@example.com", "untouched fields stay");
    assert_eq!(parse_time(&body["created_at"]), created);
    assert_eq!(parse_time(&body["updated_at"]), now(&app));
    assert_eq!(
        json(admin_get(&app, "/api/v1/users/alice").await).await,
        body
    );
    let (_, claims) = app.login_ok("alice").await;
    assert_eq!(jwt_part(&claims, 1)["roles"], json!(["Supervisor"]));
}

#[actix_rt::test]
async fn null_clears_a_profile_field() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;

    let res = admin_patch(&app, "/api/v1/users/alice", json!({"email": null})).await;

    let body = expect_json(res, 200, "patch").await;
    assert!(body["email"].is_null());
    assert_eq!(body["firstname"], "Test");
    assert!(json(admin_get(&app, "/api/v1/users/alice").await).await["email"].is_null());
}

#[actix_rt::test]
async fn patching_an_unknown_user_is_404_and_a_bad_email_400() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;

    let missing = admin_patch(&app, "/api/v1/users/nobody", json!({"firstname": "N"})).await;
    let bad = admin_patch(&app, "/api/v1/users/alice", json!({"email": "nope"})).await;

    assert_eq!(missing.status(), 404);
    assert_eq!(json(missing).await["error"], "not_found");
    assert_eq!(bad.status(), 400);
}

#[actix_rt::test]
async fn disabling_a_user_ends_their_sessions_and_refuses_login() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (refresh, claims) = app.login_ok("alice").await;

    let res = admin_patch(&app, "/api/v1/users/alice", json!({"disabled": true})).await;

    assert_eq!(expect_json(res, 200, "disable").await["disabled"], true);
    assert_eq!(app.refresh(&refresh).await.status(), 401);
    assert_eq!(app.introspect(&claims).await["active"], false);
    assert_eq!(app.introspect(&refresh).await["active"], false);
    assert_eq!(
        check(&app, &[("X-VoltMX-Authorization", &claims)])
            .await
            .status(),
        401
    );
    assert_eq!(app.login("alice", PASSWORD).await.status(), 401);
}

#[actix_rt::test]
async fn re_enabling_a_user_lets_them_log_in_again() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    admin_patch(&app, "/api/v1/users/alice", json!({"disabled": true})).await;

    let res = admin_patch(&app, "/api/v1/users/alice", json!({"disabled": false})).await;

    assert_eq!(expect_json(res, 200, "enable").await["disabled"], false);
    assert_eq!(app.login("alice", PASSWORD).await.status(), 200);
}

#[actix_rt::test]
async fn setting_a_password_swaps_the_passwords_and_ends_sessions() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (refresh, claims) = app.login_ok("alice").await;

    let res = admin_put(
        &app,
        "/api/v1/users/alice/password",
        json!({"password": "a brand new one"}),
    )
    .await;

    assert_eq!(res.status(), 204);
    assert!(res.text().await.expect("body").is_empty());
    assert_eq!(app.login("alice", PASSWORD).await.status(), 401);
    assert_eq!(app.login("alice", "a brand new one").await.status(), 200);
    assert_eq!(app.refresh(&refresh).await.status(), 401);
    assert_eq!(app.introspect(&claims).await["active"], false);
}

#[actix_rt::test]
async fn setting_a_short_password_is_400_and_for_an_unknown_user_404() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;

    let short = admin_put(
        &app,
        "/api/v1/users/alice/password",
        json!({"password": "short"}),
    )
    .await;
    let missing = admin_put(
        &app,
        "/api/v1/users/nobody/password",
        json!({"password": "a brand new one"}),
    )
    .await;

    assert_eq!(short.status(), 400);
    assert_eq!(missing.status(), 404);
    assert_eq!(app.login("alice", PASSWORD).await.status(), 200);
}

#[actix_rt::test]
async fn deleting_a_user_ends_their_sessions_and_forgets_them() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (refresh, claims) = app.login_ok("alice").await;

    let res = admin_delete(&app, "/api/v1/users/alice").await;

    assert_eq!(res.status(), 204);
    assert_eq!(admin_get(&app, "/api/v1/users/alice").await.status(), 404);
    assert_eq!(
        admin_delete(&app, "/api/v1/users/alice").await.status(),
        404
    );
    assert_eq!(app.refresh(&refresh).await.status(), 401);
    assert_eq!(app.introspect(&claims).await["active"], false);
    assert_eq!(app.login("alice", PASSWORD).await.status(), 401);
    assert_eq!(userids(&json(list(&app, "").await).await), ["admin"]);
}

#[actix_rt::test]
async fn a_deleted_userid_can_be_created_again_without_the_old_sessions() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (refresh, _) = app.login_ok("alice").await;
    admin_delete(&app, "/api/v1/users/alice").await;

    let res = create(
        &app,
        json!({"userid": "alice", "password": "second-life-1"}),
    )
    .await;

    assert_eq!(res.status(), 201);
    assert_eq!(app.refresh(&refresh).await.status(), 401);
    assert_eq!(app.login("alice", "second-life-1").await.status(), 200);
}

#[actix_rt::test]
async fn admin_errors_carry_error_description_and_request_id() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;

    let missing = admin_get(&app, "/api/v1/users/nobody").await;
    let conflict = create(&app, json!({"userid": "alice", "password": PASSWORD})).await;
    let invalid = create(&app, json!({"userid": "", "password": PASSWORD})).await;

    for (what, res, error) in [
        ("404", missing, "not_found"),
        ("409", conflict, "conflict"),
        ("400", invalid, "invalid_request"),
    ] {
        let body = json(res).await;
        assert_eq!(
            fields(&body),
            field_set(&["error", "error_description", "request_id"]),
            "{what}: {body}"
        );
        assert_eq!(body["error"], error, "{what}");
    }
}

#[actix_rt::test]
async fn the_default_page_is_100_users() {
    let app = spawn_app().await;
    for i in 0..100 {
        app.add_user(&format!("user{i:03}"), &[]).await;
    }

    let first = expect_json(list(&app, "").await, 200, "first").await;
    let ids = userids(&first);
    let rest = expect_json(
        list(
            &app,
            &format!("?after={}", first["next"].as_str().expect("next")),
        )
        .await,
        200,
        "rest",
    )
    .await;

    assert_eq!(ids.len(), 100);
    assert_eq!(ids[0], "admin");
    assert_eq!(first["next"], ids[99].as_str());
    assert_eq!(userids(&rest), ["user099"]);
    assert!(rest["next"].is_null());
}
