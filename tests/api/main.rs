//! One integration-test binary (STYLE habit 13): every test starts the real server on port 0
//! with a temporary sled store and talks HTTP to it.

// Test code: a panic is a failed test, and helpers outside #[test] functions share the rule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

// The throwaway PostgreSQL server (SPEC §11), shared with the library's unit tests.
#[path = "../../testkit/postgres.rs"]
mod postgres;

mod admin_apps;
mod admin_auth;
mod admin_devices;
mod admin_helpers;
mod admin_introspect;
mod admin_keys;
mod admin_oauth;
mod admin_secrets;
mod admin_users;
mod backups;

mod chain;
mod config_helpers;
mod preamble;
mod preamble_revocation;
mod reload;
mod statistics;

mod durability;
mod edges;
mod introspection;
mod lockout;
mod login;
mod logout;
mod refresh;
mod routes;
mod tls;
mod wellknown;

mod binary_helpers;
mod cors;
mod log_masking;
mod secrets_at_rest;
mod sessions;

// Issue 7: hostile tokens over HTTP and property tests of the parsers.
mod jwt_attacks;
mod proptests;

// Issue 7: crashes, a full disk and concurrency (the failure side).
mod concurrency;
mod crash;
mod disk_full;

// Review issue 13: documented behaviours that had no test.
mod sighup;
mod store_failure;

// Issue 17: operations.
mod shutdown;

// The PostgreSQL harness itself.
mod postgres_harness;

// Issue 14: nodes of a cluster on one PostgreSQL database.
mod cluster;
