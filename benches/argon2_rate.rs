//! The raw argon2id verify rate of this machine on N threads: the ceiling of login throughput
//! (issue 6 asks for login at >= 90% of it). Not criterion: it runs N threads flat out for a
//! fixed time and prints verifications per second, the way the server's blocking pool would
//! run them, with the same call the server makes (`argon2::Argon2::default().verify_password`
//! on a PHC string that carries the parameters).
//!
//! ```text
//! cargo bench --bench argon2_rate -- [--threads N] [--seconds S] [--m-kib M] [--t T] [--p P]
//! ```
//! Defaults: every core, 3 s, the `[passwords]` defaults. The last line reads
//! `ARGON2_RATE verifies_per_s=… threads=… m_kib=… t=… p=… seconds=…` for bench/load.sh.

#![allow(
    clippy::expect_used,
    reason = "a benchmark with a broken setup should stop at once"
)]

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};
use tessera::config::PasswordsConfig;

const PASSWORD: &[u8] = b"correct horse battery staple";

struct Options {
    threads: usize,
    seconds: f64,
    m_kib: u32,
    t: u32,
    p: u32,
}

fn options() -> Options {
    let defaults = PasswordsConfig::default();
    let mut opts = Options {
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        seconds: 3.0,
        m_kib: defaults.argon2_memory_kib,
        t: defaults.argon2_iterations,
        p: defaults.argon2_parallelism,
    };
    // `cargo bench` adds `--bench`; anything unknown is ignored.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).map(String::as_str).unwrap_or("");
        let parsed = match args[i].as_str() {
            "--threads" => value.parse().map(|v| opts.threads = v).is_ok(),
            "--seconds" => value.parse().map(|v| opts.seconds = v).is_ok(),
            "--m-kib" => value.parse().map(|v| opts.m_kib = v).is_ok(),
            "--t" => value.parse().map(|v| opts.t = v).is_ok(),
            "--p" => value.parse().map(|v| opts.p = v).is_ok(),
            _ => false,
        };
        i += if parsed { 2 } else { 1 };
    }
    opts.threads = opts.threads.max(1);
    opts
}

fn main() {
    let opts = options();
    let params = Params::new(opts.m_kib, opts.t, opts.p, None).expect("argon2 parameters");
    let salt = SaltString::generate(&mut OsRng);
    let phc = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(PASSWORD, &salt)
        .expect("hash")
        .to_string();

    let done = AtomicU64::new(0);
    let barrier = Barrier::new(opts.threads + 1);
    let run = Duration::from_secs_f64(opts.seconds);
    let elapsed = std::thread::scope(|scope| {
        for _ in 0..opts.threads {
            let (phc, done, barrier) = (&phc, &done, &barrier);
            scope.spawn(move || {
                barrier.wait();
                let start = Instant::now();
                while start.elapsed() < run {
                    let parsed = PasswordHash::new(phc).expect("phc");
                    Argon2::default()
                        .verify_password(PASSWORD, &parsed)
                        .expect("verifies");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        barrier.wait();
        let start = Instant::now();
        // The scope joins every thread before it returns; time it from outside.
        start
    })
    .elapsed();
    let count = done.load(Ordering::Relaxed);
    let rate = count as f64 / elapsed.as_secs_f64();
    println!(
        "argon2id verify (m={} KiB, t={}, p={}): {count} in {:.2} s on {} threads = {rate:.1}/s \
         ({:.1} ms each per thread)",
        opts.m_kib,
        opts.t,
        opts.p,
        elapsed.as_secs_f64(),
        opts.threads,
        1000.0 * opts.threads as f64 / rate.max(f64::MIN_POSITIVE),
    );
    println!(
        "ARGON2_RATE verifies_per_s={rate:.1} threads={} m_kib={} t={} p={} seconds={:.2}",
        opts.threads,
        opts.m_kib,
        opts.t,
        opts.p,
        elapsed.as_secs_f64()
    );
}
