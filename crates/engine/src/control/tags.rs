//! Tags: TagResource, UntagResource, ListTags, and the tags GetFunction shows. Kept by
//! resource ARN in the store; a function's go with it.

use hearth_model::tags::{TaggedResource, Tags, MAX_TAGS};

use crate::error::{EngineError, NotFound};
use crate::Engine;

impl Engine {
    /// ListTags.
    pub fn list_tags(&self, resource: &TaggedResource) -> Result<Tags, EngineError> {
        if let TaggedResource::EventSourceMapping { account, uuid } = resource {
            return match self.inner.store.mappings().get_mapping(uuid)? {
                Some(m) if &m.account == account => Ok(m.tags),
                _ => Err(NotFound::Resource.into()),
            };
        }
        let owner = self.tag_owner(resource)?;
        self.function_entry(owner)?;
        Ok(self.inner.store.resources().tags(&resource.arn())?)
    }

    /// A function's tags (GetFunction's `Tags`).
    pub fn function_tags(&self, name: &str) -> Result<Tags, EngineError> {
        let resource = TaggedResource::Function { name: name.into() };
        Ok(self.inner.store.resources().tags(&resource.arn())?)
    }

    /// TagResource: adds `tags`, replacing the values of keys it has, within the
    /// resource's limit.
    pub fn tag_resource(&self, resource: &TaggedResource, tags: Tags) -> Result<(), EngineError> {
        self.edit_tags(resource, |current| {
            let added = tags.keys().filter(|k| !current.contains_key(*k)).count();
            if current.len() + added > MAX_TAGS {
                return Err(EngineError::Invalid(
                    "Number of tags exceeds resource tag limit.".into(),
                ));
            }
            current.extend(tags);
            Ok(())
        })
    }

    /// UntagResource: removes `keys` (keys it does not have are no error).
    pub fn untag_resource(
        &self,
        resource: &TaggedResource,
        keys: &[String],
    ) -> Result<(), EngineError> {
        self.edit_tags(resource, |current| {
            for k in keys {
                current.remove(k);
            }
            Ok(())
        })
    }

    fn edit_tags(
        &self,
        resource: &TaggedResource,
        f: impl FnOnce(&mut Tags) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        if let TaggedResource::EventSourceMapping { account, uuid } = resource {
            return self.edit_mapping_tags(account, uuid, f);
        }
        let owner = self.tag_owner(resource)?;
        let arn = resource.arn();
        match self.inner.store.resources().update_tags(&arn, owner, f)? {
            None => Err(EngineError::function_not_found(arn)),
            Some(done) => done.map(|_| ()),
        }
    }

    /// A mapping's tags, kept in its record, edited atomically with it.
    fn edit_mapping_tags(
        &self,
        account: &str,
        uuid: &str,
        f: impl FnOnce(&mut Tags) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        let mut outcome = Err(NotFound::Resource.into());
        let found = &mut outcome;
        self.inner.store.mappings().edit_mapping(
            uuid,
            Box::new(move |m| {
                if m.account != account {
                    return false;
                }
                let result = f(&mut m.tags);
                let write = result.is_ok();
                *found = result;
                write
            }),
        )?;
        outcome
    }

    /// The function whose deletion removes the resource's tags.
    fn tag_owner<'r>(&self, resource: &'r TaggedResource) -> Result<&'r str, EngineError> {
        match resource {
            TaggedResource::Function { name } => Ok(name),
            TaggedResource::EventSourceMapping { .. } | TaggedResource::Unsupported { .. } => {
                Err(NotFound::Resource.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{create, engine, new_function};

    use super::*;

    #[tokio::test]
    async fn tags_merge_within_the_limit_and_go_with_the_function() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, _) = engine(dir.path());
        create(&engine, new_function("f")).await;
        let f = TaggedResource::Function { name: "f".into() };
        let tags = |pairs: &[(&str, &str)]| -> Tags {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        engine
            .tag_resource(&f, tags(&[("a", "1"), ("b", "2")]))
            .expect("tag");
        engine
            .tag_resource(&f, tags(&[("b", "3"), ("c", "4")]))
            .expect("tag");
        assert_eq!(
            engine.list_tags(&f).expect("list"),
            tags(&[("a", "1"), ("b", "3"), ("c", "4")])
        );
        engine
            .untag_resource(&f, &["a".into(), "zz".into()])
            .expect("untag");
        assert_eq!(engine.function_tags("f").expect("tags").len(), 2);
        let many: Tags = (0..49).map(|i| (format!("k{i}"), "v".into())).collect();
        assert!(matches!(
            engine.tag_resource(&f, many),
            Err(EngineError::Invalid(m)) if m == "Number of tags exceeds resource tag limit."
        ));
        let g = TaggedResource::Function { name: "g".into() };
        assert!(matches!(
            engine.list_tags(&g),
            Err(EngineError::NotFound(NotFound::Function { .. }))
        ));
        assert!(matches!(
            engine.tag_resource(&g, tags(&[("a", "1")])),
            Err(EngineError::NotFound(NotFound::Function { .. }))
        ));
    }
}
