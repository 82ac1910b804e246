//! CloudWatch metrics, alarms and metering: the rows [`crate::traits::MetricStore`]
//! keeps. A series is one metric (account, namespace, name, dimensions); a point is one
//! period's aggregate of it, whose `stats` are the metrics service's own encoding (the
//! store never reads them: merging and rolling up points is the service's). Rows of one
//! series and period written by different flushes or nodes may coexist until the service
//! replaces them with their merge.
//!
//! This file also keeps them on SQLite (`metric_series`, `metric_points`,
//! `metric_alarms`, `metric_alarm_history`, `metering`); PostgreSQL's side is
//! `pg/metrics.rs`, with the same tables.

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use crate::events::limit_of;
use crate::traits::{Edit, Edited, MetricStore};
use crate::{SqliteStore, StoreError};

/// One metric series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricSeries {
    /// The service's key for the series (unique; it names account, namespace, name and
    /// dimensions).
    pub id: String,
    pub account: String,
    pub namespace: String,
    pub name: String,
    /// `(name, value)` pairs, sorted by name.
    pub dimensions: Vec<(String, String)>,
    /// When a point of it was last written (ListMetrics lists recently active series).
    pub last_ms: i64,
}

/// One period's aggregate of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    pub series: String,
    /// The period's start (a multiple of `resolution_s`).
    pub start_ms: i64,
    /// The period's length: 1 (high resolution), 60, 300 or 3600 seconds.
    pub resolution_s: u32,
    /// The aggregate, in the metrics service's encoding.
    pub stats: Vec<u8>,
}

/// One function version's metered use on one day, added to by every invocation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MeterRow {
    pub account: String,
    pub function: String,
    pub version: String,
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    pub memory_mb: u32,
    /// Ephemeral storage configured, in MB.
    pub ephemeral_mb: u32,
    /// Requests billed.
    pub requests: u64,
    /// Billed duration, in ms (each invocation rounded up to 1 ms, billed init included).
    pub billed_ms: u64,
    /// Of `billed_ms`, the billed init phases.
    pub init_billed_ms: u64,
    /// Seconds of provisioned concurrency configured (environments × seconds).
    pub provisioned_s: u64,
    /// What the host spent: CPU time in ms, and memory as MB × ms.
    pub host_cpu_ms: u64,
    pub host_memory_mb_ms: u64,
}

/// The migration step that makes the tables on SQLite (see `migrations.rs`; PostgreSQL's
/// are `pg/metrics.rs`).
///
/// A point's `seq` is its rowid: rows of one period read back in the order written, and
/// the indexes (which end in the rowid) find rows for batched deletes. Points are found
/// by series and start (what reads and replacements walk) and by (resolution, start)
/// (what the rollup pass and the deletion of old points walk: old points of one
/// resolution are one range of that index). A series' dimensions are JSON
/// (`[[name, value], ...]`): the store never looks inside them.
pub(crate) const SCHEMA: &str = "
CREATE TABLE metric_series (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    dimensions TEXT NOT NULL,
    last_ms INTEGER NOT NULL
);
CREATE INDEX metric_series_account ON metric_series (account, namespace, name, id);
CREATE INDEX metric_series_last ON metric_series (last_ms);
CREATE TABLE metric_points (
    seq INTEGER PRIMARY KEY,
    series TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    resolution_s INTEGER NOT NULL,
    stats BLOB NOT NULL
);
CREATE INDEX metric_points_series ON metric_points (series, start_ms, resolution_s);
CREATE INDEX metric_points_age ON metric_points (resolution_s, start_ms, series);
CREATE TABLE metric_alarms (
    arn TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX metric_alarms_account ON metric_alarms (account, name);
CREATE TABLE metric_alarm_history (
    seq INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX metric_alarm_history_alarm ON metric_alarm_history (account, name, ts_ms);
CREATE INDEX metric_alarm_history_account ON metric_alarm_history (account, ts_ms);
CREATE INDEX metric_alarm_history_ts ON metric_alarm_history (ts_ms);
CREATE TABLE metering (
    account TEXT NOT NULL,
    function TEXT NOT NULL,
    version TEXT NOT NULL,
    day INTEGER NOT NULL,
    architecture TEXT NOT NULL,
    memory_mb INTEGER NOT NULL,
    ephemeral_mb INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    billed_ms INTEGER NOT NULL,
    init_billed_ms INTEGER NOT NULL,
    provisioned_s INTEGER NOT NULL,
    host_cpu_ms INTEGER NOT NULL,
    host_memory_mb_ms INTEGER NOT NULL,
    PRIMARY KEY (account, function, version, day, architecture, memory_mb, ephemeral_mb)
);
CREATE INDEX metering_day ON metering (day);
";

/// Old points (or history items) deleted per statement: a row is small (a few hundred
/// bytes), and a batch this size keeps one delete from holding the store's lock (or, on
/// PostgreSQL, one transaction's row locks) for long.
pub(crate) const DELETE_BATCH: i64 = 5_000;

/// An alarm's name: what follows `alarm:` in its ARN
/// (`arn:aws:cloudwatch:<region>:<account>:alarm:<name>`; a name may hold `:`s).
pub(crate) fn alarm_name(arn: &str) -> &str {
    arn.split_once(":alarm:").map_or(arn, |(_, name)| name)
}

/// The series of one write, each id once (the latest `last_ms` of its copies), in id
/// order: two nodes upserting the same series then lock them in the same order.
pub(crate) fn series_to_write(series: &[MetricSeries]) -> Vec<&MetricSeries> {
    let mut by_id: std::collections::BTreeMap<&str, &MetricSeries> = Default::default();
    for s in series {
        by_id
            .entry(&s.id)
            .and_modify(|kept| {
                if s.last_ms > kept.last_ms {
                    *kept = s;
                }
            })
            .or_insert(s);
    }
    by_id.into_values().collect()
}

/// Metering rows in key order, so that two nodes adding rows of the same keys lock them
/// in the same order (no deadlock).
pub(crate) fn meter_rows_in_key_order(rows: &[MeterRow]) -> Vec<&MeterRow> {
    let mut sorted: Vec<&MeterRow> = rows.iter().collect();
    sorted.sort_by(|a, b| meter_key(a).cmp(&meter_key(b)));
    sorted
}

fn meter_key(r: &MeterRow) -> (&str, &str, &str, i64, &str, u32, u32) {
    (
        &r.account,
        &r.function,
        &r.version,
        r.day,
        &r.architecture,
        r.memory_mb,
        r.ephemeral_mb,
    )
}

/// A count as the databases' signed 64-bit integer. Counts beyond `i64::MAX` (never
/// reached by real use) are kept at it rather than failing a flush.
pub(crate) fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A stored count or size back to its unsigned type; the store writes none negative,
/// so a negative one is a corrupt row.
pub(crate) fn unsigned<T: TryFrom<i64>>(n: i64, what: &str) -> Result<T, StoreError> {
    T::try_from(n)
        .map_err(|_| StoreError::Backend(format!("stored {what} {n} is out of range").into()))
}

pub(crate) fn dimensions_json(dimensions: &[(String, String)]) -> Result<String, StoreError> {
    Ok(serde_json::to_string(dimensions)?)
}

pub(crate) fn dimensions_of(json: &str) -> Result<Vec<(String, String)>, StoreError> {
    Ok(serde_json::from_str(json)?)
}

/// `list_metric_series`'s filter: the conditions on the optional namespace and name are
/// left out when not given (rather than `? IS NULL OR ...`), so that the planner uses the
/// (account, namespace, name, id) index as far as it can. `p` numbers the placeholders
/// (`?N` or `$N`), starting at 1 for the account; answers the `WHERE` clause and the
/// number of the next free placeholder.
pub(crate) fn series_filter(
    namespace: bool,
    name: bool,
    p: impl Fn(usize) -> String,
) -> (String, usize) {
    let mut clause = format!("account = {}", p(1));
    let mut next = 2;
    for (given, column) in [(namespace, "namespace"), (name, "name")] {
        if given {
            clause.push_str(&format!(" AND {column} = {}", p(next)));
            next += 1;
        }
    }
    clause.push_str(&format!(
        " AND last_ms >= {} AND id > {}",
        p(next),
        p(next + 1)
    ));
    (clause, next + 2)
}

/// The columns a series is read from (see `series_row`, and PostgreSQL's `series_from`).
pub(crate) const SERIES_COLUMNS: &str = "id, account, namespace, name, dimensions, last_ms";

fn series_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(MetricSeries, String)> {
    Ok((
        MetricSeries {
            id: r.get(0)?,
            account: r.get(1)?,
            namespace: r.get(2)?,
            name: r.get(3)?,
            dimensions: Vec::new(),
            last_ms: r.get(5)?,
        },
        r.get(4)?,
    ))
}

fn with_dimensions((mut s, json): (MetricSeries, String)) -> Result<MetricSeries, StoreError> {
    s.dimensions = dimensions_of(&json)?;
    Ok(s)
}

fn point_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(MetricPoint, i64)> {
    Ok((
        MetricPoint {
            series: r.get(0)?,
            start_ms: r.get(1)?,
            resolution_s: 0,
            stats: r.get(3)?,
        },
        r.get(2)?,
    ))
}

fn with_resolution((mut p, resolution): (MetricPoint, i64)) -> Result<MetricPoint, StoreError> {
    p.resolution_s = unsigned(resolution, "resolution")?;
    Ok(p)
}

fn insert_points(tx: &Transaction<'_>, points: &[MetricPoint]) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO metric_points (series, start_ms, resolution_s, stats) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for p in points {
        insert.execute(params![p.series, p.start_ms, p.resolution_s, p.stats])?;
    }
    Ok(())
}

/// The resolutions points are kept at that are below `below` (every one with `None`),
/// each found by one index probe: a query naming them (`resolution_s IN (...)`) reads
/// one range of the (resolution, start) index per resolution instead of every point
/// of a shorter resolution, recent ones included.
fn resolutions(conn: &rusqlite::Connection, below: Option<u32>) -> Result<Vec<u32>, StoreError> {
    let below = below.map_or(i64::MAX, i64::from);
    let mut found = Vec::new();
    let mut after = -1_i64;
    loop {
        let next: Option<i64> = conn.query_row(
            "SELECT MIN(resolution_s) FROM metric_points WHERE resolution_s > ?1 AND resolution_s < ?2",
            params![after, below],
            |r| r.get(0),
        )?;
        let Some(next) = next else {
            return Ok(found);
        };
        found.push(unsigned(next, "resolution")?);
        after = next;
    }
}

/// The rollup walk's page (`?1` before, `?2` after, `?3` the limit) over the points of
/// `resolutions` (numbers the store found, so written into the text).
fn roll_up_sql(resolutions: &[u32]) -> String {
    let list = resolutions
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT DISTINCT series FROM metric_points
         WHERE resolution_s IN ({list}) AND start_ms < ?1 AND series > ?2
         ORDER BY series LIMIT ?3"
    )
}

/// One batch of old points of one resolution (`?1`), before `?2`, at most `?3`.
const DELETE_OLD_POINTS: &str = "DELETE FROM metric_points WHERE seq IN
    (SELECT seq FROM metric_points WHERE resolution_s = ?1 AND start_ms < ?2 LIMIT ?3)";

/// Runs `delete` (which deletes at most [`DELETE_BATCH`] rows) until it deletes fewer,
/// each batch its own statement and lock hold; answers how many rows went.
fn in_batches(
    store: &SqliteStore,
    delete: impl Fn(&rusqlite::Connection) -> rusqlite::Result<usize>,
) -> Result<usize, StoreError> {
    let mut removed = 0;
    loop {
        let n = delete(&store.conn())?;
        removed += n;
        if i64::try_from(n).unwrap_or(i64::MAX) < DELETE_BATCH {
            return Ok(removed);
        }
    }
}

fn meter_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<[i64; 9]> {
    let mut n = [0; 9];
    for (i, slot) in n.iter_mut().enumerate() {
        *slot = r.get(i + 4)?;
    }
    Ok(n)
}

impl MetricStore for SqliteStore {
    fn add_metric_points(
        &self,
        series: &[MetricSeries],
        points: &[MetricPoint],
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO metric_series (id, account, namespace, name, dimensions, last_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET last_ms = excluded.last_ms
                 WHERE excluded.last_ms > metric_series.last_ms",
            )?;
            for s in series_to_write(series) {
                upsert.execute(params![
                    s.id,
                    s.account,
                    s.namespace,
                    s.name,
                    dimensions_json(&s.dimensions)?,
                    s.last_ms
                ])?;
            }
        }
        insert_points(&tx, points)?;
        tx.commit()?;
        Ok(())
    }

    fn get_metric_series(&self, id: &str) -> Result<Option<MetricSeries>, StoreError> {
        let found = self
            .conn()
            .query_row(
                &format!("SELECT {SERIES_COLUMNS} FROM metric_series WHERE id = ?1"),
                params![id],
                series_row,
            )
            .optional()?;
        found.map(with_dimensions).transpose()
    }

    fn list_metric_series(
        &self,
        account: &str,
        namespace: Option<&str>,
        name: Option<&str>,
        active_since_ms: i64,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MetricSeries>, StoreError> {
        let (filter, next) =
            series_filter(namespace.is_some(), name.is_some(), |i| format!("?{i}"));
        let sql = format!(
            "SELECT {SERIES_COLUMNS} FROM metric_series WHERE {filter} ORDER BY id LIMIT ?{next}"
        );
        let mut args: Vec<&dyn rusqlite::ToSql> = vec![&account];
        args.extend(namespace.as_ref().map(|n| n as &dyn rusqlite::ToSql));
        args.extend(name.as_ref().map(|n| n as &dyn rusqlite::ToSql));
        let after = after.unwrap_or("");
        let limit = limit_of(limit);
        args.extend([&active_since_ms as &dyn rusqlite::ToSql, &after, &limit]);
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(args.as_slice(), series_row)?;
        rows.map(|r| with_dimensions(r?)).collect()
    }

    fn metric_points(
        &self,
        series: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<MetricPoint>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT series, start_ms, resolution_s, stats FROM metric_points
             WHERE series = ?1 AND start_ms >= ?2 AND start_ms < ?3
             ORDER BY start_ms, resolution_s, seq",
        )?;
        let rows = stmt.query_map(params![series, from_ms, to_ms], point_row)?;
        rows.map(|r| with_resolution(r?)).collect()
    }

    fn replace_metric_points(
        &self,
        series: &str,
        from_ms: i64,
        to_ms: i64,
        points: &[MetricPoint],
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "DELETE FROM metric_points WHERE series = ?1 AND start_ms >= ?2 AND start_ms < ?3",
        )?
        .execute(params![series, from_ms, to_ms])?;
        insert_points(&tx, points)?;
        tx.commit()?;
        Ok(())
    }

    fn metric_series_to_roll_up(
        &self,
        before_ms: i64,
        resolution_s: u32,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let shorter = resolutions(&conn, Some(resolution_s))?;
        if shorter.is_empty() {
            return Ok(Vec::new());
        }
        let mut stmt = conn.prepare(&roll_up_sql(&shorter))?;
        let rows = stmt.query_map(
            params![before_ms, after.unwrap_or(""), limit_of(limit)],
            |r| r.get(0),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn delete_metric_points_before(&self, before_ms: i64) -> Result<usize, StoreError> {
        let all = resolutions(&self.conn(), None)?;
        let mut removed = 0;
        for resolution in all {
            removed += in_batches(self, |conn| {
                conn.prepare_cached(DELETE_OLD_POINTS)?.execute(params![
                    resolution,
                    before_ms,
                    DELETE_BATCH
                ])
            })?;
        }
        self.conn().execute(
            "DELETE FROM metric_series WHERE last_ms < ?1
             AND NOT EXISTS (SELECT 1 FROM metric_points WHERE series = metric_series.id)",
            params![before_ms],
        )?;
        Ok(removed)
    }

    fn put_metric_alarm(&self, account: &str, arn: &str, data: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO metric_alarms (arn, account, name, data) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (arn) DO UPDATE SET
                 account = excluded.account, name = excluded.name, data = excluded.data",
            params![arn, account, alarm_name(arn), data],
        )?;
        Ok(())
    }

    fn get_metric_alarm(&self, arn: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT data FROM metric_alarms WHERE arn = ?1",
                params![arn],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn edit_metric_alarm(
        &self,
        arn: &str,
        edit: Edit<'_, String>,
    ) -> Result<Edited<String>, StoreError> {
        // Immediate: a second store on the file waits its turn instead of failing to
        // upgrade its read.
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: Option<String> = tx
            .query_row(
                "SELECT data FROM metric_alarms WHERE arn = ?1",
                params![arn],
                |r| r.get(0),
            )
            .optional()?;
        let Some(mut data) = found else {
            return Ok(Edited::Missing);
        };
        if !edit(&mut data) {
            return Ok(Edited::Declined);
        }
        tx.execute(
            "UPDATE metric_alarms SET data = ?2 WHERE arn = ?1",
            params![arn, data],
        )?;
        tx.commit()?;
        Ok(Edited::Done(data))
    }

    fn delete_metric_alarm(&self, arn: &str) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute("DELETE FROM metric_alarms WHERE arn = ?1", params![arn])?;
        Ok(n > 0)
    }

    fn list_metric_alarms(
        &self,
        account: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        // `name >= prefix` lets the index start at the prefix; `substr` decides (a
        // `LIKE` would read `_` and `%` in names as wildcards).
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT data FROM metric_alarms
             WHERE account = ?1 AND name > ?2 AND name >= ?3
               AND substr(name, 1, length(?3)) = ?3
             ORDER BY name LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![
                account,
                after.unwrap_or(""),
                prefix.unwrap_or(""),
                limit_of(limit)
            ],
            |r| r.get(0),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn all_metric_alarms(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT data FROM metric_alarms ORDER BY arn")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn add_alarm_history(
        &self,
        account: &str,
        name: &str,
        ts_ms: i64,
        data: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO metric_alarm_history (account, name, ts_ms, data) VALUES (?1, ?2, ?3, ?4)",
            params![account, name, ts_ms, data],
        )?;
        Ok(())
    }

    fn list_alarm_history(
        &self,
        account: &str,
        name: Option<&str>,
        from_ms: i64,
        to_ms: i64,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let of_alarm = if name.is_some() { "AND name = ?6" } else { "" };
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT ts_ms, data FROM metric_alarm_history
             WHERE account = ?1 {of_alarm} AND ts_ms >= ?2 AND ts_ms < ?3
             ORDER BY ts_ms DESC, seq DESC LIMIT ?4 OFFSET ?5"
        ))?;
        let mut args: Vec<&dyn rusqlite::ToSql> = Vec::new();
        let (skip, limit) = (limit_of(skip), limit_of(limit));
        args.extend([
            &account as &dyn rusqlite::ToSql,
            &from_ms,
            &to_ms,
            &limit,
            &skip,
        ]);
        args.extend(name.as_ref().map(|n| n as &dyn rusqlite::ToSql));
        let rows = stmt.query_map(args.as_slice(), |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn delete_alarm_history_before(&self, before_ms: i64) -> Result<usize, StoreError> {
        in_batches(self, |conn| {
            conn.prepare_cached(
                "DELETE FROM metric_alarm_history WHERE seq IN
                     (SELECT seq FROM metric_alarm_history WHERE ts_ms < ?1 LIMIT ?2)",
            )?
            .execute(params![before_ms, DELETE_BATCH])
        })
    }

    fn add_metering(&self, rows: &[MeterRow]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut upsert = tx.prepare_cached(METERING_UPSERT)?;
            for r in meter_rows_in_key_order(rows) {
                upsert.execute(params![
                    r.account,
                    r.function,
                    r.version,
                    r.day,
                    r.architecture,
                    r.memory_mb,
                    r.ephemeral_mb,
                    count(r.requests),
                    count(r.billed_ms),
                    count(r.init_billed_ms),
                    count(r.provisioned_s),
                    count(r.host_cpu_ms),
                    count(r.host_memory_mb_ms)
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn metering(
        &self,
        account: &str,
        function: Option<&str>,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<MeterRow>, StoreError> {
        let of_function = if function.is_some() {
            "AND function = ?4"
        } else {
            ""
        };
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {METERING_COLUMNS} FROM metering
             WHERE account = ?1 {of_function} AND day >= ?2 AND day < ?3
             ORDER BY {METERING_ORDER}"
        ))?;
        let mut args: Vec<&dyn rusqlite::ToSql> = vec![&account, &from_day, &to_day];
        args.extend(function.as_ref().map(|f| f as &dyn rusqlite::ToSql));
        let rows = stmt.query_map(args.as_slice(), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                meter_row(r)?,
            ))
        })?;
        rows.map(|row| {
            let (account, function, version, architecture, n) = row?;
            meter_from(account, function, version, architecture, n)
        })
        .collect()
    }

    fn delete_metering_before(&self, before_day: i64) -> Result<usize, StoreError> {
        Ok(self
            .conn()
            .execute("DELETE FROM metering WHERE day < ?1", params![before_day])?)
    }
}

/// Adds a row's counts to its stored row (or makes it): one statement, so that writers
/// on one row (two stores on one file, two nodes of a fleet) each count. Both databases
/// take it as written: SQLite reads `$N` as named parameters numbered in order of first
/// appearance, which here is 1 to 13.
pub(crate) const METERING_UPSERT: &str = "
INSERT INTO metering (account, function, version, day, architecture, memory_mb, ephemeral_mb,
    requests, billed_ms, init_billed_ms, provisioned_s, host_cpu_ms, host_memory_mb_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (account, function, version, day, architecture, memory_mb, ephemeral_mb)
DO UPDATE SET
    requests = metering.requests + excluded.requests,
    billed_ms = metering.billed_ms + excluded.billed_ms,
    init_billed_ms = metering.init_billed_ms + excluded.init_billed_ms,
    provisioned_s = metering.provisioned_s + excluded.provisioned_s,
    host_cpu_ms = metering.host_cpu_ms + excluded.host_cpu_ms,
    host_memory_mb_ms = metering.host_memory_mb_ms + excluded.host_memory_mb_ms";

/// The columns a metering read answers: the four texts, then day, memory, ephemeral
/// storage and the six counts (see [`meter_from`]).
pub(crate) const METERING_COLUMNS: &str = "account, function, version, architecture, day,
    memory_mb, ephemeral_mb, requests, billed_ms, init_billed_ms, provisioned_s,
    host_cpu_ms, host_memory_mb_ms";

/// By (function, version, day), then the rest of the key, for a stable order.
pub(crate) const METERING_ORDER: &str =
    "function, version, day, architecture, memory_mb, ephemeral_mb";

/// A metering row from its read columns ([`METERING_COLUMNS`]).
pub(crate) fn meter_from(
    account: String,
    function: String,
    version: String,
    architecture: String,
    n: [i64; 9],
) -> Result<MeterRow, StoreError> {
    let [day, memory_mb, ephemeral_mb, requests, billed_ms, init_billed_ms, provisioned_s, host_cpu_ms, host_memory_mb_ms] =
        n;
    Ok(MeterRow {
        account,
        function,
        version,
        day,
        architecture,
        memory_mb: unsigned(memory_mb, "memory")?,
        ephemeral_mb: unsigned(ephemeral_mb, "ephemeral storage")?,
        requests: unsigned(requests, "requests")?,
        billed_ms: unsigned(billed_ms, "billed duration")?,
        init_billed_ms: unsigned(init_billed_ms, "billed init duration")?,
        provisioned_s: unsigned(provisioned_s, "provisioned seconds")?,
        host_cpu_ms: unsigned(host_cpu_ms, "host CPU time")?,
        host_memory_mb_ms: unsigned(host_memory_mb_ms, "host memory")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The detail lines of SQLite's plan for `sql`.
    fn plan(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let unbound = vec![0; stmt.parameter_count()];
        let rows = stmt
            .query_map(rusqlite::params_from_iter(unbound), |r| r.get(3))
            .expect("plan");
        rows.collect::<Result<_, _>>().expect("detail")
    }

    /// The queries that walk a big points table read ranges of an index, never the
    /// whole table (planner details beside that, as temporary trees, are not asserted).
    #[test]
    fn the_walks_over_old_points_use_the_age_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        let conn = store.conn();
        let age = "SEARCH metric_points USING COVERING INDEX metric_points_age";
        for (sql, range) in [
            (roll_up_sql(&[1, 60]), "(resolution_s=? AND start_ms<?)"),
            (
                DELETE_OLD_POINTS.to_string(),
                "(resolution_s=? AND start_ms<?)",
            ),
            (
                "SELECT MIN(resolution_s) FROM metric_points
                 WHERE resolution_s > 1 AND resolution_s < 60"
                    .to_string(),
                "(resolution_s>? AND resolution_s<?)",
            ),
        ] {
            let lines = plan(&conn, &sql);
            assert!(
                lines.contains(&format!("{age} {range}")),
                "{sql}: {lines:?}"
            );
            assert!(
                lines
                    .iter()
                    .filter(|l| l.contains("metric_points"))
                    .all(|l| l.starts_with("SEARCH")),
                "{sql}: {lines:?}"
            );
        }
        let lines = plan(
            &conn,
            "SELECT series, start_ms, resolution_s, stats FROM metric_points
             WHERE series = ?1 AND start_ms >= ?2 AND start_ms < ?3
             ORDER BY start_ms, resolution_s, seq",
        );
        assert_eq!(
            lines,
            ["SEARCH metric_points USING INDEX metric_points_series (series=? AND start_ms>? AND start_ms<?)"],
            "a range of one series, in index order (no sort)"
        );
    }

    #[test]
    fn alarm_names_are_what_follows_alarm() {
        assert_eq!(
            alarm_name("arn:aws:cloudwatch:us-east-1:000000000000:alarm:a:b"),
            "a:b"
        );
        assert_eq!(alarm_name("plain"), "plain");
    }

    #[test]
    fn a_write_names_each_series_once_at_its_latest() {
        let s = |id: &str, last_ms| MetricSeries {
            id: id.into(),
            account: "a".into(),
            namespace: "n".into(),
            name: "m".into(),
            dimensions: Vec::new(),
            last_ms,
        };
        let written = [s("b", 1), s("a", 5), s("b", 3), s("b", 2)];
        let kept: Vec<(&str, i64)> = series_to_write(&written)
            .into_iter()
            .map(|s| (s.id.as_str(), s.last_ms))
            .collect();
        assert_eq!(kept, [("a", 5), ("b", 3)]);
    }
}
