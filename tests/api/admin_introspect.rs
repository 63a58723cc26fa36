//! decisions-3 "Introspection of every kind", revocation of every kind, and `GET /api/v1/check`
//! (SPEC §7): each credential tessera issues, with its exact fields and X-Auth-* headers.

use crate::admin_helpers::{
    access_jwt, admin_get, admin_post, app_side_get, check, create_app, create_client,
    create_device_token, expect_json, field_set, fields, header, introspect_form, jwt_part, now,
    pair, parse_time, revoke, rfc3339, str_of,
};
use crate::helpers::{json, spawn_app, TestApp};
use serde_json::{json, Value};
use time::Duration;

fn inactive() -> Value {
    json!({"active": false})
}

/// An app with one API key: (app_id, key id, key, created_at).
async fn app_with_key(
    app: &TestApp,
    expires_at: Option<String>,
) -> (String, String, String, Value) {
    let app_id = create_app(app, "app").await;
    let mut body = json!({"name": "kiosk"});
    if let Some(at) = expires_at {
        body["expires_at"] = json!(at);
    }
    let created = expect_json(
        admin_post(app, &format!("/api/v1/applications/{app_id}/keys"), body).await,
        201,
        "create key",
    )
    .await;
    (
        app_id,
        str_of(&created["id"]),
        str_of(&created["key"]),
        created["created_at"].clone(),
    )
}

// --- introspection ------------------------------------------------------------------------

#[actix_rt::test]
async fn an_access_jwt_introspects_as_access_token() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &["read", "write"]).await;
    let jwt = access_jwt(&app, &client_id, &secret).await;
    let claims = jwt_part(&jwt, 1);

    let body = app.introspect(&jwt).await;

    assert_eq!(
        fields(&body),
        field_set(&[
            "active",
            "token_type",
            "sub",
            "client_id",
            "scope",
            "exp",
            "iat",
            "iss",
            "aud",
            "jti"
        ])
    );
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "access_token");
    assert_eq!(body["sub"], client_id.as_str());
    assert_eq!(body["client_id"], client_id.as_str());
    assert_eq!(body["scope"], "read write");
    assert_eq!(body["iss"], "http://127.0.0.1:8080");
    assert_eq!(body["aud"], "tessera");
    for claim in ["exp", "iat", "jti"] {
        assert_eq!(body[claim], claims[claim], "{claim}");
    }
}

#[actix_rt::test]
async fn an_access_jwt_is_inactive_once_expired() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &[]).await;
    let jwt = access_jwt(&app, &client_id, &secret).await;

    app.clock.advance(Duration::seconds(3601));

    assert_eq!(app.introspect(&jwt).await, inactive());
}

#[actix_rt::test]
async fn a_pair_introspects_with_its_access_secret_only() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &["read", "write"]).await;
    let (token, access_secret) = pair(&app, &client_id, &secret).await;
    let (_, other_secret) = pair(&app, &client_id, &secret).await;

    let with = introspect_form(
        &app,
        &[("token", &token), ("access_secret", &access_secret)],
    )
    .await;
    let without = introspect_form(&app, &[("token", &token)]).await;
    let wrong = introspect_form(&app, &[("token", &token), ("access_secret", &other_secret)]).await;

    assert_eq!(
        fields(&with),
        field_set(&[
            "active",
            "token_type",
            "sub",
            "client_id",
            "scope",
            "exp",
            "iat"
        ])
    );
    assert_eq!(with["active"], true);
    assert_eq!(with["token_type"], "access_token_pair");
    assert_eq!(with["sub"], client_id.as_str());
    assert_eq!(with["client_id"], client_id.as_str());
    assert_eq!(with["scope"], "read write");
    assert_eq!(with["iat"].as_i64(), Some(now(&app).unix_timestamp()));
    assert_eq!(
        with["exp"].as_i64().expect("exp") - with["iat"].as_i64().expect("iat"),
        3600
    );
    assert_eq!(without, inactive());
    assert_eq!(wrong, inactive());
}

#[actix_rt::test]
async fn an_api_key_introspects_as_api_key() {
    let app = spawn_app().await;
    let (app_id, key_id, key, created_at) = app_with_key(&app, None).await;

    let body = app.introspect(&key).await;

    assert_eq!(
        fields(&body),
        field_set(&["active", "token_type", "sub", "app_id", "key_id", "iat"])
    );
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "api_key");
    assert_eq!(body["sub"], app_id.as_str());
    assert_eq!(body["app_id"], app_id.as_str());
    assert_eq!(body["key_id"], key_id.as_str());
    assert_eq!(
        body["iat"].as_i64(),
        Some(parse_time(&created_at).unix_timestamp())
    );
}

#[actix_rt::test]
async fn an_expiring_api_key_introspects_with_its_exp() {
    let app = spawn_app().await;
    let expires = now(&app) + Duration::seconds(600);
    let (_, _, key, _) = app_with_key(&app, Some(rfc3339(expires))).await;

    let body = app.introspect(&key).await;

    assert_eq!(body["token_type"], "api_key");
    assert_eq!(body["exp"].as_i64(), Some(expires.unix_timestamp()));
    app.clock.advance(Duration::seconds(601));
    assert_eq!(app.introspect(&key).await, inactive());
}

#[actix_rt::test]
async fn a_device_token_introspects_as_device_token() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let token = create_device_token(&app, &app_id).await;

    let body = app.introspect(&token).await;

    assert_eq!(
        fields(&body),
        field_set(&["active", "token_type", "sub", "app_id", "iat"])
    );
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "device_token");
    assert_eq!(body["sub"], app_id.as_str());
    assert_eq!(body["app_id"], app_id.as_str());
    assert_eq!(body["iat"].as_i64(), Some(now(&app).unix_timestamp()));
}

#[actix_rt::test]
async fn token_type_hints_do_not_change_the_answer() {
    let app = spawn_app().await;
    let (_, _, key, _) = app_with_key(&app, None).await;

    let hinted = introspect_form(
        &app,
        &[("token", &key), ("token_type_hint", "access_token")],
    )
    .await;

    assert_eq!(hinted["token_type"], "api_key");
}

// --- revocation ---------------------------------------------------------------------------

#[actix_rt::test]
async fn revoking_an_access_jwt_makes_it_inactive() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &[]).await;
    let jwt = access_jwt(&app, &client_id, &secret).await;
    let other = access_jwt(&app, &client_id, &secret).await;

    assert_eq!(revoke(&app, &jwt).await.status(), 200);

    assert_eq!(app.introspect(&jwt).await, inactive());
    assert_eq!(
        check(&app, &[("Authorization", &format!("Bearer {jwt}"))])
            .await
            .status(),
        401
    );
    assert_eq!(app.introspect(&other).await["active"], true);
}

#[actix_rt::test]
async fn revoking_a_pair_by_either_half_makes_it_inactive() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &[]).await;
    let by_token = pair(&app, &client_id, &secret).await;
    let by_secret = pair(&app, &client_id, &secret).await;

    assert_eq!(revoke(&app, &by_token.0).await.status(), 200);
    assert_eq!(revoke(&app, &by_secret.1).await.status(), 200);

    for (what, (token, access_secret)) in [("AccessToken", by_token), ("AccessSecret", by_secret)] {
        assert_eq!(
            introspect_form(
                &app,
                &[("token", &token), ("access_secret", &access_secret)]
            )
            .await,
            inactive(),
            "{what}"
        );
        assert_eq!(
            check(
                &app,
                &[("AccessToken", &token), ("AccessSecret", &access_secret)]
            )
            .await
            .status(),
            401,
            "{what}"
        );
    }
}

#[actix_rt::test]
async fn revoking_an_api_key_deletes_it() {
    let app = spawn_app().await;
    let (app_id, _, key, _) = app_with_key(&app, None).await;

    assert_eq!(revoke(&app, &key).await.status(), 200);

    assert_eq!(app.introspect(&key).await, inactive());
    assert_eq!(app_side_get(&app, &app_id, Some(&key)).await.status(), 401);
    let keys = json(admin_get(&app, &format!("/api/v1/applications/{app_id}/keys")).await).await;
    assert_eq!(keys["keys"], json!([]));
}

#[actix_rt::test]
async fn revoking_a_device_token_deletes_it() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let token = create_device_token(&app, &app_id).await;

    assert_eq!(revoke(&app, &token).await.status(), 200);

    assert_eq!(app.introspect(&token).await, inactive());
    assert_eq!(
        check(&app, &[("X-Device-AuthToken", &token)])
            .await
            .status(),
        401
    );
    let described =
        json(admin_get(&app, &format!("/api/v1/applications/{app_id}/device-token")).await).await;
    assert_eq!(described["enabled"], false);
}

// --- GET /api/v1/check --------------------------------------------------------------------

/// Calls check, asserts 200 with that `X-Auth-Kind`; returns the X-Auth-* headers and the body.
async fn check_ok(app: &TestApp, headers: &[(&str, &str)], kind: &str) -> (AuthHeaders, Value) {
    let res = check(app, headers).await;
    let status = res.status();
    let found = AuthHeaders {
        kind: header(&res, "x-auth-kind"),
        subject: header(&res, "x-auth-subject"),
        roles: header(&res, "x-auth-roles"),
        app: header(&res, "x-auth-app"),
        client: header(&res, "x-auth-client"),
        scope: header(&res, "x-auth-scope"),
    };
    let text = res.text().await.expect("body");
    assert_eq!(status, 200, "{kind}: {text}");
    assert_eq!(found.kind.as_deref(), Some(kind), "{text}");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(body["active"], true, "{kind}");
    (found, body)
}

#[derive(Debug, PartialEq, Eq)]
struct AuthHeaders {
    kind: Option<String>,
    subject: Option<String>,
    roles: Option<String>,
    app: Option<String>,
    client: Option<String>,
    scope: Option<String>,
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

#[actix_rt::test]
async fn check_answers_an_api_key_with_its_app() {
    let app = spawn_app().await;
    let (app_id, _, key, _) = app_with_key(&app, None).await;

    let (headers, body) = check_ok(&app, &[("X-VoltMX-App-API-Key", &key)], "api_key").await;

    assert_eq!(headers.subject, some(&app_id));
    assert_eq!(headers.app, some(&app_id));
    assert_eq!(headers.roles, None);
    assert_eq!(body, app.introspect(&key).await);
}

#[actix_rt::test]
async fn check_answers_a_device_token_with_its_app() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "app").await;
    let token = create_device_token(&app, &app_id).await;

    let (headers, body) = check_ok(&app, &[("X-Device-AuthToken", &token)], "device_token").await;

    assert_eq!(headers.subject, some(&app_id));
    assert_eq!(headers.app, some(&app_id));
    assert_eq!(body, app.introspect(&token).await);
}

#[actix_rt::test]
async fn check_answers_a_pair_with_its_client_and_scope() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &["read", "write"]).await;
    let (token, access_secret) = pair(&app, &client_id, &secret).await;

    let (headers, body) = check_ok(
        &app,
        &[("AccessToken", &token), ("AccessSecret", &access_secret)],
        "access_token_pair",
    )
    .await;

    assert_eq!(headers.subject, some(&client_id));
    assert_eq!(headers.client, some(&client_id));
    assert_eq!(headers.scope, some("read write"));
    assert_eq!(headers.roles, None);
    assert_eq!(
        body,
        introspect_form(
            &app,
            &[("token", &token), ("access_secret", &access_secret)]
        )
        .await
    );
}

#[actix_rt::test]
async fn check_answers_a_claims_token_in_each_header_with_its_roles() {
    let app = spawn_app().await;
    app.add_user("alice", &["Supervisor", "Agent"]).await;
    let (_, claims) = app.login_ok("alice").await;
    let bearer = format!("Bearer {claims}");

    for (name, value) in [
        ("X-VoltMX-Authorization", claims.as_str()),
        ("X-Kony-Authorization", claims.as_str()),
        ("Authorization", bearer.as_str()),
    ] {
        let (headers, body) = check_ok(&app, &[(name, value)], "claims_token").await;

        assert_eq!(headers.subject, some("alice"), "{name}");
        assert_eq!(headers.roles, some("Supervisor,Agent"), "{name}");
        assert_eq!(body, app.introspect(&claims).await, "{name}");
    }
}

#[actix_rt::test]
async fn check_answers_an_access_jwt_with_its_client_and_scope() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &["read"]).await;
    let jwt = access_jwt(&app, &client_id, &secret).await;

    let (headers, body) = check_ok(
        &app,
        &[("Authorization", &format!("Bearer {jwt}"))],
        "access_token",
    )
    .await;

    assert_eq!(headers.subject, some(&client_id));
    assert_eq!(headers.client, some(&client_id));
    assert_eq!(headers.scope, some("read"));
    assert_eq!(body, app.introspect(&jwt).await);
}

#[actix_rt::test]
async fn check_with_no_credential_is_401_unauthorized() {
    let app = spawn_app().await;

    let res = check(&app, &[]).await;

    assert_eq!(res.status(), 401);
    assert_eq!(json(res).await["error"], "unauthorized");
}

#[actix_rt::test]
async fn check_refuses_garbage_in_every_header() {
    let app = spawn_app().await;

    for name in [
        "X-VoltMX-App-API-Key",
        "X-Device-AuthToken",
        "X-VoltMX-Authorization",
        "X-Kony-Authorization",
        "Authorization",
    ] {
        let value = if name == "Authorization" {
            "Bearer a.b.c"
        } else {
            "garbage"
        };
        let res = check(&app, &[(name, value)]).await;
        assert_eq!(res.status(), 401, "{name}");
        assert_eq!(json(res).await["error"], "unauthorized", "{name}");
    }
}

#[actix_rt::test]
async fn check_looks_only_at_the_first_credential_present() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (_, claims) = app.login_ok("alice").await;
    let (_, _, key, _) = app_with_key(&app, None).await;

    let (both, _) = check_ok(
        &app,
        &[
            ("X-VoltMX-App-API-Key", &key),
            ("X-VoltMX-Authorization", &claims),
        ],
        "api_key",
    )
    .await;
    let bad_key_first = check(
        &app,
        &[
            ("X-VoltMX-App-API-Key", "garbage"),
            ("X-VoltMX-Authorization", &claims),
        ],
    )
    .await;

    assert_eq!(both.kind, some("api_key"));
    assert_eq!(bad_key_first.status(), 401);
}

#[actix_rt::test]
async fn check_refuses_a_refresh_token() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (refresh, _) = app.login_ok("alice").await;

    let bearer = check(&app, &[("Authorization", &format!("Bearer {refresh}"))]).await;
    let voltmx = check(&app, &[("X-VoltMX-Authorization", &refresh)]).await;

    assert_eq!(bearer.status(), 401);
    assert_eq!(voltmx.status(), 401);
}

#[actix_rt::test]
async fn an_administrator_may_introspect_with_a_claims_token() {
    let app = spawn_app().await;
    let login = json(app.login("admin", crate::helpers::ADMIN_PASSWORD).await).await;
    let admin_claims = str_of(&login["claims_token"]["value"]);
    let (_, _, key, _) = app_with_key(&app, None).await;

    let res = app
        .client
        .post(format!("{}/oauth2/introspect", app.intranet))
        .bearer_auth(&admin_claims)
        .form(&[("token", key.as_str())])
        .send()
        .await
        .expect("request");

    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["token_type"], "api_key");
}
