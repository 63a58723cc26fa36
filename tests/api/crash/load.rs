//! One load task of the crash test: a random mix of writes against the server until it dies,
//! each acknowledged write entered in the task's part of the ledger as it is answered.

use super::client::{Api, Outcome};
use super::ledger::{Key, Ledger, Pending, Session};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// At most this many requests per task and round; the server is killed long before.
const MAX_REQUESTS: usize = 20_000;
/// And at most this long.
const MAX_TIME: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy)]
enum Op {
    CreateUser,
    Login,
    Refresh,
    RevokeClaims,
    RevokeRefreshToken,
    Logout,
    CreateApp,
    CreateKey,
    RotateKey,
}

/// How often each write is chosen, when it can be.
const MIX: [(Op, u32); 9] = [
    (Op::CreateUser, 12),
    (Op::Login, 20),
    (Op::Refresh, 25),
    (Op::RevokeClaims, 5),
    (Op::RevokeRefreshToken, 5),
    (Op::Logout, 6),
    (Op::CreateApp, 5),
    (Op::CreateKey, 10),
    (Op::RotateKey, 12),
];

struct Task {
    api: Rc<Api>,
    rng: StdRng,
    part: Ledger,
    /// Names this task's users, apps and keys apart from every other task's and round's.
    label: String,
    count: usize,
}

/// Runs writes until a request gets no answer (the server died), or the bounds are reached;
/// returns the task's part of the ledger.
pub async fn run(api: Rc<Api>, part: Ledger, seed: u64, label: String) -> Ledger {
    let mut task = Task {
        api,
        rng: StdRng::seed_from_u64(seed),
        part,
        label,
        count: 0,
    };
    let deadline = Instant::now() + MAX_TIME;
    while task.count < MAX_REQUESTS && Instant::now() < deadline {
        task.count += 1;
        let op = task.pick();
        if !task.perform(op).await {
            break;
        }
    }
    task.part
}

impl Task {
    fn usable_sessions(&self) -> Vec<usize> {
        (0..self.part.sessions.len())
            .filter(|&i| self.part.sessions[i].usable())
            .collect()
    }

    fn pick(&mut self) -> Op {
        let sessions = !self.usable_sessions().is_empty();
        let with_claims = self
            .part
            .sessions
            .iter()
            .any(|s| s.usable() && s.claims.is_some());
        let keys = self.part.keys.iter().any(|k| k.pending.is_none());
        let possible: Vec<(Op, u32)> = MIX
            .iter()
            .copied()
            .filter(|(op, _)| match op {
                Op::CreateUser | Op::CreateApp => true,
                Op::Login => !self.part.users.is_empty(),
                Op::Refresh | Op::RevokeRefreshToken | Op::Logout => sessions,
                Op::RevokeClaims => with_claims,
                Op::CreateKey => !self.part.apps.is_empty(),
                Op::RotateKey => keys,
            })
            .collect();
        possible
            .choose_weighted(&mut self.rng, |(_, weight)| *weight)
            .map(|(op, _)| *op)
            .unwrap_or(Op::CreateUser)
    }

    fn unexpected(&mut self, what: &str, outcome: &Outcome) {
        self.part
            .problems
            .push(format!("under load, {what} answered {outcome}"));
    }

    /// Performs one write; false when it got no answer (the server is gone).
    async fn perform(&mut self, op: Op) -> bool {
        match op {
            Op::CreateUser => self.create_user().await,
            Op::Login => self.login().await,
            Op::Refresh => self.refresh().await,
            Op::RevokeClaims => self.revoke_claims().await,
            Op::RevokeRefreshToken | Op::Logout => self.end_session(op).await,
            Op::CreateApp => self.create_app().await,
            Op::CreateKey => self.create_key().await,
            Op::RotateKey => self.rotate_key().await,
        }
    }

    async fn create_user(&mut self) -> bool {
        let userid = format!("{}-u{}", self.label, self.count);
        let outcome = self.api.create_user(&userid).await;
        if outcome.acknowledged() {
            self.part.writes += 1;
            self.part.users.push(userid.clone());
            self.part.new_users.push(userid);
        } else if matches!(outcome, Outcome::Lost) {
            self.part.pending_users.push(userid);
            return false;
        } else {
            self.unexpected(&format!("creating user {userid}"), &outcome);
        }
        true
    }

    async fn login(&mut self) -> bool {
        let userid = self
            .part
            .users
            .choose(&mut self.rng)
            .expect("a user")
            .clone();
        let outcome = self.api.login(&userid).await;
        match (
            outcome.field("/refresh_token"),
            outcome.field("/claims_token/value"),
        ) {
            (Some(token), Some(claims)) => {
                self.part.writes += 1;
                self.part.sessions.push(Session {
                    userid,
                    tokens: vec![token],
                    claims: Some(claims),
                    revoked: false,
                    pending: None,
                });
            }
            _ if matches!(outcome, Outcome::Lost) => return false,
            _ => self.unexpected(&format!("the login of {userid}"), &outcome),
        }
        true
    }

    async fn refresh(&mut self) -> bool {
        let i = *self.usable_sessions().choose(&mut self.rng).expect("one");
        let token = self.part.sessions[i].latest().to_string();
        let outcome = self.api.refresh(&token).await;
        let session = &mut self.part.sessions[i];
        match (
            outcome.field("/refresh_token"),
            outcome.field("/claims_token/value"),
        ) {
            (Some(next), Some(claims)) => {
                session.tokens.push(next);
                session.claims = Some(claims);
                self.part.writes += 1;
            }
            _ => {
                // Whatever the store now holds for it is unknown.
                session.pending = Some(Pending::Rotate);
                if matches!(outcome, Outcome::Lost) {
                    return false;
                }
                let userid = session.userid.clone();
                self.unexpected(&format!("a refresh of {userid}'s live token"), &outcome);
            }
        }
        true
    }

    async fn revoke_claims(&mut self) -> bool {
        let candidates: Vec<usize> = self
            .usable_sessions()
            .into_iter()
            .filter(|&i| self.part.sessions[i].claims.is_some())
            .collect();
        let i = *candidates.choose(&mut self.rng).expect("one");
        let claims = self.part.sessions[i].claims.take().expect("claims");
        let outcome = self.api.revoke(&claims).await;
        if outcome.acknowledged() {
            self.part.writes += 1;
            self.part.revoked_claims.push(claims);
        } else if matches!(outcome, Outcome::Lost) {
            return false;
        } else {
            self.unexpected("revoking a claims token", &outcome);
        }
        true
    }

    /// Revokes one of the session's refresh tokens, or logs out with the latest one or with
    /// the claims token: each ends the whole session.
    async fn end_session(&mut self, op: Op) -> bool {
        let i = *self.usable_sessions().choose(&mut self.rng).expect("one");
        let session = self.part.sessions[i].clone();
        let (what, outcome) = match op {
            Op::RevokeRefreshToken => {
                let token = session.tokens.choose(&mut self.rng).expect("a token");
                ("revoking a refresh token", self.api.revoke(token).await)
            }
            _ => match (&session.claims, self.rng.gen_bool(0.5)) {
                (Some(claims), true) => (
                    "a logout with the claims token",
                    self.api.logout_with_claims(claims).await,
                ),
                _ => (
                    "a logout with the refresh token",
                    self.api.logout_with_refresh_token(session.latest()).await,
                ),
            },
        };
        let session = &mut self.part.sessions[i];
        if outcome.acknowledged() {
            session.revoked = true;
            self.part.writes += 1;
        } else {
            session.pending = Some(Pending::End);
            if matches!(outcome, Outcome::Lost) {
                return false;
            }
            self.unexpected(what, &outcome);
        }
        true
    }

    async fn create_app(&mut self) -> bool {
        let outcome = self
            .api
            .create_app(&format!("{}-a{}", self.label, self.count))
            .await;
        match outcome.field("/app_id") {
            Some(app_id) => {
                self.part.writes += 1;
                self.part.apps.push(app_id.clone());
                self.part.new_apps.push(app_id);
            }
            None if matches!(outcome, Outcome::Lost) => return false,
            None => self.unexpected("creating an application", &outcome),
        }
        true
    }

    async fn create_key(&mut self) -> bool {
        let app_id = self
            .part
            .apps
            .choose(&mut self.rng)
            .expect("an app")
            .clone();
        let name = format!("{}-k{}", self.label, self.count);
        let outcome = self.api.create_key(&app_id, &name).await;
        match (outcome.field("/id"), outcome.field("/key")) {
            (Some(id), Some(secret)) => {
                self.part.writes += 1;
                self.part.keys.push(Key {
                    app_id,
                    id,
                    secrets: vec![secret],
                    pending: None,
                });
            }
            _ if matches!(outcome, Outcome::Lost) => return false,
            _ => self.unexpected("creating an API key", &outcome),
        }
        true
    }

    async fn rotate_key(&mut self) -> bool {
        let candidates: Vec<usize> = (0..self.part.keys.len())
            .filter(|&i| self.part.keys[i].pending.is_none())
            .collect();
        let i = *candidates.choose(&mut self.rng).expect("one");
        let (app_id, id) = (
            self.part.keys[i].app_id.clone(),
            self.part.keys[i].id.clone(),
        );
        let outcome = self.api.refresh_key(&app_id, &id).await;
        let key = &mut self.part.keys[i];
        match outcome.field("/key") {
            Some(secret) => {
                key.secrets.push(secret);
                self.part.writes += 1;
            }
            None => {
                key.pending = Some(Pending::Rotate);
                if matches!(outcome, Outcome::Lost) {
                    return false;
                }
                self.unexpected("rotating an API key", &outcome);
            }
        }
        true
    }
}
