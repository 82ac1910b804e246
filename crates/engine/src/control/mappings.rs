//! Event-source mappings' records (the store's `MappingStore`), read and written here off
//! the async threads, and the one question about a function's execution role that a new
//! mapping needs answered (may the role poll the queue).

use hearth_model::event_source_mapping::EventSourceMapping;
use hearth_store::{Edited, MappingStore, StoreError};

use crate::{Engine, EngineError};

impl Engine {
    async fn on_mappings<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn MappingStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let store = self.store().clone();
        Ok(tokio::task::spawn_blocking(move || f(store.mappings())).await??)
    }

    /// Inserts a new mapping: `Err` with the UUID of the mapping that already joins its
    /// function and source.
    pub async fn insert_mapping(
        &self,
        m: EventSourceMapping,
    ) -> Result<Result<(), String>, EngineError> {
        self.on_mappings(move |s| match s.insert_mapping(&m) {
            Ok(()) => Ok(Ok(())),
            Err(StoreError::Exists(uuid)) => Ok(Err(uuid)),
            Err(e) => Err(e),
        })
        .await
    }

    pub async fn mapping(&self, uuid: String) -> Result<Option<EventSourceMapping>, EngineError> {
        self.on_mappings(move |s| s.get_mapping(&uuid)).await
    }

    /// `account`'s mappings in UUID order after `after`, at most `limit`, of one function
    /// and one source when given.
    pub async fn list_mappings(
        &self,
        account: String,
        function_arn: Option<String>,
        source_arn: Option<String>,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<EventSourceMapping>, EngineError> {
        self.on_mappings(move |s| {
            s.list_mappings(
                &account,
                function_arn.as_deref(),
                source_arn.as_deref(),
                after.as_deref(),
                limit,
            )
        })
        .await
    }

    /// Changes one mapping atomically; `edit` answers whether to write.
    pub async fn edit_mapping(
        &self,
        uuid: String,
        edit: impl FnOnce(&mut EventSourceMapping) -> bool + Send + 'static,
    ) -> Result<Edited<EventSourceMapping>, EngineError> {
        self.on_mappings(move |s| s.edit_mapping(&uuid, Box::new(edit)))
            .await
    }
}
