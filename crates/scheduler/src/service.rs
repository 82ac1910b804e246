//! [`Scheduler`]: the typed control plane over the store's [`hearth_store::EventsStore`],
//! its clock, the notice of every change the firing engine follows, and schedule groups
//! (the `default` one of each account made on first use). Schedules are in
//! `schedules.rs`, tags in `tagging.rs`. Every operation takes the caller's account;
//! answers are the JSON bodies botocore's `scheduler` model shapes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use hearth_store::{Store, StoreError};
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::arn::{group_arn, DEFAULT_GROUP};
use crate::records::GroupRecord;
use crate::requests::{CreateScheduleGroup, ListScheduleGroups};
use crate::{checks, messages, SchedulerError};

/// The most entries of one page of a listing (the model's `MaxResults`), and the page
/// size when none is asked for (AWS's default is not documented).
pub(crate) const PAGE_MAX: i64 = 100;
/// How many deletions' client tokens are remembered (this node only), so that a retried
/// delete is answered as the first was.
const DELETED_TOKENS: usize = 1024;

/// A clock in milliseconds since the epoch (a parameter, so tests need no waiting).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The service. Cheap to clone; every clone is the same service.
#[derive(Clone)]
pub struct Scheduler {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    changed: Arc<Notify>,
    /// `(client token, ARN)` of recent deletions.
    deleted: Arc<Mutex<VecDeque<(String, String)>>>,
}

fn system_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A listing's page size.
pub(crate) fn page_size(max_results: Option<i64>) -> Result<usize, SchedulerError> {
    let limit = max_results.unwrap_or(PAGE_MAX);
    checks::range(limit, "maxResults", 1, PAGE_MAX)?;
    Ok(usize::try_from(limit).unwrap_or(100))
}

/// Adds `NextToken` when there is a next page.
pub(crate) fn with_token(mut v: Value, next: Option<String>) -> Value {
    if let Some(t) = next {
        v["NextToken"] = json!(t);
    }
    v
}

impl Scheduler {
    /// The service over `store`, on the system clock.
    pub fn new(store: Store) -> Self {
        Self::with_clock(store, Arc::new(system_ms))
    }

    /// The service over `store`, with `clock` telling the time.
    pub fn with_clock(store: Store, clock: Clock) -> Self {
        Scheduler {
            store,
            clock,
            changed: Arc::new(Notify::new()),
            deleted: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    /// Notified after every successful write of a schedule or group (the firing engine
    /// reloads its timers on it). Both a waiting task and the next one to wait are woken:
    /// a change made while the engine is busy is not lost.
    pub fn changed(&self) -> Arc<Notify> {
        self.changed.clone()
    }

    pub(crate) fn touched(&self) {
        self.changed.notify_waiters();
        self.changed.notify_one();
    }

    pub(crate) fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Remembers that the call with `token` deleted `arn`.
    pub(crate) fn remember_deletion(&self, token: Option<&str>, arn: &str) {
        let Some(token) = token else { return };
        let mut deleted = self.deleted.lock().unwrap_or_else(|p| p.into_inner());
        if deleted.len() >= DELETED_TOKENS {
            deleted.pop_front();
        }
        deleted.push_back((token.to_string(), arn.to_string()));
    }

    /// Whether the call with `token` already deleted `arn` (a retry).
    pub(crate) fn already_deleted(&self, token: Option<&str>, arn: &str) -> bool {
        let Some(token) = token else { return false };
        let deleted = self.deleted.lock().unwrap_or_else(|p| p.into_inner());
        deleted.iter().any(|(t, a)| t == token && a == arn)
    }

    /// The group `name` of `account`: stored, or `default`, made on first use.
    pub(crate) fn find_group(
        &self,
        account: &str,
        name: &str,
    ) -> Result<GroupRecord, SchedulerError> {
        let arn = group_arn(account, name);
        if let Some(data) = self.store.events().get_schedule_group(&arn)? {
            return Ok(serde_json::from_str(&data)?);
        }
        if name != DEFAULT_GROUP {
            return Err(SchedulerError::not_found(messages::no_group(name)));
        }
        let now = self.now();
        let record = GroupRecord {
            arn: arn.clone(),
            name: DEFAULT_GROUP.to_string(),
            account: account.to_string(),
            created_ms: now,
            modified_ms: now,
            tags: Vec::new(),
            client_token: None,
        };
        match self.store.events().insert_schedule_group(
            account,
            &arn,
            &serde_json::to_string(&record)?,
        ) {
            Ok(()) => Ok(record),
            // Another request made it first: its record is the one.
            Err(StoreError::Exists(_)) => match self.store.events().get_schedule_group(&arn)? {
                Some(data) => Ok(serde_json::from_str(&data)?),
                None => Err(SchedulerError::Internal(
                    "the default schedule group vanished".into(),
                )),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// CreateScheduleGroup: `{"ScheduleGroupArn": …}`.
    pub fn create_schedule_group(
        &self,
        account: &str,
        name: &str,
        req: CreateScheduleGroup,
    ) -> Result<Value, SchedulerError> {
        checks::name(name, "name")?;
        if let Some(token) = &req.client_token {
            checks::client_token(token, "clientToken")?;
        }
        crate::tagging::check_tags(&req.tags)?;
        let arn = group_arn(account, name);
        let answer = json!({"ScheduleGroupArn": arn});
        if name == DEFAULT_GROUP {
            self.find_group(account, name)?;
            return Err(SchedulerError::conflict(messages::group_exists(name)));
        }
        let now = self.now();
        let record = GroupRecord {
            arn: arn.clone(),
            name: name.to_string(),
            account: account.to_string(),
            created_ms: now,
            modified_ms: now,
            tags: req.tags,
            client_token: req.client_token.clone(),
        };
        match self.store.events().insert_schedule_group(
            account,
            &arn,
            &serde_json::to_string(&record)?,
        ) {
            Ok(()) => {
                self.touched();
                Ok(answer)
            }
            Err(StoreError::Exists(_)) => {
                let existing = self.find_group(account, name)?;
                if req.client_token.is_some() && existing.client_token == req.client_token {
                    return Ok(answer);
                }
                Err(SchedulerError::conflict(messages::group_exists(name)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// GetScheduleGroup.
    pub fn get_schedule_group(&self, account: &str, name: &str) -> Result<Value, SchedulerError> {
        checks::name(name, "name")?;
        Ok(self.find_group(account, name)?.describe())
    }

    /// DeleteScheduleGroup: the group and its schedules go at once (AWS deletes them in
    /// the background, the group `DELETING` meanwhile).
    pub fn delete_schedule_group(
        &self,
        account: &str,
        name: &str,
        client_token: Option<&str>,
    ) -> Result<(), SchedulerError> {
        checks::name(name, "name")?;
        if let Some(token) = client_token {
            checks::client_token(token, "clientToken")?;
        }
        if name == DEFAULT_GROUP {
            return Err(SchedulerError::validation(messages::CANNOT_DELETE_DEFAULT));
        }
        let arn = group_arn(account, name);
        if self.store.events().delete_schedule_group(&arn)? {
            self.remember_deletion(client_token, &arn);
            self.touched();
            return Ok(());
        }
        if self.already_deleted(client_token, &arn) {
            return Ok(());
        }
        Err(SchedulerError::not_found(messages::no_group(name)))
    }

    /// ListScheduleGroups: the account's groups (`default` among them) in name order.
    pub fn list_schedule_groups(
        &self,
        account: &str,
        req: &ListScheduleGroups,
    ) -> Result<Value, SchedulerError> {
        let limit = page_size(req.max_results)?;
        if let Some(prefix) = &req.name_prefix {
            checks::name(prefix, "namePrefix")?;
        }
        if let Some(token) = &req.next_token {
            checks::length(token, "nextToken", 1, 2048)?;
            if checks::name(token, "nextToken").is_err() {
                return Err(SchedulerError::validation(messages::BAD_NEXT_TOKEN));
            }
        }
        self.find_group(account, DEFAULT_GROUP)?;
        let rows = self.store.events().list_schedule_groups(
            account,
            req.name_prefix.as_deref(),
            req.next_token.as_deref(),
            limit + 1,
        )?;
        let mut groups = rows
            .iter()
            .map(|r| serde_json::from_str::<GroupRecord>(r))
            .collect::<Result<Vec<_>, _>>()?;
        let next = if groups.len() > limit {
            groups.truncate(limit);
            groups.last().map(|g| g.name.clone())
        } else {
            None
        };
        let listed: Vec<Value> = groups.iter().map(GroupRecord::describe).collect();
        Ok(with_token(json!({"ScheduleGroups": listed}), next))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};

    pub const ACCOUNT: &str = "123456789012";
    /// The tests' clock starts here: 2023-11-14T22:13:20Z.
    pub const T0: i64 = 1_700_000_000_000;

    /// A service over a fresh store whose clock reads what the returned cell holds.
    pub fn service() -> (Scheduler, Arc<AtomicI64>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("store");
        let time = Arc::new(AtomicI64::new(T0));
        let t = time.clone();
        let s = Scheduler::with_clock(store, Arc::new(move || t.load(Ordering::SeqCst)));
        (s, time, dir)
    }

    pub fn code_and_message(e: SchedulerError) -> (String, String) {
        (e.code().to_string(), e.to_string())
    }

    #[test]
    fn the_default_group_exists_and_cannot_be_deleted_or_made() {
        let (s, _, _dir) = service();
        assert_eq!(
            s.get_schedule_group(ACCOUNT, "default").expect("default"),
            json!({"Arn": "arn:aws:scheduler:us-east-1:123456789012:schedule-group/default",
                   "CreationDate": 1_700_000_000.0, "LastModificationDate": 1_700_000_000.0,
                   "Name": "default", "State": "ACTIVE"})
        );
        assert_eq!(
            code_and_message(
                s.delete_schedule_group(ACCOUNT, "default", None)
                    .expect_err("default")
            ),
            (
                "ValidationException".into(),
                "Cannot delete the default schedule group.".into()
            )
        );
        let made = s.create_schedule_group(ACCOUNT, "default", CreateScheduleGroup::default());
        assert_eq!(
            code_and_message(made.expect_err("taken")),
            (
                "ConflictException".into(),
                "Schedule group default already exists.".into()
            )
        );
    }

    #[test]
    fn groups_are_created_once_listed_in_pages_and_deleted() {
        let (s, time, _dir) = service();
        for name in ["g1", "g2", "g3"] {
            let made = s
                .create_schedule_group(
                    ACCOUNT,
                    name,
                    CreateScheduleGroup {
                        client_token: Some(format!("token-{name}")),
                        tags: vec![],
                    },
                )
                .expect("create");
            assert_eq!(
                made,
                json!({"ScheduleGroupArn": format!("arn:aws:scheduler:us-east-1:123456789012:schedule-group/{name}")})
            );
            time.fetch_add(1000, Ordering::SeqCst);
        }
        // A retry with the same token answers as the first call; another token conflicts.
        let retried = s.create_schedule_group(
            ACCOUNT,
            "g1",
            CreateScheduleGroup {
                client_token: Some("token-g1".into()),
                tags: vec![],
            },
        );
        assert_eq!(
            retried.expect("idempotent")["ScheduleGroupArn"],
            json!("arn:aws:scheduler:us-east-1:123456789012:schedule-group/g1")
        );
        let other = s.create_schedule_group(
            ACCOUNT,
            "g1",
            CreateScheduleGroup {
                client_token: Some("another".into()),
                tags: vec![],
            },
        );
        assert_eq!(
            code_and_message(other.expect_err("taken")),
            (
                "ConflictException".into(),
                "Schedule group g1 already exists.".into()
            )
        );
        let page = |token: Option<&str>| {
            s.list_schedule_groups(
                ACCOUNT,
                &ListScheduleGroups {
                    name_prefix: None,
                    max_results: Some(2),
                    next_token: token.map(str::to_string),
                },
            )
            .expect("list")
        };
        let first = page(None);
        let names: Vec<&str> = first["ScheduleGroups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| g["Name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, ["default", "g1"]);
        assert_eq!(first["NextToken"], json!("g1"));
        let second = page(Some("g1"));
        assert_eq!(second["ScheduleGroups"][1]["Name"], json!("g3"));
        assert_eq!(
            second["ScheduleGroups"][1]["CreationDate"],
            json!(1_700_000_002.0)
        );
        assert_eq!(second.get("NextToken"), None);
        s.delete_schedule_group(ACCOUNT, "g1", Some("del-1"))
            .expect("delete");
        s.delete_schedule_group(ACCOUNT, "g1", Some("del-1"))
            .expect("a retried delete succeeds");
        assert_eq!(
            code_and_message(
                s.delete_schedule_group(ACCOUNT, "g1", Some("del-2"))
                    .expect_err("gone")
            ),
            (
                "ResourceNotFoundException".into(),
                "Schedule group g1 does not exist.".into()
            )
        );
        assert_eq!(
            code_and_message(s.get_schedule_group(ACCOUNT, "g1").expect_err("gone")),
            (
                "ResourceNotFoundException".into(),
                "Schedule group g1 does not exist.".into()
            )
        );
        assert_eq!(
            code_and_message(
                s.list_schedule_groups(
                    ACCOUNT,
                    &ListScheduleGroups {
                        max_results: Some(101),
                        ..Default::default()
                    }
                )
                .expect_err("too many")
            ),
            (
                "ValidationException".into(),
                "1 validation error detected: Value '101' at 'maxResults' failed to satisfy \
                 constraint: Member must have value less than or equal to 100"
                    .into()
            )
        );
    }
}
