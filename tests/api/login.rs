//! SPEC §3 login: both paths, JSON (with the doubled charset) and form bodies, the response
//! shape, and one answer for every kind of bad credential.

use crate::helpers::{json, spawn_app, PASSWORD};
use serde_json::Value;

fn decode_part(token: &str, index: usize) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(index).expect("jwt part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

#[actix_rt::test]
async fn login_answers_profile_refresh_token_and_claims_with_exp_in_milliseconds() {
    let app = spawn_app().await;
    app.add_user("alice", &["Supervisor"]).await;

    let res = app.login("alice", PASSWORD).await;

    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = json(res).await;
    assert_eq!(body["profile"]["userid"], "alice");
    assert_eq!(body["profile"]["email"], "alice@example.com");
    assert_eq!(body["profile"]["firstname"], "Test");
    assert_eq!(body["profile"]["lastname"], "User");
    assert!(body["refresh_token"]
        .as_str()
        .expect("string")
        .starts_with("tsr_"));
    let jwt = body["claims_token"]["value"].as_str().expect("jwt");
    let claims = decode_part(jwt, 1);
    assert_eq!(
        body["claims_token"]["exp"].as_i64().expect("ms"),
        claims["exp"].as_i64().expect("s") * 1000
    );
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        900
    );
}

#[actix_rt::test]
async fn claims_token_carries_the_spec_claims_and_a_kid() {
    let app = spawn_app().await;
    app.add_user("alice", &["Supervisor", "Agent"]).await;

    let res = app
        .client
        .post(format!("{}/authService/accounts/login", app.public))
        .json(&serde_json::json!({
            "userid": "alice", "password": PASSWORD, "provider": "userstore", "domain": "acme"
        }))
        .send()
        .await
        .expect("request");

    assert_eq!(res.status(), 200);
    let body = json(res).await;
    let jwt = body["claims_token"]["value"].as_str().expect("jwt");
    let header = decode_part(jwt, 0);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "JWT");
    assert!(header["kid"].as_str().is_some_and(|k| !k.is_empty()));
    let claims = decode_part(jwt, 1);
    assert_eq!(claims["iss"], "http://127.0.0.1:8080");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], "tessera");
    assert_eq!(claims["roles"], serde_json::json!(["Supervisor", "Agent"]));
    assert_eq!(claims["provider"], "userstore");
    assert_eq!(claims["domain"], "acme");
    for name in ["iat", "exp", "jti", "sid"] {
        assert!(!claims[name].is_null(), "{name} missing");
    }
}

#[actix_rt::test]
async fn login_accepts_the_doubled_charset_parameter_and_form_bodies() {
    let app = spawn_app().await;
    app.add_user("bob", &[]).await;

    let doubled = app
        .client
        .post(format!("{}/login", app.public))
        .header(
            "Content-Type",
            "application/json;charset=UTF-8;charset=UTF-8",
        )
        .body(format!(r#"{{"userid":"bob","password":"{PASSWORD}"}}"#))
        .send()
        .await
        .expect("request");
    let form = app
        .client
        .post(format!("{}/authService/accounts/login", app.public))
        .form(&[("userid", "bob"), ("password", PASSWORD)])
        .send()
        .await
        .expect("request");

    assert_eq!(doubled.status(), 200);
    assert_eq!(form.status(), 200);
}

#[actix_rt::test]
async fn wrong_password_unknown_user_and_disabled_user_get_the_same_401() {
    let app = spawn_app().await;
    app.add_user("carol", &[]).await;
    app.add_user("dave", &[]).await;
    let userid = tessera::domain::UserId::parse("dave").expect("valid");
    let mut dave = app
        .ctx
        .store
        .get_user(&userid)
        .await
        .expect("read")
        .expect("exists");
    dave.disabled = true;
    app.ctx.store.update_user(&dave).await.expect("update");

    let mut bodies = Vec::new();
    for (userid, password) in [
        ("carol", "wrong password"),
        ("nobody", PASSWORD),
        ("dave", PASSWORD),
        ("bad:userid", PASSWORD),
    ] {
        let res = app.login(userid, password).await;
        assert_eq!(res.status(), 401, "{userid}");
        let mut body = json(res).await;
        body.as_object_mut().expect("object").remove("request_id");
        bodies.push(body);
    }

    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    assert_eq!(bodies[0]["error"], "invalid_credentials");
}

#[actix_rt::test]
async fn missing_fields_and_malformed_bodies_are_400() {
    let app = spawn_app().await;
    let post = |body: &'static str, ct: &'static str| {
        app.client
            .post(format!("{}/login", app.public))
            .header("Content-Type", ct)
            .body(body)
            .send()
    };

    for (body, ct) in [
        (r#"{"userid":"x"}"#, "application/json"),
        (r#"{"userid":"x","password":"#, "application/json"),
        (
            r#"{"userid":5,"password":"secret-value-9"}"#,
            "application/json",
        ),
        (r#"["userid"]"#, "application/json"),
        ("password=only", "application/x-www-form-urlencoded"),
    ] {
        let res = post(body, ct).await.expect("request");
        assert_eq!(res.status(), 400, "{body}");
        let text = res.text().await.expect("text");
        assert!(text.contains("invalid_request"), "{text}");
        assert!(
            !text.contains("secret-value-9"),
            "error echoes a value: {text}"
        );
    }
    let res = post("userid=x", "text/plain").await.expect("request");
    assert_eq!(res.status(), 415);
}
