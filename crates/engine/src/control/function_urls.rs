//! Function URLs: the `FunctionUrlConfig` operations (one URL per function and
//! qualifier, `$LATEST` or an alias; its id kept for its life) and the data plane's
//! lookup of a URL by its id.

use std::sync::Arc;

use hearth_model::arn::LATEST;
use hearth_model::function_url::{now_timestamp, FunctionUrl, UrlChange};
use hearth_model::FunctionRef;

use crate::error::{Conflict, EngineError, NotFound};
use crate::Engine;

/// Characters of a URL id: lower-case letters and digits, as Lambda's.
const ID_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A new URL id: 32 characters from 32 random bytes (two v4 UUIDs' 244 random bits;
/// the slight bias of `% 36` does not matter for an identifier).
fn new_url_id() -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes
        .iter()
        .map(|b| ID_CHARS[usize::from(*b) % ID_CHARS.len()] as char)
        .collect()
}

fn qualifier_of(r: &FunctionRef) -> &str {
    r.qualifier.as_deref().unwrap_or(LATEST)
}

impl Engine {
    /// CreateFunctionUrlConfig: a new URL for the function at its qualifier.
    pub fn create_function_url(
        &self,
        r: &FunctionRef,
        change: UrlChange,
    ) -> Result<FunctionUrl, EngineError> {
        let q = qualifier_of(r);
        let now = now_timestamp();
        let url = FunctionUrl {
            url_id: new_url_id(),
            function: r.name.clone(),
            qualifier: q.to_string(),
            // The check of the request requires it on create.
            auth_type: change
                .auth_type
                .ok_or(EngineError::MissingMember("AuthType"))?,
            cors: change.cors,
            invoke_mode: change.invoke_mode.unwrap_or_default(),
            creation_time: now.clone(),
            last_modified_time: now,
        };
        let created = self
            .inner
            .store
            .resources()
            .update_function_url(&r.name, q, |slot| match slot {
                Some(existing) => Err(existing.function_arn()),
                None => {
                    *slot = Some(url.clone());
                    Ok(())
                }
            })?;
        match created {
            Some(Ok(_)) => Ok(url),
            Some(Err(arn)) => Err(Conflict::FunctionUrlExists { arn }.into()),
            // The store finds the function and alias (`$LATEST` or an alias) missing.
            None => Err(NotFound::UrlFunction.into()),
        }
    }

    /// GetFunctionUrlConfig.
    pub fn get_function_url(&self, r: &FunctionRef) -> Result<FunctionUrl, EngineError> {
        self.inner
            .store
            .resources()
            .function_url(&r.name, qualifier_of(r))?
            .ok_or_else(|| NotFound::Resource.into())
    }

    /// UpdateFunctionUrlConfig: changes what `change` names, keeping the id.
    pub fn update_function_url(
        &self,
        r: &FunctionRef,
        change: UrlChange,
    ) -> Result<FunctionUrl, EngineError> {
        let now = now_timestamp();
        let updated =
            self.inner
                .store
                .resources()
                .update_function_url(&r.name, qualifier_of(r), |slot| match slot {
                    Some(url) => {
                        url.apply(&change, &now);
                        Ok(())
                    }
                    None => Err(()),
                })?;
        match updated {
            Some(Ok(Some(url))) => Ok(url),
            Some(Ok(None) | Err(())) => Err(NotFound::Resource.into()),
            None => Err(NotFound::UrlFunction.into()),
        }
    }

    /// DeleteFunctionUrlConfig.
    pub fn delete_function_url(&self, r: &FunctionRef) -> Result<(), EngineError> {
        let deleted =
            self.inner
                .store
                .resources()
                .update_function_url(&r.name, qualifier_of(r), |slot| match slot.take() {
                    Some(_) => Ok(()),
                    None => Err(()),
                })?;
        match deleted {
            Some(Ok(_)) => Ok(()),
            _ => Err(NotFound::Resource.into()),
        }
    }

    /// ListFunctionUrlConfigs: the function's URLs in qualifier order, at most
    /// `max_items` after `marker` (the last qualifier of the previous page), and the
    /// next marker.
    pub fn list_function_urls(
        &self,
        r: &FunctionRef,
        marker: Option<&str>,
        max_items: usize,
    ) -> Result<(Vec<FunctionUrl>, Option<String>), EngineError> {
        if self
            .inner
            .registry
            .get(&self.inner.store, &r.name)?
            .is_none()
        {
            return Err(NotFound::UrlFunction.into());
        }
        let max_items = max_items.max(1);
        let all = self.inner.store.resources().function_urls(&r.name)?;
        let mut rest: Vec<FunctionUrl> = all
            .into_iter()
            .filter(|u| marker.is_none_or(|m| u.qualifier.as_str() > m))
            .collect();
        let next = (rest.len() > max_items).then(|| rest[max_items - 1].qualifier.clone());
        rest.truncate(max_items);
        Ok((rest, next))
    }

    /// The URL whose id is `url_id`, for the data plane.
    /// Kept in the registry until its function changes: every request to the URL asks.
    pub fn function_url_by_id(
        &self,
        url_id: &str,
    ) -> Result<Option<Arc<FunctionUrl>>, EngineError> {
        Ok(self.inner.registry.url(url_id, || {
            self.inner.store.resources().function_url_by_id(url_id)
        })?)
    }
}

#[cfg(test)]
mod tests {
    use hearth_model::function_url::AuthType;

    use super::*;
    use crate::testing::{create, engine, fref, new_function};

    #[tokio::test]
    async fn a_url_read_by_id_follows_updates_and_deletion() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, _) = engine(dir.path());
        create(&engine, new_function("f")).await;
        let change = |auth| UrlChange {
            auth_type: Some(auth),
            ..Default::default()
        };
        let made = engine
            .create_function_url(&fref("f"), change(AuthType::None))
            .expect("create");
        let by_id = |e: &Engine| e.function_url_by_id(&made.url_id).expect("read");
        assert_eq!(by_id(&engine).map(|u| u.auth_type), Some(AuthType::None));
        engine
            .update_function_url(&fref("f"), change(AuthType::AwsIam))
            .expect("update");
        assert_eq!(by_id(&engine).map(|u| u.auth_type), Some(AuthType::AwsIam));
        engine.delete_function_url(&fref("f")).expect("delete");
        assert!(
            by_id(&engine).is_none(),
            "a deleted URL is not served from memory"
        );
    }

    #[test]
    fn url_ids_are_32_lower_case_letters_and_digits() {
        let a = new_url_id();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| ID_CHARS.contains(&b)), "{a}");
        assert_ne!(a, new_url_id());
    }
}
