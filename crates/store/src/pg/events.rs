//! EventBridge and EventBridge Scheduler on PostgreSQL ([`EventsStore`]): the same tables
//! as the SQLite store keeps (`crate::events`). A rule or a schedule is inserted under a
//! share lock of its bus or group, so that a racing deletion of the parent either waits
//! for it and takes it along or leaves nothing to insert under; a slot is claimed by one
//! upsert whose condition PostgreSQL checks on the row as the winner left it; deliveries
//! are claimed with `FOR UPDATE SKIP LOCKED`, as SNS's are.

use tokio_postgres::{GenericClient, Row};

use super::{backend, wait, PgStore};
use crate::events::{container_name, limit_of, member_name};
use crate::traits::{Edit, Edited, EventsStore};
use crate::{EventDelivery, StoreError};

/// The migration step that makes the tables ([`super::migrations`]). `COLLATE "C"`: names
/// compare bytewise, as on SQLite.
pub(super) const SCHEMA: &str = r#"
CREATE TABLE events_buses (
    arn TEXT COLLATE "C" PRIMARY KEY,
    account TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_buses_account ON events_buses (account, name);
CREATE TABLE events_rules (
    arn TEXT COLLATE "C" PRIMARY KEY,
    account TEXT COLLATE "C" NOT NULL,
    bus TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_rules_bus ON events_rules (bus, name);
CREATE TABLE events_schedule_groups (
    arn TEXT COLLATE "C" PRIMARY KEY,
    account TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_schedule_groups_account ON events_schedule_groups (account, name);
CREATE TABLE events_schedules (
    arn TEXT COLLATE "C" PRIMARY KEY,
    account TEXT COLLATE "C" NOT NULL,
    group_arn TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_schedules_account ON events_schedules (account, group_arn, name);
CREATE INDEX events_schedules_group ON events_schedules (group_arn, name);
CREATE TABLE events_schedule_slots (
    arn TEXT COLLATE "C" PRIMARY KEY,
    slot_ms BIGINT NOT NULL
);
CREATE TABLE events_deliveries (
    id TEXT COLLATE "C" PRIMARY KEY,
    due_ms BIGINT NOT NULL,
    attempts INTEGER NOT NULL,
    holder TEXT,
    held_until BIGINT NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX events_deliveries_due ON events_deliveries (due_ms);
"#;

/// Which names a listing keeps: those starting with `$3`, after `$2` (see the SQLite
/// side's `NAMES`).
const NAMES: &str = "name > $2::TEXT AND name >= $3::TEXT AND left(name, length($3::TEXT)) = $3";

fn text(r: &Row, i: usize) -> Result<String, StoreError> {
    r.try_get(i).map_err(backend)
}

fn texts(rows: &[Row]) -> Result<Vec<String>, StoreError> {
    rows.iter().map(|r| text(r, 0)).collect()
}

fn one<C: GenericClient>(c: &C, sql: &str, arn: &str) -> Result<Option<String>, StoreError> {
    let row = wait(c.query_opt(sql, &[&arn])).map_err(backend)?;
    row.map(|r| text(&r, 0)).transpose()
}

fn execute<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<u64, StoreError> {
    wait(c.execute(sql, params)).map_err(backend)
}

/// Inserts a record under a parent (a rule on its bus, a schedule in its group):
/// false if the parent is gone, `Exists` if the ARN is taken.
fn insert_member(
    store: &PgStore,
    parent_sql: &str,
    parent: &str,
    insert_sql: &str,
    account: &str,
    arn: &str,
    data: &str,
) -> Result<bool, StoreError> {
    let mut c = store.conn()?;
    let tx = wait(c.transaction()).map_err(backend)?;
    if one(&tx, parent_sql, parent)?.is_none() {
        return Ok(false);
    }
    let n = execute(
        &tx,
        insert_sql,
        &[&arn, &account, &parent, &member_name(arn), &data],
    )?;
    if n == 0 {
        return Err(StoreError::Exists(arn.to_string()));
    }
    wait(tx.commit()).map_err(backend)?;
    Ok(true)
}

/// Reads (locking the row), edits and writes one record of `table`.
fn edit_record(
    store: &PgStore,
    table: &str,
    arn: &str,
    edit: Edit<'_, String>,
) -> Result<Edited<String>, StoreError> {
    let mut c = store.conn()?;
    let tx = wait(c.transaction()).map_err(backend)?;
    let found = one(
        &tx,
        &format!("SELECT data FROM {table} WHERE arn = $1 FOR UPDATE"),
        arn,
    )?;
    let Some(mut data) = found else {
        return Ok(Edited::Missing);
    };
    if !edit(&mut data) {
        return Ok(Edited::Declined);
    }
    execute(
        &tx,
        &format!("UPDATE {table} SET data = $2 WHERE arn = $1"),
        &[&arn, &data],
    )?;
    wait(tx.commit()).map_err(backend)?;
    Ok(Edited::Done(data))
}

/// Deletes a record (rule or schedule) with its fire progress.
fn delete_member(store: &PgStore, table: &str, arn: &str) -> Result<bool, StoreError> {
    let mut c = store.conn()?;
    let tx = wait(c.transaction()).map_err(backend)?;
    let n = execute(&tx, &format!("DELETE FROM {table} WHERE arn = $1"), &[&arn])?;
    execute(
        &tx,
        "DELETE FROM events_schedule_slots WHERE arn = $1",
        &[&arn],
    )?;
    wait(tx.commit()).map_err(backend)?;
    Ok(n > 0)
}

/// Inserts a parent (a bus, a schedule group) of `account`; `Exists` if the ARN is taken.
fn insert_parent(
    store: &PgStore,
    table: &str,
    account: &str,
    arn: &str,
    data: &str,
) -> Result<(), StoreError> {
    let n = execute(
        &*store.conn()?,
        &format!(
            "INSERT INTO {table} (arn, account, name, data) VALUES ($1, $2, $3, $4)
             ON CONFLICT (arn) DO NOTHING"
        ),
        &[&arn, &account, &container_name(arn), &data],
    )?;
    if n == 0 {
        return Err(StoreError::Exists(arn.to_string()));
    }
    Ok(())
}

/// Replaces a record of `table`; false if there is none.
fn put_record(store: &PgStore, table: &str, arn: &str, data: &str) -> Result<bool, StoreError> {
    let n = execute(
        &*store.conn()?,
        &format!("UPDATE {table} SET data = $2 WHERE arn = $1"),
        &[&arn, &data],
    )?;
    Ok(n > 0)
}

/// Deletes a parent (bus or group) first, so that inserts under it wait or find it
/// gone, then its members and their fire progress.
fn delete_parent(
    store: &PgStore,
    parent_table: &str,
    member_table: &str,
    column: &str,
    arn: &str,
) -> Result<bool, StoreError> {
    let mut c = store.conn()?;
    let tx = wait(c.transaction()).map_err(backend)?;
    let n = execute(
        &tx,
        &format!("DELETE FROM {parent_table} WHERE arn = $1"),
        &[&arn],
    )?;
    execute(
        &tx,
        &format!(
            "DELETE FROM events_schedule_slots
             WHERE arn IN (SELECT arn FROM {member_table} WHERE {column} = $1)"
        ),
        &[&arn],
    )?;
    execute(
        &tx,
        &format!("DELETE FROM {member_table} WHERE {column} = $1"),
        &[&arn],
    )?;
    wait(tx.commit()).map_err(backend)?;
    Ok(n > 0)
}

/// A listing of records by name (`$1` the owner, `$2` after, `$3` the prefix, `$4`
/// the limit).
fn list_names(
    store: &PgStore,
    sql: &str,
    owner: &str,
    prefix: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let c = store.conn()?;
    let rows = wait(c.query(
        sql,
        &[
            &owner,
            &after.unwrap_or(""),
            &prefix.unwrap_or(""),
            &limit_of(limit),
        ],
    ))
    .map_err(backend)?;
    texts(&rows)
}

fn all_of(store: &PgStore, sql: &str) -> Result<Vec<String>, StoreError> {
    let c = store.conn()?;
    let rows = wait(c.query(sql, &[])).map_err(backend)?;
    texts(&rows)
}

impl EventsStore for PgStore {
    fn insert_event_bus(&self, account: &str, arn: &str, data: &str) -> Result<(), StoreError> {
        insert_parent(self, "events_buses", account, arn, data)
    }

    fn get_event_bus(&self, arn: &str) -> Result<Option<String>, StoreError> {
        one(
            &*self.conn()?,
            "SELECT data FROM events_buses WHERE arn = $1",
            arn,
        )
    }

    fn put_event_bus(&self, arn: &str, data: &str) -> Result<bool, StoreError> {
        put_record(self, "events_buses", arn, data)
    }

    fn delete_event_bus(&self, arn: &str) -> Result<bool, StoreError> {
        delete_parent(self, "events_buses", "events_rules", "bus", arn)
    }

    fn list_event_buses(
        &self,
        account: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        list_names(
            self,
            &format!(
                "SELECT data FROM events_buses WHERE account = $1 AND {NAMES}
                 ORDER BY name LIMIT $4"
            ),
            account,
            prefix,
            after,
            limit,
        )
    }

    fn insert_event_rule(
        &self,
        account: &str,
        bus_arn: &str,
        arn: &str,
        data: &str,
    ) -> Result<bool, StoreError> {
        insert_member(
            self,
            "SELECT arn FROM events_buses WHERE arn = $1 FOR SHARE",
            bus_arn,
            "INSERT INTO events_rules (arn, account, bus, name, data)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (arn) DO NOTHING",
            account,
            arn,
            data,
        )
    }

    fn get_event_rule(&self, arn: &str) -> Result<Option<String>, StoreError> {
        one(
            &*self.conn()?,
            "SELECT data FROM events_rules WHERE arn = $1",
            arn,
        )
    }

    fn edit_event_rule(
        &self,
        arn: &str,
        edit: Edit<'_, String>,
    ) -> Result<Edited<String>, StoreError> {
        edit_record(self, "events_rules", arn, edit)
    }

    fn delete_event_rule(&self, arn: &str) -> Result<bool, StoreError> {
        delete_member(self, "events_rules", arn)
    }

    fn list_event_rules(
        &self,
        bus_arn: &str,
        name_prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        list_names(
            self,
            &format!(
                "SELECT data FROM events_rules WHERE bus = $1 AND {NAMES}
                 ORDER BY name LIMIT $4"
            ),
            bus_arn,
            name_prefix,
            after,
            limit,
        )
    }

    fn all_event_rules(&self) -> Result<Vec<String>, StoreError> {
        all_of(self, "SELECT data FROM events_rules ORDER BY arn")
    }

    fn insert_schedule_group(
        &self,
        account: &str,
        arn: &str,
        data: &str,
    ) -> Result<(), StoreError> {
        insert_parent(self, "events_schedule_groups", account, arn, data)
    }

    fn get_schedule_group(&self, arn: &str) -> Result<Option<String>, StoreError> {
        one(
            &*self.conn()?,
            "SELECT data FROM events_schedule_groups WHERE arn = $1",
            arn,
        )
    }

    fn put_schedule_group(&self, arn: &str, data: &str) -> Result<bool, StoreError> {
        put_record(self, "events_schedule_groups", arn, data)
    }

    fn delete_schedule_group(&self, arn: &str) -> Result<bool, StoreError> {
        delete_parent(
            self,
            "events_schedule_groups",
            "events_schedules",
            "group_arn",
            arn,
        )
    }

    fn list_schedule_groups(
        &self,
        account: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        list_names(
            self,
            &format!(
                "SELECT data FROM events_schedule_groups WHERE account = $1 AND {NAMES}
                 ORDER BY name LIMIT $4"
            ),
            account,
            prefix,
            after,
            limit,
        )
    }

    fn insert_schedule(
        &self,
        account: &str,
        group_arn: &str,
        arn: &str,
        data: &str,
    ) -> Result<bool, StoreError> {
        insert_member(
            self,
            "SELECT arn FROM events_schedule_groups WHERE arn = $1 FOR SHARE",
            group_arn,
            "INSERT INTO events_schedules (arn, account, group_arn, name, data)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (arn) DO NOTHING",
            account,
            arn,
            data,
        )
    }

    fn get_schedule(&self, arn: &str) -> Result<Option<String>, StoreError> {
        one(
            &*self.conn()?,
            "SELECT data FROM events_schedules WHERE arn = $1",
            arn,
        )
    }

    fn edit_schedule(
        &self,
        arn: &str,
        edit: Edit<'_, String>,
    ) -> Result<Edited<String>, StoreError> {
        edit_record(self, "events_schedules", arn, edit)
    }

    fn delete_schedule(&self, arn: &str) -> Result<bool, StoreError> {
        delete_member(self, "events_schedules", arn)
    }

    fn list_schedules(
        &self,
        account: &str,
        group_arn: Option<&str>,
        name_prefix: Option<&str>,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let (after_group, after_name) = after.unwrap_or(("", ""));
        let c = self.conn()?;
        let rows = wait(c.query(
            "SELECT data FROM events_schedules
             WHERE account = $1 AND ($2::TEXT IS NULL OR group_arn = $2)
               AND (group_arn, name) > ($3, $4)
               AND left(name, length($5::TEXT)) = $5
             ORDER BY group_arn, name LIMIT $6",
            &[
                &account,
                &group_arn,
                &after_group,
                &after_name,
                &name_prefix.unwrap_or(""),
                &limit_of(limit),
            ],
        ))
        .map_err(backend)?;
        texts(&rows)
    }

    fn all_schedules(&self) -> Result<Vec<String>, StoreError> {
        all_of(self, "SELECT data FROM events_schedules ORDER BY arn")
    }

    fn claim_schedule_slot(&self, arn: &str, slot_ms: i64) -> Result<bool, StoreError> {
        self.fire_schedule_slot(arn, slot_ms, &[])
    }

    fn fire_schedule_slot(
        &self,
        arn: &str,
        slot_ms: i64,
        deliveries: &[crate::EventDelivery],
    ) -> Result<bool, StoreError> {
        // Of two nodes claiming at once, the second's upsert waits for the first's row
        // (and its transaction) and then checks the condition against it: equal is not
        // later, no row changes.
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let n = wait(tx.execute(
            "INSERT INTO events_schedule_slots (arn, slot_ms)
             SELECT $1::TEXT, $2::BIGINT
             WHERE EXISTS (SELECT 1 FROM events_rules WHERE arn = $1)
                OR EXISTS (SELECT 1 FROM events_schedules WHERE arn = $1)
             ON CONFLICT (arn) DO UPDATE SET slot_ms = EXCLUDED.slot_ms
             WHERE events_schedule_slots.slot_ms < EXCLUDED.slot_ms",
            &[&arn, &slot_ms],
        ))
        .map_err(backend)?;
        if n > 0 {
            super::deliveries::add_in(&tx, "events_deliveries", deliveries)?;
        }
        wait(tx.commit()).map_err(backend)?;
        Ok(n > 0)
    }

    fn last_schedule_slot(&self, arn: &str) -> Result<Option<i64>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_opt(
            "SELECT slot_ms FROM events_schedule_slots WHERE arn = $1",
            &[&arn],
        ))
        .map_err(backend)?;
        row.map(|r| r.try_get(0).map_err(backend)).transpose()
    }

    fn add_event_deliveries(&self, deliveries: &[EventDelivery]) -> Result<(), StoreError> {
        crate::pg::deliveries::add(self, "events_deliveries", deliveries)
    }

    fn claim_event_deliveries(
        &self,
        node: &str,
        now_ms: i64,
        hold_ms: i64,
        limit: usize,
    ) -> Result<Vec<EventDelivery>, StoreError> {
        crate::pg::deliveries::claim(self, "events_deliveries", node, now_ms, hold_ms, limit)
    }

    fn release_event_deliveries(&self, holder: &str) -> Result<usize, StoreError> {
        crate::pg::deliveries::release(self, "events_deliveries", holder)
    }

    fn finish_event_delivery(&self, id: &str) -> Result<(), StoreError> {
        crate::pg::deliveries::finish(self, "events_deliveries", id)
    }

    fn retry_event_delivery(&self, id: &str, due_ms: i64, attempts: u32) -> Result<(), StoreError> {
        crate::pg::deliveries::retry(self, "events_deliveries", id, due_ms, attempts)
    }
}
