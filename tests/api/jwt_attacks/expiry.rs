//! Expiry over HTTP, moving the server's fixed clock: no leeway, so a token is refused from
//! the second after its `exp` (issue 7 allows at most 30 s).

use super::{assert_refused_on, Answer, Route, Victim, ROUTES_ENFORCING_EXPIRY};
use crate::admin_helpers::{access_jwt, check, create_client, jwt_part};
use serde_json::json;
use time::Duration;

fn lifetime(token: &str) -> i64 {
    let claims = jwt_part(token, 1);
    claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat")
}

#[actix_rt::test]
async fn a_claims_token_is_accepted_a_second_before_exp_and_refused_a_second_after() {
    let victim = Victim::new().await;
    let lifetime = lifetime(&victim.claims);

    victim.app.clock.advance(Duration::seconds(lifetime - 1));
    for route in ROUTES_ENFORCING_EXPIRY {
        route.assert_accepted(&route.send(&victim.app, &victim.claims).await);
    }
    victim.app.clock.advance(Duration::seconds(2));

    assert_refused_on(
        &victim.app,
        &ROUTES_ENFORCING_EXPIRY,
        &victim.claims,
        "a claims token 1 s past exp",
    )
    .await;
}

#[actix_rt::test]
async fn an_access_jwt_is_refused_a_second_after_exp() {
    let victim = Victim::new().await;
    let app = &victim.app;
    let (client_id, secret) = create_client(app, "reporting", &["read"]).await;
    let token = access_jwt(app, &client_id, &secret).await;
    app.clock.advance(Duration::seconds(lifetime(&token) - 1));
    let before =
        Answer::read(check(app, &[("Authorization", &format!("Bearer {token}"))]).await).await;

    app.clock.advance(Duration::seconds(2));
    let after =
        Answer::read(check(app, &[("Authorization", &format!("Bearer {token}"))]).await).await;
    let introspected = Route::IntrospectIntranet.send(app, &token).await;

    assert_eq!(before.status, 200, "{}", before.body);
    assert_eq!(before.auth_kind.as_deref(), Some("access_token"));
    assert_eq!(after.status, 401, "{}", after.body);
    assert_eq!(introspected.status, 200);
    assert_eq!(introspected.json(), json!({"active": false}));
}
