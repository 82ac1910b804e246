//! SNS topics, subscriptions and pending deliveries on SQLite: the side of
//! [`crate::traits::SnsStore`] that keeps topics' and subscriptions' JSON records
//! (`sns_topics`, `sns_subscriptions`), the durable delivery queue (`sns_deliveries`: one
//! row per message and subscription until it is delivered or given up) and the service's
//! own settings (`sns_settings`: its signing key).

use rusqlite::{params, OptionalExtension};

use crate::traits::SnsStore;
use crate::{SqliteStore, StoreError};

/// The migration step that makes the tables (see `migrations.rs`).
pub(crate) const SCHEMA: &str = "
CREATE TABLE sns_topics (
    arn TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX sns_topics_account ON sns_topics (account, arn);
CREATE TABLE sns_subscriptions (
    arn TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    topic TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX sns_subscriptions_account ON sns_subscriptions (account, arn);
CREATE INDEX sns_subscriptions_topic ON sns_subscriptions (topic, arn);
CREATE TABLE sns_deliveries (
    id TEXT PRIMARY KEY,
    due_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    holder TEXT,
    held_until INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX sns_deliveries_due ON sns_deliveries (due_ms);
CREATE TABLE sns_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE sns_dedup (
    topic TEXT NOT NULL,
    id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    seq TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (topic, id)
);
CREATE INDEX sns_dedup_at ON sns_dedup (at_ms);
";

/// One pending delivery of a message to one subscription (the queue's row: `crate::deliveries`).
pub type SnsDelivery = crate::deliveries::Delivery;

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl SnsStore for SqliteStore {
    fn insert_sns_topic(&self, account: &str, arn: &str, data: &str) -> Result<(), StoreError> {
        let n = self.conn().execute(
            "INSERT OR IGNORE INTO sns_topics (arn, account, data) VALUES (?1, ?2, ?3)",
            params![arn, account, data],
        )?;
        if n == 0 {
            return Err(StoreError::Exists(arn.to_string()));
        }
        Ok(())
    }

    fn get_sns_topic(&self, arn: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT data FROM sns_topics WHERE arn = ?1",
                params![arn],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn put_sns_topic(&self, arn: &str, data: &str) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE sns_topics SET data = ?2 WHERE arn = ?1",
            params![arn, data],
        )?;
        Ok(n > 0)
    }

    fn delete_sns_topic(&self, arn: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM sns_subscriptions WHERE topic = ?1",
            params![arn],
        )?;
        // A FIFO topic created again under the name deduplicates afresh.
        tx.execute("DELETE FROM sns_dedup WHERE topic = ?1", params![arn])?;
        let n = tx.execute("DELETE FROM sns_topics WHERE arn = ?1", params![arn])?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn list_sns_topics(
        &self,
        account: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT data FROM sns_topics WHERE account = ?1 AND arn > ?2 ORDER BY arn LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![account, after.unwrap_or(""), limit_of(limit)],
            |r| r.get(0),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn insert_sns_subscription(
        &self,
        account: &str,
        topic: &str,
        arn: &str,
        data: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let exists: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM sns_topics WHERE arn = ?1",
                params![topic],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Ok(false);
        }
        let n = tx.execute(
            "INSERT OR IGNORE INTO sns_subscriptions (arn, account, topic, data)
             VALUES (?1, ?2, ?3, ?4)",
            params![arn, account, topic, data],
        )?;
        if n == 0 {
            return Err(StoreError::Exists(arn.to_string()));
        }
        tx.commit()?;
        Ok(true)
    }

    fn get_sns_subscription(&self, arn: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT data FROM sns_subscriptions WHERE arn = ?1",
                params![arn],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn put_sns_subscription(&self, arn: &str, data: &str) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE sns_subscriptions SET data = ?2 WHERE arn = ?1",
            params![arn, data],
        )?;
        Ok(n > 0)
    }

    fn delete_sns_subscription(&self, arn: &str) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute("DELETE FROM sns_subscriptions WHERE arn = ?1", params![arn])?;
        Ok(n > 0)
    }

    fn list_sns_subscriptions(
        &self,
        account: Option<&str>,
        topic: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT data FROM sns_subscriptions
             WHERE (?1 IS NULL OR account = ?1) AND (?2 IS NULL OR topic = ?2) AND arn > ?3
             ORDER BY arn LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![account, topic, after.unwrap_or(""), limit_of(limit)],
            |r| r.get(0),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn add_sns_deliveries(&self, deliveries: &[SnsDelivery]) -> Result<(), StoreError> {
        crate::deliveries::add(&mut self.conn(), "sns_deliveries", deliveries)
    }

    fn claim_sns_deliveries(
        &self,
        node: &str,
        now_ms: i64,
        hold_ms: i64,
        limit: usize,
    ) -> Result<Vec<SnsDelivery>, StoreError> {
        crate::deliveries::claim(
            &mut self.conn(),
            "sns_deliveries",
            node,
            now_ms,
            hold_ms,
            limit,
        )
    }

    fn sns_delivery_ahead(&self, from: &str, before: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT due_ms FROM sns_deliveries WHERE id >= ?1 AND id < ?2
                 ORDER BY id LIMIT 1",
                params![from, before],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn release_sns_deliveries(&self, holder: &str) -> Result<usize, StoreError> {
        crate::deliveries::release(&self.conn(), "sns_deliveries", holder)
    }

    fn finish_sns_delivery(&self, id: &str) -> Result<(), StoreError> {
        crate::deliveries::finish(&self.conn(), "sns_deliveries", id)
    }

    fn retry_sns_delivery(&self, id: &str, due_ms: i64, attempts: u32) -> Result<(), StoreError> {
        crate::deliveries::retry(&self.conn(), "sns_deliveries", id, due_ms, attempts)
    }

    fn sns_dedup(
        &self,
        topic: &str,
        id: &str,
        message_id: &str,
        seq: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<Option<(String, String)>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM sns_dedup WHERE at_ms <= ?1",
            params![now_ms.saturating_sub(window_ms)],
        )?;
        tx.execute(
            "INSERT OR IGNORE INTO sns_dedup (topic, id, message_id, seq, at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![topic, id, message_id, seq, now_ms],
        )?;
        let kept: (String, String) = tx.query_row(
            "SELECT message_id, seq FROM sns_dedup WHERE topic = ?1 AND id = ?2",
            params![topic, id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        tx.commit()?;
        Ok((kept.0 != message_id).then_some(kept))
    }

    fn sns_setting(&self, name: &str, init: Option<&str>) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if let Some(init) = init {
            tx.execute(
                "INSERT OR IGNORE INTO sns_settings (name, value) VALUES (?1, ?2)",
                params![name, init],
            )?;
        }
        let value: Option<String> = tx
            .query_row(
                "SELECT value FROM sns_settings WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        tx.commit()?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStore::open(dir.path()).expect("open");
        (dir, s)
    }

    #[test]
    fn topics_and_their_subscriptions() {
        let (_d, s) = store();
        s.insert_sns_topic("1", "arn:t1", "{t1}").expect("insert");
        assert!(matches!(
            s.insert_sns_topic("1", "arn:t1", "{}"),
            Err(StoreError::Exists(_))
        ));
        s.insert_sns_topic("1", "arn:t2", "{t2}").expect("insert");
        s.insert_sns_topic("2", "arn:t3", "{t3}").expect("insert");
        assert_eq!(
            s.list_sns_topics("1", None, 10).expect("list"),
            ["{t1}", "{t2}"]
        );
        assert_eq!(
            s.list_sns_topics("1", Some("arn:t1"), 10).expect("list"),
            ["{t2}"]
        );
        assert!(s
            .insert_sns_subscription("1", "arn:t1", "arn:t1:a", "{a}")
            .expect("sub"));
        assert!(s
            .insert_sns_subscription("2", "arn:t1", "arn:t1:b", "{b}")
            .expect("sub"));
        assert!(!s
            .insert_sns_subscription("1", "arn:nope", "arn:x", "{x}")
            .expect("sub"));
        assert_eq!(
            s.list_sns_subscriptions(Some("1"), None, None, 10)
                .expect("list"),
            ["{a}"]
        );
        assert_eq!(
            s.list_sns_subscriptions(None, Some("arn:t1"), None, 10)
                .expect("list"),
            ["{a}", "{b}"]
        );
        assert!(s.delete_sns_topic("arn:t1").expect("delete"));
        assert_eq!(s.get_sns_subscription("arn:t1:a").expect("get"), None);
        assert!(!s.delete_sns_topic("arn:t1").expect("delete"));
    }

    #[test]
    fn deliveries_are_claimed_once_until_their_hold_ends() {
        let (_d, s) = store();
        let d = |id: &str, due| SnsDelivery {
            id: id.into(),
            due_ms: due,
            attempts: 0,
            data: id.into(),
        };
        s.add_sns_deliveries(&[d("a", 10), d("b", 20), d("c", 1000)])
            .expect("add");
        let got = s.claim_sns_deliveries("n1", 100, 50, 10).expect("claim");
        assert_eq!(
            got.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(s
            .claim_sns_deliveries("n2", 120, 50, 10)
            .expect("claim")
            .is_empty());
        s.finish_sns_delivery("a").expect("finish");
        s.retry_sns_delivery("b", 130, 1).expect("retry");
        let got = s.claim_sns_deliveries("n2", 140, 50, 10).expect("claim");
        assert_eq!(
            got,
            [SnsDelivery {
                attempts: 1,
                due_ms: 130,
                ..d("b", 0)
            }]
        );
        // A holder that went away: its hold ends and another node takes the row.
        let got = s.claim_sns_deliveries("n3", 200, 50, 10).expect("claim");
        assert_eq!(got.len(), 1);
        assert_eq!(s.sns_setting("k", None).expect("setting"), None);
        assert_eq!(
            s.sns_setting("k", Some("v1")).expect("setting").as_deref(),
            Some("v1")
        );
        assert_eq!(
            s.sns_setting("k", Some("v2")).expect("setting").as_deref(),
            Some("v1")
        );
    }
}
