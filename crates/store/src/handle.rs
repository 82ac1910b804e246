//! [`Store`]: the handle the engine and the async queue hold, which exposes a store's
//! parts as trait objects and names no database.

use std::path::Path;
use std::sync::Arc;

use crate::{
    AuditStore, ChangeStore, CodeStore, ConsoleStore, EventsStore, FleetStore, HttpApiStore,
    KeyStore, KmsStore, LayerStore, LogStore, MappingStore, MetadataStore, MetricStore, QueueStore,
    ResourceStore, RoleStore, SchemaStore, SnsStore, SqliteStore, SqsStore, StoreError,
};

/// A store's parts. Cheap to clone (one reference count: a handle is cloned with every
/// request's state); every clone is the same store.
#[derive(Clone)]
pub struct Store {
    parts: Arc<Parts>,
}

struct Parts {
    metadata: Arc<dyn MetadataStore>,
    resources: Arc<dyn ResourceStore>,
    roles: Arc<dyn RoleStore>,
    code: Arc<dyn CodeStore>,
    logs: Arc<dyn LogStore>,
    queue: Arc<dyn QueueStore>,
    changes: Arc<dyn ChangeStore>,
    audit: Arc<dyn AuditStore>,
    kms: Arc<dyn KmsStore>,
    keys: Arc<dyn KeyStore>,
    fleet: Arc<dyn FleetStore>,
    http_apis: Arc<dyn HttpApiStore>,
    sqs: Arc<dyn SqsStore>,
    sns: Arc<dyn SnsStore>,
    mappings: Arc<dyn MappingStore>,
    events: Arc<dyn EventsStore>,
    metrics: Arc<dyn MetricStore>,
    layers: Arc<dyn LayerStore>,
    console: Arc<dyn ConsoleStore>,
    schemas: Arc<dyn SchemaStore>,
}

impl Store {
    /// Runs `f` with this store on tokio's blocking pool: for a store call made from a
    /// task, which would otherwise hold its worker while it waits for the store's lock
    /// and its commit.
    pub async fn off_worker<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?
    }

    /// The embedded store (SQLite) in the data directory `root`.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        Ok(Self::new(Arc::new(SqliteStore::open(root)?)))
    }

    /// [`Store::open`], sealing secrets under the server's `key`.
    pub fn open_sealed(root: &Path, key: &crate::seal::SealKey) -> Result<Self, StoreError> {
        Ok(Self::new(Arc::new(SqliteStore::open_sealed(root, key)?)))
    }

    /// The store on the PostgreSQL database at `url` (a fleet's), sealing secrets under
    /// `key` and unpacking code under `cache`.
    pub fn open_postgres(
        url: &str,
        cache: &Path,
        key: &crate::seal::SealKey,
    ) -> Result<Self, StoreError> {
        Ok(Self::new(Arc::new(crate::PgStore::open(url, cache, key)?)))
    }

    /// A store whose parts are all one backend.
    pub fn new<B>(backend: Arc<B>) -> Self
    where
        B: MetadataStore
            + ResourceStore
            + RoleStore
            + CodeStore
            + LogStore
            + QueueStore
            + ChangeStore
            + AuditStore
            + KmsStore
            + KeyStore
            + FleetStore
            + HttpApiStore
            + SqsStore
            + SnsStore
            + MappingStore
            + EventsStore
            + MetricStore
            + LayerStore
            + ConsoleStore
            + SchemaStore
            + 'static,
    {
        let parts = Parts {
            metadata: backend.clone(),
            resources: backend.clone(),
            roles: backend.clone(),
            code: backend.clone(),
            logs: backend.clone(),
            queue: backend.clone(),
            audit: backend.clone(),
            kms: backend.clone(),
            keys: backend.clone(),
            fleet: backend.clone(),
            http_apis: backend.clone(),
            sqs: backend.clone(),
            sns: backend.clone(),
            mappings: backend.clone(),
            events: backend.clone(),
            metrics: backend.clone(),
            layers: backend.clone(),
            console: backend.clone(),
            schemas: backend.clone(),
            changes: backend,
        };
        Self {
            parts: Arc::new(parts),
        }
    }

    /// Functions, versions, aliases, concurrency, asynchronous invocation settings and
    /// log retention, with their change notifications.
    pub fn metadata(&self) -> &dyn MetadataStore {
        &*self.parts.metadata
    }

    /// Access keys.
    pub fn keys(&self) -> &dyn KeyStore {
        &*self.parts.keys
    }

    /// The fleet's nodes and leases (one node, on the embedded store).
    pub fn fleet(&self) -> &dyn FleetStore {
        &*self.parts.fleet
    }

    /// Tags, resource-based policies and per-function settings.
    pub fn resources(&self) -> &dyn ResourceStore {
        &*self.parts.resources
    }

    /// IAM roles.
    pub fn roles(&self) -> &dyn RoleStore {
        &*self.parts.roles
    }

    /// Code blobs and their unpacked directories.
    pub fn code(&self) -> &dyn CodeStore {
        &*self.parts.code
    }

    /// The code blobs alone, shared: for a part (the engine's executor) that reads code
    /// and nothing else of the store.
    pub fn code_handle(&self) -> Arc<dyn CodeStore> {
        self.parts.code.clone()
    }

    /// Reading, expiring and deleting invocation logs.
    pub fn logs(&self) -> &dyn LogStore {
        &*self.parts.logs
    }

    /// The async queue's durable rows.
    pub fn queue(&self) -> &dyn QueueStore {
        &*self.parts.queue
    }

    /// What the [`crate::Writer`] applies its groups of changes to (callers hand changes
    /// to the writer; tests may apply them directly).
    pub fn changes(&self) -> &dyn ChangeStore {
        &*self.parts.changes
    }

    /// The audit trail.
    pub fn audit(&self) -> &dyn AuditStore {
        &*self.parts.audit
    }

    /// Hearth's KMS keys.
    pub fn kms(&self) -> &dyn KmsStore {
        &*self.parts.kms
    }

    /// API Gateway HTTP APIs.
    pub fn http_apis(&self) -> &dyn HttpApiStore {
        &*self.parts.http_apis
    }

    /// SQS queues and messages.
    pub fn sqs(&self) -> &dyn SqsStore {
        &*self.parts.sqs
    }

    /// The SQS part alone, shared: for `hearth-sqs`'s committing thread.
    pub fn sqs_handle(&self) -> Arc<dyn SqsStore> {
        self.parts.sqs.clone()
    }

    /// SNS topics, subscriptions and pending deliveries.
    pub fn sns(&self) -> &dyn SnsStore {
        &*self.parts.sns
    }

    /// Lambda layers' versions.
    pub fn layers(&self) -> &dyn LayerStore {
        &*self.parts.layers
    }

    /// Event-source mappings.
    pub fn mappings(&self) -> &dyn MappingStore {
        &*self.parts.mappings
    }

    /// EventBridge buses and rules, Scheduler groups and schedules, their fire progress
    /// and pending target deliveries.
    pub fn events(&self) -> &dyn EventsStore {
        &*self.parts.events
    }

    /// CloudWatch metric series and points, metric alarms with their history, and
    /// metering; shared, as the metrics service holds it.
    pub fn metrics(&self) -> &Arc<dyn MetricStore> {
        &self.parts.metrics
    }

    /// The web console's signed-out sessions, shared by every node of a fleet.
    pub fn console(&self) -> &dyn ConsoleStore {
        &*self.parts.console
    }

    /// EventBridge Schemas' registries and schemas, per account.
    pub fn schemas(&self) -> &dyn SchemaStore {
        &*self.parts.schemas
    }

    pub(crate) fn change_store(&self) -> Arc<dyn ChangeStore> {
        self.parts.changes.clone()
    }
}
