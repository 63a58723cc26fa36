//! RFC 7009 for tokens that are not stored: a revoked preamble token stays revoked until it
//! expires. And RFC 7009 §2.1: an OAuth client revokes only its own tokens.

use crate::admin_helpers::{access_jwt, create_client};
use crate::config_helpers::spawn_from_file;
use crate::helpers::{json, ADMIN_PASSWORD};

const PREAMBLE: &str = "[preamble]\ntoken_authentication_mode = \"enable\"\n\
                        token_uuid = \"6f9619ff-8b86-d011-b42d-00c04fc964ff\"\n";

#[actix_rt::test]
async fn a_revoked_preamble_token_no_longer_logs_in_or_introspects() {
    let (app, _path) = spawn_from_file(PREAMBLE).await;
    app.add_user("alice", &[]).await;
    let minted = app
        .client
        .post(format!("{}/api/v1/tokens/preamble", app.intranet))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&serde_json::json!({"userid": "alice"}))
        .send()
        .await
        .expect("request");
    let token = json(minted).await["token"]
        .as_str()
        .expect("token")
        .to_string();
    assert_eq!(app.login("alice", &token).await.status(), 200);

    let revoked = app
        .client
        .post(format!("{}/oauth2/revoke", app.intranet))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .expect("request");

    assert_eq!(revoked.status(), 200);
    assert_eq!(app.login("alice", &token).await.status(), 401);
    let introspected = app
        .client
        .post(format!("{}/oauth2/introspect", app.intranet))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .form(&[("token", token.as_str()), ("username", "alice")])
        .send()
        .await
        .expect("request");
    assert_eq!(json(introspected).await["active"], false);
}

#[actix_rt::test]
async fn an_oauth_client_revokes_its_own_tokens_and_nobody_elses() {
    let (app, _path) = spawn_from_file("").await;
    app.add_user("alice", &[]).await;
    let (refresh, claims) = app.login_ok("alice").await;
    let (mine_id, mine_secret) = create_client(&app, "mine", &[]).await;
    let (other_id, other_secret) = create_client(&app, "other", &[]).await;
    let my_token = access_jwt(&app, &mine_id, &mine_secret).await;
    let their_token = access_jwt(&app, &other_id, &other_secret).await;
    let revoke_as_mine = |token: String| {
        let app = &app;
        let (id, secret) = (mine_id.clone(), mine_secret.clone());
        async move {
            app.client
                .post(format!("{}/oauth2/revoke", app.intranet))
                .basic_auth(id, Some(secret))
                .form(&[("token", token)])
                .send()
                .await
                .expect("request")
                .status()
        }
    };

    for token in [
        their_token.clone(),
        refresh.clone(),
        claims.clone(),
        my_token.clone(),
    ] {
        assert_eq!(revoke_as_mine(token).await, 200, "the answer never tells");
    }

    assert_eq!(
        app.introspect(&my_token).await["active"],
        false,
        "its own token"
    );
    assert_eq!(
        app.introspect(&their_token).await["active"],
        true,
        "another client's"
    );
    assert_eq!(
        app.introspect(&claims).await["active"],
        true,
        "a user's claims token"
    );
    assert_eq!(
        app.introspect(&refresh).await["active"],
        true,
        "a user's refresh token"
    );
}
