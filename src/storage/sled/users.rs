//! The sled side of users.

use super::sync::UserStore;
use super::{backend, Sled};
use crate::domain::{User, UserId};
use crate::storage::records::{decode, encode, UserRecord};
use crate::storage::StoreError;
use std::ops::Bound;

impl UserStore for Sled {
    fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let record = encode(&UserRecord::from(&User {
            version: 1,
            ..user.clone()
        }))?;
        self.insert_new(&t.users, user.userid.as_str().as_bytes(), record)
    }

    fn get_user(&self, userid: &UserId) -> Result<Option<User>, StoreError> {
        let t = self.trees()?;
        self.read::<UserRecord, User>(&t.users, userid.as_str().as_bytes())
    }

    fn update_user(&self, user: &User) -> Result<(), StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let next = encode(&UserRecord::from(&User {
            version: user.version + 1,
            ..user.clone()
        }))?;
        self.replace_version::<UserRecord, User>(
            &t.users,
            user.userid.as_str().as_bytes(),
            user.version,
            |u| u.version,
            next,
        )
    }

    fn delete_user(&self, userid: &UserId) -> Result<bool, StoreError> {
        let _gate = self.gate()?;
        let t = self.trees()?;
        let removed = t
            .users
            .remove(userid.as_str().as_bytes())
            .map_err(backend)?
            .is_some();
        self.durable()?;
        Ok(removed)
    }

    fn list_users(&self, after: Option<&UserId>, limit: usize) -> Result<Vec<User>, StoreError> {
        let t = self.trees()?;
        let start = match after {
            Some(id) => Bound::Excluded(id.as_str().as_bytes().to_vec()),
            None => Bound::Unbounded,
        };
        t.users
            .range::<Vec<u8>, _>((start, Bound::Unbounded))
            .take(limit)
            .map(|item| {
                let (_, bytes) = item.map_err(backend)?;
                User::try_from(decode::<UserRecord>(t.users.name, &bytes)?)
            })
            .collect()
    }

    fn count_users(&self) -> Result<u64, StoreError> {
        let t = self.trees()?;
        Ok(t.users.len() as u64)
    }
}
