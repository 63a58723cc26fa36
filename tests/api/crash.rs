//! Issue 7, the crash test (SPEC §10: a 2xx means the write survives `kill -9`): the real
//! binary under a mixed write load from a few tasks — users, applications and API keys, key
//! rotations, logins, refreshes, revocations and logouts — is killed with SIGKILL at a random
//! moment; `tessera check` must then find the store consistent, and after a restart every
//! acknowledged write is there and every acknowledged revocation and rotation holds.
//!
//! `TESSERA_CRASH_ROUNDS` sets the number of kills (3 in the suite; `scripts/crash.sh` runs
//! 25), each round on the same data dir. The random choices come from one seed, printed first;
//! `TESSERA_CRASH_SEED` replays them (the kill lands wherever the load has got to by then).

/// The HTTP client, shared with disk_full.rs.
pub mod client;
mod ledger;
mod load;
mod verify;

use crate::binary_helpers::{run_to_end, start, tessera, write_config, Server};
use client::{Api, ADMIN_PASSWORD};
use ledger::Ledger;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

/// Concurrent load tasks.
const TASKS: usize = 4;

/// Claims tokens outlive the run (their expiry is not what is tested), and the lockout does
/// not count the refusals that verification provokes on purpose.
const SETTINGS: &str = "[tokens]\nclaims_ttl_seconds = 86400\n\n\
    [login_protection]\nmax_failures = 1000000\nmax_failures_per_address = 1000000\n";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} is not a number: {v}"))
        })
        .unwrap_or(default)
}

/// `tessera serve` with the crash client's admin password (shared with shutdown.rs).
pub fn serve(config: &Path, log: &Path) -> Server {
    let mut cmd = tessera(config);
    cmd.arg("serve")
        .env("TESSERA_ADMIN_PASSWORD", ADMIN_PASSWORD);
    start(cmd, log)
}

/// The lines of a server log worth showing next to a problem.
fn notable(log: &str) -> String {
    log.lines()
        .filter(|l| l.contains("ERROR") || l.contains("WARN") || l.contains("panicked"))
        .take(20)
        .collect::<Vec<_>>()
        .join("\n")
}

#[actix_rt::test]
async fn acknowledged_writes_survive_sigkill_at_random_moments_and_the_store_stays_consistent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "", SETTINGS);
    let rounds = env_number("TESSERA_CRASH_ROUNDS", 3);
    kill_and_verify(&config, dir.path(), rounds).await;
}

/// The crash test's settings, for a config written elsewhere (the PostgreSQL variant).
pub const CRASH_SETTINGS: &str = SETTINGS;

/// Serves `config` under load, kills the server with SIGKILL `rounds` times, and checks after
/// each kill that the store is consistent and holds everything acknowledged. Works on any
/// backend the config names.
pub async fn kill_and_verify(config: &Path, dir: &Path, rounds: u64) {
    // Arrange
    let seed = env_number("TESSERA_CRASH_SEED", rand::random());
    println!("crash: seed {seed} (TESSERA_CRASH_SEED={seed} replays it), {rounds} rounds");
    let mut rng = StdRng::seed_from_u64(seed);
    let (config, dir) = (config.to_path_buf(), dir.to_path_buf());
    let dir = dir.as_path();
    let mut ledger = Ledger::default();
    let mut server = serve(&config, &dir.join("serve-0.log"));

    for round in 1..=rounds {
        // Act: the load, and SIGKILL while it runs.
        let problems_before = ledger.problems.len();
        let writes_before = ledger.writes;
        let api = Rc::new(Api::new(&server.public, &server.intranet));
        let tasks: Vec<_> = ledger
            .split(TASKS)
            .into_iter()
            .enumerate()
            .map(|(t, part)| {
                let label = format!("r{round}t{t}");
                actix_rt::spawn(load::run(api.clone(), part, rng.gen(), label))
            })
            .collect();
        let delay = rng.gen_range(50..=500);
        actix_rt::time::sleep(Duration::from_millis(delay)).await;
        let killed_log = server.stop();
        for task in tasks {
            match actix_rt::time::timeout(Duration::from_secs(60), task).await {
                Ok(Ok(part)) => ledger.merge(part),
                _ => ledger
                    .problems
                    .push(format!("round {round}: a load task did not end")),
            }
        }
        let load_writes = ledger.writes - writes_before;

        // Assert: the store is consistent, and holds everything acknowledged.
        let mut check = tessera(&config);
        check.arg("check");
        let check = run_to_end(check, dir);
        let consistent = check.status.success();
        if !consistent {
            ledger.problems.push(format!(
                "round {round}: tessera check after SIGKILL ({}):\n{}{}",
                check.status, check.stdout, check.stderr
            ));
        }
        server = serve(&config, &dir.join(format!("serve-{round}.log")));
        let api = Api::new(&server.public, &server.intranet);
        let (checks, checked) = verify::run(&api, &mut ledger, &mut rng).await;
        ledger.writes += checked;

        let new_problems = ledger.problems.len() - problems_before;
        println!(
            "crash round {round}/{rounds}: SIGKILL {delay} ms into the load; {load_writes} writes \
             acknowledged under load, {checked} while verifying ({} in all); check: {}; \
             {checks} expectations checked; \
             {} users, {} sessions, {} keys in the ledger; new problems: {new_problems}",
            ledger.writes,
            if consistent {
                "consistent"
            } else {
                "INCONSISTENT"
            },
            ledger.users.len(),
            ledger.sessions.len(),
            ledger.keys.len(),
        );
        if new_problems > 0 {
            println!("the killed server's log:\n{}", notable(&killed_log));
        }
    }
    server.stop();

    println!(
        "crash summary: seed {seed}, {rounds} rounds, {} writes acknowledged, {} problems",
        ledger.writes,
        ledger.problems.len()
    );
    assert!(
        ledger.problems.is_empty(),
        "seed {seed}: {} problems:\n{}",
        ledger.problems.len(),
        ledger.problems.join("\n")
    );
}
