//! [`EventBridge`]: the typed control plane — buses, rules, targets, tags and
//! TestEventPattern — over the store's [`hearth_store::EventsStore`]. Every operation takes
//! the caller's account; answers are the JSON bodies botocore's `events` model shapes.
//! Rules are in `rules.rs`, targets in `targets.rs`, tags in `tagging.rs`; buses here.

use std::sync::Arc;

use hearth_store::{Store, StoreError};
use serde_json::{json, Value};

use crate::arn::{BusRef, DEFAULT_BUS};
use crate::records::Bus;
use crate::requests::{CreateEventBus, Page};
use crate::routing::RuleIndex;
use crate::{checks, messages, EventsError};

/// The most entries of one page of a listing (the model's `LimitMax100`).
pub(crate) const PAGE_MAX: i64 = 100;

/// A clock in milliseconds since the epoch (a parameter, so tests need no waiting).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The service. Cheap to clone; every clone is the same service.
#[derive(Clone)]
pub struct EventBridge {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    pub(crate) shared: Arc<Shared>,
}

/// What every clone of the service shares: the rules compiled for matching, and the
/// delivery worker's wake-up.
#[derive(Default)]
pub(crate) struct Shared {
    pub rules: RuleIndex,
    /// Woken when deliveries are queued.
    pub wake: tokio::sync::Notify,
    /// Woken when a rule was written (the timer reads the scheduled ones again).
    pub rules_written: Arc<tokio::sync::Notify>,
}

fn system_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A listing's page size and where it resumes.
pub(crate) struct Paging {
    pub limit: usize,
    pub after: Option<String>,
}

impl Paging {
    pub(crate) fn of(page: &Page) -> Result<Paging, EventsError> {
        let limit = page.limit.unwrap_or(PAGE_MAX);
        checks::range(limit, "limit", 1, PAGE_MAX)?;
        if let Some(token) = &page.next_token {
            checks::length(token, "nextToken", 1, 2048)?;
        }
        if let Some(prefix) = &page.name_prefix {
            checks::length(prefix, "namePrefix", 1, 256)?;
        }
        Ok(Paging {
            limit: usize::try_from(limit).unwrap_or(100),
            after: page.next_token.clone(),
        })
    }

    /// The page of `items` (fetched with `limit + 1`) and the token of the next, named
    /// by the last item's key.
    pub(crate) fn cut<T>(
        &self,
        mut items: Vec<T>,
        key: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        if items.len() <= self.limit {
            return (items, None);
        }
        items.truncate(self.limit);
        let next = items.last().map(key);
        (items, next)
    }
}

/// Adds `value` under `key` when there is one.
pub(crate) fn with_token(mut v: Value, next: Option<String>) -> Value {
    if let Some(t) = next {
        v["NextToken"] = json!(t);
    }
    v
}

impl EventBridge {
    /// The service over `store`, on the system clock.
    pub fn new(store: Store) -> Self {
        Self::with_clock(store, Arc::new(system_ms))
    }

    /// The service over `store`, with `clock` telling the time.
    pub fn with_clock(store: Store, clock: Clock) -> Self {
        EventBridge {
            store,
            clock,
            shared: Arc::default(),
        }
    }

    /// Rules were written here: the next match reads them again.
    pub(crate) fn rules_changed(&self) {
        self.shared.rules.forget();
        self.shared.rules_written.notify_one();
    }

    pub(crate) fn now(&self) -> i64 {
        (self.clock)()
    }

    /// The bus `bus` names: stored, or the account's `default`, made on first use.
    pub(crate) fn find_bus(&self, bus: &BusRef) -> Result<Bus, EventsError> {
        let arn = bus.arn();
        if let Some(data) = self.store.events().get_event_bus(&arn)? {
            return Ok(serde_json::from_str(&data)?);
        }
        if bus.name != DEFAULT_BUS {
            return Err(EventsError::not_found(messages::no_bus(&bus.name)));
        }
        let now = self.now();
        let record = Bus {
            name: DEFAULT_BUS.to_string(),
            arn: arn.clone(),
            description: None,
            policy: None,
            kms_key_identifier: None,
            dead_letter_config: None,
            log_config: None,
            created_ms: now,
            modified_ms: now,
            tags: Vec::new(),
        };
        match self.store.events().insert_event_bus(
            &bus.account,
            &arn,
            &serde_json::to_string(&record)?,
        ) {
            Ok(()) => Ok(record),
            // Another request made it first: its record is the one.
            Err(StoreError::Exists(_)) => match self.store.events().get_event_bus(&arn)? {
                Some(data) => Ok(serde_json::from_str(&data)?),
                None => Err(EventsError::Internal("the default bus vanished".into())),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// CreateEventBus: `{"EventBusArn": …}` and the settings given back.
    pub fn create_event_bus(
        &self,
        account: &str,
        req: CreateEventBus,
    ) -> Result<Value, EventsError> {
        checks::bus_name(&req.name, "name")?;
        checks::length_opt(req.description.as_deref(), "description", 0, 512)?;
        checks::length_opt(
            req.kms_key_identifier.as_deref(),
            "kmsKeyIdentifier",
            0,
            2048,
        )?;
        crate::tagging::check_tags(&req.tags)?;
        if let Some(source) = &req.event_source_name {
            // Partner event sources do not exist on Hearth.
            return Err(EventsError::not_found(messages::no_event_source(source)));
        }
        if req.name.contains('/') {
            return Err(EventsError::validation(messages::BUS_NAME_SLASH));
        }
        let bus = BusRef::of(account, Some(&req.name));
        if req.name == DEFAULT_BUS {
            return Err(EventsError::client(
                "ResourceAlreadyExistsException",
                messages::bus_exists(&req.name),
            ));
        }
        let now = self.now();
        let record = Bus {
            name: req.name.clone(),
            arn: bus.arn(),
            description: req.description,
            policy: None,
            kms_key_identifier: req.kms_key_identifier,
            dead_letter_config: req.dead_letter_config,
            log_config: req.log_config,
            created_ms: now,
            modified_ms: now,
            tags: req.tags,
        };
        match self.store.events().insert_event_bus(
            account,
            &record.arn,
            &serde_json::to_string(&record)?,
        ) {
            Ok(()) => {}
            Err(StoreError::Exists(_)) => {
                return Err(EventsError::client(
                    "ResourceAlreadyExistsException",
                    messages::bus_exists(&req.name),
                ))
            }
            Err(e) => return Err(e.into()),
        }
        let mut out = json!({"EventBusArn": record.arn});
        let described = record.describe();
        for key in [
            "Description",
            "KmsKeyIdentifier",
            "DeadLetterConfig",
            "LogConfig",
        ] {
            if let Some(v) = described.get(key) {
                out[key] = v.clone();
            }
        }
        Ok(out)
    }

    /// DescribeEventBus (no name: `default`).
    pub fn describe_event_bus(
        &self,
        account: &str,
        name: Option<&str>,
    ) -> Result<Value, EventsError> {
        if let Some(n) = name {
            checks::length(n, "name", 1, 1600)?;
        }
        Ok(self.find_bus(&BusRef::of(account, name))?.describe())
    }

    /// ListEventBuses: the account's buses (`default` among them) in name order.
    pub fn list_event_buses(&self, account: &str, page: &Page) -> Result<Value, EventsError> {
        let paging = Paging::of(page)?;
        self.find_bus(&BusRef::of(account, None))?;
        let rows = self.store.events().list_event_buses(
            account,
            page.name_prefix.as_deref(),
            paging.after.as_deref(),
            paging.limit + 1,
        )?;
        let buses = rows
            .iter()
            .map(|r| serde_json::from_str::<Bus>(r))
            .collect::<Result<Vec<_>, _>>()?;
        let (buses, next) = paging.cut(buses, |b| b.name.clone());
        let listed: Vec<Value> = buses.iter().map(Bus::listed).collect();
        Ok(with_token(json!({"EventBuses": listed}), next))
    }

    /// DeleteEventBus: the bus and its rules go; a missing bus is no error (as AWS).
    pub fn delete_event_bus(&self, account: &str, name: &str) -> Result<(), EventsError> {
        checks::bus_name(name, "name")?;
        if name == DEFAULT_BUS {
            return Err(EventsError::validation(messages::CANNOT_DELETE_DEFAULT));
        }
        self.store
            .events()
            .delete_event_bus(&BusRef::of(account, Some(name)).arn())?;
        self.rules_changed();
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};

    pub const ACCOUNT: &str = "123456789012";

    /// A service over a fresh store whose clock reads what `time` holds.
    pub fn service() -> (EventBridge, Arc<AtomicI64>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("store");
        let time = Arc::new(AtomicI64::new(1_700_000_000_000));
        let t = time.clone();
        let eb = EventBridge::with_clock(store, Arc::new(move || t.load(Ordering::SeqCst)));
        (eb, time, dir)
    }

    pub fn code_and_message(e: EventsError) -> (String, String) {
        (e.code().to_string(), e.to_string())
    }

    #[test]
    fn the_default_bus_exists_and_cannot_be_deleted() {
        let (eb, _, _dir) = service();
        assert_eq!(
            eb.describe_event_bus(ACCOUNT, None).expect("default"),
            json!({"Name": "default",
                   "Arn": "arn:aws:events:us-east-1:123456789012:event-bus/default",
                   "CreationTime": 1_700_000_000.0, "LastModifiedTime": 1_700_000_000.0})
        );
        assert_eq!(
            code_and_message(
                eb.delete_event_bus(ACCOUNT, "default")
                    .expect_err("default")
            ),
            (
                "ValidationException".into(),
                "Cannot delete event bus default.".into()
            )
        );
        assert_eq!(
            code_and_message(
                eb.create_event_bus(
                    ACCOUNT,
                    CreateEventBus {
                        name: "default".into(),
                        ..Default::default()
                    }
                )
                .expect_err("taken")
            ),
            (
                "ResourceAlreadyExistsException".into(),
                "Event bus default already exists.".into()
            )
        );
    }

    #[test]
    fn buses_are_created_once_listed_in_pages_and_deleted() {
        let (eb, time, _dir) = service();
        for name in ["b1", "b2", "b3"] {
            let made = eb
                .create_event_bus(
                    ACCOUNT,
                    CreateEventBus {
                        name: name.into(),
                        description: Some("d".into()),
                        ..Default::default()
                    },
                )
                .expect("create");
            assert_eq!(
                made,
                json!({"EventBusArn": format!("arn:aws:events:us-east-1:123456789012:event-bus/{name}"),
                       "Description": "d"})
            );
            time.fetch_add(1000, Ordering::SeqCst);
        }
        let again = eb.create_event_bus(
            ACCOUNT,
            CreateEventBus {
                name: "b1".into(),
                ..Default::default()
            },
        );
        assert_eq!(
            code_and_message(again.expect_err("taken")),
            (
                "ResourceAlreadyExistsException".into(),
                "Event bus b1 already exists.".into()
            )
        );
        let page = |token: Option<&str>| {
            eb.list_event_buses(
                ACCOUNT,
                &Page {
                    name_prefix: Some("b".into()),
                    next_token: token.map(str::to_string),
                    limit: Some(2),
                },
            )
            .expect("list")
        };
        let first = page(None);
        let names: Vec<&str> = first["EventBuses"]
            .as_array()
            .expect("buses")
            .iter()
            .map(|b| b["Name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, ["b1", "b2"]);
        assert_eq!(first["NextToken"], json!("b2"));
        let second = page(Some("b2"));
        assert_eq!(
            second["EventBuses"][0]["CreationTime"],
            json!(1_700_000_002.0)
        );
        assert_eq!(second.get("NextToken"), None);
        eb.delete_event_bus(ACCOUNT, "b1").expect("delete");
        eb.delete_event_bus(ACCOUNT, "b1").expect("missing is fine");
        assert_eq!(
            code_and_message(
                eb.describe_event_bus(ACCOUNT, Some("b1"))
                    .expect_err("gone")
            ),
            (
                "ResourceNotFoundException".into(),
                "Event bus b1 does not exist.".into()
            )
        );
    }
}
