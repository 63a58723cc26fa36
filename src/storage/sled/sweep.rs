//! Sweeping what can no longer matter, so the store stops growing with the sessions it has
//! served (issue 7 soak). Refresh tokens go before their sessions: a sweep cut short leaves
//! sessions without tokens, never tokens without their session.

use super::{backend, Sled};
use crate::domain::{AccessPair, RefreshTokenRecord, Session};
use crate::storage::records::{decode, PairRecord, RefreshRecord, SessionRecord};
use crate::storage::{StoreError, Swept};
use std::collections::HashSet;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Removals between flushes. sled keeps every unflushed change in memory, and a sweep of ten
/// minutes of sessions removed hundreds of thousands of records before its one flush.
const FLUSH_EVERY: u64 = 1_000;

/// Counts a removal, and flushes every `FLUSH_EVERY`.
fn removed(store: &Sled, count: &mut u64) -> Result<(), StoreError> {
    *count += 1;
    if count.is_multiple_of(FLUSH_EVERY) {
        store.durable()?;
    }
    Ok(())
}

pub(super) fn run(
    store: &Sled,
    now: OffsetDateTime,
    keep_revoked: Duration,
) -> Result<Swept, StoreError> {
    let _gate = store.gate()?;
    let t = store.trees()?;
    let mut swept = Swept::default();
    let mut removals = 0;

    let mut ended: HashSet<Uuid> = HashSet::new();
    let mut ended_index = Vec::new();
    for item in t.sessions.iter() {
        let (key, bytes) = item.map_err(backend)?;
        let Ok(session) = decode::<SessionRecord>("sessions", &bytes).and_then(Session::try_from)
        else {
            continue; // `tessera check` reports what does not decode; a sweep leaves it be.
        };
        let over = session.expires_at <= now
            || session
                .revoked_at
                .is_some_and(|at| at + keep_revoked <= now);
        if over {
            ended.insert(session.id.0);
            let mut index = session.userid.as_str().as_bytes().to_vec();
            index.push(0);
            index.extend_from_slice(&key);
            ended_index.push((key.to_vec(), index));
        }
    }

    for item in t.refresh_tokens.iter() {
        let (key, bytes) = item.map_err(backend)?;
        let Ok(token) = decode::<RefreshRecord>("refresh_tokens", &bytes)
            .and_then(RefreshTokenRecord::try_from)
        else {
            continue;
        };
        if ended.contains(&token.session.0) || token.expires_at <= now {
            t.refresh_tokens.remove(key).map_err(backend)?;
            swept.refresh_tokens += 1;
            removed(store, &mut removals)?;
        }
    }
    for (key, index) in ended_index {
        t.user_sessions.remove(index).map_err(backend)?;
        t.sessions.remove(key).map_err(backend)?;
        swept.sessions += 1;
        removed(store, &mut removals)?;
    }

    for item in t.revoked_jti.iter() {
        let (key, bytes) = item.map_err(backend)?;
        let until = <[u8; 8]>::try_from(bytes.as_ref()).map(i64::from_be_bytes);
        if until.is_ok_and(|t| t <= now.unix_timestamp()) {
            t.revoked_jti.remove(key).map_err(backend)?;
            swept.revocations += 1;
            removed(store, &mut removals)?;
        }
    }

    for item in t.pairs.iter() {
        let (key, bytes) = item.map_err(backend)?;
        let Ok(pair) = decode::<PairRecord>("pairs", &bytes).and_then(AccessPair::try_from) else {
            continue;
        };
        if pair.expires_at <= now {
            let mut index = pair.client_id.as_bytes().to_vec();
            index.extend_from_slice(pair.id.as_bytes());
            t.client_pairs.remove(index).map_err(backend)?;
            t.pairs.remove(key).map_err(backend)?;
            swept.pairs += 1;
            removed(store, &mut removals)?;
        }
    }
    drop(_gate);
    if swept != Swept::default() {
        store.durable()?;
    }
    Ok(swept)
}

#[cfg(test)]
mod tests {
    use crate::storage::sled::SledStore;

    #[actix_rt::test]
    async fn sled_sweeps_and_counts_as_the_contract_says() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("open");
        crate::storage::contract::maintenance(&store).await;
    }
}
