//! The backends the suite runs on, each as a maker of a fresh, empty store that can be
//! closed and opened again on the same state (a restart).

use std::ops::Deref;

use hearth_store::Store;

/// Where a backend keeps one test's state; it outlives the stores opened on it.
trait Place: Send + Sync {
    fn open(&self) -> Store;
}

/// A store under test (it derefs to the [`Store`] handle) and the state under it.
pub struct Fixture {
    store: Store,
    place: Box<dyn Place>,
}

impl Fixture {
    fn on(place: Box<dyn Place>) -> Self {
        Self {
            store: place.open(),
            place,
        }
    }

    /// Closes this store and opens its state again, as a restarted server does.
    pub fn reopen(self) -> Self {
        let Self { store, place } = self;
        drop(store);
        Self::on(place)
    }
}

impl Deref for Fixture {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

/// The embedded store: SQLite in a temporary data directory.
struct SqliteDir(tempfile::TempDir);

impl Place for SqliteDir {
    fn open(&self) -> Store {
        Store::open(self.0.path()).expect("open the SQLite store")
    }
}

/// A fresh embedded (SQLite) store.
pub fn sqlite() -> Fixture {
    Fixture::on(Box::new(SqliteDir(
        tempfile::tempdir().expect("a temporary directory"),
    )))
}
