//! Refresh-token rotation on a real sled store in a temporary directory (issue 6): the store
//! work of `POST /authService/accounts/refresh` — read the token and its session, mint the next
//! token, and exchange them in one transaction that is flushed to disk before it returns
//! (SPEC §10). Once from one thread, where every rotation pays a whole flush, and from 32
//! threads, where concurrent rotations share flushes (src/storage/sled/group_commit.rs).
//!
//! `cargo bench --bench store`; BENCHMARKS.md has the figures and what they mean.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark with a broken setup should stop at once"
)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::{Duration, Instant};
use tessera::clock::{Clock, SystemClock};
use tessera::domain::{Session, SessionId, UserId};
use tessera::storage::sled::SledStore;
use tessera::storage::{Rotation, SessionStore};
use tessera::tokens::refresh;
use time::OffsetDateTime;
use uuid::Uuid;

const IDLE_TTL: time::Duration = time::Duration::days(14);

#[path = "support/block_on.rs"]
mod support;
use support::block_on;

/// A live session with its first refresh token stored; returns the session and the token id.
fn open_session(store: &SledStore, now: OffsetDateTime) -> (Session, Uuid) {
    let session = Session {
        id: SessionId(Uuid::new_v4()),
        userid: UserId::parse("bench-user").expect("userid"),
        provider: None,
        domain: None,
        created_at: now,
        expires_at: now + time::Duration::days(30),
        revoked_at: None,
    };
    let (_, first) = refresh::mint(&session, now, IDLE_TTL);
    block_on(store.create_session(&session, &first)).expect("create session");
    (session, first.id)
}

/// One refresh as `auth::login::refresh` does it against the store; returns the new token id.
fn rotate(store: &SledStore, session: &Session, current: Uuid, now: OffsetDateTime) -> Uuid {
    block_on(rotate_async(store, session, current, now))
}

async fn rotate_async(
    store: &SledStore,
    session: &Session,
    current: Uuid,
    now: OffsetDateTime,
) -> Uuid {
    let ticket = store.rotation_ticket().await.expect("ticket");
    let record = store
        .get_refresh_token(current)
        .await
        .expect("read token")
        .expect("token exists");
    store
        .get_session(record.session)
        .await
        .expect("read session")
        .expect("session exists");
    let (_, next) = refresh::mint(session, now, IDLE_TTL);
    match store
        .rotate_refresh_token(current, &next, now, ticket)
        .await
        .expect("rotate")
    {
        Rotation::Rotated(_) => next.id,
        other => panic!("rotation did not rotate: {other:?}"),
    }
}

fn refresh_rotation(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SledStore::open(dir.path()).expect("open sled");
    let now = SystemClock.now();

    let mut group = c.benchmark_group("refresh_rotation");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(1));

    let (session, mut current) = open_session(&store, now);
    group.bench_function("serial_flush_each", |b| {
        b.iter(|| current = rotate(&store, &session, current, now))
    });

    // 32 writers, as at 32 connections: each owns a session and rotates it in a loop.
    const WRITERS: usize = 32;
    let mut chains: Vec<(Session, Uuid)> =
        (0..WRITERS).map(|_| open_session(&store, now)).collect();
    group.bench_function("32_threads_group_commit", |b| {
        b.iter_custom(|iters| {
            let per_thread = iters.div_ceil(WRITERS as u64);
            let start = Instant::now();
            std::thread::scope(|scope| {
                for (session, current) in chains.iter_mut() {
                    let store = &store;
                    scope.spawn(move || {
                        for _ in 0..per_thread {
                            *current = rotate(store, session, *current, now);
                        }
                    });
                }
            });
            // Report the time per rotation actually done (a few more than asked for).
            let done = per_thread * WRITERS as u64;
            start.elapsed().mul_f64(iters as f64 / done as f64)
        })
    });
    group.finish();
}

criterion_group!(benches, refresh_rotation);
criterion_main!(benches);
