//! SNS on PostgreSQL ([`SnsStore`]): the same tables as the SQLite store keeps
//! (`crate::sns`). Deliveries are claimed with `FOR UPDATE SKIP LOCKED`, so nodes claiming
//! at once get distinct rows; a claim is a hold until a time, after which any node may
//! take the row again (its holder died mid-delivery: at least once).

use tokio_postgres::Row;

use super::{backend, wait, PgStore};
use crate::traits::SnsStore;
use crate::{SnsDelivery, StoreError};

/// The migration step that makes the tables ([`super::migrations`]).
pub(super) const SCHEMA: &str = r#"
CREATE TABLE sns_topics (
    arn TEXT COLLATE "C" PRIMARY KEY,
    account TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX sns_topics_account ON sns_topics (account, arn);
CREATE TABLE sns_subscriptions (
    arn TEXT COLLATE "C" PRIMARY KEY,
    account TEXT COLLATE "C" NOT NULL,
    topic TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX sns_subscriptions_account ON sns_subscriptions (account, arn);
CREATE INDEX sns_subscriptions_topic ON sns_subscriptions (topic, arn);
CREATE TABLE sns_deliveries (
    id TEXT COLLATE "C" PRIMARY KEY,
    due_ms BIGINT NOT NULL,
    attempts INTEGER NOT NULL,
    holder TEXT,
    held_until BIGINT NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX sns_deliveries_due ON sns_deliveries (due_ms);
CREATE TABLE sns_settings (
    name TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE sns_dedup (
    topic TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    message_id TEXT NOT NULL,
    seq TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (topic, id)
);
CREATE INDEX sns_dedup_at ON sns_dedup (at_ms);
"#;

fn text(r: &Row, i: usize) -> Result<String, StoreError> {
    r.try_get(i).map_err(backend)
}

fn texts(rows: &[Row]) -> Result<Vec<String>, StoreError> {
    rows.iter().map(|r| text(r, 0)).collect()
}

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl SnsStore for PgStore {
    fn insert_sns_topic(&self, account: &str, arn: &str, data: &str) -> Result<(), StoreError> {
        let c = self.conn()?;
        let n = wait(c.execute(
            "INSERT INTO sns_topics (arn, account, data) VALUES ($1, $2, $3)
             ON CONFLICT (arn) DO NOTHING",
            &[&arn, &account, &data],
        ))
        .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Exists(arn.to_string()));
        }
        Ok(())
    }

    fn get_sns_topic(&self, arn: &str) -> Result<Option<String>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_opt("SELECT data FROM sns_topics WHERE arn = $1", &[&arn]))
            .map_err(backend)?;
        row.map(|r| text(&r, 0)).transpose()
    }

    fn put_sns_topic(&self, arn: &str, data: &str) -> Result<bool, StoreError> {
        let c = self.conn()?;
        let n = wait(c.execute(
            "UPDATE sns_topics SET data = $2 WHERE arn = $1",
            &[&arn, &data],
        ))
        .map_err(backend)?;
        Ok(n > 0)
    }

    fn delete_sns_topic(&self, arn: &str) -> Result<bool, StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let n =
            wait(tx.execute("DELETE FROM sns_topics WHERE arn = $1", &[&arn])).map_err(backend)?;
        wait(tx.execute("DELETE FROM sns_subscriptions WHERE topic = $1", &[&arn]))
            .map_err(backend)?;
        // A FIFO topic created again under the name deduplicates afresh.
        wait(tx.execute("DELETE FROM sns_dedup WHERE topic = $1", &[&arn])).map_err(backend)?;
        wait(tx.commit()).map_err(backend)?;
        Ok(n > 0)
    }

    fn list_sns_topics(
        &self,
        account: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query(
            "SELECT data FROM sns_topics WHERE account = $1 AND arn > $2 ORDER BY arn LIMIT $3",
            &[&account, &after.unwrap_or(""), &limit_of(limit)],
        ))
        .map_err(backend)?;
        texts(&rows)
    }

    fn insert_sns_subscription(
        &self,
        account: &str,
        topic: &str,
        arn: &str,
        data: &str,
    ) -> Result<bool, StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let found = wait(tx.query_opt(
            "SELECT 1 FROM sns_topics WHERE arn = $1 FOR SHARE",
            &[&topic],
        ))
        .map_err(backend)?;
        if found.is_none() {
            return Ok(false);
        }
        let n = wait(tx.execute(
            "INSERT INTO sns_subscriptions (arn, account, topic, data) VALUES ($1, $2, $3, $4)
             ON CONFLICT (arn) DO NOTHING",
            &[&arn, &account, &topic, &data],
        ))
        .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Exists(arn.to_string()));
        }
        wait(tx.commit()).map_err(backend)?;
        Ok(true)
    }

    fn get_sns_subscription(&self, arn: &str) -> Result<Option<String>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_opt("SELECT data FROM sns_subscriptions WHERE arn = $1", &[&arn]))
            .map_err(backend)?;
        row.map(|r| text(&r, 0)).transpose()
    }

    fn put_sns_subscription(&self, arn: &str, data: &str) -> Result<bool, StoreError> {
        let c = self.conn()?;
        let n = wait(c.execute(
            "UPDATE sns_subscriptions SET data = $2 WHERE arn = $1",
            &[&arn, &data],
        ))
        .map_err(backend)?;
        Ok(n > 0)
    }

    fn delete_sns_subscription(&self, arn: &str) -> Result<bool, StoreError> {
        let c = self.conn()?;
        let n = wait(c.execute("DELETE FROM sns_subscriptions WHERE arn = $1", &[&arn]))
            .map_err(backend)?;
        Ok(n > 0)
    }

    fn list_sns_subscriptions(
        &self,
        account: Option<&str>,
        topic: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query(
            "SELECT data FROM sns_subscriptions
             WHERE ($1::TEXT IS NULL OR account = $1) AND ($2::TEXT IS NULL OR topic = $2)
               AND arn > $3
             ORDER BY arn LIMIT $4",
            &[&account, &topic, &after.unwrap_or(""), &limit_of(limit)],
        ))
        .map_err(backend)?;
        texts(&rows)
    }

    fn add_sns_deliveries(&self, deliveries: &[SnsDelivery]) -> Result<(), StoreError> {
        crate::pg::deliveries::add(self, "sns_deliveries", deliveries)
    }

    fn claim_sns_deliveries(
        &self,
        node: &str,
        now_ms: i64,
        hold_ms: i64,
        limit: usize,
    ) -> Result<Vec<SnsDelivery>, StoreError> {
        crate::pg::deliveries::claim(self, "sns_deliveries", node, now_ms, hold_ms, limit)
    }

    fn sns_delivery_ahead(&self, from: &str, before: &str) -> Result<Option<i64>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_opt(
            "SELECT due_ms FROM sns_deliveries WHERE id >= $1 AND id < $2
             ORDER BY id LIMIT 1",
            &[&from, &before],
        ))
        .map_err(backend)?;
        row.map(|r| r.try_get(0).map_err(backend)).transpose()
    }

    fn release_sns_deliveries(&self, holder: &str) -> Result<usize, StoreError> {
        crate::pg::deliveries::release(self, "sns_deliveries", holder)
    }

    fn finish_sns_delivery(&self, id: &str) -> Result<(), StoreError> {
        crate::pg::deliveries::finish(self, "sns_deliveries", id)
    }

    fn retry_sns_delivery(&self, id: &str, due_ms: i64, attempts: u32) -> Result<(), StoreError> {
        crate::pg::deliveries::retry(self, "sns_deliveries", id, due_ms, attempts)
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
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let expired = now_ms.saturating_sub(window_ms);
        wait(tx.execute("DELETE FROM sns_dedup WHERE at_ms <= $1", &[&expired]))
            .map_err(backend)?;
        // A racing node's insert of the same id shows as no row inserted; the row read
        // back is the one that won.
        wait(tx.execute(
            "INSERT INTO sns_dedup (topic, id, message_id, seq, at_ms) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (topic, id) DO NOTHING",
            &[&topic, &id, &message_id, &seq, &now_ms],
        ))
        .map_err(backend)?;
        let row = wait(tx.query_one(
            "SELECT message_id, seq FROM sns_dedup WHERE topic = $1 AND id = $2",
            &[&topic, &id],
        ))
        .map_err(backend)?;
        wait(tx.commit()).map_err(backend)?;
        let kept = (text(&row, 0)?, text(&row, 1)?);
        Ok((kept.0 != message_id).then_some(kept))
    }

    fn sns_setting(&self, name: &str, init: Option<&str>) -> Result<Option<String>, StoreError> {
        let c = self.conn()?;
        if let Some(init) = init {
            wait(c.execute(
                "INSERT INTO sns_settings (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO NOTHING",
                &[&name, &init],
            ))
            .map_err(backend)?;
        }
        let row = wait(c.query_opt("SELECT value FROM sns_settings WHERE name = $1", &[&name]))
            .map_err(backend)?;
        row.map(|r| text(&r, 0)).transpose()
    }
}
