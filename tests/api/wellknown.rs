//! SPEC §7 discovery and the JWKS: a claims token verifies with the published key, for each
//! algorithm; HS256 keys are never published.

use crate::helpers::{json, spawn_app, spawn_app_with, TestApp};
use tessera::config::SigningAlg;

async fn jwks(app: &TestApp) -> serde_json::Value {
    json(
        app.client
            .get(format!("{}/.well-known/jwks.json", app.public))
            .send()
            .await
            .expect("request"),
    )
    .await
}

async fn claims_verify_with_published_key(alg: SigningAlg, name: &str) {
    let app = spawn_app_with(|c| c.tokens.signing_alg = alg).await;
    app.add_user("alice", &[]).await;
    let (_, token) = app.login_ok("alice").await;

    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks(&app).await).expect("jwks");
    let header = jsonwebtoken::decode_header(&token).expect("header");
    let jwk = set
        .find(header.kid.as_deref().expect("kid"))
        .expect("kid published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("usable key");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&["tessera"]);
    validation.set_issuer(&["http://127.0.0.1:8080"]);

    assert_eq!(format!("{:?}", header.alg), name);
    let data = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation)
        .expect("verifies with the JWKS key");
    assert_eq!(data.claims["sub"], "alice");
}

#[actix_rt::test]
async fn eddsa_claims_verify_with_the_jwks() {
    claims_verify_with_published_key(SigningAlg::EdDSA, "EdDSA").await;
}

#[actix_rt::test]
async fn es256_claims_verify_with_the_jwks() {
    claims_verify_with_published_key(SigningAlg::ES256, "ES256").await;
}

#[actix_rt::test]
async fn rs256_claims_verify_with_the_jwks() {
    claims_verify_with_published_key(SigningAlg::RS256, "RS256").await;
}

#[actix_rt::test]
async fn hs256_keys_are_never_published_but_tokens_introspect() {
    let app = spawn_app_with(|c| c.tokens.signing_alg = SigningAlg::HS256).await;
    app.add_user("alice", &[]).await;
    let (_, token) = app.login_ok("alice").await;

    assert_eq!(jwks(&app).await, serde_json::json!({"keys": []}));
    assert_eq!(app.introspect(&token).await["active"], true);
}

#[actix_rt::test]
async fn discovery_documents_name_the_issuer_and_endpoints() {
    let app =
        spawn_app_with(|c| c.server.external_url_base = "https://id.example.com/".into()).await;
    for path in ["openid-configuration", "oauth-authorization-server"] {
        let doc = json(
            app.client
                .get(format!("{}/.well-known/{path}", app.public))
                .send()
                .await
                .expect("request"),
        )
        .await;
        assert_eq!(doc["issuer"], "https://id.example.com");
        assert_eq!(doc["token_endpoint"], "https://id.example.com/oauth2/token");
        assert_eq!(
            doc["introspection_endpoint"],
            "https://id.example.com/oauth2/introspect"
        );
        assert_eq!(
            doc["revocation_endpoint"],
            "https://id.example.com/oauth2/revoke"
        );
        assert_eq!(
            doc["jwks_uri"],
            "https://id.example.com/.well-known/jwks.json"
        );
    }
}

#[actix_rt::test]
async fn a_token_signed_by_another_server_is_inactive_here() {
    let one = spawn_app().await;
    let other = spawn_app().await;
    one.add_user("alice", &[]).await;
    let (_, token) = one.login_ok("alice").await;

    assert_eq!(other.introspect(&token).await["active"], false);
}
