//! The web console's sign-outs on SQLite: the side of [`crate::traits::ConsoleStore`]
//! that keeps one row per signed-out session, its id and the session's own expiry. A
//! console session is a sealed cookie any node accepts until it expires, so a sign-out
//! must be remembered where every node looks, and only until then: a row whose time has
//! passed says nothing a node would not conclude from the cookie alone, and the next
//! sign-out removes it. Time is the store's clock ([`crate::fleet`]'s), as tokens' is.

use rusqlite::params;

use crate::fleet::now_ms;
use crate::traits::ConsoleStore;
use crate::{SqliteStore, StoreError};

/// The migration step that makes the table (see `migrations.rs`). No index on the
/// expiry: rows are only the sessions signed out within a session's lifetime, and only a
/// sign-out (rare, a person's click) scans them for the lapsed.
pub(crate) const SCHEMA: &str = "
CREATE TABLE console_signouts (
    id TEXT PRIMARY KEY,
    until_ms INTEGER NOT NULL
);
";

impl ConsoleStore for SqliteStore {
    fn end_console_session(&self, id: &str, until_ms: i64) -> Result<(), StoreError> {
        let mut conn = self.conn();
        // One commit for both: the sweep of lapsed rows rides on the sign-out's.
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM console_signouts WHERE until_ms <= ?1",
            params![now_ms()],
        )?;
        // Signing out again keeps the later expiry: a repeat never shortens the refusal.
        tx.execute(
            "INSERT INTO console_signouts (id, until_ms) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET until_ms = MAX(until_ms, excluded.until_ms)",
            params![id, until_ms],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn console_session_ended(&self, id: &str) -> Result<bool, StoreError> {
        let ended: bool = self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM console_signouts WHERE id = ?1 AND until_ms > ?2)",
            params![id, now_ms()],
            |r| r.get(0),
        )?;
        Ok(ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(store: &SqliteStore) -> Vec<String> {
        let conn = store.conn();
        let mut stmt = conn
            .prepare("SELECT id FROM console_signouts ORDER BY id")
            .expect("prepare");
        let ids = stmt
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<Vec<String>, _>>()
            .expect("ids");
        ids
    }

    /// A lapsed row is not only ignored but gone after the next sign-out, so the table
    /// holds no more than the sessions still signed out.
    #[test]
    fn a_sign_out_removes_the_lapsed_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        let later = now_ms() + 3_600_000;
        store.end_console_session("old", 1).expect("end");
        assert_eq!(rows(&store), ["old"], "kept until the next sign-out");
        store.end_console_session("kept", later).expect("end");
        assert_eq!(rows(&store), ["kept"]);
        store.end_console_session("new", later).expect("end");
        assert_eq!(rows(&store), ["kept", "new"]);
        // A repeat with an earlier expiry keeps the later one.
        store.end_console_session("kept", 1).expect("again");
        assert!(store.console_session_ended("kept").expect("read"));
    }
}
