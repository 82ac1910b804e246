//! HTTP APIs' records, typed: the engine keeps them as JSON (`Engine::*http_api*`), and
//! this is the one place of the module that reads and writes them.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{GwError, GwResult};
use super::model::Api;
use crate::AppState;
use hearth_engine::{EngineError, Inserted};

impl From<EngineError> for GwError {
    fn from(e: EngineError) -> Self {
        Self::internal(e)
    }
}

fn decode<T: DeserializeOwned>(data: &str) -> GwResult<T> {
    serde_json::from_str(data).map_err(GwError::internal)
}

fn encode<T: Serialize>(record: &T) -> GwResult<String> {
    serde_json::to_string(record).map_err(GwError::internal)
}

/// The API `id` of `account`: AWS's NotFoundException for another account's or none.
pub(crate) async fn api(s: &AppState, account: &str, id: &str) -> GwResult<Api> {
    match find_api(s, id).await? {
        Some((owner, api)) if owner == account => Ok(api),
        _ => Err(GwError::no_api(account, id)),
    }
}

/// The API `id` and its account, whoever owns it (the data plane's lookup).
pub(crate) async fn find_api(s: &AppState, id: &str) -> GwResult<Option<(String, Api)>> {
    let found = s.engine.http_api(id.to_string()).await?;
    found
        .map(|(account, data)| Ok((account, decode(&data)?)))
        .transpose()
}

pub(crate) async fn insert_api(s: &AppState, account: &str, api: &Api) -> GwResult<()> {
    let inserted = s
        .engine
        .insert_http_api(account.to_string(), api.api_id.clone(), encode(api)?)
        .await?;
    if inserted {
        Ok(())
    } else {
        Err(GwError::conflict(
            "Unable to complete operation due to concurrent modification. Please try again later.",
        ))
    }
}

pub(crate) async fn put_api(s: &AppState, api: &Api) -> GwResult<()> {
    s.engine
        .put_http_api(api.api_id.clone(), encode(api)?)
        .await?;
    Ok(())
}

pub(crate) async fn list_apis(
    s: &AppState,
    account: &str,
    after: Option<String>,
    limit: usize,
) -> GwResult<Vec<Api>> {
    let rows = s
        .engine
        .list_http_apis(account.to_string(), after, limit)
        .await?;
    rows.iter().map(|d| decode(d)).collect()
}

pub(crate) async fn delete_api(s: &AppState, id: &str) -> GwResult<bool> {
    Ok(s.engine.delete_http_api(id.to_string()).await?)
}

/// Inserts a child: false if the API already has one of that kind and id.
pub(crate) async fn insert_child<T: Serialize>(
    s: &AppState,
    api: &str,
    kind: &'static str,
    id: &str,
    record: &T,
) -> GwResult<bool> {
    let outcome = s
        .engine
        .insert_http_api_child(api.to_string(), kind, id.to_string(), encode(record)?)
        .await?;
    match outcome {
        Inserted::Yes => Ok(true),
        Inserted::Taken => Ok(false),
        // Deleted since the handler read it.
        Inserted::NoApi => Err(GwError::not_found(format!(
            "Invalid API identifier specified {api}"
        ))),
    }
}

pub(crate) async fn put_child<T: Serialize>(
    s: &AppState,
    api: &str,
    kind: &'static str,
    id: &str,
    record: &T,
) -> GwResult<()> {
    s.engine
        .put_http_api_child(api.to_string(), kind, id.to_string(), encode(record)?)
        .await?;
    Ok(())
}

pub(crate) async fn child<T: DeserializeOwned>(
    s: &AppState,
    api: &str,
    kind: &'static str,
    id: &str,
) -> GwResult<Option<T>> {
    let found = s
        .engine
        .http_api_child(api.to_string(), kind, id.to_string())
        .await?;
    found.as_deref().map(decode).transpose()
}

pub(crate) async fn children<T: DeserializeOwned>(
    s: &AppState,
    api: &str,
    kind: &'static str,
) -> GwResult<Vec<T>> {
    let rows = s.engine.http_api_children(api.to_string(), kind).await?;
    rows.iter().map(|d| decode(d)).collect()
}

pub(crate) async fn delete_child(
    s: &AppState,
    api: &str,
    kind: &'static str,
    id: &str,
) -> GwResult<bool> {
    Ok(s.engine
        .delete_http_api_child(api.to_string(), kind, id.to_string())
        .await?)
}
