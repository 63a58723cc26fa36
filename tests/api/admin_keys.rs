//! decisions-3 "Signing keys" (SPEC §4, §7): rotation makes a new active key; tokens signed
//! before keep verifying, and the retired key stays in the JWKS until its last token expires.

use crate::admin_helpers::{
    access_jwt, admin_get, admin_post, create_client, expect_json, field_set, fields, jwt_part,
    now, parse_time, str_of,
};
use crate::helpers::{json, spawn_app, TestApp};
use serde_json::{json, Value};
use time::Duration;

const KEY_FIELDS: &[&str] = &["kid", "alg", "created_at", "active", "retired_at"];

async fn signing_keys(app: &TestApp) -> Vec<Value> {
    let body = expect_json(admin_get(app, "/api/v1/signing-keys").await, 200, "list").await;
    body["keys"].as_array().expect("keys").clone()
}

async fn rotate(app: &TestApp) -> Value {
    expect_json(
        admin_post(app, "/api/v1/signing-keys/rotate", json!({})).await,
        201,
        "rotate",
    )
    .await
}

async fn jwks(app: &TestApp) -> jsonwebtoken::jwk::JwkSet {
    let body = json(
        app.client
            .get(format!("{}/.well-known/jwks.json", app.public))
            .send()
            .await
            .expect("request"),
    )
    .await;
    serde_json::from_value(body).expect("jwks")
}

fn jwks_kids(set: &jsonwebtoken::jwk::JwkSet) -> Vec<String> {
    let mut kids: Vec<String> = set
        .keys
        .iter()
        .map(|k| k.common.key_id.clone().expect("kid"))
        .collect();
    kids.sort();
    kids
}

fn kid_of(token: &str) -> String {
    str_of(&jwt_part(token, 0)["kid"])
}

/// Verifies `token` with the key the JWKS publishes under its kid.
fn verifies_with(set: &jsonwebtoken::jwk::JwkSet, token: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("header");
    let jwk = set
        .find(header.kid.as_deref().expect("kid"))
        .expect("kid published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("usable key");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&["tessera"]);
    validation.set_issuer(&["http://127.0.0.1:8080"]);
    // The server's clock is fixed; the verifier's is the wall clock, a few seconds apart at most.
    validation.leeway = 60;
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("verifies with the JWKS key")
        .claims
}

#[actix_rt::test]
async fn there_is_one_active_eddsa_key_at_start_and_it_signs_claims() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (_, claims) = app.login_ok("alice").await;

    let keys = signing_keys(&app).await;

    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(fields(&keys[0]), field_set(KEY_FIELDS));
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert_eq!(keys[0]["active"], true);
    assert!(keys[0]["retired_at"].is_null());
    parse_time(&keys[0]["created_at"]);
    assert_eq!(keys[0]["kid"], kid_of(&claims).as_str());
}

#[actix_rt::test]
async fn rotating_makes_a_new_active_key_and_retires_the_old() {
    let app = spawn_app().await;
    let old = str_of(&signing_keys(&app).await[0]["kid"]);
    app.clock.advance(Duration::seconds(10));

    let new = rotate(&app).await;

    assert_eq!(fields(&new), field_set(KEY_FIELDS));
    assert_eq!(new["alg"], "EdDSA");
    assert_eq!(new["active"], true);
    assert!(new["retired_at"].is_null());
    assert_eq!(parse_time(&new["created_at"]), now(&app));
    let new_kid = str_of(&new["kid"]);
    assert_ne!(new_kid, old);
    let keys = signing_keys(&app).await;
    let find = |kid: &str| {
        keys.iter()
            .find(|k| k["kid"] == kid)
            .unwrap_or_else(|| panic!("{kid} listed: {keys:?}"))
            .clone()
    };
    let retired = find(&old);
    assert_eq!(retired["active"], false);
    assert_eq!(parse_time(&retired["retired_at"]), now(&app));
    assert_eq!(find(&new_kid), new);
    assert_eq!(keys.iter().filter(|k| k["active"] == true).count(), 1);
}

#[actix_rt::test]
async fn a_claims_token_signed_before_rotation_still_verifies_and_introspects() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (_, before) = app.login_ok("alice").await;
    let old_kid = kid_of(&before);

    let new_kid = str_of(&rotate(&app).await["kid"]);

    let set = jwks(&app).await;
    let mut both = vec![old_kid.clone(), new_kid.clone()];
    both.sort();
    assert_eq!(jwks_kids(&set), both);
    assert_eq!(verifies_with(&set, &before)["sub"], "alice");
    assert_eq!(app.introspect(&before).await["active"], true);
    let (_, after) = app.login_ok("alice").await;
    assert_eq!(kid_of(&after), new_kid);
    assert_eq!(verifies_with(&set, &after)["sub"], "alice");
    assert_eq!(app.introspect(&after).await["active"], true);
}

#[actix_rt::test]
async fn access_tokens_are_signed_with_the_active_key_and_survive_rotation() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &["read"]).await;
    let before = access_jwt(&app, &client_id, &secret).await;

    let new_kid = str_of(&rotate(&app).await["kid"]);
    let after = access_jwt(&app, &client_id, &secret).await;

    assert_ne!(kid_of(&before), new_kid);
    assert_eq!(kid_of(&after), new_kid);
    let set = jwks(&app).await;
    assert_eq!(
        verifies_with(&set, &before)["client_id"],
        client_id.as_str()
    );
    assert_eq!(verifies_with(&set, &after)["client_id"], client_id.as_str());
    assert_eq!(app.introspect(&before).await["active"], true);
    assert_eq!(app.introspect(&after).await["active"], true);
}

#[actix_rt::test]
async fn the_retired_key_leaves_the_jwks_once_its_last_token_has_expired() {
    let app = spawn_app().await;
    let (client_id, secret) = create_client(&app, "billing", &[]).await;
    let last = access_jwt(&app, &client_id, &secret).await;
    let old_kid = kid_of(&last);
    let new_kid = str_of(&rotate(&app).await["kid"]);

    app.clock.advance(Duration::seconds(1800));
    let midway = jwks_kids(&jwks(&app).await);
    assert!(midway.contains(&old_kid), "{midway:?}");
    assert_eq!(app.introspect(&last).await["active"], true);

    app.clock.advance(Duration::seconds(1860));
    let later = jwks_kids(&jwks(&app).await);

    assert_eq!(later, vec![new_kid]);
    assert_eq!(app.introspect(&last).await["active"], false);
}

#[actix_rt::test]
async fn rotating_twice_keeps_exactly_one_active_key() {
    let app = spawn_app().await;

    let first = str_of(&rotate(&app).await["kid"]);
    let second = str_of(&rotate(&app).await["kid"]);

    let keys = signing_keys(&app).await;
    let active: Vec<&Value> = keys.iter().filter(|k| k["active"] == true).collect();
    assert_ne!(first, second);
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["kid"], second.as_str());
    app.add_user("alice", &[]).await;
    let (_, claims) = app.login_ok("alice").await;
    assert_eq!(kid_of(&claims), second);
}
