//! decisions-3 "OAuth clients", "AccessToken / AccessSecret" and "/oauth2/token
//! client_credentials" (SPEC §4, §7; RFC 6749 §4.4, RFC 9068).

use crate::admin_helpers::{
    access_jwt, admin_delete, admin_get, admin_post, check, client_credentials, create_client,
    expect_json, field_set, fields, header, introspect_form, is_uuid, jwt_part, now, pair,
    parse_time, request_pair, str_of,
};
use crate::helpers::{json, spawn_app, TestApp};
use serde_json::json;
use time::Duration;

const CLIENT_FIELDS: &[&str] = &["client_id", "name", "scopes", "created_at"];

fn client_path(client_id: &str) -> String {
    format!("/api/v1/oauth/clients/{client_id}")
}

async fn assert_invalid_client(res: reqwest::Response, what: &str, challenge: bool) {
    assert_eq!(res.status(), 401, "{what}");
    if challenge {
        assert_eq!(
            header(&res, "www-authenticate").as_deref(),
            Some(r#"Basic realm="tessera""#),
            "{what}"
        );
    }
    assert_eq!(json(res).await["error"], "invalid_client", "{what}");
}

async fn check_pair(app: &TestApp, token: &str, secret: &str) -> reqwest::Response {
    check(app, &[("AccessToken", token), ("AccessSecret", secret)]).await
}

// --- clients ------------------------------------------------------------------------------

#[actix_rt::test]
async fn creating_a_client_shows_its_secret_once() {
    let app = spawn_app().await;

    let res = admin_post(
        &app,
        "/api/v1/oauth/clients",
        json!({"name": "billing", "scopes": ["read", "write"]}),
    )
    .await;

    let created = expect_json(res, 201, "create").await;
    assert_eq!(
        fields(&created),
        field_set(&["client_id", "client_secret", "name", "scopes", "created_at"])
    );
    assert!(is_uuid(&created["client_id"]), "{created}");
    let secret = str_of(&created["client_secret"]);
    assert!(secret.starts_with("tsc_"), "{secret}");
    assert_eq!(created["name"], "billing");
    assert_eq!(created["scopes"], json!(["read", "write"]));
    assert_eq!(parse_time(&created["created_at"]), now(&app));
    let client_id = str_of(&created["client_id"]);
    let list = admin_get(&app, "/api/v1/oauth/clients")
        .await
        .text()
        .await
        .expect("body");
    let one = admin_get(&app, &client_path(&client_id))
        .await
        .text()
        .await
        .expect("body");
    assert!(
        !list.contains(&secret) && !list.contains("client_secret"),
        "{list}"
    );
    assert!(
        !one.contains(&secret) && !one.contains("client_secret"),
        "{one}"
    );
    let list: serde_json::Value = serde_json::from_str(&list).expect("json");
    let one: serde_json::Value = serde_json::from_str(&one).expect("json");
    assert_eq!(fields(&one), field_set(CLIENT_FIELDS));
    assert_eq!(one["client_id"], client_id.as_str());
    assert_eq!(one["scopes"], json!(["read", "write"]));
    assert_eq!(list["clients"], json!([one]));
}

#[actix_rt::test]
async fn a_client_created_without_scopes_has_none() {
    let app = spawn_app().await;

    let res = admin_post(&app, "/api/v1/oauth/clients", json!({"name": "plain"})).await;

    assert_eq!(expect_json(res, 201, "create").await["scopes"], json!([]));
}

#[actix_rt::test]
async fn an_unknown_client_is_404_and_unknown_fields_400() {
    let app = spawn_app().await;
    let unknown = uuid::Uuid::new_v4().to_string();

    let get = admin_get(&app, &client_path(&unknown)).await;
    let delete = admin_delete(&app, &client_path(&unknown)).await;
    let rotate = admin_post(
        &app,
        &format!("{}/secret", client_path(&unknown)),
        json!({}),
    )
    .await;
    let extra = admin_post(
        &app,
        "/api/v1/oauth/clients",
        json!({"name": "x", "redirect_uri": "https://x"}),
    )
    .await;

    assert_eq!(get.status(), 404);
    assert_eq!(json(get).await["error"], "not_found");
    assert_eq!(delete.status(), 404);
    assert_eq!(rotate.status(), 404);
    assert_eq!(extra.status(), 400);
    assert_eq!(json(extra).await["error"], "invalid_request");
}

#[actix_rt::test]
async fn rotating_a_client_secret_refuses_the_old_one_everywhere() {
    let app = spawn_app().await;
    let (client_id, old) = create_client(&app, "billing", &["read"]).await;

    let res = admin_post(
        &app,
        &format!("{}/secret", client_path(&client_id)),
        json!({}),
    )
    .await;

    let body = expect_json(res, 200, "rotate").await;
    assert_eq!(body["client_id"], client_id.as_str());
    let new = str_of(&body["client_secret"]);
    assert!(new.starts_with("tsc_"));
    assert_ne!(new, old);
    assert_invalid_client(
        request_pair(&app, &client_id, &old).await,
        "pair, old",
        true,
    )
    .await;
    assert_invalid_client(
        client_credentials(&app, &client_id, &old, None).await,
        "client_credentials, old",
        true,
    )
    .await;
    assert_eq!(request_pair(&app, &client_id, &new).await.status(), 200);
    assert_eq!(
        client_credentials(&app, &client_id, &new, None)
            .await
            .status(),
        200
    );
}

#[actix_rt::test]
async fn deleting_a_client_makes_its_tokens_inactive() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &["read"]).await;
    let jwt = access_jwt(&app, &client_id, &secret).await;
    let (token, access_secret) = pair(&app, &client_id, &secret).await;

    let res = admin_delete(&app, &client_path(&client_id)).await;

    assert_eq!(res.status(), 204);
    assert_eq!(app.introspect(&jwt).await, json!({"active": false}));
    assert_eq!(
        introspect_form(
            &app,
            &[("token", &token), ("access_secret", &access_secret)]
        )
        .await,
        json!({"active": false})
    );
    assert_eq!(
        check(&app, &[("Authorization", &format!("Bearer {jwt}"))])
            .await
            .status(),
        401
    );
    assert_eq!(check_pair(&app, &token, &access_secret).await.status(), 401);
    assert_invalid_client(request_pair(&app, &client_id, &secret).await, "pair", true).await;
    assert_eq!(
        admin_get(&app, &client_path(&client_id)).await.status(),
        404
    );
}

// --- AccessToken / AccessSecret -----------------------------------------------------------

#[actix_rt::test]
async fn accesstoken_answers_a_pair_that_is_not_cached() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &["read"]).await;

    let res = request_pair(&app, &client_id, &secret).await;

    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "cache-control").as_deref(), Some("no-store"));
    let body = json(res).await;
    assert_eq!(fields(&body), field_set(&["AccessToken", "AccessSecret"]));
    let token = str_of(&body["AccessToken"]);
    assert_eq!(token.len(), 32, "{token}");
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()), "{token}");
    assert!(str_of(&body["AccessSecret"]).starts_with("tsa_"));
}

#[actix_rt::test]
async fn accesstoken_without_good_client_credentials_is_401_invalid_client() {
    let app = spawn_app().await;
    let (client_id, _) = create_client(&app, "billing", &[]).await;

    let wrong = request_pair(&app, &client_id, "tsc_wrong").await;
    let unknown = request_pair(&app, &uuid::Uuid::new_v4().to_string(), "x").await;
    let none = app
        .client
        .get(format!("{}/api/v1/oauth/accesstoken", app.public))
        .send()
        .await
        .expect("request");

    assert_invalid_client(wrong, "wrong", true).await;
    assert_invalid_client(unknown, "unknown", true).await;
    assert_eq!(none.status(), 401);
}

#[actix_rt::test]
async fn a_pair_passes_check_and_either_header_alone_does_not() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &["read", "write"]).await;
    let (token, access_secret) = pair(&app, &client_id, &secret).await;
    let (_, other_secret) = pair(&app, &client_id, &secret).await;

    let both = check_pair(&app, &token, &access_secret).await;
    let token_only = check(&app, &[("AccessToken", &token)]).await;
    let secret_only = check(&app, &[("AccessSecret", &access_secret)]).await;
    let mismatched = check_pair(&app, &token, &other_secret).await;

    assert_eq!(both.status(), 200);
    assert_eq!(
        header(&both, "x-auth-kind").as_deref(),
        Some("access_token_pair")
    );
    assert_eq!(
        header(&both, "x-auth-subject").as_deref(),
        Some(client_id.as_str())
    );
    assert_eq!(
        header(&both, "x-auth-client").as_deref(),
        Some(client_id.as_str())
    );
    assert_eq!(header(&both, "x-auth-scope").as_deref(), Some("read write"));
    for (what, res) in [
        ("token only", token_only),
        ("secret only", secret_only),
        ("mismatched", mismatched),
    ] {
        assert_eq!(res.status(), 401, "{what}");
        assert_eq!(json(res).await["error"], "unauthorized", "{what}");
    }
}

#[actix_rt::test]
async fn a_pair_expires_after_access_token_ttl_seconds() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &[]).await;
    let (token, access_secret) = pair(&app, &client_id, &secret).await;

    app.clock.advance(Duration::seconds(3599));
    assert_eq!(check_pair(&app, &token, &access_secret).await.status(), 200);
    app.clock.advance(Duration::seconds(2));

    assert_eq!(check_pair(&app, &token, &access_secret).await.status(), 401);
    assert_eq!(
        introspect_form(
            &app,
            &[("token", &token), ("access_secret", &access_secret)]
        )
        .await,
        json!({"active": false})
    );
}

#[actix_rt::test]
async fn a_pair_lives_as_long_as_the_configured_ttl() {
    let app = crate::helpers::spawn_app_with(|c| c.tokens.access_token_ttl_seconds = 120).await;
    let (client_id, secret) = create_client(&app, "billing", &[]).await;
    let (token, access_secret) = pair(&app, &client_id, &secret).await;

    let body = introspect_form(
        &app,
        &[("token", &token), ("access_secret", &access_secret)],
    )
    .await;
    app.clock.advance(Duration::seconds(121));

    assert_eq!(
        body["exp"].as_i64().expect("exp") - body["iat"].as_i64().expect("iat"),
        120
    );
    assert_eq!(check_pair(&app, &token, &access_secret).await.status(), 401);
}

// --- client_credentials -------------------------------------------------------------------

#[actix_rt::test]
async fn client_credentials_with_basic_auth_issues_an_at_jwt() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &["read", "write"]).await;

    let res = client_credentials(&app, &client_id, &secret, None).await;

    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "cache-control").as_deref(), Some("no-store"));
    let body = json(res).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read write");
    let jwt = str_of(&body["access_token"]);
    let head = jwt_part(&jwt, 0);
    assert_eq!(head["typ"], "at+jwt");
    assert!(
        head["kid"].as_str().is_some_and(|k| !k.is_empty()),
        "{head}"
    );
    let claims = jwt_part(&jwt, 1);
    assert_eq!(claims["sub"], client_id.as_str());
    assert_eq!(claims["client_id"], client_id.as_str());
    assert_eq!(claims["scope"], "read write");
    assert_eq!(claims["iss"], "http://127.0.0.1:8080");
    assert_eq!(claims["aud"], "tessera");
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        3600
    );
    assert_eq!(claims["iat"].as_i64(), Some(now(&app).unix_timestamp()));
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
}

#[actix_rt::test]
async fn client_credentials_with_post_auth_works_too() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &["read"]).await;

    let res = app
        .client
        .post(format!("{}/oauth2/token", app.public))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .expect("request");

    let body = expect_json(res, 200, "post auth").await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        jwt_part(&str_of(&body["access_token"]), 1)["sub"],
        client_id.as_str()
    );
}

#[actix_rt::test]
async fn a_scope_subset_is_granted_and_a_scope_outside_is_invalid_scope() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &["read", "write"]).await;

    let subset = client_credentials(&app, &client_id, &secret, Some("read")).await;
    let outside = client_credentials(&app, &client_id, &secret, Some("read admin")).await;

    let body = expect_json(subset, 200, "subset").await;
    assert_eq!(body["scope"], "read");
    assert_eq!(jwt_part(&str_of(&body["access_token"]), 1)["scope"], "read");
    assert_eq!(outside.status(), 400);
    assert_eq!(json(outside).await["error"], "invalid_scope");
}

#[actix_rt::test]
async fn a_wrong_client_secret_is_401_invalid_client() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &["read"]).await;
    let (_, other_secret) = create_client(&app, "other", &["read"]).await;

    let basic = client_credentials(&app, &client_id, &other_secret, None).await;
    let unknown = client_credentials(&app, &uuid::Uuid::new_v4().to_string(), &secret, None).await;
    let post = app
        .client
        .post(format!("{}/oauth2/token", app.public))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", "tsc_wrong"),
        ])
        .send()
        .await
        .expect("request");

    assert_invalid_client(basic, "basic", true).await;
    assert_invalid_client(unknown, "unknown", true).await;
    assert_invalid_client(post, "post", false).await;
}

#[actix_rt::test]
async fn percent_encoded_basic_credentials_are_decoded() {
    // RFC 6749 §2.3.1: client_id and client_secret are form-urlencoded before Basic; uuids and
    // tessera secrets contain nothing to encode, so the encoded form is the plain one.
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &["read"]).await;
    let encode = |s: &str| serde_urlencoded::to_string([("", s)]).expect("encode")[1..].to_string();

    let res = client_credentials(&app, &encode(&client_id), &encode(&secret), None).await;

    assert_eq!(res.status(), 200);
}

// --- where an access JWT is and is not accepted -------------------------------------------

#[actix_rt::test]
async fn an_access_jwt_is_not_a_claims_token() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &["read"]).await;
    let jwt = access_jwt(&app, &client_id, &secret).await;

    let logout = app
        .client
        .post(format!("{}/authService/accounts/logout", app.public))
        .header("X-VoltMX-Authorization", &jwt)
        .send()
        .await
        .expect("request");
    let admin = app
        .client
        .get(format!("{}/api/v1/applications", app.intranet))
        .bearer_auth(&jwt)
        .send()
        .await
        .expect("request");

    assert_eq!(logout.status(), 401);
    assert_eq!(admin.status(), 401);
}

#[actix_rt::test]
async fn check_tells_an_access_jwt_from_a_claims_token() {
    let app = spawn_app().await;
    app.add_user("alice", &["Agent"]).await;
    let (_, claims) = app.login_ok("alice").await;
    let (client_id, secret) = create_client(&app, "billing", &["read"]).await;
    let jwt = access_jwt(&app, &client_id, &secret).await;

    let as_claims = check(&app, &[("X-VoltMX-Authorization", &claims)]).await;
    let as_access = check(&app, &[("Authorization", &format!("Bearer {jwt}"))]).await;

    assert_eq!(
        header(&as_claims, "x-auth-kind").as_deref(),
        Some("claims_token")
    );
    assert_eq!(
        header(&as_access, "x-auth-kind").as_deref(),
        Some("access_token")
    );
    assert_eq!(json(as_access).await["token_type"], "access_token");
}

#[actix_rt::test]
async fn an_oauth_client_may_introspect_with_its_own_credentials() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "resource-server", &["read"]).await;
    let jwt = access_jwt(&app, &client_id, &secret).await;
    let introspect = |base: String, password: String| {
        app.client
            .post(format!("{base}/oauth2/introspect"))
            .basic_auth(&client_id, Some(password))
            .form(&[("token", jwt.as_str())])
            .send()
    };

    let public = introspect(app.public.clone(), secret.clone())
        .await
        .expect("request");
    let intranet = introspect(app.intranet.clone(), secret.clone())
        .await
        .expect("request");
    let wrong = introspect(app.public.clone(), "tsc_wrong".into())
        .await
        .expect("request");

    assert_eq!(public.status(), 200);
    assert_eq!(json(public).await["active"], true);
    assert_eq!(intranet.status(), 200);
    assert_eq!(wrong.status(), 401);
}
