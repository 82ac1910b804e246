//! CloudWatch metrics, alarms and metering on PostgreSQL ([`MetricStore`]): the same
//! tables as the SQLite store keeps (`crate::metrics`). A flush's series and points go in
//! one statement each (arrays unnested), series upserted in id order and metering rows
//! added in key order, so that nodes writing the same rows at once wait for each other
//! instead of deadlocking; replacing a series' points holds that series' advisory lock,
//! so that two replacements of one range never both keep their merge; an alarm is edited
//! under its row lock, as EventBridge's rules are.

use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use super::{backend, wait, PgStore};
use crate::events::limit_of;
use crate::metrics::{
    alarm_name, count, dimensions_json, dimensions_of, meter_from, meter_rows_in_key_order,
    series_filter, series_to_write, unsigned, DELETE_BATCH, METERING_COLUMNS, METERING_ORDER,
    METERING_UPSERT, SERIES_COLUMNS,
};
use crate::traits::{Edit, Edited, MetricStore};
use crate::{MeterRow, MetricPoint, MetricSeries, StoreError};

/// The migration step that makes the tables ([`super::migrations`]); see the SQLite
/// side's `SCHEMA` for why these indexes. `COLLATE "C"`: ids and names compare bytewise,
/// as on SQLite. A point's and a history item's `seq` is an identity: the order rows
/// were written.
pub(super) const SCHEMA: &str = r#"
CREATE TABLE metric_series (
    id TEXT COLLATE "C" PRIMARY KEY,
    account TEXT COLLATE "C" NOT NULL,
    namespace TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    dimensions TEXT NOT NULL,
    last_ms BIGINT NOT NULL
);
CREATE INDEX metric_series_account ON metric_series (account, namespace, name, id);
CREATE INDEX metric_series_last ON metric_series (last_ms);
CREATE TABLE metric_points (
    series TEXT COLLATE "C" NOT NULL,
    start_ms BIGINT NOT NULL,
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    resolution_s INTEGER NOT NULL,
    stats BYTEA NOT NULL,
    PRIMARY KEY (series, start_ms, resolution_s, seq)
);
CREATE INDEX metric_points_age ON metric_points (resolution_s, start_ms, series);
CREATE TABLE metric_alarms (
    arn TEXT COLLATE "C" PRIMARY KEY,
    account TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX metric_alarms_account ON metric_alarms (account, name);
CREATE TABLE metric_alarm_history (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    ts_ms BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX metric_alarm_history_alarm ON metric_alarm_history (account, name, ts_ms);
CREATE INDEX metric_alarm_history_account ON metric_alarm_history (account, ts_ms);
CREATE INDEX metric_alarm_history_ts ON metric_alarm_history (ts_ms);
CREATE TABLE metering (
    account TEXT COLLATE "C" NOT NULL,
    function TEXT COLLATE "C" NOT NULL,
    version TEXT COLLATE "C" NOT NULL,
    day BIGINT NOT NULL,
    architecture TEXT COLLATE "C" NOT NULL,
    memory_mb INTEGER NOT NULL,
    ephemeral_mb INTEGER NOT NULL,
    requests BIGINT NOT NULL,
    billed_ms BIGINT NOT NULL,
    init_billed_ms BIGINT NOT NULL,
    provisioned_s BIGINT NOT NULL,
    host_cpu_ms BIGINT NOT NULL,
    host_memory_mb_ms BIGINT NOT NULL,
    PRIMARY KEY (account, function, version, day, architecture, memory_mb, ephemeral_mb)
);
CREATE INDEX metering_day ON metering (day);
"#;

/// The first key of the advisory lock a replacement of a series' points holds (the
/// second is the series id's hash): any constant the nodes agree on ("metr").
const SERIES_LOCK: i32 = 0x6d65_7472;

/// One batch of old points of one resolution (`$1`), before `$2`, at most `$3`: found by
/// the age index and deleted by their row addresses (a `ctid` array is a TID scan; a
/// join on the key columns may hash the whole table).
const DELETE_OLD_POINTS: &str = "DELETE FROM metric_points WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM metric_points WHERE resolution_s = $1 AND start_ms < $2 LIMIT $3))";

type Params<'a> = Vec<&'a (dyn ToSql + Sync)>;

/// A size or resolution as PostgreSQL's `INTEGER`.
fn int(n: u32, what: &str) -> Result<i32, StoreError> {
    i32::try_from(n).map_err(|_| StoreError::Backend(format!("{what} {n} is too large").into()))
}

fn series_from(r: &Row) -> Result<MetricSeries, StoreError> {
    let dimensions: String = r.try_get(4).map_err(backend)?;
    Ok(MetricSeries {
        id: r.try_get(0).map_err(backend)?,
        account: r.try_get(1).map_err(backend)?,
        namespace: r.try_get(2).map_err(backend)?,
        name: r.try_get(3).map_err(backend)?,
        dimensions: dimensions_of(&dimensions)?,
        last_ms: r.try_get(5).map_err(backend)?,
    })
}

fn texts(rows: &[Row]) -> Result<Vec<String>, StoreError> {
    rows.iter().map(|r| r.try_get(0).map_err(backend)).collect()
}

/// Inserts `points` in one statement, in the order given (their `seq`s follow it).
fn insert_points<C: GenericClient>(c: &C, points: &[MetricPoint]) -> Result<(), StoreError> {
    if points.is_empty() {
        return Ok(());
    }
    let series: Vec<&str> = points.iter().map(|p| p.series.as_str()).collect();
    let starts: Vec<i64> = points.iter().map(|p| p.start_ms).collect();
    let resolutions = points
        .iter()
        .map(|p| int(p.resolution_s, "resolution"))
        .collect::<Result<Vec<i32>, _>>()?;
    let stats: Vec<&[u8]> = points.iter().map(|p| p.stats.as_slice()).collect();
    wait(c.execute(
        "INSERT INTO metric_points (series, start_ms, resolution_s, stats)
         SELECT s, t, r, b
         FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::INTEGER[], $4::BYTEA[])
              WITH ORDINALITY AS p (s, t, r, b, i)
         ORDER BY i",
        &[&series, &starts, &resolutions, &stats],
    ))
    .map_err(backend)?;
    Ok(())
}

/// The resolutions points are kept at below `below` (all with `None`), each found by
/// one index probe (see the SQLite side's `resolutions`).
fn resolutions<C: GenericClient>(c: &C, below: Option<u32>) -> Result<Vec<i32>, StoreError> {
    let below = match below {
        Some(r) => i64::from(r),
        None => i64::MAX,
    };
    let mut found = Vec::new();
    let mut after = -1_i32;
    loop {
        let row = wait(c.query_one(
            "SELECT MIN(resolution_s) FROM metric_points
             WHERE resolution_s > $1 AND resolution_s < $2::BIGINT",
            &[&after, &below],
        ))
        .map_err(backend)?;
        let next: Option<i32> = row.try_get(0).map_err(backend)?;
        let Some(next) = next else {
            return Ok(found);
        };
        found.push(next);
        after = next;
    }
}

/// Runs `sql` (which deletes at most [`DELETE_BATCH`] rows) until it deletes fewer,
/// each batch its own transaction; answers how many rows went.
fn in_batches(
    store: &PgStore,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<usize, StoreError> {
    let c = store.conn()?;
    let stmt = wait(c.prepare(sql)).map_err(backend)?;
    let mut removed = 0;
    loop {
        let n = wait(c.execute(&stmt, params)).map_err(backend)?;
        removed += usize::try_from(n).unwrap_or(usize::MAX);
        if i64::try_from(n).unwrap_or(i64::MAX) < DELETE_BATCH {
            return Ok(removed);
        }
    }
}

impl MetricStore for PgStore {
    fn add_metric_points(
        &self,
        series: &[MetricSeries],
        points: &[MetricPoint],
    ) -> Result<(), StoreError> {
        let series = series_to_write(series);
        let ids: Vec<&str> = series.iter().map(|s| s.id.as_str()).collect();
        let accounts: Vec<&str> = series.iter().map(|s| s.account.as_str()).collect();
        let namespaces: Vec<&str> = series.iter().map(|s| s.namespace.as_str()).collect();
        let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
        let dimensions = series
            .iter()
            .map(|s| dimensions_json(&s.dimensions))
            .collect::<Result<Vec<String>, _>>()?;
        let last: Vec<i64> = series.iter().map(|s| s.last_ms).collect();
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        if !ids.is_empty() {
            wait(tx.execute(
                "INSERT INTO metric_series (id, account, namespace, name, dimensions, last_ms)
                 SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[],
                                      $5::TEXT[], $6::BIGINT[])
                 ON CONFLICT (id) DO UPDATE SET last_ms = EXCLUDED.last_ms
                 WHERE metric_series.last_ms < EXCLUDED.last_ms",
                &[&ids, &accounts, &namespaces, &names, &dimensions, &last],
            ))
            .map_err(backend)?;
        }
        insert_points(&tx, points)?;
        wait(tx.commit()).map_err(backend)?;
        Ok(())
    }

    fn get_metric_series(&self, id: &str) -> Result<Option<MetricSeries>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_opt(
            &format!("SELECT {SERIES_COLUMNS} FROM metric_series WHERE id = $1"),
            &[&id],
        ))
        .map_err(backend)?;
        row.map(|r| series_from(&r)).transpose()
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
            series_filter(namespace.is_some(), name.is_some(), |i| format!("${i}"));
        let sql = format!(
            "SELECT {SERIES_COLUMNS} FROM metric_series WHERE {filter} ORDER BY id LIMIT ${next}"
        );
        let after = after.unwrap_or("");
        let limit = limit_of(limit);
        let mut params: Params<'_> = vec![&account];
        if let Some(namespace) = &namespace {
            params.push(namespace);
        }
        if let Some(name) = &name {
            params.push(name);
        }
        params.extend([&active_since_ms as &(dyn ToSql + Sync), &after, &limit]);
        let c = self.conn()?;
        let rows = wait(c.query(&sql, &params)).map_err(backend)?;
        rows.iter().map(series_from).collect()
    }

    fn metric_points(
        &self,
        series: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<MetricPoint>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query(
            "SELECT series, start_ms, resolution_s, stats FROM metric_points
             WHERE series = $1 AND start_ms >= $2 AND start_ms < $3
             ORDER BY start_ms, resolution_s, seq",
            &[&series, &from_ms, &to_ms],
        ))
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let resolution: i32 = r.try_get(2).map_err(backend)?;
                Ok(MetricPoint {
                    series: r.try_get(0).map_err(backend)?,
                    start_ms: r.try_get(1).map_err(backend)?,
                    resolution_s: unsigned(i64::from(resolution), "resolution")?,
                    stats: r.try_get(3).map_err(backend)?,
                })
            })
            .collect()
    }

    fn replace_metric_points(
        &self,
        series: &str,
        from_ms: i64,
        to_ms: i64,
        points: &[MetricPoint],
    ) -> Result<(), StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        // Without it, of two nodes replacing one range at once the second's delete would
        // not see the first's new rows (inserted after its snapshot), and both merges
        // would stay: with it, the second's delete runs after the first's commit.
        wait(tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&SERIES_LOCK, &series],
        ))
        .map_err(backend)?;
        wait(tx.execute(
            "DELETE FROM metric_points WHERE series = $1 AND start_ms >= $2 AND start_ms < $3",
            &[&series, &from_ms, &to_ms],
        ))
        .map_err(backend)?;
        insert_points(&tx, points)?;
        wait(tx.commit()).map_err(backend)?;
        Ok(())
    }

    fn metric_series_to_roll_up(
        &self,
        before_ms: i64,
        resolution_s: u32,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let c = self.conn()?;
        let shorter = resolutions(&*c, Some(resolution_s))?;
        if shorter.is_empty() {
            return Ok(Vec::new());
        }
        // Materialized: left to itself, the planner may walk the primary key in series
        // order hoping to fill the page early, reading every point when few are old.
        // The old points of shorter resolutions are what the pass is about to replace,
        // so reading them all (by the age index) is bounded by its work.
        let rows = wait(c.query(
            "WITH old AS MATERIALIZED (
                 SELECT DISTINCT series FROM metric_points
                 WHERE resolution_s = ANY($1) AND start_ms < $2 AND series > $3
             )
             SELECT series FROM old ORDER BY series LIMIT $4",
            &[&shorter, &before_ms, &after.unwrap_or(""), &limit_of(limit)],
        ))
        .map_err(backend)?;
        texts(&rows)
    }

    fn delete_metric_points_before(&self, before_ms: i64) -> Result<usize, StoreError> {
        let all = resolutions(&*self.conn()?, None)?;
        let mut removed = 0;
        for resolution in all {
            removed += in_batches(
                self,
                DELETE_OLD_POINTS,
                &[&resolution, &before_ms, &DELETE_BATCH],
            )?;
        }
        wait(self.conn()?.execute(
            "DELETE FROM metric_series WHERE last_ms < $1
             AND NOT EXISTS (SELECT 1 FROM metric_points WHERE series = metric_series.id)",
            &[&before_ms],
        ))
        .map_err(backend)?;
        Ok(removed)
    }

    fn put_metric_alarm(&self, account: &str, arn: &str, data: &str) -> Result<(), StoreError> {
        wait(self.conn()?.execute(
            "INSERT INTO metric_alarms (arn, account, name, data) VALUES ($1, $2, $3, $4)
             ON CONFLICT (arn) DO UPDATE SET
                 account = EXCLUDED.account, name = EXCLUDED.name, data = EXCLUDED.data",
            &[&arn, &account, &alarm_name(arn), &data],
        ))
        .map_err(backend)?;
        Ok(())
    }

    fn get_metric_alarm(&self, arn: &str) -> Result<Option<String>, StoreError> {
        let row = wait(
            self.conn()?
                .query_opt("SELECT data FROM metric_alarms WHERE arn = $1", &[&arn]),
        )
        .map_err(backend)?;
        row.map(|r| r.try_get(0).map_err(backend)).transpose()
    }

    fn edit_metric_alarm(
        &self,
        arn: &str,
        edit: Edit<'_, String>,
    ) -> Result<Edited<String>, StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let row = wait(tx.query_opt(
            "SELECT data FROM metric_alarms WHERE arn = $1 FOR UPDATE",
            &[&arn],
        ))
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(Edited::Missing);
        };
        let mut data: String = row.try_get(0).map_err(backend)?;
        if !edit(&mut data) {
            return Ok(Edited::Declined);
        }
        wait(tx.execute(
            "UPDATE metric_alarms SET data = $2 WHERE arn = $1",
            &[&arn, &data],
        ))
        .map_err(backend)?;
        wait(tx.commit()).map_err(backend)?;
        Ok(Edited::Done(data))
    }

    fn delete_metric_alarm(&self, arn: &str) -> Result<bool, StoreError> {
        let n = wait(
            self.conn()?
                .execute("DELETE FROM metric_alarms WHERE arn = $1", &[&arn]),
        )
        .map_err(backend)?;
        Ok(n > 0)
    }

    fn list_metric_alarms(
        &self,
        account: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let rows = wait(self.conn()?.query(
            "SELECT data FROM metric_alarms
             WHERE account = $1 AND name > $2::TEXT AND name >= $3::TEXT
               AND left(name, length($3::TEXT)) = $3
             ORDER BY name LIMIT $4",
            &[
                &account,
                &after.unwrap_or(""),
                &prefix.unwrap_or(""),
                &limit_of(limit),
            ],
        ))
        .map_err(backend)?;
        texts(&rows)
    }

    fn all_metric_alarms(&self) -> Result<Vec<String>, StoreError> {
        let rows = wait(
            self.conn()?
                .query("SELECT data FROM metric_alarms ORDER BY arn", &[]),
        )
        .map_err(backend)?;
        texts(&rows)
    }

    fn add_alarm_history(
        &self,
        account: &str,
        name: &str,
        ts_ms: i64,
        data: &str,
    ) -> Result<(), StoreError> {
        wait(self.conn()?.execute(
            "INSERT INTO metric_alarm_history (account, name, ts_ms, data)
             VALUES ($1, $2, $3, $4)",
            &[&account, &name, &ts_ms, &data],
        ))
        .map_err(backend)?;
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
        let of_alarm = if name.is_some() { "AND name = $6" } else { "" };
        let (skip, limit) = (limit_of(skip), limit_of(limit));
        let mut params: Params<'_> = vec![&account, &from_ms, &to_ms, &limit, &skip];
        if let Some(name) = &name {
            params.push(name);
        }
        let rows = wait(self.conn()?.query(
            &format!(
                "SELECT ts_ms, data FROM metric_alarm_history
                 WHERE account = $1 {of_alarm} AND ts_ms >= $2 AND ts_ms < $3
                 ORDER BY ts_ms DESC, seq DESC LIMIT $4 OFFSET $5"
            ),
            &params,
        ))
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(backend)?,
                    r.try_get(1).map_err(backend)?,
                ))
            })
            .collect()
    }

    fn delete_alarm_history_before(&self, before_ms: i64) -> Result<usize, StoreError> {
        in_batches(
            self,
            "DELETE FROM metric_alarm_history WHERE ctid = ANY(ARRAY(
                 SELECT ctid FROM metric_alarm_history WHERE ts_ms < $1 LIMIT $2))",
            &[&before_ms, &DELETE_BATCH],
        )
    }

    fn add_metering(&self, rows: &[MeterRow]) -> Result<(), StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let upsert = wait(tx.prepare(METERING_UPSERT)).map_err(backend)?;
        for r in meter_rows_in_key_order(rows) {
            let (memory, ephemeral) = (
                int(r.memory_mb, "memory")?,
                int(r.ephemeral_mb, "ephemeral storage")?,
            );
            wait(tx.execute(
                &upsert,
                &[
                    &r.account,
                    &r.function,
                    &r.version,
                    &r.day,
                    &r.architecture,
                    &memory,
                    &ephemeral,
                    &count(r.requests),
                    &count(r.billed_ms),
                    &count(r.init_billed_ms),
                    &count(r.provisioned_s),
                    &count(r.host_cpu_ms),
                    &count(r.host_memory_mb_ms),
                ],
            ))
            .map_err(backend)?;
        }
        wait(tx.commit()).map_err(backend)?;
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
            "AND function = $4"
        } else {
            ""
        };
        let mut params: Params<'_> = vec![&account, &from_day, &to_day];
        if let Some(function) = &function {
            params.push(function);
        }
        let rows = wait(self.conn()?.query(
            &format!(
                "SELECT {METERING_COLUMNS} FROM metering
                 WHERE account = $1 {of_function} AND day >= $2 AND day < $3
                 ORDER BY {METERING_ORDER}"
            ),
            &params,
        ))
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let text = |i| r.try_get::<_, String>(i).map_err(backend);
                let int = |i| r.try_get::<_, i32>(i).map(i64::from).map_err(backend);
                let big = |i| r.try_get::<_, i64>(i).map_err(backend);
                meter_from(
                    text(0)?,
                    text(1)?,
                    text(2)?,
                    text(3)?,
                    [
                        big(4)?,
                        int(5)?,
                        int(6)?,
                        big(7)?,
                        big(8)?,
                        big(9)?,
                        big(10)?,
                        big(11)?,
                        big(12)?,
                    ],
                )
            })
            .collect()
    }

    fn delete_metering_before(&self, before_day: i64) -> Result<usize, StoreError> {
        let n = wait(
            self.conn()?
                .execute("DELETE FROM metering WHERE day < $1", &[&before_day]),
        )
        .map_err(backend)?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }
}
