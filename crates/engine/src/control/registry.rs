//! An in-memory view of each function's `$LATEST`, published versions, aliases and
//! asynchronous invocation settings, so the invoke path (and the async dispatcher, for
//! every event) resolves a reference without a database read; and of what every request
//! of the HTTP fronts and most API requests read besides: functions' resource policies,
//! parsed, and function URLs by id. It follows the store's change notifications
//! ([`MetadataChange`]), so a write is seen whoever made it: a change forgets what it
//! touches of the function, and a load that raced with a change is not kept (a global
//! generation counter tells).

use std::collections::HashMap;

use hearth_model::FastMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use hearth_iam_policy::Policy;
use hearth_model::alias::Alias;
use hearth_model::arn::LATEST;
use hearth_model::egress::EgressPolicy;
use hearth_model::event_invoke::EventInvokeConfig;
use hearth_model::function_url::FunctionUrl;
use hearth_model::FunctionConfig;
use hearth_store::{MetadataChange, Store, StoreError, Subscriber};

use crate::executor::RunSpec;

/// One function as the invoke path needs it.
pub(crate) struct Entry {
    pub latest: Arc<FunctionConfig>,
    /// Published versions by number.
    pub versions: HashMap<String, Arc<FunctionConfig>>,
    pub aliases: HashMap<String, Alias>,
    /// `FunctionEventInvokeConfig`s by qualifier (`$LATEST` when unqualified).
    pub event_configs: HashMap<String, EventInvokeConfig>,
    /// The function's own egress policy (kept in its settings); `None`: the server's.
    pub egress: Option<EgressPolicy>,
    /// What invocations of each version run, made on the first and kept with the entry:
    /// a spec depends on nothing but the version's configuration and the egress above,
    /// and any change to either replaces the whole entry.
    specs: Specs,
}

/// [`Entry::specs`]: `$LATEST`'s apart, the one nearly every invocation runs.
#[derive(Default)]
struct Specs {
    latest: OnceLock<Arc<RunSpec>>,
    versions: RwLock<FastMap<String, Arc<RunSpec>>>,
}

impl Entry {
    /// The spec of `config`, one of this entry's configurations, made with `make` the
    /// first time it is asked for.
    pub(crate) fn spec(
        &self,
        config: &FunctionConfig,
        make: impl FnOnce() -> RunSpec,
    ) -> Arc<RunSpec> {
        if config.is_latest() {
            return self.specs.latest.get_or_init(|| Arc::new(make())).clone();
        }
        if let Some(spec) = read(&self.specs.versions).get(&config.version) {
            return spec.clone();
        }
        write(&self.specs.versions)
            .entry(config.version.clone())
            .or_insert_with(|| Arc::new(make()))
            .clone()
    }
}

/// A function's key and a qualifier as asked (`""` unqualified).
type PolicyKey = (String, String);

#[derive(Default)]
pub(crate) struct Registry {
    entries: RwLock<FastMap<String, Arc<Entry>>>,
    /// Resource policies by function and qualifier as asked (`None`: none, or none that
    /// parses).
    policies: RwLock<FastMap<PolicyKey, Option<Arc<Policy>>>>,
    /// Function URLs by id (only URLs that exist: an unknown id is not remembered).
    urls: RwLock<FastMap<String, Arc<FunctionUrl>>>,
    generation: AtomicU64,
}

/// Reads a map, whatever a panicking writer left (every write is one insert or remove).
fn read<K, V>(m: &RwLock<FastMap<K, V>>) -> std::sync::RwLockReadGuard<'_, FastMap<K, V>> {
    m.read().unwrap_or_else(|p| p.into_inner())
}

fn write<K, V>(m: &RwLock<FastMap<K, V>>) -> std::sync::RwLockWriteGuard<'_, FastMap<K, V>> {
    m.write().unwrap_or_else(|p| p.into_inner())
}

impl Registry {
    /// The function's entry, loaded from the store on a miss; `None` if it does not
    /// exist.
    pub(crate) fn get(&self, store: &Store, name: &str) -> Result<Option<Arc<Entry>>, StoreError> {
        if let Some(e) = read(&self.entries).get(name) {
            return Ok(Some(e.clone()));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let Some(latest) = store.metadata().get_function(name)? else {
            return Ok(None);
        };
        let entry = Arc::new(Entry {
            latest: Arc::new(latest),
            versions: store
                .metadata()
                .list_versions(name)?
                .into_iter()
                .map(|v| (v.version.clone(), Arc::new(v)))
                .collect(),
            aliases: store
                .metadata()
                .list_aliases(name)?
                .into_iter()
                .map(|a| (a.name.clone(), a))
                .collect(),
            event_configs: store
                .metadata()
                .list_event_invoke_configs(name)?
                .into_iter()
                .map(|c| (c.qualifier.clone(), c))
                .collect(),
            egress: store.resources().function_settings(name, LATEST)?.egress,
            specs: Specs::default(),
        });
        self.keep(&self.entries, generation, name.to_string(), entry.clone());
        Ok(Some(entry))
    }

    /// The resource policy of `function` at `qualifier` (`""` unqualified), loaded with
    /// `load` on a miss.
    pub(crate) fn policy<E>(
        &self,
        function: &str,
        qualifier: &str,
        load: impl FnOnce() -> Result<Option<Policy>, E>,
    ) -> Result<Option<Arc<Policy>>, E> {
        let key = (function.to_string(), qualifier.to_string());
        if let Some(p) = read(&self.policies).get(&key) {
            return Ok(p.clone());
        }
        let generation = self.generation.load(Ordering::Acquire);
        let loaded = load()?.map(Arc::new);
        self.keep(&self.policies, generation, key, loaded.clone());
        Ok(loaded)
    }

    /// The function URL `url_id`, loaded with `load` on a miss.
    pub(crate) fn url<E>(
        &self,
        url_id: &str,
        load: impl FnOnce() -> Result<Option<FunctionUrl>, E>,
    ) -> Result<Option<Arc<FunctionUrl>>, E> {
        if let Some(u) = read(&self.urls).get(url_id) {
            return Ok(Some(u.clone()));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let Some(loaded) = load()?.map(Arc::new) else {
            return Ok(None);
        };
        self.keep(&self.urls, generation, url_id.to_string(), loaded.clone());
        Ok(Some(loaded))
    }

    /// Keeps what a load that began at `generation` read, unless a change came since: the
    /// load may have missed it, so its value serves that one read and is not kept.
    /// (`forget` moves the generation while it holds every map's lock.)
    fn keep<K: Eq + std::hash::Hash, V>(
        &self,
        map: &RwLock<FastMap<K, V>>,
        generation: u64,
        key: K,
        value: V,
    ) {
        let mut kept = write(map);
        if self.generation.load(Ordering::Acquire) == generation {
            kept.insert(key, value);
        }
    }

    /// Forgets what `change` made stale.
    pub(crate) fn forget(&self, change: &MetadataChange) {
        let mut entries = write(&self.entries);
        let mut policies = write(&self.policies);
        let mut urls = write(&self.urls);
        self.generation.fetch_add(1, Ordering::AcqRel);
        match change {
            MetadataChange::Function(name) => {
                entries.remove(name);
                policies.retain(|(function, _), _| function != name);
                urls.retain(|_, url| &url.function != name);
            }
            MetadataChange::Everything => {
                entries.clear();
                policies.clear();
                urls.clear();
            }
        }
    }

    /// A subscriber to the store's changes that keeps this registry correct.
    pub(crate) fn follower(self: &Arc<Self>) -> Subscriber {
        let registry = self.clone();
        Box::new(move |change| registry.forget(change))
    }
}

#[cfg(test)]
mod tests {
    use hearth_store::Publish;

    use super::*;
    use crate::testing::engine;
    use crate::Engine;
    use hearth_model::testing::function as config;

    fn cached(e: &Engine, name: &str) -> Option<Arc<Entry>> {
        e.inner
            .registry
            .entries
            .read()
            .expect("lock")
            .get(name)
            .cloned()
    }

    /// Writes made straight to the store, as another node would make them, are seen by
    /// the engine's registry without the engine being told.
    #[tokio::test]
    async fn writes_made_through_the_store_are_seen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (e, _) = engine(dir.path());
        let (registry, store) = (&e.inner.registry, e.store().metadata());
        let get = || registry.get(e.store(), "f").expect("load");
        assert!(get().is_none());

        store.insert_function(&config("f")).expect("insert");
        assert_eq!(get().expect("there").latest.description, "");
        assert!(cached(&e, "f").is_some(), "kept once loaded");

        store
            .update_function("f", |f| {
                f.description = "changed".into();
                Ok::<_, ()>(())
            })
            .expect("update")
            .expect("exists")
            .expect("written");
        assert!(cached(&e, "f").is_none(), "forgotten at the change");
        assert_eq!(get().expect("there").latest.description, "changed");

        store
            .publish_version("f", |latest, _, _| {
                let mut v = latest.clone();
                v.version = "1".into();
                Ok::<_, ()>(Publish::New(v))
            })
            .expect("publish")
            .expect("exists")
            .expect("published");
        assert!(get().expect("there").versions.contains_key("1"));

        assert!(store.delete_function("f").expect("delete"));
        assert!(get().is_none());
    }

    #[test]
    fn missed_changes_forget_everything() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        for name in ["f", "g"] {
            store
                .metadata()
                .insert_function(&config(name))
                .expect("insert");
        }
        let registry = Registry::default();
        for name in ["f", "g"] {
            registry.get(&store, name).expect("load").expect("there");
        }
        let count = || registry.entries.read().expect("lock").len();
        assert_eq!(count(), 2);
        registry.forget(&MetadataChange::Function("f".into()));
        assert_eq!(count(), 1);
        registry.forget(&MetadataChange::Everything);
        assert_eq!(count(), 0);
    }
}
