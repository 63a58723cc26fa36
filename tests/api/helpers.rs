//! `spawn_app` → `TestApp`: a real tessera on two loopback ports with its own data dir.

use std::sync::Arc;
use tessera::app::Application;
use tessera::auth::{users, Context};
use tessera::clock::FixedClock;
use tessera::config::Config;
use tessera::domain::{NewUser, Role, UserId};

pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub public: String,
    pub intranet: String,
    pub client: reqwest::Client,
    pub clock: Arc<FixedClock>,
    pub ctx: actix_web::web::Data<Context>,
    /// Held so the store outlives the test; removed on drop.
    pub _data_dir: tempfile::TempDir,
}

/// A configuration for tests: loopback port 0 for both listeners, a temporary data dir, and a
/// cheap argon2id so the suite runs quickly (the cost is a parameter, not the algorithm).
pub fn test_config(data_dir: &std::path::Path) -> Config {
    let mut config = Config::default();
    config.server.bind = "127.0.0.1:0".parse().expect("addr");
    config.server.admin_bind = "127.0.0.1:0".parse().expect("addr");
    config.server.data_dir = data_dir.to_path_buf();
    config.passwords.argon2_memory_kib = 1024;
    config.passwords.argon2_iterations = 1;
    config.bootstrap_admin_password = Some(ADMIN_PASSWORD.into());
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(data_dir.path());
    adjust(&mut config);
    config.validate().expect("valid test config");
    spawn_on(config, data_dir).await
}

pub async fn spawn_on(config: Config, data_dir: tempfile::TempDir) -> TestApp {
    let clock = Arc::new(FixedClock::starting_now());
    let app = Application::build(config, clock.clone())
        .await
        .expect("tessera starts");
    let public = format!("http://{}", app.public_addr());
    let intranet = format!("http://{}", app.intranet_addr());
    let ctx = app.context();
    actix_rt::spawn(app.run_until_stopped());
    TestApp {
        public,
        intranet,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        clock,
        ctx,
        _data_dir: data_dir,
    }
}

impl TestApp {
    /// Creates a directory user through the same use case the CLI and admin API use.
    pub async fn add_user(&self, userid: &str, roles: &[&str]) {
        let new = NewUser {
            userid: UserId::parse(userid).expect("valid userid"),
            password: PASSWORD.into(),
            email: Some(
                tessera::domain::Email::parse(&format!("{userid}@example.com")).expect("email"),
            ),
            firstname: Some("Test".into()),
            lastname: Some("User".into()),
            roles: roles
                .iter()
                .map(|r| Role::parse(r).expect("role"))
                .collect(),
            provider: None,
            domain: None,
        };
        users::create_user(&self.ctx, new)
            .await
            .expect("user created");
    }

    pub async fn login(&self, userid: &str, password: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/login", self.public))
            .json(&serde_json::json!({"userid": userid, "password": password}))
            .send()
            .await
            .expect("request")
    }

    /// Logs in and returns (refresh_token, claims JWT).
    pub async fn login_ok(&self, userid: &str) -> (String, String) {
        let res = self.login(userid, PASSWORD).await;
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.expect("json");
        (
            body["refresh_token"].as_str().expect("refresh").to_string(),
            body["claims_token"]["value"]
                .as_str()
                .expect("claims")
                .to_string(),
        )
    }

    pub async fn refresh(&self, token: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/authService/accounts/refresh", self.public))
            .form(&[("refresh_token", token)])
            .send()
            .await
            .expect("request")
    }

    /// Introspects on the intranet listener as `admin`.
    pub async fn introspect(&self, token: &str) -> serde_json::Value {
        let res = self
            .client
            .post(format!("{}/oauth2/introspect", self.intranet))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .form(&[("token", token)])
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 200);
        res.json().await.expect("json")
    }
}

pub async fn json(res: reqwest::Response) -> serde_json::Value {
    res.json().await.expect("json body")
}

/// After concurrent refreshes of one token: exactly one successor, every answer 200 or 401, and
/// no forked session. Requests that overlapped the winning exchange lose the race and leave the
/// session be; one the server only began after it is a replay and ends the session. Either way
/// the session is one thing: live with exactly the winner's token, or over.
pub async fn assert_one_winner_no_fork(
    app: &TestApp,
    statuses: &[u16],
    successors: &[String],
    claims: &str,
) {
    assert_eq!(successors.len(), 1, "exactly one winner: {statuses:?}");
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 401),
        "{statuses:?}"
    );
    let live = app.introspect(claims).await["active"] == true;
    let successor_works = app.refresh(&successors[0]).await.status() == 200;
    assert_eq!(live, successor_works, "no forked session");
}
