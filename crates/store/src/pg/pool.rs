//! Connections to PostgreSQL for a store whose traits are synchronous.
//!
//! The store traits are called from the server's async tasks as plain functions (as the
//! embedded SQLite store is), and their read-modify-write closures are neither `Send`
//! nor `'static`, so they must run on the caller's thread, inside a transaction held
//! across the database round trips. `tokio-postgres` splits a connection in two: the
//! [`Connection`](tokio_postgres::Connection), which does the socket I/O and runs as a
//! task on a small runtime of the store's own, and the [`Client`], whose futures only
//! exchange messages with that task and so can be waited on from any thread
//! ([`wait`]), an async worker's included, without entering a runtime. A caller thus
//! holds a pooled client, runs `BEGIN`, its reads, its closure and its writes, and
//! commits, each step waited on in place.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio_postgres::{Client, Config, NoTls};

use crate::StoreError;

/// How long a connection attempt may take when the URL does not say.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long data sent to the database may go unacknowledged before the connection is
/// given up, and how soon an idle connection's peer is probed: a node cut off from the
/// network sees its store calls fail within seconds (and reconnects when it is back)
/// rather than waiting out the kernel's retransmissions for a quarter of an hour.
const TCP_USER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
const KEEPALIVE_IDLE: std::time::Duration = std::time::Duration::from_secs(5);
const KEEPALIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);
const KEEPALIVE_RETRIES: u32 = 3;

/// Connections kept open between uses; more are opened when all are busy.
const MAX_IDLE: usize = 16;

/// Waits for `f` on the calling thread. For `Client` futures only (and others that need
/// no runtime): anything that does I/O itself goes through [`Pool::on_runtime`].
pub(crate) fn wait<F: Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

/// A database error as the store's (a full disk told apart, as SQLite's is).
pub(crate) fn backend(e: tokio_postgres::Error) -> StoreError {
    if e.code() == Some(&tokio_postgres::error::SqlState::DISK_FULL) {
        return StoreError::DiskFull(e.to_string());
    }
    StoreError::Backend(Box::new(e))
}

/// The store's connections and the runtime their I/O runs on.
pub(crate) struct Pool {
    /// `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    config: Config,
    idle: Mutex<Vec<Client>>,
}

impl Pool {
    /// Parses `url` (`postgres://user:password@host:port/db`, or the key=value form) and
    /// opens one connection to check that it works.
    pub(crate) fn connect(url: &str) -> Result<Arc<Self>, StoreError> {
        let mut config: Config = url.parse().map_err(backend)?;
        // An unreachable database fails a connection attempt rather than hanging it
        // (libpq's default is to wait forever); a URL's own `connect_timeout` wins.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(TCP_USER_TIMEOUT);
        }
        if config.get_keepalives_interval().is_none() {
            config
                .keepalives(true)
                .keepalives_idle(KEEPALIVE_IDLE)
                .keepalives_interval(KEEPALIVE_INTERVAL)
                .keepalives_retries(KEEPALIVE_RETRIES);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hearth-postgres")
            .enable_all()
            .build()?;
        let pool = Arc::new(Self {
            runtime: Some(runtime),
            config,
            idle: Mutex::new(Vec::new()),
        });
        let first = pool.open()?;
        pool.idle().push(first);
        Ok(pool)
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Client>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the store's runtime and waits for it (for what does I/O itself:
    /// connecting, listening).
    pub(crate) fn on_runtime<F>(&self, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = self.runtime().spawn(f);
        match wait(handle) {
            Ok(out) => out,
            // The task panicked: the same panic, on the caller's thread.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// A handle to the store's runtime (for tasks of the store's own, as the listener).
    pub(crate) fn runtime(&self) -> tokio::runtime::Handle {
        self.runtime
            .as_ref()
            .expect("a runtime until dropped")
            .handle()
            .clone()
    }

    /// The connection settings (for a connection of its own, as the listener's).
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// A new connection, its I/O task running on the store's runtime.
    fn open(&self) -> Result<Client, StoreError> {
        let config = self.config.clone();
        self.on_runtime(async move {
            let (client, connection) = config.connect(NoTls).await.map_err(backend)?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "a PostgreSQL connection ended");
                }
            });
            Ok(client)
        })
    }

    /// A connection for one operation; it goes back to the pool when dropped.
    pub(crate) fn get(&self) -> Result<Conn<'_>, StoreError> {
        let reused = loop {
            match self.idle().pop() {
                Some(c) if c.is_closed() => continue,
                other => break other,
            }
        };
        let client = match reused {
            Some(c) => c,
            None => self.open()?,
        };
        Ok(Conn {
            client: Some(client),
            pool: self,
        })
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Dropping a runtime waits for its tasks, which an async worker (where the last
        // handle to a store may go) must not do: its tasks are stopped without waiting.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// A pooled connection (it derefs to the `tokio-postgres` [`Client`]).
pub(crate) struct Conn<'p> {
    client: Option<Client>,
    pool: &'p Pool,
}

impl std::ops::Deref for Conn<'_> {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.client.as_ref().expect("a connection until dropped")
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("a connection until dropped")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            // A transaction left open (an error between BEGIN and COMMIT) was rolled back
            // by dropping it, which tokio-postgres does by queueing a ROLLBACK on the
            // connection before this one's next use.
            let mut idle = self.pool.idle();
            if !c.is_closed() && idle.len() < MAX_IDLE {
                idle.push(c);
            }
        }
    }
}
