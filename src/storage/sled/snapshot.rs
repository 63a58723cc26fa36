//! The sled side of whole-store snapshots, sweeps and checks.

use super::{backend, check, sweep, SledStore};
use crate::storage::{BackupStore, StoreError, Swept};
use time::OffsetDateTime;

impl BackupStore for SledStore {
    fn export(&self, out: &mut dyn std::io::Write) -> Result<u64, StoreError> {
        // Exclusive: no mutation is half done while the trees are read.
        let _all = self.state.exclusive();
        let t = self.trees()?;
        let trees = t.all();
        let records = trees.iter().flat_map(|tree| {
            tree.iter().map(move |item| {
                item.map(|(k, v)| (tree.name, k.to_vec(), v.to_vec()))
                    .map_err(backend)
            })
        });
        crate::storage::backup::write(out, records)
    }

    fn import(&self, input: &mut dyn std::io::BufRead) -> Result<u64, StoreError> {
        if !self.is_empty()? {
            return Err(StoreError::Backup("the data dir is not empty".into()));
        }
        let _all = self.state.exclusive();
        let t = self.trees()?;
        let trees = t.all();
        let count = crate::storage::backup::read(input, |t, k, v| {
            let tree = trees
                .iter()
                .find(|tree| tree.name == t)
                .ok_or_else(|| StoreError::Backup(format!("unknown record kind {t:?}")))?;
            tree.insert(k, v).map(|_| ()).map_err(backend)
        })?;
        self.durable()?;
        Ok(count)
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.trees()?.all().iter().all(|tree| tree.is_empty()))
    }

    fn check(&self) -> Result<Vec<String>, StoreError> {
        check::run(self)
    }

    fn sweep(
        &self,
        now: OffsetDateTime,
        keep_revoked: time::Duration,
    ) -> Result<Swept, StoreError> {
        sweep::run(self, now, keep_revoked)
    }
}
