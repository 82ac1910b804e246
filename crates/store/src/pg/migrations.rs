//! The PostgreSQL schema as a numbered list of migrations, in the table
//! `hearth_schema`. Every node runs them at start (and `hearth migrate` alone), under a
//! transaction-scoped advisory lock so that nodes starting together apply each once; a
//! node refuses a database whose version is newer than it knows (a newer Hearth wrote
//! it). Add a migration at the end; never change one that has shipped. Migration 1 is
//! the schema of every area (each area's file holds its tables).
//!
//! Rolling upgrades: nodes of two adjacent versions share the database while the fleet
//! is upgraded one node at a time, so a migration says whether the nodes that know only
//! the one before it can keep running on it (`breaks_older`: false for what they do not
//! see, as added columns with defaults, new tables and sequences). The database keeps
//! the oldest version that may still run on it, and a node refuses only a database that
//! says it may not.

use super::pool::{backend, wait, Pool};
use crate::StoreError;

/// The advisory lock key of migrations (any constant the nodes agree on: "hearthmg").
const LOCK: i64 = 0x6865_6172_7468_6d67;

/// One step of the schema.
struct Migration {
    version: i64,
    name: &'static str,
    sql: fn() -> String,
    /// Whether a node that knows only the versions before this one must stop using the
    /// database once it is applied.
    breaks_older: bool,
}

fn first() -> String {
    [
        super::SCHEMA,
        super::metadata::SCHEMA,
        super::resources::SCHEMA,
        super::roles::SCHEMA,
        super::keys::SCHEMA,
        super::kms::SCHEMA,
        super::changes::SCHEMA,
        super::queue::SCHEMA,
        super::logs::SCHEMA,
        super::audit::SCHEMA,
        super::code::SCHEMA,
        super::fleet::SCHEMA,
    ]
    .concat()
}

/// Async events held by nodes (a queue row's owner, sequence blocks), each node's own
/// timeout and its drain: columns older nodes leave at their defaults (a row they queue
/// has no owner, so any new node claims it).
fn second() -> String {
    [super::queue::schema_2(), super::fleet::SCHEMA_2.to_string()].concat()
}

/// Concurrency tokens (`tokens.rs`): a new table, unseen by older nodes, which keep
/// admitting against their own counts until they are upgraded.
fn third() -> String {
    super::tokens::SCHEMA.to_string()
}

/// Function URLs: a new table, unseen by older nodes (which answer no URL operations).
fn fifth() -> String {
    super::resources::URLS_SCHEMA.to_string()
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "the schema of every area",
        sql: first,
        breaks_older: true,
    },
    Migration {
        version: 2,
        name: "async events held by nodes, nodes' own timeouts and drains",
        sql: second,
        breaks_older: false,
    },
    Migration {
        version: 3,
        name: "concurrency tokens held by nodes",
        sql: third,
        breaks_older: false,
    },
    HTTP_APIS,
    Migration {
        version: 5,
        name: "function URLs",
        sql: fifth,
        breaks_older: false,
    },
    SQS,
    SNS,
    EVENT_SOURCE_MAPPINGS,
    SQS_DELETIONS_AND_MOVE_TASKS,
    EVENTS,
    METRICS,
    QUEUE_TRACES,
    LAYERS,
    CONSOLE_SIGNOUTS,
    SCHEMA_REGISTRIES,
];

/// The web console's signed-out sessions (`console.rs`): a new table, unseen by older
/// nodes, which keep accepting a session signed out on a newer node until they are
/// upgraded or the session expires. Its own constant so that a step added beside it
/// renumbers simply.
const CONSOLE_SIGNOUTS: Migration = Migration {
    version: 14,
    name: "console sign-outs",
    sql: console_signouts,
    breaks_older: false,
};

fn console_signouts() -> String {
    super::console::SCHEMA.to_string()
}

/// EventBridge Schemas' registries and schema versions (`schemas.rs`): new tables, unseen
/// by older nodes. Its own constant so that a step added beside it renumbers simply.
const SCHEMA_REGISTRIES: Migration = Migration {
    version: 15,
    name: "EventBridge Schemas registries and schemas",
    sql: schema_registries,
    breaks_older: false,
};

fn schema_registries() -> String {
    super::schemas::SCHEMA.to_string()
}

/// Lambda layers' versions and their numbering (`layers.rs`): new tables, unseen by
/// older nodes. Its own constant so that a step added beside it renumbers simply.
const LAYERS: Migration = Migration {
    version: 13,
    name: "Lambda layer versions",
    sql: layers,
    breaks_older: false,
};

fn layers() -> String {
    super::layers::SCHEMA.to_string()
}

/// The asynchronous queue's trace header and loop-detection mark (`crate::queue`): new
/// columns with defaults, which older nodes leave as they are (their events carry no
/// trace). Its own constant so that a step added beside it renumbers simply.
const QUEUE_TRACES: Migration = Migration {
    version: 12,
    name: "async events' trace headers",
    sql: queue_traces,
    breaks_older: false,
};

fn queue_traces() -> String {
    crate::queue::TRACE_SCHEMA.to_string()
}

/// SQS queues and messages (`sqs.rs`): new tables, unseen by older nodes. Its own
/// constant so that a step added beside it renumbers simply.
const SQS: Migration = Migration {
    version: 6,
    name: "SQS queues and messages",
    sql: sqs,
    breaks_older: false,
};

fn sqs() -> String {
    super::sqs::SCHEMA.to_string()
}

/// SNS topics, subscriptions, pending deliveries and settings (`sns.rs`): new tables,
/// unseen by older nodes. Its own constant so that steps added beside it renumber simply.
const SNS: Migration = Migration {
    version: 7,
    name: "SNS topics, subscriptions and deliveries",
    sql: sns,
    breaks_older: false,
};

fn sns() -> String {
    super::sns::SCHEMA.to_string()
}

/// Event-source mappings (`mappings.rs`): a new table, unseen by older nodes. Its own
/// constant so that a step added beside it renumbers simply.
const EVENT_SOURCE_MAPPINGS: Migration = Migration {
    version: 8,
    name: "event-source mappings",
    sql: event_source_mappings,
    breaks_older: false,
};

fn event_source_mappings() -> String {
    super::mappings::SCHEMA.to_string()
}

/// SQS's deleted queues and message move tasks (`sqs.rs`): new tables, unseen by older
/// nodes. Its own constant so that a step added beside it renumbers simply.
const SQS_DELETIONS_AND_MOVE_TASKS: Migration = Migration {
    version: 9,
    name: "SQS queue deletions and message move tasks",
    sql: sqs_deletions_and_move_tasks,
    breaks_older: false,
};

fn sqs_deletions_and_move_tasks() -> String {
    super::sqs::SCHEMA_9.to_string()
}

/// EventBridge's buses and rules, Scheduler's groups and schedules, their fire progress
/// and pending target deliveries (`events.rs`): new tables, unseen by older nodes. Its
/// own constant so that a step added beside it renumbers simply.
const EVENTS: Migration = Migration {
    version: 10,
    name: "EventBridge buses and rules, Scheduler groups and schedules, deliveries",
    sql: events,
    breaks_older: false,
};

fn events() -> String {
    super::events::SCHEMA.to_string()
}

/// CloudWatch's metric series and points, metric alarms with their history, and
/// metering (`metrics.rs`): new tables, unseen by older nodes. Its own constant so that
/// a step added beside it renumbers simply.
const METRICS: Migration = Migration {
    version: 11,
    name: "CloudWatch metrics, alarms and alarm history, metering",
    sql: metrics,
    breaks_older: false,
};

fn metrics() -> String {
    super::metrics::SCHEMA.to_string()
}

/// API Gateway HTTP APIs (`http_apis.rs`): new tables, unseen by older nodes. Its own
/// constant so that a step added beside it renumbers simply.
const HTTP_APIS: Migration = Migration {
    version: 4,
    name: "API Gateway HTTP APIs",
    sql: http_apis,
    breaks_older: false,
};

fn http_apis() -> String {
    super::http_apis::SCHEMA.to_string()
}

/// The newest version this build knows.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Applies every migration the database at `url` lacks (`hearth migrate`): the version
/// before and after.
pub fn migrate_url(url: &str) -> Result<(i64, i64), StoreError> {
    let pool = Pool::connect(url)?;
    migrate(&pool)
}

/// Applies every migration the database lacks; refuses a newer database. Answers the
/// version before and after.
pub(crate) fn migrate(pool: &Pool) -> Result<(i64, i64), StoreError> {
    let mut conn = pool.get()?;
    wait(conn.batch_execute(
        "CREATE TABLE IF NOT EXISTS hearth_schema (version BIGINT NOT NULL);
         ALTER TABLE hearth_schema ADD COLUMN IF NOT EXISTS oldest_reader BIGINT",
    ))
    .map_err(backend)?;
    let mut before = None;
    loop {
        let tx = wait(conn.transaction()).map_err(backend)?;
        wait(tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])).map_err(backend)?;
        let row = wait(tx.query_opt(
            "SELECT version, COALESCE(oldest_reader, version) FROM hearth_schema
             ORDER BY version DESC LIMIT 1",
            &[],
        ))
        .map_err(backend)?;
        let (found, oldest_reader): (i64, i64) = row.map_or((0, 0), |r| (r.get(0), r.get(1)));
        before.get_or_insert(found);
        if found > latest() {
            if oldest_reader > latest() {
                return Err(StoreError::NewerSchema {
                    found,
                    supported: latest(),
                });
            }
            // A newer node migrated, keeping the database usable by this one.
            return Ok((found, found));
        }
        let Some(next) = MIGRATIONS.iter().find(|m| m.version > found) else {
            return Ok((before.unwrap_or(found), found));
        };
        let oldest = if next.breaks_older || found == 0 {
            next.version
        } else {
            oldest_reader
        };
        wait(tx.batch_execute(&(next.sql)())).map_err(backend)?;
        wait(tx.execute("DELETE FROM hearth_schema", &[])).map_err(backend)?;
        wait(tx.execute(
            "INSERT INTO hearth_schema (version, oldest_reader) VALUES ($1, $2)",
            &[&next.version, &oldest],
        ))
        .map_err(backend)?;
        wait(tx.commit()).map_err(backend)?;
        tracing::info!(
            version = next.version,
            name = next.name,
            "PostgreSQL schema migrated"
        );
    }
}
