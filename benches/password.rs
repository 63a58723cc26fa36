//! One argon2id password verification at the configured default cost (issue 6;
//! `[passwords]` defaults: 19 MiB, 2 passes, 1 lane): through tessera's hasher, which hops to the
//! blocking pool behind its semaphore as login does, and through the argon2 crate directly.
//! The difference is the pool's overhead; the raw figure is the floor of a login.
//!
//! `cargo bench --bench password`. For the all-cores rate see `benches/argon2_rate.rs`.

#![allow(
    clippy::expect_used,
    reason = "a benchmark with a broken setup should stop at once"
)]

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordVerifier, Version};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use std::time::Duration;
use tessera::config::PasswordsConfig;
use tessera::crypto::password::PasswordHasher;
use tessera::crypto::SecretString;

const PASSWORD: &str = "correct horse battery staple";

fn argon2id_verify(c: &mut Criterion) {
    let config = PasswordsConfig::default();
    let hasher = PasswordHasher::new(&config).expect("hasher");
    let phc = hasher
        .hash_blocking(&SecretString::new(PASSWORD))
        .expect("hash");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");

    let mut group = c.benchmark_group("argon2id_verify");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(1));

    group.bench_function(
        format!(
            "hasher/m={},t={},p={}",
            config.argon2_memory_kib, config.argon2_iterations, config.argon2_parallelism
        ),
        |b| {
            b.iter(|| {
                let ok = runtime
                    .block_on(hasher.verify(SecretString::new(PASSWORD), Some(phc.clone())))
                    .expect("verify");
                assert!(ok, "the password verifies");
            })
        },
    );

    let params = Params::new(
        config.argon2_memory_kib,
        config.argon2_iterations,
        config.argon2_parallelism,
        None,
    )
    .expect("params");
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let parsed = PasswordHash::new(&phc).expect("phc");
    group.bench_function("raw_argon2_crate", |b| {
        b.iter(|| {
            argon2
                .verify_password(PASSWORD.as_bytes(), &parsed)
                .expect("verifies")
        })
    });
    group.finish();
}

/// Building the hasher computes the dummy hash for unknown users: one full argon2id hash, paid
/// at every start before the listeners are bound (it is part of start-to-healthy).
fn hasher_new(c: &mut Criterion) {
    let config = PasswordsConfig::default();
    let mut group = c.benchmark_group("password_hasher");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("new_with_dummy_hash", |b| {
        b.iter(|| PasswordHasher::new(&config).expect("hasher"))
    });
    group.finish();
}

criterion_group!(benches, argon2id_verify, hasher_new);
criterion_main!(benches);
