//! decisions-4 "Chain": who may call the protected services (SPEC §6) — static credentials
//! (`[service.NAME]` over `[server]`), directory users by Basic, OAuth clients by Basic
//! (introspection only), claims tokens and AccessToken pairs — the realm of every challenge, and
//! `disable_authentication`. Servers start from a TOML file, so the key names are checked too.

use crate::admin_helpers::{create_client, header, pair};
use crate::config_helpers::{spawn_from_file, write_config};
use crate::helpers::{json, TestApp, PASSWORD};
use reqwest::RequestBuilder;

/// A protected service, called on the intranet listener unless said otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Introspection,
    Statistics,
    Admin,
}

use Service::{Admin, Introspection, Statistics};

const ALL: [Service; 3] = [Introspection, Statistics, Admin];

fn request(app: &TestApp, base: &str, service: Service) -> RequestBuilder {
    match service {
        Introspection => app
            .client
            .post(format!("{base}/oauth2/introspect"))
            .form(&[("token", "not-a-token")]),
        Statistics => app.client.get(format!("{base}/api/v1/statistics")),
        Admin => app.client.get(format!("{base}/api/v1/applications")),
    }
}

async fn call(
    app: &TestApp,
    service: Service,
    with: impl FnOnce(RequestBuilder) -> RequestBuilder,
) -> reqwest::Response {
    with(request(app, &app.intranet, service))
        .send()
        .await
        .expect("request")
}

async fn call_basic(app: &TestApp, service: Service, user: &str, password: &str) -> u16 {
    call(app, service, |r| r.basic_auth(user, Some(password)))
        .await
        .status()
        .as_u16()
}

async fn login_claims(app: &TestApp, userid: &str) -> String {
    app.login_ok(userid).await.1
}

#[actix_rt::test]
async fn server_static_credentials_let_a_caller_into_introspection_statistics_and_admin() {
    let (app, _) = spawn_from_file(
        r#"
        [server]
        username = "gateway"
        password = "server-secret-1"
        "#,
    )
    .await;

    for service in ALL {
        let right = call_basic(&app, service, "gateway", "server-secret-1").await;
        let wrong = call_basic(&app, service, "gateway", "server-secret-2").await;
        let other_name = call_basic(&app, service, "gateway2", "server-secret-1").await;

        assert_eq!(right, 200, "{service:?}");
        assert_eq!(wrong, 401, "{service:?}");
        assert_eq!(other_name, 401, "{service:?}");
    }
}

#[actix_rt::test]
async fn a_service_password_overrides_the_server_password_for_that_service_only() {
    let (app, _) = spawn_from_file(
        r#"
        [server]
        username = "gateway"
        password = "server-secret-1"

        [service.introspection]
        password = "introspection-secret-2"
        "#,
    )
    .await;

    let intro_with_section =
        call_basic(&app, Introspection, "gateway", "introspection-secret-2").await;
    let intro_with_server = call_basic(&app, Introspection, "gateway", "server-secret-1").await;
    let stats_with_server = call_basic(&app, Statistics, "gateway", "server-secret-1").await;
    let stats_with_section =
        call_basic(&app, Statistics, "gateway", "introspection-secret-2").await;
    let admin_with_server = call_basic(&app, Admin, "gateway", "server-secret-1").await;

    assert_eq!(intro_with_section, 200);
    assert_eq!(intro_with_server, 401, "the server password is overridden");
    assert_eq!(
        stats_with_server, 200,
        "other services keep the server password"
    );
    assert_eq!(stats_with_section, 401);
    assert_eq!(admin_with_server, 200);
}

#[actix_rt::test]
async fn a_service_username_and_password_replace_the_servers_for_that_service() {
    let (app, _) = spawn_from_file(
        r#"
        [server]
        username = "gateway"
        password = "server-secret-1"

        [service.statistics]
        username = "stats-reader"
        password = "stats-secret-3"
        "#,
    )
    .await;

    assert_eq!(
        call_basic(&app, Statistics, "stats-reader", "stats-secret-3").await,
        200
    );
    assert_eq!(
        call_basic(&app, Statistics, "gateway", "server-secret-1").await,
        401
    );
    assert_eq!(
        call_basic(&app, Statistics, "stats-reader", "server-secret-1").await,
        401
    );
    assert_eq!(
        call_basic(&app, Introspection, "stats-reader", "stats-secret-3").await,
        401
    );
    assert_eq!(
        call_basic(&app, Introspection, "gateway", "server-secret-1").await,
        200
    );
}

#[actix_rt::test]
async fn a_service_username_without_a_password_uses_the_server_password() {
    let (app, _) = spawn_from_file(
        r#"
        [server]
        username = "gateway"
        password = "server-secret-1"

        [service.statistics]
        username = "stats-reader"
        "#,
    )
    .await;

    let section_name = call_basic(&app, Statistics, "stats-reader", "server-secret-1").await;
    let server_name = call_basic(&app, Statistics, "gateway", "server-secret-1").await;
    let admin = call_basic(&app, Admin, "gateway", "server-secret-1").await;

    assert_eq!(section_name, 200);
    assert_eq!(
        server_name, 401,
        "the section's username replaces the server's"
    );
    assert_eq!(admin, 200);
}

#[actix_rt::test]
async fn a_server_password_with_a_section_username_makes_static_credentials_for_that_section() {
    let (app, _) = spawn_from_file(
        r#"
        [server]
        password = "server-secret-1"

        [service.introspection]
        username = "introspector"
        "#,
    )
    .await;

    assert_eq!(
        call_basic(&app, Introspection, "introspector", "server-secret-1").await,
        200
    );
    // No username anywhere for statistics and admin: no static credentials there.
    for service in [Statistics, Admin] {
        assert_eq!(
            call_basic(&app, service, "introspector", "server-secret-1").await,
            401,
            "{service:?}"
        );
        assert_eq!(
            call_basic(&app, service, "", "server-secret-1").await,
            401,
            "{service:?}"
        );
    }
}

#[actix_rt::test]
async fn without_a_password_anywhere_a_username_alone_is_refused() {
    let (app, _) = spawn_from_file(
        r#"
        [server]
        username = "gateway"

        [service.introspection]
        username = "introspector"

        # Many deliberate failures: lift the lockout this test is not about.
        [login_protection]
        max_failures = 1000
        max_failures_per_address = 1000
        "#,
    )
    .await;

    for service in ALL {
        let empty = call_basic(&app, service, "gateway", "").await;
        let none = call(&app, service, |r| r.basic_auth("gateway", None::<&str>))
            .await
            .status();
        let any = call_basic(&app, service, "gateway", "anything-at-all").await;

        assert_eq!(empty, 401, "{service:?}");
        assert_eq!(none, 401, "{service:?}");
        assert_eq!(any, 401, "{service:?}");
    }
    assert_eq!(
        call_basic(&app, Introspection, "introspector", "").await,
        401
    );
}

#[actix_rt::test]
async fn directory_users_by_basic_need_one_of_the_services_default_roles() {
    let (app, _) = spawn_from_file("").await;
    app.add_user("ops", &["Administrator"]).await;
    app.add_user("watcher", &["Supervisor"]).await;
    app.add_user("plain", &[]).await;

    for service in ALL {
        assert_eq!(
            call_basic(&app, service, "ops", PASSWORD).await,
            200,
            "Administrator on {service:?}"
        );
        assert_eq!(
            call_basic(&app, service, "plain", PASSWORD).await,
            403,
            "no role on {service:?}"
        );
        assert_eq!(
            call_basic(&app, service, "ops", "wrong password").await,
            401,
            "wrong password on {service:?}"
        );
    }
    assert_eq!(call_basic(&app, Statistics, "watcher", PASSWORD).await, 200);
    assert_eq!(
        call_basic(&app, Introspection, "watcher", PASSWORD).await,
        403
    );
    assert_eq!(call_basic(&app, Admin, "watcher", PASSWORD).await, 403);
}

#[actix_rt::test]
async fn roles_in_a_service_section_replace_the_default_roles() {
    let (app, _) = spawn_from_file(
        r#"
        [service.statistics]
        roles = ["Auditor"]
        "#,
    )
    .await;
    app.add_user("auditor", &["Auditor"]).await;
    app.add_user("watcher", &["Supervisor"]).await;
    app.add_user("ops", &["Administrator"]).await;

    let auditor = call_basic(&app, Statistics, "auditor", PASSWORD).await;
    let watcher = call_basic(&app, Statistics, "watcher", PASSWORD).await;
    let ops = call_basic(&app, Statistics, "ops", PASSWORD).await;
    let ops_admin = call_basic(&app, Admin, "ops", PASSWORD).await;

    assert_eq!(auditor, 200);
    assert_eq!(watcher, 403, "Supervisor is no longer a statistics role");
    assert_eq!(ops, 403, "Administrator is no longer a statistics role");
    assert_eq!(ops_admin, 200, "other services keep their defaults");
}

#[actix_rt::test]
async fn an_oauth_client_by_basic_may_introspect_and_nothing_else() {
    let (app, _) = spawn_from_file("").await;
    let (client_id, secret) = create_client(&app, "gateway", &["read"]).await;

    let introspection = call_basic(&app, Introspection, &client_id, &secret).await;
    let wrong_secret = call_basic(&app, Introspection, &client_id, "tsc_wrong").await;
    let statistics = call_basic(&app, Statistics, &client_id, &secret).await;
    let admin = call_basic(&app, Admin, &client_id, &secret).await;

    assert_eq!(introspection, 200);
    assert_eq!(wrong_secret, 401);
    assert_eq!(statistics, 401, "a client is not a directory user");
    assert_eq!(admin, 401, "a client is not a directory user");
}

#[actix_rt::test]
async fn a_claims_token_lets_in_a_user_with_the_services_role() {
    let (app, _) = spawn_from_file("").await;
    app.add_user("ops", &["Administrator"]).await;
    app.add_user("watcher", &["Supervisor"]).await;
    app.add_user("plain", &[]).await;
    let ops = login_claims(&app, "ops").await;
    let watcher = login_claims(&app, "watcher").await;
    let plain = login_claims(&app, "plain").await;

    for service in ALL {
        let voltmx = call(&app, service, |r| r.header("X-VoltMX-Authorization", &ops)).await;
        let bearer = call(&app, service, |r| r.bearer_auth(&ops)).await;
        let roleless = call(&app, service, |r| {
            r.header("X-VoltMX-Authorization", &plain)
        })
        .await;

        assert_eq!(voltmx.status(), 200, "{service:?}");
        assert_eq!(bearer.status(), 200, "{service:?}");
        assert_eq!(roleless.status(), 403, "{service:?}");
    }
    let stats = call(&app, Statistics, |r| {
        r.header("X-VoltMX-Authorization", &watcher)
    })
    .await;
    let intro = call(&app, Introspection, |r| {
        r.header("X-VoltMX-Authorization", &watcher)
    })
    .await;
    assert_eq!(stats.status(), 200);
    assert_eq!(intro.status(), 403);
    assert_eq!(json(intro).await["error"], "forbidden");
}

#[actix_rt::test]
async fn an_access_token_pair_may_introspect_but_needs_a_scope_naming_a_role_elsewhere() {
    let (app, _) = spawn_from_file("").await;
    let (plain_id, plain_secret) = create_client(&app, "plain", &["read"]).await;
    let (sup_id, sup_secret) = create_client(&app, "supervising", &["Supervisor"]).await;
    let (plain_token, plain_pair_secret) = pair(&app, &plain_id, &plain_secret).await;
    let (sup_token, sup_pair_secret) = pair(&app, &sup_id, &sup_secret).await;
    let with_pair = |token: String, secret: String| {
        move |r: RequestBuilder| {
            r.header("AccessToken", token)
                .header("AccessSecret", secret)
        }
    };

    let plain_intro = call(
        &app,
        Introspection,
        with_pair(plain_token.clone(), plain_pair_secret.clone()),
    )
    .await;
    let plain_stats = call(
        &app,
        Statistics,
        with_pair(plain_token.clone(), plain_pair_secret.clone()),
    )
    .await;
    let plain_admin = call(
        &app,
        Admin,
        with_pair(plain_token.clone(), plain_pair_secret.clone()),
    )
    .await;
    let sup_stats = call(
        &app,
        Statistics,
        with_pair(sup_token.clone(), sup_pair_secret.clone()),
    )
    .await;
    let sup_admin = call(&app, Admin, with_pair(sup_token.clone(), sup_pair_secret)).await;
    let wrong_secret = call(
        &app,
        Introspection,
        with_pair(plain_token, "tsa_not-the-secret".into()),
    )
    .await;

    assert_eq!(plain_intro.status(), 200);
    assert_eq!(plain_stats.status(), 403);
    assert_eq!(json(plain_stats).await["error"], "forbidden");
    assert_eq!(plain_admin.status(), 403);
    assert_eq!(
        sup_stats.status(),
        200,
        "the Supervisor scope names a statistics role"
    );
    assert_eq!(sup_admin.status(), 403, "Supervisor is not an admin role");
    assert_eq!(wrong_secret.status(), 401);
}

#[actix_rt::test]
async fn the_configured_realm_is_in_every_challenge() {
    let (app, _) = spawn_from_file(
        r#"
        [server]
        realm = "acme-idp"
        "#,
    )
    .await;

    let mut refused = Vec::new();
    for service in ALL {
        refused.push((
            format!("{service:?} anonymous"),
            call(&app, service, |r| r).await,
        ));
        refused.push((
            format!("{service:?} wrong password"),
            call(&app, service, |r| {
                r.basic_auth("admin", Some("wrong password"))
            })
            .await,
        ));
        refused.push((
            format!("{service:?} forged claims"),
            call(&app, service, |r| {
                r.header("X-VoltMX-Authorization", "a.b.c")
            })
            .await,
        ));
    }
    refused.push((
        "public introspection".into(),
        request(&app, &app.public, Introspection)
            .send()
            .await
            .expect("request"),
    ));

    for (what, res) in refused {
        assert_eq!(res.status(), 401, "{what}");
        assert_eq!(
            header(&res, "www-authenticate").as_deref(),
            Some(r#"Basic realm="acme-idp""#),
            "{what}"
        );
        assert!(res.text().await.expect("body").is_empty(), "{what}");
    }
}

#[actix_rt::test]
async fn disabled_authentication_opens_introspection_on_the_intranet_listener_only() {
    let (app, _) = spawn_from_file(
        r#"
        [service.introspection]
        disable_authentication = true
        "#,
    )
    .await;

    let intranet = call(&app, Introspection, |r| r).await;
    let public = request(&app, &app.public, Introspection)
        .send()
        .await
        .expect("request");
    let statistics = call(&app, Statistics, |r| r).await;

    assert_eq!(intranet.status(), 200);
    assert_eq!(json(intranet).await["active"], false);
    assert_eq!(
        public.status(),
        401,
        "the public listener still authenticates"
    );
    assert_eq!(
        header(&public, "www-authenticate").as_deref(),
        Some(r#"Basic realm="tessera""#)
    );
    assert_eq!(statistics.status(), 401, "only the named service is opened");
}

#[actix_rt::test]
async fn disabled_authentication_opens_statistics_on_the_intranet_listener() {
    let (app, _) = spawn_from_file(
        r#"
        [service.statistics]
        disable_authentication = true
        "#,
    )
    .await;

    let statistics = call(&app, Statistics, |r| r).await;
    let introspection = call(&app, Introspection, |r| r).await;

    assert_eq!(statistics.status(), 200);
    assert_eq!(introspection.status(), 401);
}

#[test]
fn the_admin_service_cannot_disable_authentication() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(
        dir.path(),
        r#"
        [service.admin]
        disable_authentication = true
        "#,
    );

    let err = tessera::config::load(&path).expect_err("refused");

    assert!(
        err.to_string()
            .contains("service.admin.disable_authentication"),
        "{err}"
    );
}

#[test]
fn a_crypt_value_that_does_not_decrypt_stops_the_load_naming_the_key_not_the_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(
        dir.path(),
        r#"
        [service.statistics]
        password = "CRYPT:c2VjcmV0LXZhbHVlLTk"
        "#,
    );

    let err = tessera::config::load(&path).expect_err("refused");

    let message = err.to_string();
    assert!(message.contains("service.statistics.password"), "{message}");
    assert!(!message.contains("c2VjcmV0LXZhbHVlLTk"), "{message}");
}
