//! The durable queues of deliveries a service retries until done, on PostgreSQL: the
//! same table shape as SQLite's (`crate::deliveries`), one set of statements for every
//! queue, named by its table. Claims skip rows another node is claiming at once.

use super::{backend, wait, PgStore};
use crate::deliveries::{limit_of, Delivery};
use crate::StoreError;

/// Adds deliveries to `table`, all or none; an id already queued is kept as it is.
pub(crate) fn add(store: &PgStore, table: &str, ds: &[Delivery]) -> Result<(), StoreError> {
    let mut c = store.conn()?;
    let tx = wait(c.transaction()).map_err(backend)?;
    add_in(&tx, table, ds)?;
    wait(tx.commit()).map_err(backend)?;
    Ok(())
}

/// [`add`] inside the caller's transaction.
pub(crate) fn add_in(
    tx: &tokio_postgres::Transaction<'_>,
    table: &str,
    ds: &[Delivery],
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO {table} (id, due_ms, attempts, data) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO NOTHING"
    );
    for d in ds {
        let attempts = i32::try_from(d.attempts).unwrap_or(i32::MAX);
        wait(tx.execute(&sql, &[&d.id, &d.due_ms, &attempts, &d.data])).map_err(backend)?;
    }
    Ok(())
}

/// Gives `node` up to `limit` deliveries of `table` due at `now_ms` that no one holds
/// (or whose hold ended), held for `hold_ms`, soonest due first (then by id).
pub(crate) fn claim(
    store: &PgStore,
    table: &str,
    node: &str,
    now_ms: i64,
    hold_ms: i64,
    limit: usize,
) -> Result<Vec<Delivery>, StoreError> {
    let c = store.conn()?;
    let until = now_ms.saturating_add(hold_ms);
    let rows = wait(c.query(
        &format!(
            "UPDATE {table} SET holder = $1, held_until = $3 WHERE id IN (
                 SELECT id FROM {table} WHERE due_ms <= $2 AND held_until <= $2
                 ORDER BY due_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED)
             RETURNING id, due_ms, attempts, data"
        ),
        &[&node, &now_ms, &until, &limit_of(limit)],
    ))
    .map_err(backend)?;
    let mut out = rows
        .iter()
        .map(|r| {
            let attempts: i32 = r.try_get(2).map_err(backend)?;
            Ok(Delivery {
                id: r.try_get(0).map_err(backend)?,
                due_ms: r.try_get(1).map_err(backend)?,
                attempts: u32::try_from(attempts).unwrap_or(0),
                data: r.try_get(3).map_err(backend)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    // RETURNING keeps no order.
    out.sort_by(|a, b| (a.due_ms, &a.id).cmp(&(b.due_ms, &b.id)));
    Ok(out)
}

/// The rows `holder` held are free to be claimed at once (see SQLite's `release`).
pub(crate) fn release(store: &PgStore, table: &str, holder: &str) -> Result<usize, StoreError> {
    let c = store.conn()?;
    let n = wait(c.execute(
        &format!("UPDATE {table} SET held_until = 0 WHERE holder = $1"),
        &[&holder],
    ))
    .map_err(backend)?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// A delivery is done (delivered, or given up): its row goes.
pub(crate) fn finish(store: &PgStore, table: &str, id: &str) -> Result<(), StoreError> {
    let c = store.conn()?;
    wait(c.execute(&format!("DELETE FROM {table} WHERE id = $1"), &[&id])).map_err(backend)?;
    Ok(())
}

/// A delivery failed: it is due again at `due_ms`, held by no one, after `attempts`.
pub(crate) fn retry(
    store: &PgStore,
    table: &str,
    id: &str,
    due_ms: i64,
    attempts: u32,
) -> Result<(), StoreError> {
    let c = store.conn()?;
    let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
    wait(c.execute(
        &format!(
            "UPDATE {table} SET due_ms = $2, attempts = $3, holder = NULL, held_until = 0
             WHERE id = $1"
        ),
        &[&id, &due_ms, &attempts],
    ))
    .map_err(backend)?;
    Ok(())
}
