//! The PostgreSQL side of users.

use super::{body, count, decoded, exec, one, row, rows, version, Db, Params, PgStore};
use crate::domain::{User, UserId};
use crate::storage::records::UserRecord;
use crate::storage::{StoreError, UserStore};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;

/// Runs a [`replace_sql!`] statement: `NotFound` if there is no such row, `Stale` if it is no
/// longer at the version that was read.
pub(super) async fn replace_version<C: GenericClient>(
    c: &C,
    sql: &str,
    params: Params<'_>,
) -> Result<(), StoreError> {
    let row = one(c, sql, params).await?;
    let (updated, exists): (i64, bool) = (row.try_get(0).db()?, row.try_get(1).db()?);
    match (updated, exists) {
        (1.., _) => Ok(()),
        (_, true) => Err(StoreError::Stale),
        (_, false) => Err(StoreError::NotFound),
    }
}

/// Replaces the row of `$table` whose `$key` is `$1` and whose version is `$2` with the body
/// `$3` at version `$2 + 1`; in the same statement, says whether the row exists at all. Any
/// further typed columns are set from `$4…` by the caller's extra `SET` text.
macro_rules! replace_sql {
    ($table:literal, $key:literal) => {
        replace_sql!($table, $key, "")
    };
    ($table:literal, $key:literal, $extra:literal) => {
        concat!(
            "WITH updated AS (UPDATE ",
            $table,
            " SET version = $2 + 1, body = $3::text::jsonb",
            $extra,
            " WHERE ",
            $key,
            " = $1 AND version = $2 RETURNING 1) SELECT (SELECT count(*) FROM updated), \
             EXISTS (SELECT 1 FROM ",
            $table,
            " WHERE ",
            $key,
            " = $1)"
        )
    };
}
pub(super) use replace_sql;

#[async_trait]
impl UserStore for PgStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let first = User {
            version: 1,
            ..user.clone()
        };
        let (userid, record) = (
            user.userid.as_str().to_string(),
            body(&UserRecord::from(&first))?,
        );
        let written = self
            .with_client(move |c| async move {
                exec(
                    &c,
                    "INSERT INTO users (userid, version, body) VALUES ($1, 1, $2::text::jsonb)",
                    &[&userid, &record],
                )
                .await
                .map(|_| ())
            })
            .await;
        self.caches().users.evict(&user.userid.as_str().to_string());
        written
    }

    async fn get_user(&self, userid: &UserId) -> Result<Option<User>, StoreError> {
        let userid = userid.as_str().to_string();
        self.cached(
            |c| &c.users,
            userid.clone(),
            || {
                self.with_client(move |c| async move {
                    row(
                        &c,
                        "SELECT body::text FROM users WHERE userid = $1",
                        &[&userid],
                    )
                    .await?
                    .map(|r| decoded::<UserRecord, User>("users", &r, 0))
                    .transpose()
                })
            },
        )
        .await
    }

    async fn update_user(&self, user: &User) -> Result<(), StoreError> {
        let next = User {
            version: user.version + 1,
            ..user.clone()
        };
        let (userid, read, record) = (
            user.userid.as_str().to_string(),
            version(user.version)?,
            body(&UserRecord::from(&next))?,
        );
        let written = self
            .with_client(move |c| async move {
                replace_version(
                    &c,
                    replace_sql!("users", "userid"),
                    &[&userid, &read, &record],
                )
                .await
            })
            .await;
        self.caches().users.evict(&user.userid.as_str().to_string());
        written
    }

    async fn delete_user(&self, userid: &UserId) -> Result<bool, StoreError> {
        let userid = userid.as_str().to_string();
        let key = userid.clone();
        let deleted = self
            .with_client(move |c| async move {
                Ok(exec(&c, "DELETE FROM users WHERE userid = $1", &[&userid]).await? > 0)
            })
            .await;
        self.caches().users.evict(&key);
        deleted
    }

    async fn list_users(
        &self,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        let after = after.map(|id| id.as_str().to_string());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_client(move |c| async move {
            rows(
                &c,
                "SELECT body::text FROM users WHERE $1::text IS NULL OR userid > $1 \
                 ORDER BY userid LIMIT $2",
                &[&after, &limit],
            )
            .await?
            .iter()
            .map(|r| decoded::<UserRecord, User>("users", r, 0))
            .collect()
        })
        .await
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        self.with_client(|c| async move { count(&c, "SELECT count(*) FROM users").await })
            .await
    }
}
