//! The subscriptions of one execution environment: who subscribed through which API, and the
//! fan-out of each event to the subscribers that asked for its type.
//!
//! Rules from AWS's pages: a subscription needs the caller's `Lambda-Extension-Identifier`
//! (the Extensions API's registry, outside this crate, resolves it to a [`Caller`]);
//! "Duplicate subscribe requests do not result in duplicate subscriptions"; "After subscribing
//! using one of these APIs, any attempt to subscribe using the other API returns an error";
//! "After the initialization phase completes, Lambda does not process subscription requests".
//! The answers for the last two are not documented: Hearth answers `400` with the API's
//! validation `errorType` and a message saying which rule refused it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::destination::Resolver;
use crate::event::{Event, Record, SubscriptionState};
use crate::subscriber::{Clock, Subscriber};
use crate::subscription::{parse_subscription, Api, SubscribeError, OK_BODY};

/// The extension making a subscribe request, as the Extensions API's registry knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Its `Lambda-Extension-Identifier`.
    pub id: String,
    /// Its registered name (shown in `platform.telemetrySubscription`).
    pub name: String,
}

#[derive(Default)]
struct Inner {
    /// Which API the environment's subscriptions use, once one has been made.
    api: Option<Api>,
    /// By extension identifier.
    subscribers: BTreeMap<String, Subscriber>,
    /// Set when the Init phase has ended: no more subscriptions.
    closed: bool,
}

/// The subscriptions of one execution environment (see the module docs).
pub struct Hub {
    inner: Mutex<Inner>,
    /// Whether any subscription was ever made (until shutdown): the one thing a producer
    /// reads for an environment without subscribers (an atomic load; no lock, no
    /// allocation).
    active: AtomicBool,
    resolver: Arc<dyn Resolver>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub with no subscriptions, resolving destinations with `resolver` and stamping its
    /// own records with `clock`.
    pub fn new(resolver: Arc<dyn Resolver>, clock: Arc<dyn Clock>) -> Self {
        Hub {
            inner: Mutex::new(Inner::default()),
            active: AtomicBool::new(false),
            resolver,
            clock,
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Handles `PUT /2022-07-01/telemetry` (`api` = Telemetry) or `PUT /2020-08-15/logs`
    /// from `caller` with `body`. On success the answer is `200` with [`crate::OK_BODY`], the
    /// subscriber's delivery task runs, and every platform subscriber (the new one included)
    /// is sent a `platform.telemetrySubscription` / `platform.logsSubscription` record.
    /// A second request from the same extension replaces its subscription (AWS: no
    /// duplicates; that the later configuration wins is Hearth's reading).
    /// Must be called within a tokio runtime.
    pub fn subscribe(&self, api: Api, caller: &Caller, body: &[u8]) -> Result<(), SubscribeError> {
        let subscription = parse_subscription(api, body)?;
        let addr = self
            .resolver
            .resolve(&subscription.destination)
            .map_err(|e| {
                SubscribeError::validation(
                    api,
                    format!("URI cannot be resolved in the execution environment: {e}"),
                )
            })?;
        let types = subscription
            .types
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect();
        let replaced = {
            let mut inner = self.inner();
            if inner.closed {
                return Err(SubscribeError::validation(
                    api,
                    "subscriptions are accepted only during the Init phase",
                ));
            }
            if let Some(other) = inner.api.filter(|used| *used != api) {
                let other = match other {
                    Api::Telemetry => "Telemetry API",
                    Api::Logs => "Logs API",
                };
                return Err(SubscribeError::validation(
                    api,
                    format!(
                        "extensions of this environment already subscribed through the {other}"
                    ),
                ));
            }
            inner.api = Some(api);
            let to = (addr, Arc::clone(&self.resolver));
            let subscriber = Subscriber::spawn(subscription, to, Arc::clone(&self.clock));
            self.active.store(true, Ordering::Release);
            inner.subscribers.insert(caller.id.clone(), subscriber)
        };
        if let Some(old) = replaced {
            tokio::spawn(old.shutdown());
        }
        self.publish(&Event {
            time: self.clock.now(),
            record: Record::Subscription(SubscriptionState {
                name: caller.name.clone(),
                state: "Subscribed".to_owned(),
                types,
            }),
        });
        Ok(())
    }

    /// [`Hub::subscribe`] as the HTTP answer the Runtime API sends: `(status, JSON body)`.
    pub fn answer(&self, api: Api, caller: &Caller, body: &[u8]) -> (u16, String) {
        match self.subscribe(api, caller, body) {
            Ok(()) => (200, OK_BODY.to_owned()),
            Err(e) => (e.status, e.body()),
        }
    }

    /// Ends the Init phase: later subscribe requests are refused.
    pub fn close_subscriptions(&self) {
        self.inner().closed = true;
    }

    /// Whether anyone subscribed (one atomic load). A producer checks it before building an
    /// [`Event`], so that an environment without subscribers pays nothing more.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Offers an event to every subscriber; never waits on a subscriber. Without
    /// subscribers it takes no lock.
    pub fn publish(&self, event: &Event) {
        if !self.is_active() {
            return;
        }
        for subscriber in self.inner().subscribers.values() {
            subscriber.offer(event);
        }
    }

    /// How many subscriptions there are.
    pub fn len(&self) -> usize {
        self.inner().subscribers.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Flushes every subscriber and stops their tasks (the environment is ending).
    pub async fn shutdown(&self) {
        let subscribers = std::mem::take(&mut self.inner().subscribers);
        self.active.store(false, Ordering::Release);
        for subscriber in subscribers.into_values() {
            subscriber.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::destination::EnvironmentAddress;
    use crate::test_support::{clock, http_server, line};
    use serde_json::json;

    fn hub() -> Hub {
        let loopback = EnvironmentAddress("127.0.0.1".parse().expect("an IP"));
        Hub::new(Arc::new(loopback), clock())
    }

    fn caller(id: &str) -> Caller {
        Caller {
            id: id.to_owned(),
            name: format!("ext-{id}"),
        }
    }

    fn body(schema: &str, types: &str, port: u16) -> String {
        format!(
            r#"{{"schemaVersion":"{schema}","types":{types},"buffering":{{"timeoutMs":30000}},
            "destination":{{"protocol":"HTTP","URI":"http://sandbox.localdomain:{port}/in"}}}}"#
        )
    }

    #[tokio::test]
    async fn a_subscriber_gets_its_subscription_record_then_what_it_asked_for() {
        let (addr, mut rx) = http_server(None).await;
        let hub = hub();
        let request = body("2022-12-13", r#"["platform","function"]"#, addr.port());
        assert_eq!(
            hub.answer(Api::Telemetry, &caller("a"), request.as_bytes()),
            (200, "\"OK\"".to_owned())
        );
        assert!(hub.is_active());
        hub.publish(&line("hello"));
        hub.publish(&Event {
            time: crate::test_support::t0(),
            record: Record::ExtensionLog(crate::event::LogLine::Text("not asked for".into())),
        });
        hub.shutdown().await;
        let got = rx.recv().await.expect("a request");
        assert_eq!(got.path, "/in");
        assert_eq!(
            got.items(),
            vec![
                json!({"time": "2026-01-02T03:04:05.000Z", "type": "platform.telemetrySubscription",
                    "record": {"name": "ext-a", "state": "Subscribed", "types": ["platform", "function"]}}),
                json!({"time": "2026-01-02T03:04:05.000Z", "type": "function", "record": "hello"}),
            ]
        );
        assert!(hub.is_empty());
        assert!(!hub.is_active());
    }

    #[tokio::test]
    async fn a_hub_without_subscribers_is_inactive() {
        let hub = hub();
        assert!(!hub.is_active());
        hub.publish(&line("nobody listens"));
        assert!(hub.is_empty());
        hub.shutdown().await;
        assert!(!hub.is_active());
    }

    // Nothing listens at these ports: the paused clock skips the retries' waits.
    #[tokio::test(start_paused = true)]
    async fn the_other_api_is_refused_once_one_is_used() {
        let hub = hub();
        let telemetry = body("2022-12-13", r#"["platform"]"#, 4243);
        hub.subscribe(Api::Telemetry, &caller("a"), telemetry.as_bytes())
            .expect("subscribes");
        let logs = body("2021-03-18", r#"["platform"]"#, 4244);
        let err = hub
            .subscribe(Api::Logs, &caller("b"), logs.as_bytes())
            .expect_err("refused");
        assert_eq!(
            err.body(),
            r#"{"errorMessage":"extensions of this environment already subscribed through the Telemetry API","errorType":"Logs.ValidationError"}"#
        );
        assert_eq!(err.status, 400);
        hub.shutdown().await;
    }

    // Nothing listens at these ports: the paused clock skips the retries' waits.
    #[tokio::test(start_paused = true)]
    async fn a_second_request_replaces_the_first_and_init_end_closes() {
        let hub = hub();
        let first = body("2022-12-13", r#"["platform"]"#, 4243);
        let second = body("2022-07-01", r#"["function"]"#, 4245);
        hub.subscribe(Api::Telemetry, &caller("a"), first.as_bytes())
            .expect("subscribes");
        hub.subscribe(Api::Telemetry, &caller("a"), second.as_bytes())
            .expect("subscribes again");
        assert_eq!(hub.len(), 1);
        hub.close_subscriptions();
        let err = hub
            .subscribe(Api::Telemetry, &caller("b"), first.as_bytes())
            .expect_err("refused");
        assert_eq!(
            err.body(),
            r#"{"errorMessage":"subscriptions are accepted only during the Init phase","errorType":"ValidationError"}"#
        );
        hub.shutdown().await;
    }

    // Nothing listens at these ports: the paused clock skips the retries' waits.
    #[tokio::test(start_paused = true)]
    async fn an_invalid_request_is_refused_without_a_subscription() {
        let hub = hub();
        let request = br#"{"schemaVersion":"2022-12-13","types":["platform"]}"#;
        assert_eq!(
            hub.answer(Api::Telemetry, &caller("a"), request),
            (
                400,
                r#"{"errorMessage":"destination is not provided","errorType":"ValidationError"}"#
                    .to_owned()
            )
        );
        assert!(hub.is_empty());
    }
}
