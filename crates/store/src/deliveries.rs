//! The durable queues of deliveries a service retries until done (SNS's messages to its
//! subscriptions, EventBridge's events to rule targets), on SQLite. Each is a table of
//! one shape — `id` (the primary key), `due_ms`, `attempts`, `data` (the service's
//! record), `holder` and `held_until` (who claimed it, until when) — so one set of
//! statements serves every queue, named by its table; PostgreSQL's are in
//! `pg/deliveries.rs`.

use rusqlite::{params, Connection, TransactionBehavior};

use crate::StoreError;

/// One pending delivery: its record (the service's shape), when it is due, and how many
/// attempts were made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub due_ms: i64,
    pub attempts: u32,
    pub data: String,
}

pub(crate) fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Adds deliveries to `table`, all or none; an id already queued is kept as it is.
pub(crate) fn add(conn: &mut Connection, table: &str, ds: &[Delivery]) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    add_in(&tx, table, ds)?;
    tx.commit()?;
    Ok(())
}

/// [`add`] inside the caller's transaction.
pub(crate) fn add_in(
    tx: &rusqlite::Transaction<'_>,
    table: &str,
    ds: &[Delivery],
) -> Result<(), StoreError> {
    let mut stmt = tx.prepare(&format!(
        "INSERT OR IGNORE INTO {table} (id, due_ms, attempts, data) VALUES (?1, ?2, ?3, ?4)"
    ))?;
    for d in ds {
        stmt.execute(params![d.id, d.due_ms, d.attempts, d.data])?;
    }
    Ok(())
}

/// Gives `node` up to `limit` deliveries of `table` due at `now_ms` that no one holds
/// (or whose hold ended), held for `hold_ms`, soonest due first (then by id).
pub(crate) fn claim(
    conn: &mut Connection,
    table: &str,
    node: &str,
    now_ms: i64,
    hold_ms: i64,
    limit: usize,
) -> Result<Vec<Delivery>, StoreError> {
    // Immediate: another store on the file claiming at once waits for this claim's
    // commit and then sees its holds.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let claimed: Vec<Delivery> = {
        let mut stmt = tx.prepare(&format!(
            "SELECT id, due_ms, attempts, data FROM {table}
             WHERE due_ms <= ?1 AND held_until <= ?1 ORDER BY due_ms, id LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![now_ms, limit_of(limit)], |r| {
            Ok(Delivery {
                id: r.get(0)?,
                due_ms: r.get(1)?,
                attempts: r.get(2)?,
                data: r.get(3)?,
            })
        })?;
        rows.collect::<Result<_, _>>()?
    };
    {
        let mut stmt = tx.prepare(&format!(
            "UPDATE {table} SET holder = ?2, held_until = ?3 WHERE id = ?1"
        ))?;
        for d in &claimed {
            stmt.execute(params![d.id, node, now_ms.saturating_add(hold_ms)])?;
        }
    }
    tx.commit()?;
    Ok(claimed)
}

/// The rows `holder` held are free to be claimed at once: it started again, and what it
/// held when it stopped (or was killed) is under way nowhere.
pub(crate) fn release(conn: &Connection, table: &str, holder: &str) -> Result<usize, StoreError> {
    Ok(conn.execute(
        &format!("UPDATE {table} SET held_until = 0 WHERE holder = ?1"),
        params![holder],
    )?)
}

/// A delivery is done (delivered, or given up): its row goes.
pub(crate) fn finish(conn: &Connection, table: &str, id: &str) -> Result<(), StoreError> {
    conn.execute(&format!("DELETE FROM {table} WHERE id = ?1"), params![id])?;
    Ok(())
}

/// A delivery failed: it is due again at `due_ms`, held by no one, after `attempts`.
pub(crate) fn retry(
    conn: &Connection,
    table: &str,
    id: &str,
    due_ms: i64,
    attempts: u32,
) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "UPDATE {table} SET due_ms = ?2, attempts = ?3, holder = NULL, held_until = 0
             WHERE id = ?1"
        ),
        params![id, due_ms, attempts],
    )?;
    Ok(())
}
