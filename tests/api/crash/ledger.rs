//! What the crash test knows the store must hold: every acknowledged write and its effect, and
//! which effects are unknown because the server died with the request in flight.

/// A login session as the client saw it.
#[derive(Debug, Clone)]
pub struct Session {
    pub userid: String,
    /// Every refresh token handed out, oldest first: all but the last were spent by an
    /// acknowledged refresh; the last is live unless the session is revoked.
    pub tokens: Vec<String>,
    /// The latest claims token, unless it was handed to a revocation.
    pub claims: Option<String>,
    /// An acknowledged logout or revocation ended it.
    pub revoked: bool,
    /// A request that may have changed it got no answer.
    pub pending: Option<Pending>,
}

/// The kind of request a session or key was left under when the server died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    /// A refresh (of a session) or a rotation (of a key): the last token may be spent.
    Rotate,
    /// A logout or revocation: the session may have ended.
    End,
}

impl Session {
    pub fn latest(&self) -> &str {
        self.tokens.last().expect("a session has a token")
    }

    pub fn spent(&self) -> &[String] {
        &self.tokens[..self.tokens.len() - 1]
    }

    /// Live as far as the client knows: refreshable without doubt.
    pub fn usable(&self) -> bool {
        !self.revoked && self.pending.is_none()
    }
}

/// An API key and its secrets.
#[derive(Debug, Clone)]
pub struct Key {
    pub app_id: String,
    pub id: String,
    /// Every secret handed out, oldest first; only the last works (rotation without grace).
    pub secrets: Vec<String>,
    pub pending: Option<Pending>,
}

impl Key {
    pub fn current(&self) -> &str {
        self.secrets.last().expect("a key has a secret")
    }
}

/// The whole record, or one load task's part of it.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    /// Users whose creation was acknowledged (all of them, in a task's part: it logs in as any).
    pub users: Vec<String>,
    /// Users created by this part in this round (merged into `users`).
    pub new_users: Vec<String>,
    /// Users whose creation got no answer.
    pub pending_users: Vec<String>,
    /// Applications whose creation was acknowledged (all of them, in a task's part).
    pub apps: Vec<String>,
    pub new_apps: Vec<String>,
    pub keys: Vec<Key>,
    pub sessions: Vec<Session>,
    /// Claims tokens whose revocation was acknowledged.
    pub revoked_claims: Vec<String>,
    /// Writes acknowledged with a 2xx.
    pub writes: u64,
    /// What went wrong, in words.
    pub problems: Vec<String>,
}

impl Ledger {
    /// Splits the sessions and keys among `n` parts (each owned by one task, so no two tasks
    /// touch one session or key); users and applications are shared read-only.
    pub fn split(&mut self, n: usize) -> Vec<Ledger> {
        let mut parts: Vec<Ledger> = (0..n)
            .map(|_| Ledger {
                users: self.users.clone(),
                apps: self.apps.clone(),
                ..Ledger::default()
            })
            .collect();
        for (i, session) in std::mem::take(&mut self.sessions).into_iter().enumerate() {
            parts[i % n].sessions.push(session);
        }
        for (i, key) in std::mem::take(&mut self.keys).into_iter().enumerate() {
            parts[i % n].keys.push(key);
        }
        parts
    }

    /// Takes a part back after its task ended.
    pub fn merge(&mut self, part: Ledger) {
        self.users.extend(part.new_users);
        self.pending_users.extend(part.pending_users);
        self.apps.extend(part.new_apps);
        self.keys.extend(part.keys);
        self.sessions.extend(part.sessions);
        self.revoked_claims.extend(part.revoked_claims);
        self.writes += part.writes;
        self.problems.extend(part.problems);
    }
}
