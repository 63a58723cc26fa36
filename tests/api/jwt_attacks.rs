//! Issue 7, JWT attack tests: hostile tokens sent over real HTTP to every route that accepts a
//! JWT (RFC 8725 §2–§3), and the claim checks that need a signing key we do not hand out.
//!
//! Every attack is sent to the same set of [`Route`]s, and each route refuses in its own way:
//! introspection answers `{"active": false}`, `/api/v1/check` 401, logout 401 `invalid_grant`,
//! the protected services 401 with the Basic challenge. A control test shows that a genuine
//! token gets through on each of them, so a refusal is never vacuous.

mod bit_flips;
mod claim_checks;
mod expiry;
mod forged;
mod kinds;

use crate::admin_helpers::{header, jwt_part};
use crate::helpers::{spawn_app_with, TestApp, ADMIN_PASSWORD};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use tessera::config::Config;

/// The realm of the test servers' Basic challenge.
pub const CHALLENGE: &str = "Basic realm=\"tessera\"";

/// A route that accepts a JWT, and the header or field it reads it from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /oauth2/introspect` on the intranet listener, the JWT as the form's `token`.
    IntrospectIntranet,
    /// The same on the public listener.
    IntrospectPublic,
    /// Introspection with the JWT as the caller's credential (SPEC §6, chain step 4).
    IntrospectCaller,
    /// `GET /api/v1/check` with `X-VoltMX-Authorization`.
    CheckVoltMx,
    /// `GET /api/v1/check` with the older `X-Kony-Authorization`.
    CheckKony,
    /// `GET /api/v1/check` with `Authorization: Bearer`.
    CheckBearer,
    /// An admin route, `GET /api/v1/users`, with `Authorization: Bearer`.
    AdminBearer,
    /// The same with `X-VoltMX-Authorization`.
    AdminVoltMx,
    /// `GET /api/v1/statistics` with `Authorization: Bearer`.
    StatisticsBearer,
    /// `POST /authService/accounts/logout` with `X-VoltMX-Authorization`.
    LogoutVoltMx,
    /// The same with `Authorization: Bearer`.
    LogoutBearer,
}

use Route::*;

/// Every route; logout comes last, so that a control run ends the session only at the end.
pub const ROUTES: [Route; 11] = [
    IntrospectIntranet,
    IntrospectPublic,
    IntrospectCaller,
    CheckVoltMx,
    CheckKony,
    CheckBearer,
    AdminBearer,
    AdminVoltMx,
    StatisticsBearer,
    LogoutVoltMx,
    LogoutBearer,
];

/// The routes that must refuse an expired token. Logout is left out by design: an expired
/// claims token still names its session, and ending a session is always safe
/// (`auth::login::logout` verifies with `Expiry::Ignore`).
pub const ROUTES_ENFORCING_EXPIRY: [Route; 9] = [
    IntrospectIntranet,
    IntrospectPublic,
    IntrospectCaller,
    CheckVoltMx,
    CheckKony,
    CheckBearer,
    AdminBearer,
    AdminVoltMx,
    StatisticsBearer,
];

/// A response read whole, so that a failed assertion can show the body.
pub struct Answer {
    pub status: u16,
    pub challenge: Option<String>,
    pub auth_kind: Option<String>,
    pub body: String,
}

impl Answer {
    pub async fn read(res: reqwest::Response) -> Self {
        let status = res.status().as_u16();
        let challenge = header(&res, "www-authenticate");
        let auth_kind = header(&res, "x-auth-kind");
        let body = res.text().await.expect("body");
        Self {
            status,
            challenge,
            auth_kind,
            body,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, self.body))
    }
}

impl Route {
    pub async fn send(self, app: &TestApp, token: &str) -> Answer {
        let client = &app.client;
        let introspect = |base: &str| {
            client
                .post(format!("{base}/oauth2/introspect"))
                .basic_auth("admin", Some(ADMIN_PASSWORD))
                .form(&[("token", token)])
        };
        let check = || client.get(format!("{}/api/v1/check", app.public));
        let users = || client.get(format!("{}/api/v1/users", app.intranet));
        let logout = || client.post(format!("{}/authService/accounts/logout", app.public));
        let request = match self {
            IntrospectIntranet => introspect(&app.intranet),
            IntrospectPublic => introspect(&app.public),
            IntrospectCaller => client
                .post(format!("{}/oauth2/introspect", app.intranet))
                .bearer_auth(token)
                .form(&[("token", "not-a-token")]),
            CheckVoltMx => check().header("X-VoltMX-Authorization", token),
            CheckKony => check().header("X-Kony-Authorization", token),
            CheckBearer => check().bearer_auth(token),
            AdminBearer => users().bearer_auth(token),
            AdminVoltMx => users().header("X-VoltMX-Authorization", token),
            StatisticsBearer => client
                .get(format!("{}/api/v1/statistics", app.intranet))
                .bearer_auth(token),
            LogoutVoltMx => logout().header("X-VoltMX-Authorization", token),
            LogoutBearer => logout().bearer_auth(token),
        };
        Answer::read(request.send().await.expect("request")).await
    }

    /// Asserts this route's refusal (and, first, that it is not a 5xx).
    pub fn assert_refused(self, answer: &Answer, what: &str) {
        let Answer { status, body, .. } = answer;
        assert!(
            *status < 500,
            "{self:?} answered {status} to {what}: {body}"
        );
        match self {
            IntrospectIntranet | IntrospectPublic => {
                assert_eq!(*status, 200, "{self:?}, {what}: {body}");
                assert_eq!(answer.json(), json!({"active": false}), "{self:?}, {what}");
            }
            IntrospectCaller | AdminBearer | AdminVoltMx | StatisticsBearer => {
                assert_eq!(*status, 401, "{self:?}, {what}: {body}");
                assert_eq!(
                    answer.challenge.as_deref(),
                    Some(CHALLENGE),
                    "{self:?}, {what}"
                );
                assert!(body.is_empty(), "{self:?}, {what}: {body}");
            }
            CheckVoltMx | CheckKony | CheckBearer => {
                assert_eq!(*status, 401, "{self:?}, {what}: {body}");
                assert_eq!(answer.auth_kind, None, "{self:?}, {what}");
            }
            LogoutVoltMx | LogoutBearer => {
                assert_eq!(*status, 401, "{self:?}, {what}: {body}");
                assert_eq!(answer.json()["error"], "invalid_grant", "{self:?}, {what}");
            }
        }
    }

    /// Asserts this route let a genuine claims token of an Administrator through.
    pub fn assert_accepted(self, answer: &Answer) {
        let Answer { status, body, .. } = answer;
        assert_eq!(*status, 200, "{self:?}: {body}");
        match self {
            IntrospectIntranet | IntrospectPublic => {
                let body = answer.json();
                assert_eq!(body["active"], true, "{self:?}: {body}");
                assert_eq!(body["token_type"], "claims_token", "{self:?}: {body}");
            }
            CheckVoltMx | CheckKony | CheckBearer => {
                assert_eq!(
                    answer.auth_kind.as_deref(),
                    Some("claims_token"),
                    "{self:?}"
                );
            }
            _ => {}
        }
    }
}

/// Sends `token` to every route in `routes` and asserts each refuses it.
pub async fn assert_refused_on(app: &TestApp, routes: &[Route], token: &str, what: &str) {
    for route in routes {
        let answer = route.send(app, token).await;
        route.assert_refused(&answer, what);
    }
}

/// Sends `token` to every route and asserts each refuses it.
pub async fn assert_refused_everywhere(app: &TestApp, token: &str, what: &str) {
    assert_refused_on(app, &ROUTES, token, what).await;
}

/// A server with an Administrator `alice` logged in: her genuine claims token is the material
/// the attacks are made from.
pub struct Victim {
    pub app: TestApp,
    pub refresh: String,
    pub claims: String,
}

impl Victim {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    pub async fn with(adjust: impl FnOnce(&mut Config)) -> Self {
        let app = spawn_app_with(adjust).await;
        app.add_user("alice", &["Administrator"]).await;
        let (refresh, claims) = app.login_ok("alice").await;
        Self {
            app,
            refresh,
            claims,
        }
    }

    /// The genuine token's header, decoded.
    pub fn header(&self) -> Value {
        jwt_part(&self.claims, 0)
    }

    /// The genuine token's claims, decoded: a forgery carries exactly these.
    pub fn payload(&self) -> Value {
        jwt_part(&self.claims, 1)
    }

    pub fn kid(&self) -> String {
        self.header()["kid"].as_str().expect("kid").to_string()
    }

    /// The server's published keys.
    pub async fn jwks(&self) -> Value {
        let res = self
            .app
            .client
            .get(format!("{}/.well-known/jwks.json", self.app.public))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 200);
        res.json().await.expect("json")
    }

    /// The published JWK whose `kid` signed the genuine token.
    pub async fn public_jwk(&self) -> Value {
        let kid = self.kid();
        let jwks = self.jwks().await;
        jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("{kid} not in {jwks}"))
    }
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

/// A JWT with this header and these claims, its signature made by `sign` over the signing
/// input (RFC 7515 §5.1).
pub fn forge(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

/// HMAC-SHA256 with `secret`: the signer of an algorithm-confusion forgery.
pub fn hs256(secret: &[u8]) -> impl FnOnce(&[u8]) -> Vec<u8> + '_ {
    move |input| {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key length");
        mac.update(input);
        mac.finalize().into_bytes().to_vec()
    }
}

/// An attacker's own Ed25519 key: signatures that verify, under a key the server never issued.
pub struct Attacker {
    key: ed25519_dalek::SigningKey,
}

impl Attacker {
    pub fn new() -> Self {
        Self {
            key: ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]),
        }
    }

    pub fn sign(&self) -> impl FnOnce(&[u8]) -> Vec<u8> + '_ {
        move |input| {
            use ed25519_dalek::Signer;
            self.key.sign(input).to_bytes().to_vec()
        }
    }

    /// The attacker's public key as a JWK (RFC 8037).
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64(self.key.verifying_key().as_bytes()),
            "kid": "attacker",
            "use": "sig",
            "alg": "EdDSA",
        })
    }
}

#[actix_rt::test]
async fn a_genuine_claims_token_is_accepted_on_every_route_the_attacks_use() {
    let victim = Victim::new().await;

    for route in ROUTES {
        let answer = route.send(&victim.app, &victim.claims).await;

        route.assert_accepted(&answer);
    }
}
