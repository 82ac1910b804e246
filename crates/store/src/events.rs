//! EventBridge and EventBridge Scheduler on SQLite: the side of
//! [`crate::traits::EventsStore`] that keeps buses', rules', schedule groups' and
//! schedules' JSON records with the columns they are listed by (`events_buses`,
//! `events_rules`, `events_schedule_groups`, `events_schedules`), the last slot each
//! rule or schedule fired (`events_schedule_slots`) and the durable queue of pending
//! target deliveries (`events_deliveries`: one row per event and target until it is
//! delivered or given up).

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use crate::traits::{Edit, Edited, EventsStore};
use crate::{SqliteStore, StoreError};

/// The migration step that makes the tables (see `migrations.rs`). A record's name is a
/// column of its own (taken from its ARN, see [`container_name`], [`member_name`]) so
/// that listings page by name on an index.
pub(crate) const SCHEMA: &str = "
CREATE TABLE events_buses (
    arn TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_buses_account ON events_buses (account, name);
CREATE TABLE events_rules (
    arn TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    bus TEXT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_rules_bus ON events_rules (bus, name);
CREATE TABLE events_schedule_groups (
    arn TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_schedule_groups_account ON events_schedule_groups (account, name);
CREATE TABLE events_schedules (
    arn TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    group_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_schedules_account ON events_schedules (account, group_arn, name);
CREATE INDEX events_schedules_group ON events_schedules (group_arn, name);
CREATE TABLE events_schedule_slots (
    arn TEXT PRIMARY KEY,
    slot_ms INTEGER NOT NULL
);
CREATE TABLE events_deliveries (
    id TEXT PRIMARY KEY,
    due_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    holder TEXT,
    held_until INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX events_deliveries_due ON events_deliveries (due_ms);
";

/// One pending delivery of an event to one target (the queue's row: `crate::deliveries`).
pub type EventDelivery = crate::deliveries::Delivery;

/// The name of a bus or a schedule group: what follows the first `/` of its ARN
/// (`...:event-bus/<name>`, a partner bus's name having `/`s of its own).
pub(crate) fn container_name(arn: &str) -> &str {
    arn.split_once('/').map_or(arn, |(_, name)| name)
}

/// The name of a rule or a schedule: what follows the last `/` of its ARN
/// (`...:rule/[<bus>/]<name>`, `...:schedule/<group>/<name>`).
pub(crate) fn member_name(arn: &str) -> &str {
    arn.rsplit_once('/').map_or(arn, |(_, name)| name)
}

pub(crate) fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Which names a listing keeps: those starting with `prefix`, after `after`. The
/// `name >= prefix` half lets the index start at the prefix; `substr` decides (a `LIKE`
/// would read the `_` that names may hold as a wildcard).
const NAMES: &str = "name > ?2 AND name >= ?3 AND substr(name, 1, length(?3)) = ?3";

fn texts(
    tx: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = tx.prepare(sql)?;
    let rows = stmt.query_map(params, |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn one(conn: &rusqlite::Connection, sql: &str, arn: &str) -> Result<Option<String>, StoreError> {
    Ok(conn.query_row(sql, params![arn], |r| r.get(0)).optional()?)
}

/// Inserts a record under a parent (a rule on its bus, a schedule in its group): false
/// if the parent is gone, `Exists` if the ARN is taken. Immediate, so that a second
/// store on the same file waits its turn instead of failing to upgrade its read.
fn insert_member(
    store: &SqliteStore,
    parent_sql: &str,
    parent: &str,
    insert_sql: &str,
    account: &str,
    arn: &str,
    data: &str,
) -> Result<bool, StoreError> {
    let mut conn = store.conn();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if one(&tx, parent_sql, parent)?.is_none() {
        return Ok(false);
    }
    let n = tx.execute(
        insert_sql,
        params![arn, account, parent, member_name(arn), data],
    )?;
    if n == 0 {
        return Err(StoreError::Exists(arn.to_string()));
    }
    tx.commit()?;
    Ok(true)
}

/// Reads, edits and writes one record of `table` (a rule or a schedule) in one
/// immediate transaction.
fn edit_record(
    store: &SqliteStore,
    table: &str,
    arn: &str,
    edit: Edit<'_, String>,
) -> Result<Edited<String>, StoreError> {
    let mut conn = store.conn();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(mut data) = one(
        &tx,
        &format!("SELECT data FROM {table} WHERE arn = ?1"),
        arn,
    )?
    else {
        return Ok(Edited::Missing);
    };
    if !edit(&mut data) {
        return Ok(Edited::Declined);
    }
    tx.execute(
        &format!("UPDATE {table} SET data = ?2 WHERE arn = ?1"),
        params![arn, data],
    )?;
    tx.commit()?;
    Ok(Edited::Done(data))
}

/// Deletes a record (rule or schedule) with its fire progress.
fn delete_member(store: &SqliteStore, table: &str, arn: &str) -> Result<bool, StoreError> {
    let mut conn = store.conn();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let n = tx.execute(&format!("DELETE FROM {table} WHERE arn = ?1"), params![arn])?;
    forget_slots(&tx, "arn = ?1", arn)?;
    tx.commit()?;
    Ok(n > 0)
}

/// Deletes the fire progress of the ARNs `which` selects (`?1` bound to `key`).
fn forget_slots(tx: &Transaction<'_>, which: &str, key: &str) -> Result<(), StoreError> {
    tx.execute(
        &format!("DELETE FROM events_schedule_slots WHERE {which}"),
        params![key],
    )?;
    Ok(())
}

/// A kind of record that holds others (a bus its rules, a schedule group its schedules):
/// its table, its members' table and the members' column naming it.
struct Container {
    table: &'static str,
    members: &'static str,
    parent: &'static str,
}

const BUSES: Container = Container {
    table: "events_buses",
    members: "events_rules",
    parent: "bus",
};

const GROUPS: Container = Container {
    table: "events_schedule_groups",
    members: "events_schedules",
    parent: "group_arn",
};

impl Container {
    /// Inserts a record of `account`; `Exists` if the ARN is taken.
    fn insert(
        &self,
        conn: &rusqlite::Connection,
        account: &str,
        arn: &str,
        data: &str,
    ) -> Result<(), StoreError> {
        let n = conn.execute(
            &format!(
                "INSERT OR IGNORE INTO {} (arn, account, name, data) VALUES (?1, ?2, ?3, ?4)",
                self.table
            ),
            params![arn, account, container_name(arn), data],
        )?;
        if n == 0 {
            return Err(StoreError::Exists(arn.to_string()));
        }
        Ok(())
    }

    fn get(&self, conn: &rusqlite::Connection, arn: &str) -> Result<Option<String>, StoreError> {
        one(
            conn,
            &format!("SELECT data FROM {} WHERE arn = ?1", self.table),
            arn,
        )
    }

    /// Replaces a record; false if there is none.
    fn put(&self, conn: &rusqlite::Connection, arn: &str, data: &str) -> Result<bool, StoreError> {
        let n = conn.execute(
            &format!("UPDATE {} SET data = ?2 WHERE arn = ?1", self.table),
            params![arn, data],
        )?;
        Ok(n > 0)
    }

    /// Deletes a record with its members and their slot progress; false if there was none.
    fn delete(&self, conn: &mut rusqlite::Connection, arn: &str) -> Result<bool, StoreError> {
        let (table, members, parent) = (self.table, self.members, self.parent);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        forget_slots(
            &tx,
            &format!("arn IN (SELECT arn FROM {members} WHERE {parent} = ?1)"),
            arn,
        )?;
        tx.execute(
            &format!("DELETE FROM {members} WHERE {parent} = ?1"),
            params![arn],
        )?;
        let n = tx.execute(&format!("DELETE FROM {table} WHERE arn = ?1"), params![arn])?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// `account`'s records in name order, those starting with `prefix`, after `after`.
    fn list(
        &self,
        conn: &rusqlite::Connection,
        account: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        texts(
            conn,
            &format!(
                "SELECT data FROM {} WHERE account = ?1 AND {NAMES} ORDER BY name LIMIT ?4",
                self.table
            ),
            params![
                account,
                after.unwrap_or(""),
                prefix.unwrap_or(""),
                limit_of(limit)
            ],
        )
    }
}

impl EventsStore for SqliteStore {
    fn insert_event_bus(&self, account: &str, arn: &str, data: &str) -> Result<(), StoreError> {
        BUSES.insert(&self.conn(), account, arn, data)
    }

    fn get_event_bus(&self, arn: &str) -> Result<Option<String>, StoreError> {
        BUSES.get(&self.conn(), arn)
    }

    fn put_event_bus(&self, arn: &str, data: &str) -> Result<bool, StoreError> {
        BUSES.put(&self.conn(), arn, data)
    }

    fn delete_event_bus(&self, arn: &str) -> Result<bool, StoreError> {
        BUSES.delete(&mut self.conn(), arn)
    }

    fn list_event_buses(
        &self,
        account: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        BUSES.list(&self.conn(), account, prefix, after, limit)
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
            "SELECT arn FROM events_buses WHERE arn = ?1",
            bus_arn,
            "INSERT OR IGNORE INTO events_rules (arn, account, bus, name, data)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            account,
            arn,
            data,
        )
    }

    fn get_event_rule(&self, arn: &str) -> Result<Option<String>, StoreError> {
        one(
            &self.conn(),
            "SELECT data FROM events_rules WHERE arn = ?1",
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
        texts(
            &self.conn(),
            &format!(
                "SELECT data FROM events_rules WHERE bus = ?1 AND {NAMES}
                 ORDER BY name LIMIT ?4"
            ),
            params![
                bus_arn,
                after.unwrap_or(""),
                name_prefix.unwrap_or(""),
                limit_of(limit)
            ],
        )
    }

    fn all_event_rules(&self) -> Result<Vec<String>, StoreError> {
        texts(
            &self.conn(),
            "SELECT data FROM events_rules ORDER BY arn",
            [],
        )
    }

    fn insert_schedule_group(
        &self,
        account: &str,
        arn: &str,
        data: &str,
    ) -> Result<(), StoreError> {
        GROUPS.insert(&self.conn(), account, arn, data)
    }

    fn get_schedule_group(&self, arn: &str) -> Result<Option<String>, StoreError> {
        GROUPS.get(&self.conn(), arn)
    }

    fn put_schedule_group(&self, arn: &str, data: &str) -> Result<bool, StoreError> {
        GROUPS.put(&self.conn(), arn, data)
    }

    fn delete_schedule_group(&self, arn: &str) -> Result<bool, StoreError> {
        GROUPS.delete(&mut self.conn(), arn)
    }

    fn list_schedule_groups(
        &self,
        account: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        GROUPS.list(&self.conn(), account, prefix, after, limit)
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
            "SELECT arn FROM events_schedule_groups WHERE arn = ?1",
            group_arn,
            "INSERT OR IGNORE INTO events_schedules (arn, account, group_arn, name, data)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            account,
            arn,
            data,
        )
    }

    fn get_schedule(&self, arn: &str) -> Result<Option<String>, StoreError> {
        one(
            &self.conn(),
            "SELECT data FROM events_schedules WHERE arn = ?1",
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
        texts(
            &self.conn(),
            "SELECT data FROM events_schedules
             WHERE account = ?1 AND (?2 IS NULL OR group_arn = ?2)
               AND (group_arn, name) > (?3, ?4)
               AND substr(name, 1, length(?5)) = ?5
             ORDER BY group_arn, name LIMIT ?6",
            params![
                account,
                group_arn,
                after_group,
                after_name,
                name_prefix.unwrap_or(""),
                limit_of(limit)
            ],
        )
    }

    fn all_schedules(&self) -> Result<Vec<String>, StoreError> {
        texts(
            &self.conn(),
            "SELECT data FROM events_schedules ORDER BY arn",
            [],
        )
    }

    fn claim_schedule_slot(&self, arn: &str, slot_ms: i64) -> Result<bool, StoreError> {
        self.fire_schedule_slot(arn, slot_ms, &[])
    }

    fn fire_schedule_slot(
        &self,
        arn: &str,
        slot_ms: i64,
        deliveries: &[EventDelivery],
    ) -> Result<bool, StoreError> {
        // Immediate: of two stores on the file claiming a slot at once, the second
        // waits for the first's commit, sees its row and updates nothing.
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "INSERT INTO events_schedule_slots (arn, slot_ms)
             SELECT ?1, ?2
             WHERE EXISTS (SELECT 1 FROM events_rules WHERE arn = ?1)
                OR EXISTS (SELECT 1 FROM events_schedules WHERE arn = ?1)
             ON CONFLICT (arn) DO UPDATE SET slot_ms = excluded.slot_ms
             WHERE excluded.slot_ms > events_schedule_slots.slot_ms",
            params![arn, slot_ms],
        )?;
        if n > 0 {
            crate::deliveries::add_in(&tx, "events_deliveries", deliveries)?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    fn last_schedule_slot(&self, arn: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT slot_ms FROM events_schedule_slots WHERE arn = ?1",
                params![arn],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn add_event_deliveries(&self, deliveries: &[EventDelivery]) -> Result<(), StoreError> {
        crate::deliveries::add(&mut self.conn(), "events_deliveries", deliveries)
    }

    fn claim_event_deliveries(
        &self,
        node: &str,
        now_ms: i64,
        hold_ms: i64,
        limit: usize,
    ) -> Result<Vec<EventDelivery>, StoreError> {
        crate::deliveries::claim(
            &mut self.conn(),
            "events_deliveries",
            node,
            now_ms,
            hold_ms,
            limit,
        )
    }

    fn release_event_deliveries(&self, holder: &str) -> Result<usize, StoreError> {
        crate::deliveries::release(&self.conn(), "events_deliveries", holder)
    }

    fn finish_event_delivery(&self, id: &str) -> Result<(), StoreError> {
        crate::deliveries::finish(&self.conn(), "events_deliveries", id)
    }

    fn retry_event_delivery(&self, id: &str, due_ms: i64, attempts: u32) -> Result<(), StoreError> {
        crate::deliveries::retry(&self.conn(), "events_deliveries", id, due_ms, attempts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_arns() {
        let bus = "arn:aws:events:us-east-1:000000000000:event-bus/aws.partner/x.com/1/b";
        assert_eq!(container_name(bus), "aws.partner/x.com/1/b");
        assert_eq!(
            container_name("arn:aws:scheduler:us-east-1:0:schedule-group/default"),
            "default"
        );
        assert_eq!(
            member_name("arn:aws:events:us-east-1:0:rule/custom/r1"),
            "r1"
        );
        assert_eq!(member_name("arn:aws:events:us-east-1:0:rule/r1"), "r1");
        assert_eq!(
            member_name("arn:aws:scheduler:us-east-1:0:schedule/g/s.1"),
            "s.1"
        );
        assert_eq!(member_name("plain"), "plain");
    }
}
