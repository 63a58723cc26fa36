//! The backup stream (SPEC §10, §11): JSON lines of domain records, the same whichever backend
//! wrote them, so a snapshot of one backend restores into the other. A snapshot streams in and
//! out record by record, and a truncated file is noticed.
//!
//! ```text
//! {"format":"tessera-backup","version":2}
//! {"kind":"user","record":{"v":"1","userid":"admin",…}}   one line per record
//! {"end":<number of records>}
//! ```
//!
//! Each record is the versioned on-disk record of `records.rs` (its own `v` tag included), so a
//! record layout added later still reads old snapshots. Kinds come in a fixed order: users,
//! signing keys, meta, applications, API keys, clients, pairs, sessions, refresh tokens,
//! revoked ids; so every key follows its application, every pair its client, every refresh
//! token its session. (A session may outlive its user: a deleted user's revoked sessions stay
//! until swept, and directory users have no user record; a backend must not tie sessions to
//! users.) Index entries are not in the stream: a backend rebuilds its own. Secrets stay hashed and signing keys stay sealed under the master
//! key, which is not in the backup — keep it (`master.key` or `TESSERA_MASTER_KEY`) with the
//! backups, apart from them.
//!
//! Version 1 snapshots (before backends were interchangeable) hold sled's raw trees as
//! `{"t":"<tree>","k":"<base64 key>","v":"<base64 value>"}`; they are still read, as
//! [`Entry::Raw`], and only the sled backend takes them.

use super::records::{
    encode, ApiKeyRecord, AppRecord, ClientRecord, PairRecord, RefreshRecord, SessionRecord,
    SigningKeyRecord, UserRecord,
};
use super::StoreError;
use crate::domain::{
    AccessPair, ApiKey, Application, OAuthClient, RefreshTokenRecord, Session, StoredSigningKey,
    User,
};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use time::OffsetDateTime;

pub const FORMAT: &str = "tessera-backup";
/// The version this build writes.
pub const VERSION: u32 = 2;
/// The raw sled trees of the first backups.
const RAW_VERSION: u32 = 1;

/// One record of a snapshot, as the domain knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    User(User),
    SigningKey(StoredSigningKey),
    /// A named value of the installation (the schema version, the generated `token_uuid`, …).
    Meta {
        name: String,
        value: Vec<u8>,
    },
    App(Application),
    ApiKey(ApiKey),
    Client(OAuthClient),
    Pair(AccessPair),
    Session(Session),
    RefreshToken(RefreshTokenRecord),
    /// A revoked JWT id, kept until the token would have expired anyway.
    RevokedJti {
        jti: String,
        expires_at: OffsetDateTime,
    },
}

/// What a reader hands a backend.
#[derive(Debug)]
pub enum Entry {
    Item(Box<Item>),
    /// A version 1 record: a sled tree's name, key and value, as stored.
    Raw {
        tree: String,
        key: Vec<u8>,
        value: Vec<u8>,
    },
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
}

#[derive(Serialize, Deserialize)]
struct End {
    end: u64,
}

#[derive(Serialize, Deserialize)]
struct RawRecord {
    t: String,
    k: String,
    v: String,
}

#[derive(Serialize, Deserialize)]
struct MetaLine {
    name: String,
    /// Base64: meta values are bytes.
    value: String,
}

#[derive(Serialize, Deserialize)]
struct RevokedLine {
    jti: String,
    expires_at: i64,
}

/// A line of a version 2 snapshot.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", content = "record", rename_all = "snake_case")]
enum Line {
    User(UserRecord),
    SigningKey(SigningKeyRecord),
    Meta(MetaLine),
    App(AppRecord),
    ApiKey(ApiKeyRecord),
    Client(ClientRecord),
    Pair(PairRecord),
    Session(SessionRecord),
    RefreshToken(RefreshRecord),
    RevokedJti(RevokedLine),
}

impl From<&Item> for Line {
    fn from(item: &Item) -> Self {
        match item {
            Item::User(u) => Line::User(u.into()),
            Item::SigningKey(k) => Line::SigningKey(k.into()),
            Item::Meta { name, value } => Line::Meta(MetaLine {
                name: name.clone(),
                value: B64.encode(value),
            }),
            Item::App(a) => Line::App(a.into()),
            Item::ApiKey(k) => Line::ApiKey(k.into()),
            Item::Client(c) => Line::Client(c.into()),
            Item::Pair(p) => Line::Pair(p.into()),
            Item::Session(s) => Line::Session(s.into()),
            Item::RefreshToken(t) => Line::RefreshToken(t.into()),
            Item::RevokedJti { jti, expires_at } => Line::RevokedJti(RevokedLine {
                jti: jti.clone(),
                expires_at: expires_at.unix_timestamp(),
            }),
        }
    }
}

impl TryFrom<Line> for Item {
    type Error = StoreError;
    fn try_from(line: Line) -> Result<Self, StoreError> {
        let bad = |why: String| StoreError::Backup(why);
        Ok(match line {
            Line::User(r) => Item::User(r.try_into()?),
            Line::SigningKey(r) => Item::SigningKey(r.try_into()?),
            Line::Meta(m) => Item::Meta {
                value: B64
                    .decode(&m.value)
                    .map_err(|_| bad(format!("meta {:?} is not base64", m.name)))?,
                name: m.name,
            },
            Line::App(r) => Item::App(r.try_into()?),
            Line::ApiKey(r) => Item::ApiKey(r.try_into()?),
            Line::Client(r) => Item::Client(r.try_into()?),
            Line::Pair(r) => Item::Pair(r.try_into()?),
            Line::Session(r) => Item::Session(r.try_into()?),
            Line::RefreshToken(r) => Item::RefreshToken(r.try_into()?),
            Line::RevokedJti(r) => Item::RevokedJti {
                expires_at: OffsetDateTime::from_unix_timestamp(r.expires_at)
                    .map_err(|_| bad(format!("revoked jti {:?} has a bad expiry", r.jti)))?,
                jti: r.jti,
            },
        })
    }
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Backup(e.to_string())
}

fn line<T: Serialize>(out: &mut dyn Write, value: &T) -> Result<(), StoreError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| StoreError::Backup(e.to_string()))?;
    out.write_all(b"\n").map_err(io)
}

/// Writes a snapshot: the header, then each record, then the count.
pub struct Writer<'a> {
    out: &'a mut dyn Write,
    count: u64,
}

impl<'a> Writer<'a> {
    pub fn start(out: &'a mut dyn Write) -> Result<Self, StoreError> {
        line(
            out,
            &Header {
                format: FORMAT.into(),
                version: VERSION,
            },
        )?;
        Ok(Self { out, count: 0 })
    }

    pub fn write(&mut self, item: &Item) -> Result<(), StoreError> {
        line(self.out, &Line::from(item))?;
        self.count += 1;
        Ok(())
    }

    /// Writes the end line; returns how many records were written.
    pub fn finish(self) -> Result<u64, StoreError> {
        line(self.out, &End { end: self.count })?;
        self.out.flush().map_err(io)?;
        Ok(self.count)
    }
}

/// The signing keys a snapshot holds (of either version), read without loading anything:
/// a restore checks that they open with the master key before it writes a record.
pub fn signing_keys_in(input: &mut dyn BufRead) -> Result<Vec<StoredSigningKey>, StoreError> {
    let mut keys = Vec::new();
    read(input, |entry| {
        match entry {
            Entry::Item(item) => {
                if let Item::SigningKey(key) = *item {
                    keys.push(key);
                }
            }
            Entry::Raw { tree, value, .. } if tree == "signing_keys" => {
                keys.push(super::records::decode_as::<
                    SigningKeyRecord,
                    StoredSigningKey,
                >("signing_keys", &value)?)
            }
            Entry::Raw { .. } => {}
        }
        Ok(())
    })?;
    Ok(keys)
}

/// Reads a snapshot, handing each record to `put` in file order; fails on anything but a
/// whole, well-formed file of a version this build reads.
pub fn read(
    input: &mut dyn BufRead,
    mut put: impl FnMut(Entry) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    let bad = |why: &str| StoreError::Backup(why.to_string());
    let mut lines = input.lines();
    let first = lines
        .next()
        .ok_or_else(|| bad("the file is empty"))?
        .map_err(io)?;
    let header: Header =
        serde_json::from_str(&first).map_err(|_| bad("not a tessera backup (no header line)"))?;
    if header.format != FORMAT {
        return Err(bad("not a tessera backup"));
    }
    if header.version != VERSION && header.version != RAW_VERSION {
        return Err(StoreError::Backup(format!(
            "backup format version {} is not supported (this build reads {RAW_VERSION} and \
             {VERSION})",
            header.version
        )));
    }
    for (count, text) in (0u64..).zip(lines) {
        let text = text.map_err(io)?;
        if let Ok(end) = serde_json::from_str::<End>(&text) {
            if end.end != count {
                return Err(StoreError::Backup(format!(
                    "the backup announces {} records but holds {count}",
                    end.end
                )));
            }
            return Ok(count);
        }
        let malformed = || StoreError::Backup(format!("record {} is malformed", count + 1));
        let entry = if header.version == RAW_VERSION {
            let record: RawRecord = serde_json::from_str(&text).map_err(|_| malformed())?;
            let decode = |s: &str| B64.decode(s).map_err(|_| bad("a record is not base64"));
            Entry::Raw {
                key: decode(&record.k)?,
                value: decode(&record.v)?,
                tree: record.t,
            }
        } else {
            let line: Line = serde_json::from_str(&text).map_err(|_| malformed())?;
            let item = Item::try_from(line).map_err(|e| match e {
                StoreError::Backup(why) => StoreError::Backup(why),
                other => StoreError::Backup(format!("record {}: {other}", count + 1)),
            })?;
            Entry::Item(Box::new(item))
        };
        put(entry)?;
    }
    Err(bad("the backup is truncated (no end line)"))
}

/// The refusal of a backend that cannot take version 1 (raw sled) records.
pub fn raw_refused() -> StoreError {
    StoreError::Backup(
        "this is a version 1 backup (sled's raw trees): restore it into a sled data dir, then \
         take a new backup to move it to another backend"
            .into(),
    )
}

/// The stored bytes of a record, for a backend loading a snapshot.
pub(crate) fn bytes_of(item: &Item) -> Result<Vec<u8>, StoreError> {
    match item {
        Item::User(u) => encode(&UserRecord::from(u)),
        Item::SigningKey(k) => encode(&SigningKeyRecord::from(k)),
        Item::App(a) => encode(&AppRecord::from(a)),
        Item::ApiKey(k) => encode(&ApiKeyRecord::from(k)),
        Item::Client(c) => encode(&ClientRecord::from(c)),
        Item::Pair(p) => encode(&PairRecord::from(p)),
        Item::Session(s) => encode(&SessionRecord::from(s)),
        Item::RefreshToken(t) => encode(&RefreshRecord::from(t)),
        Item::Meta { value, .. } => Ok(value.clone()),
        Item::RevokedJti { expires_at, .. } => {
            Ok(expires_at.unix_timestamp().to_be_bytes().to_vec())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<Item> {
        let user = crate::storage::contract::user("alice");
        let app = crate::storage::contract::app("web");
        vec![
            Item::User(user),
            Item::Meta {
                name: "token_uuid".into(),
                value: vec![0, 1, 2, 255],
            },
            Item::ApiKey(crate::storage::contract::api_key(&app)),
            Item::App(app),
            Item::RevokedJti {
                jti: "j1".into(),
                expires_at: OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("valid"),
            },
        ]
    }

    fn write(items: &[Item]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut writer = Writer::start(&mut out).expect("header");
        for item in items {
            writer.write(item).expect("record");
        }
        assert_eq!(writer.finish().expect("end"), items.len() as u64);
        out
    }

    #[test]
    fn items_round_trip_as_lines_of_their_kind() {
        let items = items();
        let out = write(&items);
        let text = String::from_utf8(out.clone()).expect("utf-8");
        assert!(text.starts_with("{\"format\":\"tessera-backup\",\"version\":2}\n"));
        assert!(text.contains(r#"{"kind":"user","record":{"v":"1","userid":"alice""#));

        let mut seen = Vec::new();
        let n = read(&mut out.as_slice(), |entry| {
            match entry {
                Entry::Item(item) => seen.push(*item),
                Entry::Raw { .. } => panic!("a version 2 file has no raw records"),
            }
            Ok(())
        })
        .expect("read");
        assert_eq!(n, items.len() as u64);
        assert_eq!(seen, items);
    }

    #[test]
    fn a_cut_or_foreign_file_is_refused() {
        let out = write(&items());
        let cut = &out[..out.len() - 12];
        assert!(read(&mut &cut[..], |_| Ok(())).is_err());
        assert!(read(&mut &b"hello\n"[..], |_| Ok(())).is_err());
        let future = b"{\"format\":\"tessera-backup\",\"version\":9}\n{\"end\":0}\n";
        let err = read(&mut &future[..], |_| Ok(())).err();
        assert!(matches!(err, Some(StoreError::Backup(why)) if why.contains("version 9")));
    }

    #[test]
    fn a_version_1_file_is_read_as_raw_records() {
        let v1 = concat!(
            "{\"format\":\"tessera-backup\",\"version\":1}\n",
            "{\"t\":\"meta\",\"k\":\"YQ==\",\"v\":\"MQ==\"}\n",
            "{\"end\":1}\n"
        );
        let mut seen = Vec::new();
        read(&mut v1.as_bytes(), |entry| {
            if let Entry::Raw { tree, key, value } = entry {
                seen.push((tree, key, value));
            }
            Ok(())
        })
        .expect("read");
        assert_eq!(
            seen,
            vec![("meta".to_string(), b"a".to_vec(), b"1".to_vec())]
        );
    }
}
