//! The audit trail: recording an event (handed to the store writer, so a request never
//! waits for its event to be committed), reading events back, and the sweep that keeps
//! them within their retention. Also Hearth's KMS keys, which the store keeps beside.

use std::time::Duration;

use hearth_model::audit::{AuditEvent, AuditPage, AuditQuery, AuditRetention};
use hearth_model::time::now_ms;
use hearth_store::Change;

use crate::error::EngineError;
use crate::Engine;

/// How often the audit sweep runs.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

impl Engine {
    /// Records an event; returns at once (the writer commits it with its next group).
    pub fn record_audit(&self, event: AuditEvent) {
        self.writer()
            .submit_all(vec![Change::Audit(Box::new(event))]);
    }

    /// A page of recorded events, newest first.
    pub async fn lookup_audit(&self, query: AuditQuery) -> Result<AuditPage, EngineError> {
        let store = self.store().clone();
        Ok(tokio::task::spawn_blocking(move || store.audit().lookup_audit(&query)).await??)
    }

    /// Expires events beyond `keep` now and every few minutes while the engine lives.
    pub fn spawn_audit_sweeper(&self, keep: AuditRetention) {
        let weak = std::sync::Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let engine = Engine { inner };
                // One node of a fleet sweeps; its lease outlives two ticks.
                let ttl = SWEEP_EVERY * 2 + std::time::Duration::from_secs(1);
                let swept = tokio::task::spawn_blocking(move || {
                    if !engine.holds_lease("audit-retention-sweep", ttl) {
                        return Ok(0);
                    }
                    engine.store().audit().expire_audit(now_ms(), keep)
                })
                .await;
                match swept {
                    Ok(Ok(0)) => {}
                    Ok(Ok(rows)) => tracing::info!(rows, "expired old audit events"),
                    Ok(Err(e)) => tracing::warn!(error = %e, "audit retention sweep failed"),
                    Err(e) => tracing::warn!(error = %e, "audit retention sweep failed"),
                }
            }
        });
    }
}

/// Hearth's KMS keys (`KMSKeyArn`), kept by the store.
impl Engine {
    /// Makes a key of `account`; returns its description.
    pub async fn create_kms_key(
        &self,
        account: String,
        description: String,
    ) -> Result<hearth_store::KmsKeyInfo, EngineError> {
        let store = self.store().clone();
        Ok(
            tokio::task::spawn_blocking(move || store.kms().create_kms_key(&account, &description))
                .await??,
        )
    }

    pub async fn list_kms_keys(&self) -> Result<Vec<hearth_store::KmsKeyInfo>, EngineError> {
        let store = self.store().clone();
        Ok(tokio::task::spawn_blocking(move || store.kms().list_kms_keys()).await??)
    }

    /// Whether `arn` names a Hearth key (of the account in the ARN).
    pub fn kms_key_exists(&self, arn: &str) -> bool {
        self.store().kms().kms_key_exists(arn)
    }
}
