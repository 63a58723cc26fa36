//! The crash test's HTTP client: every call says whether an answer came back at all, because a
//! request the server died under is neither acknowledged nor refused — its effect is unknown.

use serde_json::{json, Value};
use std::time::Duration;

/// The admin password the crash test's server is started with.
pub const ADMIN_PASSWORD: &str = "admin-password-1";
/// The password of every user the load creates.
pub const PASSWORD: &str = "correct horse battery";

/// What became of one request.
#[derive(Debug)]
pub enum Outcome {
    /// The whole response arrived: its status and its body (`Null` when not JSON).
    Answered(u16, Value),
    /// No complete response: the server died before, during or after doing the work.
    Lost,
}

impl Outcome {
    pub fn acknowledged(&self) -> bool {
        matches!(self, Outcome::Answered(status, _) if (200..300).contains(status))
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Outcome::Answered(status, _) => Some(*status),
            Outcome::Lost => None,
        }
    }

    /// A string field of the body, if the request was acknowledged.
    pub fn field(&self, pointer: &str) -> Option<String> {
        match self {
            Outcome::Answered(status, body) if (200..300).contains(status) => {
                body.pointer(pointer)?.as_str().map(str::to_string)
            }
            _ => None,
        }
    }

    /// `active` of an introspection answer, if it answered 200.
    pub fn active(&self) -> Option<bool> {
        match self {
            Outcome::Answered(200, body) => body["active"].as_bool(),
            _ => None,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Answered(status, body) => write!(f, "{status} {body}"),
            Outcome::Lost => f.write_str("no answer"),
        }
    }
}

/// One running server's two listeners.
pub struct Api {
    client: reqwest::Client,
    public: String,
    intranet: String,
}

impl Api {
    pub fn new(public: &str, intranet: &str) -> Self {
        Self::with_timeout(public, intranet, Duration::from_secs(15))
    }

    /// A client that waits up to `timeout` for each answer.
    pub fn with_timeout(public: &str, intranet: &str, timeout: Duration) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("client"),
            public: public.to_string(),
            intranet: intranet.to_string(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Outcome {
        let Ok(res) = request.send().await else {
            return Outcome::Lost;
        };
        let status = res.status().as_u16();
        match res.bytes().await {
            Ok(bytes) => Outcome::Answered(
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            ),
            Err(_) => Outcome::Lost,
        }
    }

    fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.intranet))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
    }

    pub async fn create_user(&self, userid: &str) -> Outcome {
        let body = json!({"userid": userid, "password": PASSWORD});
        self.send(
            self.admin(reqwest::Method::POST, "/api/v1/users")
                .json(&body),
        )
        .await
    }

    /// `GET /api/v1/users`, the first page.
    pub async fn list_users(&self) -> Outcome {
        self.send(self.admin(reqwest::Method::GET, "/api/v1/users"))
            .await
    }

    /// `GET /health` on the intranet listener.
    pub async fn health(&self) -> Outcome {
        self.send(self.client.get(format!("{}/health", self.intranet)))
            .await
    }

    pub async fn get_user(&self, userid: &str) -> Outcome {
        self.send(self.admin(reqwest::Method::GET, &format!("/api/v1/users/{userid}")))
            .await
    }

    pub async fn create_app(&self, name: &str) -> Outcome {
        let body = json!({"name": name});
        self.send(
            self.admin(reqwest::Method::POST, "/api/v1/applications")
                .json(&body),
        )
        .await
    }

    pub async fn get_app(&self, app_id: &str) -> Outcome {
        let path = format!("/api/v1/applications/{app_id}");
        self.send(self.admin(reqwest::Method::GET, &path)).await
    }

    pub async fn create_key(&self, app_id: &str, name: &str) -> Outcome {
        let path = format!("/api/v1/applications/{app_id}/keys");
        self.send(
            self.admin(reqwest::Method::POST, &path)
                .json(&json!({"name": name})),
        )
        .await
    }

    /// Rotates a key with no grace: the old secret must stop working at once.
    pub async fn refresh_key(&self, app_id: &str, key_id: &str) -> Outcome {
        let path = format!("/api/v1/applications/{app_id}/keys/{key_id}/refresh");
        self.send(
            self.admin(reqwest::Method::POST, &path)
                .json(&json!({"grace_seconds": 0})),
        )
        .await
    }

    /// `GET /api/v1/check` with an API key: 200 if it works, 401 if not.
    pub async fn check_key(&self, secret: &str) -> Outcome {
        self.send(
            self.client
                .get(format!("{}/api/v1/check", self.public))
                .header("X-VoltMX-App-API-Key", secret),
        )
        .await
    }

    pub async fn login(&self, userid: &str) -> Outcome {
        let body = json!({"userid": userid, "password": PASSWORD});
        self.send(
            self.client
                .post(format!("{}/login", self.public))
                .json(&body),
        )
        .await
    }

    pub async fn refresh(&self, token: &str) -> Outcome {
        self.send(
            self.client
                .post(format!("{}/authService/accounts/refresh", self.public))
                .form(&[("refresh_token", token)]),
        )
        .await
    }

    pub async fn logout_with_refresh_token(&self, token: &str) -> Outcome {
        self.send(
            self.client
                .post(format!("{}/authService/accounts/logout", self.public))
                .form(&[("refresh_token", token)]),
        )
        .await
    }

    pub async fn logout_with_claims(&self, claims: &str) -> Outcome {
        self.send(
            self.client
                .post(format!("{}/authService/accounts/logout", self.public))
                .header("X-VoltMX-Authorization", claims)
                .form::<[(&str, &str)]>(&[]),
        )
        .await
    }

    /// `POST /oauth2/revoke` on the intranet listener as `admin`.
    pub async fn revoke(&self, token: &str) -> Outcome {
        self.send(
            self.admin(reqwest::Method::POST, "/oauth2/revoke")
                .form(&[("token", token)]),
        )
        .await
    }

    /// `POST /oauth2/introspect` on the intranet listener as `admin`.
    pub async fn introspect(&self, token: &str) -> Outcome {
        self.send(
            self.admin(reqwest::Method::POST, "/oauth2/introspect")
                .form(&[("token", token)]),
        )
        .await
    }
}
