//! A function's log group: its retention (CloudWatch's PutRetentionPolicy and
//! DeleteRetentionPolicy), deleting it (DeleteLogGroup, `hearth logs NAME --delete`),
//! and the background sweep that expires old lines, including those of deleted
//! functions.

use std::time::Duration;

use hearth_model::time::now_ms;
use hearth_store::{LogGroupInfo, LogStreamInfo, Store};

use crate::error::{EngineError, NotFound};
use crate::Engine;

/// How the sweep runs.
#[derive(Debug, Clone, Copy)]
pub struct RetentionConfig {
    /// Days a function's logs are kept unless it has its own retention.
    pub default_days: u32,
    /// How often old lines are looked for.
    pub sweep_every: Duration,
    /// Added to the clock when deciding what is old (tests of retention use it to be
    /// days ahead without waiting days).
    pub clock_offset: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            default_days: 30,
            sweep_every: Duration::from_secs(600),
            clock_offset: Duration::ZERO,
        }
    }
}

fn no_group() -> EngineError {
    NotFound::LogGroup.into()
}

impl Engine {
    /// Waits until the log lines handed to the writer so far are committed, so that what
    /// is read or deleted next includes them (every invocation that has answered handed
    /// its lines over first). A failed write is logged as `after`: lines that could not be
    /// stored are gone, and the rest can still be read.
    pub(crate) async fn commit_handed_lines(&self, after: &str) {
        if let Err(e) = self.inner.writer.flush().await {
            tracing::warn!(error = %e, "{after}");
        }
    }

    /// Whether `/aws/lambda/<function>` exists: the function does, or it left logs or a
    /// retention behind.
    pub async fn log_group_exists(&self, function: &str) -> Result<bool, EngineError> {
        let store = self.inner.store.clone();
        let name = function.to_string();
        blocking(move || {
            Ok(store.metadata().get_function(&name)?.is_some()
                || store.logs().has_logs(&name)?
                || store.metadata().retention(&name)?.is_some())
        })
        .await
    }

    /// Sets how many days a function's logs are kept: one of CloudWatch's values,
    /// [`hearth_store::RETENTION_DAYS`] (the api checks it).
    pub async fn put_log_retention(&self, function: &str, days: u32) -> Result<(), EngineError> {
        if !self.log_group_exists(function).await? {
            return Err(no_group());
        }
        let store = self.inner.store.clone();
        let name = function.to_string();
        blocking(move || store.metadata().put_retention(&name, days)).await
    }

    /// The function's logs are kept for the server's default again.
    pub async fn delete_log_retention(&self, function: &str) -> Result<(), EngineError> {
        if !self.log_group_exists(function).await? {
            return Err(no_group());
        }
        let store = self.inner.store.clone();
        let name = function.to_string();
        blocking(move || store.metadata().delete_retention(&name).map(drop)).await
    }

    /// Deletes every log line of a function and its retention. A function that still
    /// exists starts a new log group with its next line, as on Lambda.
    pub async fn delete_log_group(&self, function: &str) -> Result<(), EngineError> {
        // Lines already handed to the writer would otherwise land after the delete.
        self.commit_handed_lines("log lines before a log group deletion were not stored")
            .await;
        let store = self.inner.store.clone();
        let name = function.to_string();
        let existed = blocking(move || {
            let existed = store.logs().delete_log_group(&name)?;
            store.logs().release_space();
            Ok(existed)
        })
        .await?;
        if !existed && !self.log_group_exists(function).await? {
            return Err(no_group());
        }
        Ok(())
    }

    /// Every log group with lines or a retention (a function that has logged nothing
    /// has no group yet, as on Lambda), in name order.
    pub async fn log_groups(&self) -> Result<Vec<LogGroupInfo>, EngineError> {
        // A group its first invocation made is listed once that invocation has answered,
        // not after the writer's next commit.
        self.commit_handed_lines("listing log groups after a failed write")
            .await;
        let store = self.inner.store.clone();
        blocking(move || store.logs().log_groups()).await
    }

    /// A function's log streams (one per execution environment), in name order.
    pub async fn log_streams(&self, function: &str) -> Result<Vec<LogStreamInfo>, EngineError> {
        self.commit_handed_lines("listing log streams after a failed write")
            .await;
        if !self.log_group_exists(function).await? {
            return Err(no_group());
        }
        let store = self.inner.store.clone();
        let name = function.to_string();
        blocking(move || store.logs().log_streams(&name)).await
    }

    /// Expires old log lines now; returns how many rows went.
    pub async fn sweep_logs(&self, config: RetentionConfig) -> Result<usize, EngineError> {
        let store = self.inner.store.clone();
        blocking(move || sweep(&store, config)).await
    }

    /// Runs [`Self::sweep_logs`] every `sweep_every` while the engine lives.
    pub fn spawn_log_sweeper(&self, config: RetentionConfig) {
        let weak = std::sync::Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(config.sweep_every);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let engine = Engine { inner };
                // One node of a fleet sweeps; its lease outlives two ticks.
                let lease = engine.clone();
                let ttl = config.sweep_every * 2 + std::time::Duration::from_secs(1);
                let mine = tokio::task::spawn_blocking(move || {
                    lease.holds_lease("log-retention-sweep", ttl)
                })
                .await
                .unwrap_or(false);
                if !mine {
                    continue;
                }
                match engine.sweep_logs(config).await {
                    Ok(0) => {}
                    Ok(rows) => tracing::info!(rows, "expired old log lines"),
                    Err(e) => tracing::warn!(error = %e, "log retention sweep failed"),
                }
            }
        });
    }
}

fn sweep(store: &Store, config: RetentionConfig) -> Result<usize, hearth_store::StoreError> {
    let now = now_ms().saturating_add(config.clock_offset.as_millis() as i64);
    let rows = store.logs().expire_logs(now, config.default_days)?;
    if rows > 0 {
        store.logs().release_space();
    }
    Ok(rows)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, hearth_store::StoreError> + Send + 'static,
) -> Result<T, EngineError> {
    Ok(tokio::task::spawn_blocking(f).await??)
}
