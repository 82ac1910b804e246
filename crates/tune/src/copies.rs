//! The isolated copies a tuning run makes (one function per memory size), and the promise
//! that none outlives the run: every copy is recorded before its CreateFunction is sent, and
//! deleted when it is measured, when the run ends however it ends, when [`Copies`] is
//! dropped, and, through an [`Interrupt`], from a signal handler (`hearth tune` on SIGINT).

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::api::{function_path, Api};

/// The copies alive.
pub(crate) struct Copies {
    api: Arc<dyn Api>,
    live: Arc<Mutex<Vec<String>>>,
}

/// A handle on the copies alive, for a signal handler (see [`Interrupt::delete_all`]).
#[derive(Clone)]
pub struct Interrupt {
    api: Arc<dyn Api>,
    live: Arc<Mutex<Vec<String>>>,
}

fn lock(live: &Mutex<Vec<String>>) -> MutexGuard<'_, Vec<String>> {
    // A panic while holding the list leaves it as it was: still the names to delete.
    live.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Deletes each function of `live`; keeps the names it could not delete (and says so).
fn delete_all(api: &dyn Api, live: &mut Vec<String>) {
    live.retain(|name| {
        let failed = match api.send("DELETE", &function_path(name), &[], None) {
            Ok(reply) if reply.is_success() => None,
            Ok(reply) => {
                let failure = reply.failure();
                // Already gone: nothing to delete.
                (failure.code != "ResourceNotFoundException").then(|| failure.to_string())
            }
            Err(e) => Some(e),
        };
        match failed {
            None => false,
            Some(why) => {
                api.warn(&format!("could not delete the tuning copy {name}: {why}"));
                true
            }
        }
    });
}

impl Copies {
    pub(crate) fn new(api: Arc<dyn Api>) -> Self {
        Self {
            api,
            live: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub(crate) fn api(&self) -> &dyn Api {
        self.api.as_ref()
    }

    pub(crate) fn interrupt(&self) -> Interrupt {
        Interrupt {
            api: Arc::clone(&self.api),
            live: Arc::clone(&self.live),
        }
    }

    /// Creates a copy (CreateFunction with `body`), recorded first so that it is deleted
    /// whatever happens next. The list is held meanwhile: an interrupt waits for the
    /// CreateFunction under way, then deletes its copy with the others.
    pub(crate) fn create(&self, name: &str, body: &Value) -> Result<(), crate::Why> {
        let mut live = lock(&self.live);
        live.push(name.to_string());
        let body = serde_json::to_vec(body).map_err(|e| crate::Why::Other(e.to_string()))?;
        let reply = self
            .api
            .send("POST", "/2015-03-31/functions", &[], Some(body))
            .map_err(crate::Why::Transport)?;
        if !reply.is_success() {
            return Err(crate::Why::Api(reply.failure()));
        }
        Ok(())
    }

    /// Deletes one copy now (its measurements are done).
    pub(crate) fn delete(&self, name: &str) {
        let mut live = lock(&self.live);
        let mut one = vec![name.to_string()];
        delete_all(self.api.as_ref(), &mut one);
        if one.is_empty() {
            live.retain(|n| n != name);
        }
    }

    /// Deletes every copy still alive; the names that could not be deleted.
    pub(crate) fn finish(&self) -> Vec<String> {
        let mut live = lock(&self.live);
        delete_all(self.api.as_ref(), &mut live);
        live.clone()
    }
}

impl Drop for Copies {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Interrupt {
    /// Deletes every copy alive, telling `before` how many there are, and runs `then` with
    /// the list still held: no copy can be created from the moment the deletion starts
    /// until `then` returns (`hearth tune` exits in it).
    pub fn delete_all<R>(&self, before: impl FnOnce(usize), then: impl FnOnce() -> R) -> R {
        let mut names = lock(&self.live);
        before(names.len());
        delete_all(self.api.as_ref(), &mut names);
        then()
    }
}
