//! Warm on-demand environments waiting for work, per function version, and their
//! retirement: when `$LATEST`'s code or configuration changes, when a version or the
//! function is deleted, or when they have been idle too long. Busy environments are not
//! here; an invocation owns its environment until it ends. Provisioned environments
//! live in `super::provisioned`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hearth_model::FastMap;

use super::env::Environment;

/// The pool key of a function version: `KEY#version`. A function key may hold a colon
/// (`ACCOUNT:NAME`) and a default-account name may be all digits, so the separator is
/// one that neither keys nor versions can hold.
pub(crate) fn key(function: &str, version: &str) -> String {
    format!("{function}#{version}")
}

#[derive(Default)]
struct State {
    /// Idle environments by [`key`].
    idle: FastMap<String, Vec<Environment>>,
    /// The revision each key's environments must run; others are stale.
    current: FastMap<String, String>,
}

#[derive(Default)]
pub(crate) struct Pool {
    state: Mutex<State>,
}

impl Pool {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The most recently used idle environment of `function` (a [`key`]) at `revision`.
    /// Stale environments found on the way are returned for the caller to drop outside
    /// the lock (dropping one kills its processes).
    pub(crate) fn acquire(
        &self,
        function: &str,
        revision: &str,
    ) -> (Option<Environment>, Vec<Environment>) {
        let mut state = self.lock();
        let mut stale = Vec::new();
        if state.current.get(function).map(String::as_str) != Some(revision) {
            state
                .current
                .insert(function.to_string(), revision.to_string());
            stale.extend(state.idle.remove(function).unwrap_or_default());
        }
        let list = state.idle.entry(function.to_string()).or_default();
        while let Some(mut env) = list.pop() {
            if env.revision == revision && !env.past_max_age() && env.is_alive() {
                return (Some(env), stale);
            }
            stale.push(env);
        }
        (None, stale)
    }

    /// Returns a healthy environment after an invocation; a stale one is handed back to
    /// be dropped.
    pub(crate) fn release(&self, function: &str, mut env: Environment) -> Option<Environment> {
        let mut state = self.lock();
        if state.current.get(function) != Some(&env.revision) || env.past_max_age() {
            return Some(env);
        }
        env.last_used = Instant::now();
        state
            .idle
            .entry(function.to_string())
            .or_default()
            .push(env);
        None
    }

    /// Retires every environment of a [`key`]: idle ones are returned to be dropped,
    /// busy ones are dropped when their invocation ends.
    pub(crate) fn retire(&self, key: &str) -> Vec<Environment> {
        let mut state = self.lock();
        state.current.remove(key);
        state.idle.remove(key).unwrap_or_default()
    }

    /// Retires the environments of every version of `function`.
    pub(crate) fn retire_function(&self, function: &str) -> Vec<Environment> {
        let prefix = key(function, "");
        let mut state = self.lock();
        state.current.retain(|k, _| !k.starts_with(&prefix));
        let keys: Vec<String> = state
            .idle
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .cloned()
            .collect();
        keys.iter()
            .flat_map(|k| state.idle.remove(k).unwrap_or_default())
            .collect()
    }

    /// Removes environments idle for longer than `ttl`.
    pub(crate) fn expired(&self, ttl: Duration) -> Vec<Environment> {
        let mut state = self.lock();
        let mut out = Vec::new();
        for list in state.idle.values_mut() {
            let (keep, gone): (Vec<_>, Vec<_>) = std::mem::take(list)
                .into_iter()
                .partition(|e| e.last_used.elapsed() < ttl);
            *list = keep;
            out.extend(gone);
        }
        state.idle.retain(|_, l| !l.is_empty());
        out
    }

    /// Removes every idle environment (shutdown).
    pub(crate) fn drain(&self) -> Vec<Environment> {
        let mut state = self.lock();
        state.current.clear();
        state.idle.drain().flat_map(|(_, l)| l).collect()
    }

    pub(crate) fn idle_count(&self) -> usize {
        self.lock().idle.values().map(Vec::len).sum()
    }

    /// Idle environments per function key (every version's together).
    pub(crate) fn idle_by_function(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for (key, list) in self.lock().idle.iter().filter(|(_, l)| !l.is_empty()) {
            let function = key.rsplit_once('#').map_or(key.as_str(), |(f, _)| f);
            *counts.entry(function.to_string()).or_default() += list.len();
        }
        counts
    }
}
