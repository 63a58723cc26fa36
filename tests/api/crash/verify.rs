//! After a restart: everything the ledger holds as acknowledged is there, and every
//! acknowledged revocation and rotation still holds. Effects left unknown by the crash are
//! settled by looking, then held to in later rounds like any other.

use super::client::{Api, Outcome};
use super::ledger::{Key, Ledger, Pending, Session};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use std::time::{Duration, Instant};

/// Logins tried per round (each costs a password hash); every user is looked up anyway.
const LOGINS_PER_ROUND: usize = 5;
/// A verification that takes longer than this is itself a finding.
const MAX_TIME: Duration = Duration::from_secs(300);

struct Verifier<'a> {
    api: &'a Api,
    problems: Vec<String>,
    /// Writes made while verifying (refreshes, replays), all acknowledged.
    writes: u64,
    /// Expectations checked.
    checks: u64,
    deadline: Instant,
}

impl Verifier<'_> {
    fn expect(&mut self, what: impl FnOnce() -> String, outcome: &Outcome, ok: bool) {
        self.checks += 1;
        if !ok {
            self.problems
                .push(format!("after the restart, {}: got {outcome}", what()));
        }
    }

    fn out_of_time(&mut self) -> bool {
        if Instant::now() < self.deadline {
            return false;
        }
        self.problems
            .push(format!("verification took longer than {MAX_TIME:?}"));
        true
    }
}

/// Verifies the ledger against the restarted server and updates it with what was settled and
/// what verification itself wrote; returns the number of expectations checked and of
/// acknowledged verification writes.
pub async fn run(api: &Api, ledger: &mut Ledger, rng: &mut StdRng) -> (u64, u64) {
    let mut v = Verifier {
        api,
        problems: Vec::new(),
        writes: 0,
        checks: 0,
        deadline: Instant::now() + MAX_TIME,
    };
    users(&mut v, ledger).await;
    apps(&mut v, ledger).await;
    keys(&mut v, ledger).await;
    for claims in &ledger.revoked_claims {
        if v.out_of_time() {
            break;
        }
        let outcome = api.introspect(claims).await;
        let ok = outcome.active() == Some(false);
        v.expect(
            || "a claims token whose revocation was acknowledged introspects".into(),
            &outcome,
            ok,
        );
    }
    sessions(&mut v, ledger, rng).await;
    ledger.problems.append(&mut v.problems);
    (v.checks, v.writes)
}

async fn users(v: &mut Verifier<'_>, ledger: &mut Ledger) {
    for userid in std::mem::take(&mut ledger.pending_users) {
        // Created or not: both are right for a request that got no answer.
        let outcome = v.api.get_user(&userid).await;
        match outcome.status() {
            Some(200) => ledger.users.push(userid),
            Some(404) => {}
            _ => v.expect(|| format!("GET user {userid}"), &outcome, false),
        }
    }
    for userid in &ledger.users {
        if v.out_of_time() {
            return;
        }
        let outcome = v.api.get_user(userid).await;
        let ok = outcome.status() == Some(200);
        v.expect(
            || format!("user {userid}, whose creation was acknowledged"),
            &outcome,
            ok,
        );
    }
    for userid in ledger.users.iter().rev().take(LOGINS_PER_ROUND) {
        let outcome = v.api.login(userid).await;
        let ok = outcome.acknowledged();
        v.expect(|| format!("the login of user {userid}"), &outcome, ok);
    }
}

async fn apps(v: &mut Verifier<'_>, ledger: &Ledger) {
    for app_id in &ledger.apps {
        if v.out_of_time() {
            return;
        }
        let outcome = v.api.get_app(app_id).await;
        let ok = outcome.status() == Some(200);
        v.expect(
            || format!("application {app_id}, whose creation was acknowledged"),
            &outcome,
            ok,
        );
    }
}

async fn keys(v: &mut Verifier<'_>, ledger: &mut Ledger) {
    let mut kept = Vec::new();
    for mut key in std::mem::take(&mut ledger.keys) {
        if v.out_of_time() {
            kept.push(key);
            continue;
        }
        let outcome = v.api.check_key(key.current()).await;
        let settled = match (key.pending, outcome.status()) {
            (None, Some(200)) => true,
            // The rotation under way at the kill did not happen: the key carries on.
            (Some(_), Some(200)) => {
                key.pending = None;
                true
            }
            // It happened, and its new secret never reached us: only the refusals are left.
            (Some(_), Some(401)) => false,
            _ => {
                let (id, rotations) = (key.id.clone(), key.secrets.len() - 1);
                v.expect(
                    || format!("API key {id} after {rotations} acknowledged rotations, its latest secret"),
                    &outcome,
                    false,
                );
                false
            }
        };
        spent_secrets_refused(v, &key).await;
        if settled {
            kept.push(key);
        }
    }
    ledger.keys = kept;
}

/// Every secret replaced by an acknowledged rotation without grace is refused.
async fn spent_secrets_refused(v: &mut Verifier<'_>, key: &Key) {
    for (n, secret) in key.secrets[..key.secrets.len() - 1].iter().enumerate() {
        let outcome = v.api.check_key(secret).await;
        let ok = outcome.status() == Some(401);
        v.expect(
            || format!("API key {}, secret {n} (rotated out without grace)", key.id),
            &outcome,
            ok,
        );
    }
}

async fn sessions(v: &mut Verifier<'_>, ledger: &mut Ledger, rng: &mut StdRng) {
    let mut kept = Vec::new();
    for mut session in std::mem::take(&mut ledger.sessions) {
        if v.out_of_time() {
            kept.push(session);
            continue;
        }
        if settle(v, &mut session).await {
            look_at(v, &session).await;
            kept.push(session);
        }
    }
    // Writes last: successors first, and a spent token (which ends its session) after them.
    for session in kept.iter_mut().filter(|s| s.usable()) {
        if v.out_of_time() {
            break;
        }
        match rng.gen_range(0..3) {
            0 => {}
            n => {
                rotate(v, session).await;
                if n == 2 && session.usable() {
                    replay(v, session, rng).await;
                }
            }
        }
    }
    ledger.sessions = kept;
}

/// Settles a session left with a request in flight; false if what it holds is now unknown.
async fn settle(v: &mut Verifier<'_>, session: &mut Session) -> bool {
    let Some(pending) = session.pending else {
        return true;
    };
    let outcome = v.api.introspect(session.latest()).await;
    match (pending, outcome.active()) {
        (_, Some(true)) => {
            session.pending = None;
            true
        }
        (Pending::End, Some(false)) => {
            session.pending = None;
            session.revoked = true;
            true
        }
        // The refresh happened and its successor never reached us; the spent ones must still
        // be refused (without presenting them, which would end the session).
        (Pending::Rotate, Some(false)) => {
            tokens_inactive(v, session.spent(), &session.userid).await;
            false
        }
        _ => {
            let userid = session.userid.clone();
            v.expect(
                || format!("introspecting {userid}'s latest refresh token"),
                &outcome,
                false,
            );
            false
        }
    }
}

async fn tokens_inactive(v: &mut Verifier<'_>, tokens: &[String], userid: &str) {
    for token in tokens {
        let outcome = v.api.introspect(token).await;
        let ok = outcome.active() == Some(false);
        v.expect(
            || format!("a spent refresh token of {userid}'s session introspects"),
            &outcome,
            ok,
        );
    }
}

/// Reads only: a live session has its latest refresh and claims tokens active and every
/// spent one inactive; an ended session has none active and its latest token is refused.
async fn look_at(v: &mut Verifier<'_>, session: &Session) {
    let userid = session.userid.as_str();
    let live = !session.revoked;
    let outcome = v.api.introspect(session.latest()).await;
    let ok = outcome.active() == Some(live);
    v.expect(
        || match live {
            true => format!(
                "{userid}'s latest refresh token (acknowledged rotations: {}) is active",
                session.spent().len()
            ),
            false => {
                format!("{userid}'s refresh token of an ended session (acknowledged) is inactive")
            }
        },
        &outcome,
        ok,
    );
    if let Some(claims) = &session.claims {
        let outcome = v.api.introspect(claims).await;
        let ok = outcome.active() == Some(live);
        v.expect(
            || format!("{userid}'s latest claims token has active = {live}"),
            &outcome,
            ok,
        );
    }
    tokens_inactive(v, session.spent(), userid).await;
    if session.revoked {
        // Presenting a token of an ended session changes nothing: safe to do every round.
        let outcome = v.api.refresh(session.latest()).await;
        let ok = outcome.status() == Some(401);
        v.expect(
            || format!("a refresh with {userid}'s token of an ended session is refused"),
            &outcome,
            ok,
        );
    }
}

/// The successor works: refreshing the latest token answers 200.
async fn rotate(v: &mut Verifier<'_>, session: &mut Session) {
    let outcome = v.api.refresh(session.latest()).await;
    match (
        outcome.field("/refresh_token"),
        outcome.field("/claims_token/value"),
    ) {
        (Some(next), Some(claims)) => {
            session.tokens.push(next);
            session.claims = Some(claims);
            v.writes += 1;
        }
        _ => {
            session.pending = Some(Pending::Rotate);
            let userid = session.userid.clone();
            v.expect(
                || format!("a refresh with {userid}'s latest token"),
                &outcome,
                false,
            );
        }
    }
}

/// A spent token is refused, and presenting it ends the session (SPEC §3).
async fn replay(v: &mut Verifier<'_>, session: &mut Session, rng: &mut StdRng) {
    let spent = session.spent().choose(rng).expect("rotated once").clone();
    let outcome = v.api.refresh(&spent).await;
    let userid = session.userid.clone();
    let ok = outcome.status() == Some(401);
    v.expect(
        || format!("a replay of {userid}'s spent refresh token is refused"),
        &outcome,
        ok,
    );
    if !ok {
        session.pending = Some(Pending::Rotate);
        return;
    }
    v.writes += 1;
    session.revoked = true;
    let outcome = v.api.refresh(session.latest()).await;
    let ok = outcome.status() == Some(401);
    v.expect(
        || format!("after a replay, {userid}'s latest refresh token is refused"),
        &outcome,
        ok,
    );
}
