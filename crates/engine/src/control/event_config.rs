//! Asynchronous invocation settings: the `FunctionEventInvokeConfig` operations (retry
//! attempts, maximum event age and destinations per function, version or alias) and
//! the lookup the async dispatcher makes for every event, served from the registry.

use std::convert::Infallible;
use std::sync::Arc;

use hearth_model::alias::is_version_number;
use hearth_model::arn::{function_arn, LATEST};
use hearth_model::event_invoke::{
    destination_not_yet_supported, DestinationConfig, DestinationKind, EventInvokeConfig,
    EventInvokeSettings, FunctionEventInvokeConfig, ListFunctionEventInvokeConfigsResponse,
};
use hearth_model::FunctionRef;

use super::registry::Entry;
use super::role_permissions::cannot_send;
use crate::error::{EngineError, NotFound};
use crate::Engine;

/// Lambda's answer when the function, or the version or alias named, does not exist.
fn function_missing() -> EngineError {
    NotFound::EventConfigTarget.into()
}

fn config_missing(function: &str, qualifier: &str) -> EngineError {
    NotFound::EventConfig {
        arn: function_arn(function, Some(qualifier)),
    }
    .into()
}

/// `LastModified`: epoch seconds with milliseconds.
fn now_s() -> f64 {
    hearth_model::time::now_ms() as f64 / 1000.0
}

/// The qualifier a configuration is kept under: `$LATEST` when unqualified.
fn qualifier_of(r: &FunctionRef) -> &str {
    r.qualifier.as_deref().unwrap_or(LATEST)
}

/// Whether `q` is `$LATEST`, a published version or an alias of the entry's function.
fn has_qualifier(entry: &Entry, q: &str) -> bool {
    if q == LATEST {
        true
    } else if is_version_number(q) {
        entry.versions.contains_key(q)
    } else {
        entry.aliases.contains_key(q)
    }
}

/// The page of `configs` (in qualifier order) after `marker`, and the next marker.
fn page<'a>(
    mut configs: Vec<&'a EventInvokeConfig>,
    marker: Option<&str>,
    max_items: usize,
) -> (Vec<&'a EventInvokeConfig>, Option<String>) {
    configs.sort_by(|a, b| a.qualifier.cmp(&b.qualifier));
    configs.retain(|c| marker.is_none_or(|m| c.qualifier.as_str() > m));
    let max_items = max_items.max(1);
    let next = (configs.len() > max_items).then(|| configs[max_items - 1].qualifier.clone());
    configs.truncate(max_items);
    (configs, next)
}

impl Engine {
    /// PutFunctionEventInvokeConfig: replaces the configuration of `r` (settings not
    /// given become unset).
    pub fn put_event_invoke_config(
        &self,
        r: &FunctionRef,
        req: EventInvokeSettings,
    ) -> Result<FunctionEventInvokeConfig, EngineError> {
        let (_, qualifier) = self.event_config_target(r)?;
        if let Some(d) = &req.destination_config {
            self.check_destinations(&r.name, &qualifier, d)?;
        }
        let config = EventInvokeConfig::from_settings(&r.name, &qualifier, &req, now_s());
        let stored = self
            .inner
            .store
            .metadata()
            .put_event_invoke_config(&config)?;
        if !stored {
            return Err(function_missing());
        }
        Ok(config.to_response())
    }

    /// UpdateFunctionEventInvokeConfig: the settings given replace the stored ones, the
    /// others are kept.
    pub fn update_event_invoke_config(
        &self,
        r: &FunctionRef,
        req: EventInvokeSettings,
    ) -> Result<FunctionEventInvokeConfig, EngineError> {
        let (entry, qualifier) = self.event_config_target(r)?;
        if !entry.event_configs.contains_key(&qualifier) {
            return Err(config_missing(&r.name, &qualifier));
        }
        if let Some(d) = &req.destination_config {
            self.check_destinations(&r.name, &qualifier, d)?;
        }
        let updated =
            self.inner
                .store
                .metadata()
                .update_event_invoke_config(&r.name, &qualifier, |c| {
                    c.merge(&req, now_s());
                    Ok::<_, Infallible>(())
                })?;
        match updated {
            Some(Ok(c)) => Ok(c.to_response()),
            Some(Err(never)) => match never {},
            None => Err(config_missing(&r.name, &qualifier)),
        }
    }

    pub fn get_event_invoke_config(
        &self,
        r: &FunctionRef,
    ) -> Result<FunctionEventInvokeConfig, EngineError> {
        let qualifier = qualifier_of(r);
        self.event_invoke_config(&r.name, qualifier)?
            .map(|c| c.to_response())
            .ok_or_else(|| config_missing(&r.name, qualifier))
    }

    pub fn delete_event_invoke_config(&self, r: &FunctionRef) -> Result<(), EngineError> {
        let qualifier = qualifier_of(r);
        let existed = self
            .inner
            .store
            .metadata()
            .delete_event_invoke_config(&r.name, qualifier)?;
        if !existed {
            return Err(config_missing(&r.name, qualifier));
        }
        Ok(())
    }

    /// ListFunctionEventInvokeConfigs: a function's configurations in qualifier order,
    /// at most `max_items` after `marker` (the last qualifier of the previous page).
    pub fn list_event_invoke_configs(
        &self,
        r: &FunctionRef,
        marker: Option<&str>,
        max_items: usize,
    ) -> Result<ListFunctionEventInvokeConfigsResponse, EngineError> {
        if let Some(q) = r.qualifier.as_deref() {
            return Err(EngineError::Invalid(format!(
                "ListFunctionEventInvokeConfigs takes an unqualified function name; remove the qualifier from {}",
                function_arn(&r.name, Some(q))
            )));
        }
        let entry = self.event_config_entry(&r.name)?;
        let (configs, next_marker) =
            page(entry.event_configs.values().collect(), marker, max_items);
        Ok(ListFunctionEventInvokeConfigsResponse {
            function_event_invoke_configs: configs.iter().map(|c| c.to_response()).collect(),
            next_marker,
        })
    }

    /// The configuration events sent to `function` at `qualifier` (`$LATEST` when
    /// unqualified, else the version or alias invoked) are handled with; `None` when
    /// there is none (Lambda's defaults apply) or the function is gone. Served from
    /// the registry: no database read unless the function changed since the last one.
    pub fn event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<EventInvokeConfig>, EngineError> {
        let entry = self.inner.registry.get(&self.inner.store, function)?;
        Ok(entry.and_then(|e| e.event_configs.get(qualifier).cloned()))
    }

    /// The function's cached entry, or Lambda's "doesn't exist" for these operations.
    fn event_config_entry(&self, name: &str) -> Result<Arc<Entry>, EngineError> {
        self.inner
            .registry
            .get(&self.inner.store, name)?
            .ok_or_else(function_missing)
    }

    /// The entry and qualifier a Put or Update applies to; the version or alias named
    /// must exist.
    fn event_config_target(&self, r: &FunctionRef) -> Result<(Arc<Entry>, String), EngineError> {
        let entry = self.event_config_entry(&r.name)?;
        let qualifier = qualifier_of(r);
        if !has_qualifier(&entry, qualifier) {
            return Err(function_missing());
        }
        Ok((entry, qualifier.to_string()))
    }

    /// Lambda's checks of the destinations of the configuration of `function` at
    /// `qualifier`, then Hearth's: buckets receive no records yet. Last,
    /// as Lambda does, that the execution role may send to each of them.
    fn check_destinations(
        &self,
        function: &str,
        qualifier: &str,
        d: &DestinationConfig,
    ) -> Result<(), EngineError> {
        let mut invalid = false;
        let mut not_yet = None;
        for (arn, on_failure) in [(d.on_failure(), true), (d.on_success(), false)] {
            let Some(arn) = arn else { continue };
            match DestinationKind::of(arn, on_failure) {
                DestinationKind::Function => self.check_function_destination(function, arn)?,
                // Whether the queue, topic or bus exists is found when a record is
                // sent, as on AWS (a failed send is logged and the record dropped).
                DestinationKind::Queue | DestinationKind::Topic | DestinationKind::EventBus => {}
                DestinationKind::NotYetSupported(service) => {
                    not_yet.get_or_insert((arn, service));
                }
                DestinationKind::Invalid => invalid = true,
            }
        }
        if invalid {
            return Err(EngineError::Invalid(d.invalid_message()));
        }
        if let Some((arn, service)) = not_yet {
            return Err(EngineError::Invalid(destination_not_yet_supported(
                arn, service,
            )));
        }
        let mut arns: Vec<&str> = [d.on_failure(), d.on_success()]
            .into_iter()
            .flatten()
            .collect();
        // Both outcomes often go to one destination: one question of the role.
        arns.dedup();
        for arn in arns {
            if !self.role_may_send_to(function, qualifier, arn)? {
                return Err(cannot_send(arn));
            }
        }
        Ok(())
    }

    /// A function destination must be another existing function (and version or alias,
    /// if the ARN names one).
    fn check_function_destination(&self, function: &str, arn: &str) -> Result<(), EngineError> {
        let invalid = || EngineError::Invalid(format!("The destination ARN {arn} is invalid."));
        // A destination in the function's own account (another account's is refused).
        let target = FunctionRef::parse(arn, hearth_model::arn::key_account(function))
            .map_err(|_| invalid())?;
        let entry = self
            .inner
            .registry
            .get(&self.inner.store, &target.name)?
            .ok_or_else(invalid)?;
        if target.name == function {
            return Err(EngineError::Invalid(
                "You can't specify the function as a destination for itself.".into(),
            ));
        }
        if target
            .qualifier
            .as_deref()
            .is_some_and(|q| !has_qualifier(&entry, q))
        {
            return Err(invalid());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::changes::{NewAlias, NewFunction};
    use crate::testing::fref;
    use hearth_model::event_invoke::Destination;

    use super::*;

    /// An engine on a fresh data dir, and a way to create functions in it.
    struct Fixture {
        engine: Engine,
        _dir: tempfile::TempDir,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, _) = crate::testing::engine(dir.path());
        Fixture { engine, _dir: dir }
    }

    /// Creates a published function `name`, without waiting for it to settle.
    async fn create(engine: &Engine, name: &str) {
        engine
            .create_function(NewFunction {
                publish: true,
                ..crate::testing::new_function(name)
            })
            .await
            .expect("created");
    }

    fn retries(n: i64) -> EventInvokeSettings {
        EventInvokeSettings {
            maximum_retry_attempts: Some(n),
            ..Default::default()
        }
    }

    fn on_failure(arn: &str) -> EventInvokeSettings {
        EventInvokeSettings {
            destination_config: Some(DestinationConfig {
                on_success: Destination::default(),
                on_failure: Destination {
                    destination: Some(arn.into()),
                },
            }),
            ..Default::default()
        }
    }

    fn not_found(r: Result<impl std::fmt::Debug, EngineError>) -> NotFound {
        match r.expect_err("an error") {
            EngineError::NotFound(n) => n,
            other => panic!("not a NotFound: {other:?}"),
        }
    }

    /// The message of an `Invalid`.
    fn invalid(r: Result<impl std::fmt::Debug, EngineError>) -> String {
        match r.expect_err("an error") {
            EngineError::Invalid(m) => m,
            other => panic!("not an Invalid: {other:?}"),
        }
    }

    #[tokio::test]
    async fn lifecycle_and_cache() {
        let f = fixture();
        let e = &f.engine;
        create(e, "f").await;

        assert_eq!(e.event_invoke_config("f", LATEST).expect("lookup"), None);
        let put = e
            .put_event_invoke_config(&fref("f"), retries(1))
            .expect("put");
        assert_eq!(put.function_arn, function_arn("f", Some(LATEST)));
        assert!(put.last_modified > 1.6e9);
        // The dispatcher's lookup sees the write at once.
        let cached = e
            .event_invoke_config("f", LATEST)
            .expect("lookup")
            .expect("configured");
        assert_eq!(cached.retry_attempts(), 1);
        assert_eq!(cached.max_event_age_s(), 6 * 60 * 60);

        let updated = e
            .update_event_invoke_config(
                &fref("f"),
                EventInvokeSettings {
                    maximum_event_age_in_seconds: Some(60),
                    ..Default::default()
                },
            )
            .expect("update");
        assert_eq!(
            (
                updated.maximum_retry_attempts,
                updated.maximum_event_age_in_seconds
            ),
            (Some(1), Some(60))
        );
        // Put starts over.
        let put = e
            .put_event_invoke_config(&fref("f:$LATEST"), retries(0))
            .expect("put");
        assert_eq!(
            (put.maximum_retry_attempts, put.maximum_event_age_in_seconds),
            (Some(0), None)
        );
        e.put_event_invoke_config(&fref("f:1"), retries(2))
            .expect("put version");
        assert_eq!(
            e.get_event_invoke_config(&fref("f:1"))
                .expect("get")
                .maximum_retry_attempts,
            Some(2)
        );

        e.delete_event_invoke_config(&fref("f")).expect("delete");
        assert_eq!(e.event_invoke_config("f", LATEST).expect("lookup"), None);
        let no_config = NotFound::EventConfig {
            arn: function_arn("f", Some(LATEST)),
        };
        assert_eq!(not_found(e.get_event_invoke_config(&fref("f"))), no_config);
        assert_eq!(
            not_found(e.delete_event_invoke_config(&fref("f"))),
            no_config
        );
        assert_eq!(
            not_found(e.update_event_invoke_config(&fref("f"), retries(1))),
            no_config
        );
        e.shutdown();
    }

    #[tokio::test]
    async fn missing_functions_and_qualifiers() {
        let f = fixture();
        let e = &f.engine;
        create(e, "f").await;
        let doesnt_exist = NotFound::EventConfigTarget;
        for r in ["nope", "f:7", "f:nope"] {
            assert_eq!(
                not_found(e.put_event_invoke_config(&fref(r), retries(1))),
                doesnt_exist,
                "{r}"
            );
            assert_eq!(
                not_found(e.update_event_invoke_config(&fref(r), retries(1))),
                doesnt_exist,
                "{r}"
            );
        }
        assert_eq!(
            not_found(e.list_event_invoke_configs(&fref("nope"), None, 50)),
            doesnt_exist
        );
        assert!(invalid(e.list_event_invoke_configs(&fref("f:1"), None, 50))
            .starts_with("ListFunctionEventInvokeConfigs takes an unqualified function name"));
        e.shutdown();
    }

    #[tokio::test]
    async fn destinations() {
        let f = fixture();
        let e = &f.engine;
        create(e, "f").await;
        create(e, "g").await;
        let put = |arn: &str| e.put_event_invoke_config(&fref("f"), on_failure(arn));

        let g = function_arn("g", None);
        put(&g).expect("another function");
        put(&function_arn("g", Some("1"))).expect("another function's version");
        assert_eq!(
            e.event_invoke_config("f", LATEST)
                .expect("lookup")
                .expect("configured")
                .destination_config
                .on_failure(),
            Some(function_arn("g", Some("1")).as_str())
        );
        put("").expect("an empty destination is none");

        let invalid_arn = |arn: &str| format!("The destination ARN {arn} is invalid.");
        let missing = function_arn("missing", None);
        assert_eq!(invalid(put(&missing)), invalid_arn(&missing));
        let no_version = function_arn("g", Some("9"));
        assert_eq!(invalid(put(&no_version)), invalid_arn(&no_version));
        assert_eq!(
            invalid(put(&function_arn("f", Some("1")))),
            "You can't specify the function as a destination for itself."
        );
        put("arn:aws:sqs:us-east-1:000000000000:q").expect("a queue");
        put("arn:aws:sns:us-east-1:000000000000:t").expect("a topic");
        put("arn:aws:events:us-east-1:000000000000:event-bus/b").expect("a bus");
        let message = invalid(put("arn:aws:s3:::bucket"));
        assert!(message.contains("names a s3 resource"), "{message}");
        let message = invalid(put("arn:aws:iam::000000000000:role/r"));
        assert!(
            message.starts_with("The provided destination config"),
            "{message}"
        );
        e.shutdown();
    }

    #[tokio::test]
    async fn configs_follow_versions_aliases_and_the_function() {
        let f = fixture();
        let e = &f.engine;
        create(e, "f").await;
        e.create_alias(
            &fref("f"),
            NewAlias {
                name: "live".into(),
                function_version: "1".into(),
                description: String::new(),
                weights: Default::default(),
            },
        )
        .expect("alias");
        for q in ["f", "f:1", "f:live"] {
            e.put_event_invoke_config(&fref(q), retries(0)).expect(q);
        }
        let listed = |marker: Option<&str>, max: usize| {
            let out = e
                .list_event_invoke_configs(&fref("f"), marker, max)
                .expect("list");
            let arns: Vec<String> = out
                .function_event_invoke_configs
                .into_iter()
                .map(|c| c.function_arn)
                .collect();
            (arns, out.next_marker)
        };
        let (all, next) = listed(None, 50);
        assert_eq!(
            all,
            [
                function_arn("f", Some(LATEST)),
                function_arn("f", Some("1")),
                function_arn("f", Some("live"))
            ]
        );
        assert_eq!(next, None);
        let (first, next) = listed(None, 2);
        assert_eq!((first.len(), next.as_deref()), (2, Some("1")));
        let (rest, next) = listed(next.as_deref(), 2);
        assert_eq!((rest, next), (vec![function_arn("f", Some("live"))], None));

        e.delete_alias(&fref("f"), "live").expect("delete alias");
        assert_eq!(e.event_invoke_config("f", "live").expect("lookup"), None);
        e.delete_function(&fref("f:1")).expect("delete version");
        assert_eq!(e.event_invoke_config("f", "1").expect("lookup"), None);
        e.delete_function(&fref("f")).expect("delete function");
        create(e, "f").await;
        assert_eq!(e.event_invoke_config("f", LATEST).expect("lookup"), None);
        assert!(listed(None, 50).0.is_empty());
        e.shutdown();
    }

    #[test]
    fn pages_by_qualifier() {
        let c = |q: &str| EventInvokeConfig {
            function: "f".into(),
            qualifier: q.into(),
            maximum_retry_attempts: None,
            maximum_event_age_in_seconds: None,
            destination_config: DestinationConfig::default(),
            last_modified: 0.0,
        };
        let all = [c("b"), c(LATEST), c("a")];
        let qualifiers = |v: Vec<&EventInvokeConfig>| -> Vec<String> {
            v.into_iter().map(|c| c.qualifier.clone()).collect()
        };
        let (p, next) = page(all.iter().collect(), None, 2);
        assert_eq!(
            (qualifiers(p), next.as_deref()),
            (vec![LATEST.into(), "a".into()], Some("a"))
        );
        let (p, next) = page(all.iter().collect(), Some("a"), 2);
        assert_eq!((qualifiers(p), next), (vec!["b".to_string()], None));
        let (p, next) = page(all.iter().collect(), None, 0);
        assert_eq!((p.len(), next.as_deref()), (1, Some(LATEST)));
    }
}
