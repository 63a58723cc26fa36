//! The backup format (SPEC §10): JSON lines, so a snapshot streams in and out record by record
//! and a truncated file is noticed.
//!
//! ```text
//! {"format":"tessera-backup","version":1}
//! {"t":"<record kind>","k":"<base64 key>","v":"<base64 record>"}   one per record
//! {"end":<number of records>}
//! ```
//! Records are copied as stored: secrets stay hashed and signing keys stay sealed under the
//! master key, which is not in the backup — keep it (`master.key` or `TESSERA_MASTER_KEY`)
//! with the backups, apart from them.

use super::StoreError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};

pub const FORMAT: &str = "tessera-backup";
pub const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
}

#[derive(Serialize, Deserialize)]
struct Record {
    t: String,
    k: String,
    v: String,
}

#[derive(Serialize, Deserialize)]
struct End {
    end: u64,
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Backup(e.to_string())
}

fn line<T: Serialize>(out: &mut dyn Write, value: &T) -> Result<(), StoreError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| StoreError::Backup(e.to_string()))?;
    out.write_all(b"\n").map_err(io)
}

/// Writes a snapshot: `records` yields (kind, key, value) in any order.
pub fn write<'a>(
    out: &mut dyn Write,
    records: impl Iterator<Item = Result<(&'a str, Vec<u8>, Vec<u8>), StoreError>>,
) -> Result<u64, StoreError> {
    line(
        out,
        &Header {
            format: FORMAT.into(),
            version: VERSION,
        },
    )?;
    let mut count = 0;
    for record in records {
        let (t, k, v) = record?;
        line(
            out,
            &Record {
                t: t.into(),
                k: B64.encode(k),
                v: B64.encode(v),
            },
        )?;
        count += 1;
    }
    line(out, &End { end: count })?;
    out.flush().map_err(io)?;
    Ok(count)
}

/// Reads a snapshot, handing each record to `put`; fails on anything but a whole, well-formed
/// file of this format and version.
pub fn read(
    input: &mut dyn BufRead,
    mut put: impl FnMut(&str, Vec<u8>, Vec<u8>) -> Result<(), StoreError>,
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
    if header.version != VERSION {
        return Err(StoreError::Backup(format!(
            "backup format version {} is not supported (this build reads {VERSION})",
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
        let record: Record = serde_json::from_str(&text)
            .map_err(|_| StoreError::Backup(format!("record {} is malformed", count + 1)))?;
        let decode = |s: &str| B64.decode(s).map_err(|_| bad("a record is not base64"));
        put(&record.t, decode(&record.k)?, decode(&record.v)?)?;
    }
    Err(bad("the backup is truncated (no end line)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let mut out = Vec::new();
        let records = vec![
            Ok(("users", b"a".to_vec(), b"1".to_vec())),
            Ok(("meta", b"b".to_vec(), b"2".to_vec())),
        ];
        assert_eq!(write(&mut out, records.into_iter()).expect("written"), 2);
        let mut seen = Vec::new();
        let n = read(&mut out.as_slice(), |t, k, v| {
            seen.push((t.to_string(), k, v));
            Ok(())
        })
        .expect("read");
        assert_eq!(n, 2);
        assert_eq!(seen[1], ("meta".to_string(), b"b".to_vec(), b"2".to_vec()));

        let cut = &out[..out.len() - 12];
        assert!(read(&mut &cut[..], |_, _, _| Ok(())).is_err());
        assert!(read(&mut &b"hello\n"[..], |_, _, _| Ok(())).is_err());
    }
}
