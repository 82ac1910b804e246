//! What a scripted sandbox saw, for a test's assertions: each environment it started
//! (with the spec it was given), the events its runtime took, and how it ended.

use std::collections::BTreeMap;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::task::ExitSlot;
use crate::SandboxSpec;

/// One event as the scripted runtime took it from `next`.
#[derive(Debug, Clone)]
pub struct Event {
    /// Which environment took it (0 for the first one started).
    pub environment: usize,
    /// Its place among that environment's events (0 for the first).
    pub number: usize,
    pub request_id: String,
    pub deadline_ms: i64,
    pub invoked_function_arn: String,
    pub client_context: Option<String>,
    pub payload: Bytes,
}

struct Environment {
    spec: SandboxSpec,
    events: Vec<Event>,
    exit: ExitSlot,
}

/// Everything a [`super::ScriptedSandbox`] started. Cheap to clone; every clone sees
/// the same records.
#[derive(Clone, Default)]
pub struct Records(Arc<Mutex<Vec<Environment>>>);

impl Records {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Environment>> {
        // Plain records; a panicking test thread cannot leave them half-written.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a new environment; returns its number.
    pub(crate) fn started(&self, spec: SandboxSpec, exit: ExitSlot) -> usize {
        let mut all = self.lock();
        all.push(Environment {
            spec,
            events: Vec::new(),
            exit,
        });
        all.len() - 1
    }

    /// Records an event taken by `environment`; returns its number there.
    pub(crate) fn took(&self, environment: usize, make: impl FnOnce(usize) -> Event) -> Event {
        let mut all = self.lock();
        let events = &mut all[environment].events;
        let event = make(events.len());
        events.push(event.clone());
        event
    }

    /// How many environments were started.
    pub fn environments(&self) -> usize {
        self.lock().len()
    }

    /// How many started environments have not ended.
    pub fn running(&self) -> usize {
        self.lock()
            .iter()
            .filter(|e| e.exit.get().is_none())
            .count()
    }

    /// What environment `n` was started with.
    pub fn spec(&self, n: usize) -> Option<SandboxSpec> {
        self.lock().get(n).map(|e| e.spec.clone())
    }

    /// The environment variables environment `n` was given.
    pub fn env(&self, n: usize) -> BTreeMap<String, String> {
        self.spec(n)
            .map(|s| s.env.into_iter().collect())
            .unwrap_or_default()
    }

    /// Every event taken, environment by environment, each in the order taken.
    pub fn events(&self) -> Vec<Event> {
        self.lock()
            .iter()
            .flat_map(|e| e.events.iter().cloned())
            .collect()
    }

    /// The events environment `n` took, in order.
    pub fn events_of(&self, n: usize) -> Vec<Event> {
        self.lock()
            .get(n)
            .map(|e| e.events.clone())
            .unwrap_or_default()
    }

    /// How environment `n` ended: `None` while it runs.
    pub fn exit_status(&self, n: usize) -> Option<ExitStatus> {
        self.lock().get(n).and_then(|e| e.exit.get())
    }
}
