//! API Gateway HTTP APIs' records (the store's `HttpApiStore`): JSON records whose shapes
//! the API layer owns, read and written here off the async threads.

use hearth_store::{HttpApiStore, StoreError};

use crate::{Engine, EngineError};

/// Whether a child record went in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Yes,
    /// The API has a record of that kind and id.
    Taken,
    /// The API is gone.
    NoApi,
}

impl Engine {
    async fn on_http_apis<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn HttpApiStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let store = self.store().clone();
        Ok(tokio::task::spawn_blocking(move || f(store.http_apis())).await??)
    }

    /// Inserts an API of `account`; false if its id is taken.
    pub async fn insert_http_api(
        &self,
        account: String,
        id: String,
        data: String,
    ) -> Result<bool, EngineError> {
        self.on_http_apis(move |s| match s.insert_http_api(&account, &id, &data) {
            Ok(()) => Ok(true),
            Err(StoreError::Exists(_)) => Ok(false),
            Err(e) => Err(e),
        })
        .await
    }

    /// An API's account and record.
    pub async fn http_api(&self, id: String) -> Result<Option<(String, String)>, EngineError> {
        self.on_http_apis(move |s| s.get_http_api(&id)).await
    }

    /// `account`'s API records in id order after `after`, at most `limit`.
    pub async fn list_http_apis(
        &self,
        account: String,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<String>, EngineError> {
        self.on_http_apis(move |s| s.list_http_apis(&account, after.as_deref(), limit))
            .await
    }

    pub async fn put_http_api(&self, id: String, data: String) -> Result<bool, EngineError> {
        self.on_http_apis(move |s| s.put_http_api(&id, &data)).await
    }

    /// Deletes an API with its children.
    pub async fn delete_http_api(&self, id: String) -> Result<bool, EngineError> {
        self.on_http_apis(move |s| s.delete_http_api(&id)).await
    }

    pub async fn insert_http_api_child(
        &self,
        api: String,
        kind: &'static str,
        id: String,
        data: String,
    ) -> Result<Inserted, EngineError> {
        self.on_http_apis(
            move |s| match s.insert_http_api_child(&api, kind, &id, &data) {
                Ok(true) => Ok(Inserted::Yes),
                Ok(false) => Ok(Inserted::NoApi),
                Err(StoreError::Exists(_)) => Ok(Inserted::Taken),
                Err(e) => Err(e),
            },
        )
        .await
    }

    pub async fn put_http_api_child(
        &self,
        api: String,
        kind: &'static str,
        id: String,
        data: String,
    ) -> Result<bool, EngineError> {
        self.on_http_apis(move |s| s.put_http_api_child(&api, kind, &id, &data))
            .await
    }

    pub async fn http_api_child(
        &self,
        api: String,
        kind: &'static str,
        id: String,
    ) -> Result<Option<String>, EngineError> {
        self.on_http_apis(move |s| s.get_http_api_child(&api, kind, &id))
            .await
    }

    /// An API's children of `kind` in id order.
    pub async fn http_api_children(
        &self,
        api: String,
        kind: &'static str,
    ) -> Result<Vec<String>, EngineError> {
        self.on_http_apis(move |s| s.list_http_api_children(&api, kind))
            .await
    }

    pub async fn delete_http_api_child(
        &self,
        api: String,
        kind: &'static str,
        id: String,
    ) -> Result<bool, EngineError> {
        self.on_http_apis(move |s| s.delete_http_api_child(&api, kind, &id))
            .await
    }
}
