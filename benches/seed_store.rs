//! Not a measurement: fills the data dir of a *stopped* tessera with many records, through the
//! same store API the server uses, for the scale and start-up figures of issue 6 (a store with
//! 100,000 users and 1,000,000 refresh tokens; 1,000,000 API keys). bench/load.sh runs it.
//!
//! ```text
//! cargo bench --bench seed_store -- --dir DATA_DIR [--users N] [--sessions N]
//!     [--tokens-per-session K] [--apps N] [--api-keys N] [--threads T]
//! ```
//! Sessions belong to the seeded users in turn; each gets K refresh tokens (one at creation,
//! K-1 rotations, so K-1 are spent as in a long-lived login). API keys are spread over the
//! seeded apps. Without `--dir` it does nothing (so a plain `cargo bench` skips it).
//! `--open-only` opens the store, prints how long that took, and exits: the store's share of
//! start-to-healthy.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a seeding tool with a broken setup should stop at once"
)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tessera::clock::{Clock, SystemClock};
use tessera::config::PasswordsConfig;
use tessera::crypto::password::PasswordHasher;
use tessera::crypto::SecretString;
use tessera::domain::{
    ApiKey, AppId, Application, KeyId, Name, Role, Session, SessionId, User, UserId,
};
use tessera::storage::sled::SledStore;
use tessera::storage::{ApiKeyStore, AppStore, Rotation, SessionStore, UserStore};
use tessera::tokens::{api_key, refresh};
use time::OffsetDateTime;
use uuid::Uuid;

struct Options {
    dir: Option<PathBuf>,
    users: u64,
    sessions: u64,
    tokens_per_session: u64,
    apps: u64,
    api_keys: u64,
    threads: u64,
    open_only: bool,
}

fn options() -> Options {
    let mut opts = Options {
        dir: None,
        users: 0,
        sessions: 0,
        tokens_per_session: 1,
        apps: 0,
        api_keys: 0,
        threads: 32,
        open_only: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        let number = || value.parse::<u64>().ok();
        let known = match args[i].as_str() {
            "--dir" => {
                opts.dir = Some(PathBuf::from(&value));
                true
            }
            "--users" => number().map(|v| opts.users = v).is_some(),
            "--sessions" => number().map(|v| opts.sessions = v).is_some(),
            "--tokens-per-session" => number()
                .map(|v| opts.tokens_per_session = v.max(1))
                .is_some(),
            "--apps" => number().map(|v| opts.apps = v).is_some(),
            "--api-keys" => number().map(|v| opts.api_keys = v).is_some(),
            "--threads" => number().map(|v| opts.threads = v.max(1)).is_some(),
            "--open-only" => {
                opts.open_only = true;
                i += 1;
                continue;
            }
            _ => false,
        };
        i += if known { 2 } else { 1 };
    }
    opts
}

/// Runs `job(i)` for every i in `0..count` on `threads` threads, with progress lines.
fn parallel(what: &str, count: u64, threads: u64, job: impl Fn(u64) + Sync) {
    if count == 0 {
        return;
    }
    let next = AtomicU64::new(0);
    let start = Instant::now();
    let step = (count / 10).max(1);
    std::thread::scope(|scope| {
        for _ in 0..threads.min(count) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                job(i);
                if (i + 1).is_multiple_of(step) {
                    eprintln!(
                        "  {what}: {}/{count} ({:.0}/s)",
                        i + 1,
                        (i + 1) as f64 / start.elapsed().as_secs_f64()
                    );
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "seeded {count} {what} in {secs:.1} s ({:.0}/s)",
        count as f64 / secs
    );
}

#[path = "support/block_on.rs"]
mod support;
use support::block_on;

fn userid(i: u64) -> UserId {
    UserId::parse(&format!("seed-user-{i:07}")).expect("userid")
}

fn seed_users(store: &SledStore, opts: &Options, now: OffsetDateTime) {
    // One real argon2id hash, shared: the scale check is about record counts, not hashing.
    let hasher = PasswordHasher::new(&PasswordsConfig::default()).expect("hasher");
    let hash = hasher
        .hash_blocking(&SecretString::new(Uuid::new_v4().to_string()))
        .expect("hash");
    let role = Role::parse(Role::SUPERVISOR).expect("role");
    parallel("users", opts.users, opts.threads, |i| {
        let user = User {
            userid: userid(i),
            email: None,
            firstname: None,
            lastname: None,
            roles: vec![role.clone()],
            provider: None,
            domain: None,
            disabled: false,
            password_hash: hash.clone(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        match block_on(store.create_user(&user)) {
            Ok(()) | Err(tessera::storage::StoreError::Conflict) => {}
            Err(e) => panic!("create user: {e}"),
        }
    });
}

fn seed_sessions(store: &SledStore, opts: &Options, now: OffsetDateTime) {
    let idle = time::Duration::days(14);
    let owners = opts.users.max(1);
    parallel("sessions", opts.sessions, opts.threads, |i| {
        let session = Session {
            id: SessionId(Uuid::new_v4()),
            userid: userid(i % owners),
            provider: None,
            domain: None,
            created_at: now,
            expires_at: now + time::Duration::days(30),
            revoked_at: None,
        };
        let (_, first) = refresh::mint(&session, now, idle);
        block_on(store.create_session(&session, &first)).expect("create session");
        let mut current = first.id;
        for _ in 1..opts.tokens_per_session {
            let ticket = block_on(store.rotation_ticket()).expect("ticket");
            let (_, next) = refresh::mint(&session, now, idle);
            match block_on(store.rotate_refresh_token(current, &next, now, ticket)) {
                Ok(Rotation::Rotated(_)) => current = next.id,
                other => panic!("rotation: {other:?}"),
            }
        }
    });
}

fn seed_keys(store: &SledStore, opts: &Options, now: OffsetDateTime) {
    let apps: Vec<AppId> = (0..opts.apps.max(1))
        .map(|_| AppId(Uuid::new_v4()))
        .collect();
    parallel("applications", apps.len() as u64, opts.threads, |i| {
        let app = Application {
            id: apps[i as usize],
            name: Name::parse(&format!("seed-app-{i}")).expect("name"),
            created_at: now,
            device_token: None,
            version: 0,
        };
        block_on(store.create_app(&app)).expect("create app");
    });
    let name = Name::parse("seed-key").expect("name");
    parallel("api keys", opts.api_keys, opts.threads, |i| {
        let id = KeyId(Uuid::new_v4());
        let secret = api_key::mint(id);
        let key = ApiKey {
            id,
            app_id: apps[(i % apps.len() as u64) as usize],
            name: name.clone(),
            hash: secret.hash(),
            previous: None,
            created_at: now,
            expires_at: None,
            enabled: true,
            last_used_at: None,
            version: 0,
        };
        block_on(store.create_api_key(&key)).expect("create api key");
    });
}

fn main() {
    let opts = options();
    let Some(dir) = opts.dir.clone() else {
        println!("seed_store: nothing to do without --dir (see benches/seed_store.rs)");
        return;
    };
    let opened = Instant::now();
    let store = SledStore::open(&dir).expect("open the data dir (is a server running on it?)");
    if opts.open_only {
        println!(
            "opened the store in {:.1} ms",
            opened.elapsed().as_secs_f64() * 1000.0
        );
        return;
    }
    let now = SystemClock.now();
    let start = Instant::now();
    seed_users(&store, &opts, now);
    seed_sessions(&store, &opts, now);
    if opts.api_keys > 0 || opts.apps > 0 {
        seed_keys(&store, &opts, now);
    }
    println!(
        "store now: {} users, {} applications, {} api keys ({:.1} s)",
        block_on(store.count_users()).expect("count"),
        block_on(store.count_apps()).expect("count"),
        block_on(store.count_api_keys()).expect("count"),
        start.elapsed().as_secs_f64()
    );
}
