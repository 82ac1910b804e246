//! An in-memory view of each function's `$LATEST`, published versions, aliases and
//! asynchronous invocation settings, so the invoke path (and the async dispatcher, for
//! every event) resolves a reference without a database read. Every write goes
//! through the engine, which invalidates the function's entry after it; a load that
//! raced with a write is not kept (a global generation counter tells).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use hearth_model::alias::Alias;
use hearth_model::event_invoke::EventInvokeConfig;
use hearth_model::FunctionConfig;
use hearth_store::{Store, StoreError};

/// One function as the invoke path needs it.
pub(crate) struct Entry {
    pub latest: Arc<FunctionConfig>,
    /// Published versions by number.
    pub versions: HashMap<String, Arc<FunctionConfig>>,
    pub aliases: HashMap<String, Alias>,
    /// `FunctionEventInvokeConfig`s by qualifier (`$LATEST` when unqualified).
    pub event_configs: HashMap<String, EventInvokeConfig>,
}

#[derive(Default)]
pub(crate) struct Registry {
    entries: RwLock<HashMap<String, Arc<Entry>>>,
    generation: AtomicU64,
}

impl Registry {
    /// The function's entry, loaded from the store on a miss; `None` if it does not
    /// exist.
    pub(crate) fn get(&self, store: &Store, name: &str) -> Result<Option<Arc<Entry>>, StoreError> {
        if let Some(e) = self
            .entries
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return Ok(Some(e.clone()));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let Some(latest) = store.get_function(name)? else {
            return Ok(None);
        };
        let entry = Arc::new(Entry {
            latest: Arc::new(latest),
            versions: store
                .list_versions(name)?
                .into_iter()
                .map(|v| (v.version.clone(), Arc::new(v)))
                .collect(),
            aliases: store
                .list_aliases(name)?
                .into_iter()
                .map(|a| (a.name.clone(), a))
                .collect(),
            event_configs: store
                .list_event_invoke_configs(name)?
                .into_iter()
                .map(|c| (c.qualifier.clone(), c))
                .collect(),
        });
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        // A write since the load started may have been missed: serve this read from
        // what was loaded, but do not keep it.
        if self.generation.load(Ordering::Acquire) == generation {
            entries.insert(name.to_string(), entry.clone());
        }
        Ok(Some(entry))
    }

    /// Forgets a function's entry; call after every write that touches it.
    pub(crate) fn invalidate(&self, name: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(name);
    }
}
