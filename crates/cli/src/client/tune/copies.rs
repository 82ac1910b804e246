//! The isolated copies a tuning run makes (one function per memory size), and the promise
//! that none outlives the run: every copy is recorded before CreateFunction is sent, and
//! deleted when it is measured, when the run fails (on drop), and on SIGINT, SIGTERM or
//! SIGHUP (a signal thread deletes what is left, then exits with status 130).

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use ureq::http::Method;

use crate::client::http::{function_path, ApiError, Client};

/// The copies alive, shared with the signal thread.
pub struct Copies {
    client: Arc<Client>,
    live: Arc<Mutex<Vec<String>>>,
}

fn lock(live: &Mutex<Vec<String>>) -> MutexGuard<'_, Vec<String>> {
    // A panic while holding the list leaves it as it was: still the names to delete.
    live.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Deletes each function of `live`; keeps the names it could not delete (and says so).
fn delete_all(client: &Client, live: &mut Vec<String>) {
    live.retain(
        |name| match client.call(Method::DELETE, &function_path(name), None) {
            Ok(_) => false,
            Err(err)
                if err
                    .downcast_ref::<ApiError>()
                    .is_some_and(|e| e.code == "ResourceNotFoundException") =>
            {
                false
            }
            Err(err) => {
                eprintln!("warning: could not delete the tuning copy {name}: {err:#}");
                true
            }
        },
    );
}

impl Copies {
    pub fn new(client: Arc<Client>) -> Self {
        Self {
            client,
            live: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Starts the thread that deletes the copies on SIGINT, SIGTERM or SIGHUP and exits.
    pub fn delete_on_signal(&self) -> anyhow::Result<()> {
        use tokio::signal::unix::{signal, SignalKind};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        // Registered here, before the first copy exists, so no signal finds one unguarded.
        let (mut int, mut term, mut hup) = runtime.block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
                signal(SignalKind::hangup())?,
            ))
        })?;
        let client = Arc::clone(&self.client);
        let live = Arc::clone(&self.live);
        std::thread::Builder::new()
            .name("tune-signals".into())
            .spawn(move || {
                runtime.block_on(async {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                        _ = hup.recv() => {}
                    }
                });
                // Held until exit: a CreateFunction under way finishes first, then its copy
                // is deleted with the others, and no new one can start.
                let mut names = lock(&live);
                eprintln!("\ninterrupted: deleting {} tuning cop(ies)", names.len());
                delete_all(&client, &mut names);
                std::process::exit(130);
            })?;
        Ok(())
    }

    /// Creates a copy (CreateFunction with `body`), recorded first so that it is deleted
    /// whatever happens next.
    pub fn create(&self, name: &str, body: &Value) -> anyhow::Result<()> {
        let mut live = lock(&self.live);
        live.push(name.to_string());
        self.client
            .call(Method::POST, "/2015-03-31/functions", Some(body))?;
        Ok(())
    }

    /// Deletes one copy now (its measurements are done).
    pub fn delete(&self, name: &str) {
        let mut live = lock(&self.live);
        let mut one = vec![name.to_string()];
        delete_all(&self.client, &mut one);
        if one.is_empty() {
            live.retain(|n| n != name);
        }
    }

    /// Deletes every copy still alive; the names that could not be deleted.
    pub fn finish(&self) -> Vec<String> {
        let mut live = lock(&self.live);
        delete_all(&self.client, &mut live);
        live.clone()
    }
}

impl Drop for Copies {
    fn drop(&mut self) {
        self.finish();
    }
}
