//! tessera: a token-issuing identity service.
//!
//! It stores users, sessions and keys in an embedded store and issues, verifies, rotates and
//! revokes the credentials of SPEC.md over two HTTP listeners: a public one for apps and
//! services and an intranet one for administration. Dependencies point one way: `http` and
//! `cli` call `auth`; `auth` calls `tokens`, `crypto`, `storage` and `domain`.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod errors;
pub mod fs;
pub mod http;
pub mod storage;
pub mod tls;
pub mod tokens;
