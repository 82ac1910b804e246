//! A function's fresh-environment setting (a Hearth extension, docs/fresh-env.md): kept
//! on `$LATEST`'s configuration, so a published version keeps the value it had then,
//! and read by the invoke path from the resolved spec (`RunSpec::fresh_env`).
//!
//! Unlike the egress policy, which is a setting of the whole function outside its
//! configuration, this is part of what a version snapshots and PublishVersion compares:
//! changing it is a change of the configuration, with a new `RevisionId` and
//! `LastModified` as UpdateFunctionConfiguration gives, so that a `RevisionId`-guarded
//! PublishVersion or UpdateAlias sees it. It has nothing to unpack, so it takes effect
//! at once rather than through an update `InProgress`.

use hearth_model::arn::function_arn;
use hearth_store::MetadataChange;

use super::functions::{new_revision, now_stamp, open_to_change};
use super::retire::RecordChange;
use crate::error::EngineError;
use crate::Engine;

impl Engine {
    /// Whether `$LATEST` of `name` runs every invocation in a new environment.
    pub fn get_fresh_env(&self, name: &str) -> Result<bool, EngineError> {
        Ok(self.function_entry(name)?.latest.fresh_env)
    }

    /// Sets it on `$LATEST`. A change retires `$LATEST`'s warm environments (with it
    /// on, none would be taken again; they would only idle until the reaper). Refused,
    /// as an UpdateFunctionConfiguration is, while the function is being created or
    /// updated: the change in progress is settled by its revision.
    pub fn put_fresh_env(&self, name: &str, enabled: bool) -> Result<bool, EngineError> {
        let arn = function_arn(name, None);
        let mut changed = false;
        let stored = self
            .inner
            .store
            .metadata()
            .update_function(name, |f| -> Result<(), EngineError> {
                open_to_change(f)?;
                if f.fresh_env != enabled {
                    changed = true;
                    f.fresh_env = enabled;
                    f.last_modified = now_stamp();
                    f.revision_id = new_revision();
                    // Environments started before are stale for `$LATEST` now.
                    f.environment_revision = None;
                }
                Ok(())
            })?
            .ok_or_else(|| EngineError::function_not_found(arn))??;
        if changed {
            // The store tells the registry too; a networked one may tell it later, and
            // the next invocation must see the new value.
            self.inner
                .registry
                .forget(&MetadataChange::Function(name.to_string()));
            self.retire(RecordChange::LatestChanged { function: name });
        }
        Ok(stored.fresh_env)
    }
}

#[cfg(test)]
mod tests {
    use hearth_model::LastUpdateStatus;

    use crate::testing::{create, engine, fref, new_function};

    use super::*;

    #[tokio::test]
    async fn the_setting_changes_the_revision_reaches_the_spec_and_is_published() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (e, _) = engine(dir.path());
        create(&e, new_function("f")).await;
        assert!(!e.get_fresh_env("f").expect("get"));
        let before = e.get_function(&fref("f")).expect("f");
        assert!(e.put_fresh_env("f", true).expect("put"));
        let after = e.get_function(&fref("f")).expect("f");
        assert!(after.fresh_env && e.get_fresh_env("f").expect("get"));
        assert_ne!(after.revision_id, before.revision_id);
        assert_eq!(after.last_update_status, LastUpdateStatus::Successful);
        // The same value again is no change.
        assert!(e.put_fresh_env("f", true).expect("put again"));
        let again = e.get_function(&fref("f")).expect("f");
        assert_eq!(again.revision_id, after.revision_id);
        let spec = |r: &str| e.resolve_target(&fref(r)).expect("resolve").spec;
        assert!(spec("f").fresh_env);

        // A version keeps the value `$LATEST` had; changing it alone is something new
        // to publish.
        let one = e
            .publish_version(&fref("f"), Default::default())
            .expect("1");
        assert!(one.fresh_env);
        assert!(!e.put_fresh_env("f", false).expect("off"));
        let two = e
            .publish_version(&fref("f"), Default::default())
            .expect("2");
        assert_eq!((one.version.as_str(), two.version.as_str()), ("1", "2"));
        assert!(!two.fresh_env);
        assert!(spec("f:1").fresh_env);
        assert!(!spec("f:2").fresh_env && !spec("f").fresh_env);
        // Nothing changed since: the newest version is given back.
        let same = e
            .publish_version(&fref("f"), Default::default())
            .expect("same");
        assert_eq!(same.version, "2");

        assert!(matches!(
            e.put_fresh_env("nope", true),
            Err(EngineError::NotFound(_))
        ));
        assert!(matches!(
            e.get_fresh_env("nope"),
            Err(EngineError::NotFound(_))
        ));
    }
}
