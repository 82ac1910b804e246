//! Schedules: CreateSchedule, GetSchedule, UpdateSchedule (a full replacement, as AWS's),
//! DeleteSchedule, ListSchedules, and what the firing engine needs of them (every
//! schedule, and deleting one whose `ActionAfterCompletion` is `DELETE` after its last
//! invocation).

use hearth_store::StoreError;
use serde_json::{json, Value};

use crate::arn::{group_arn, schedule_arn, DEFAULT_GROUP};
use crate::records::ScheduleRecord;
use crate::requests::{ListSchedules, ScheduleInput};
use crate::service::{page_size, with_token, Scheduler};
use crate::validate::{schedule_record, Placement};
use crate::{checks, messages, SchedulerError};

/// Schedules read from the store per look while a `State` filter fills a page.
const BATCH: usize = 200;

pub(crate) fn group_of(name: Option<&str>) -> Result<&str, SchedulerError> {
    let group = name.unwrap_or(DEFAULT_GROUP);
    checks::name(group, "groupName")?;
    Ok(group)
}

impl Scheduler {
    /// The not-found answer for `name` in `group`: the group's when it is the group that
    /// is missing.
    fn missing(&self, account: &str, group: &str, name: &str) -> SchedulerError {
        match self.find_group(account, group) {
            Ok(_) => SchedulerError::not_found(messages::no_schedule(name)),
            Err(e) => e,
        }
    }

    /// Where a Create- or UpdateSchedule request puts its schedule: its name checked, its
    /// group (`default` when absent), its ARN, and the time of the request.
    fn place<'a>(
        &self,
        account: &'a str,
        name: &'a str,
        req: &'a ScheduleInput,
    ) -> Result<Placement<'a>, SchedulerError> {
        checks::name(name, "name")?;
        let group = group_of(req.group_name.as_deref())?;
        Ok(Placement {
            account,
            group,
            name,
            arn: schedule_arn(account, group, name),
            now_ms: self.now(),
        })
    }

    /// CreateSchedule: `{"ScheduleArn": …}`.
    pub fn create_schedule(
        &self,
        account: &str,
        name: &str,
        req: ScheduleInput,
    ) -> Result<Value, SchedulerError> {
        let place = self.place(account, name, &req)?;
        let (group, now, arn) = (place.group, place.now_ms, place.arn.clone());
        let record = schedule_record(&req, &place, now)?;
        let group_record = self.find_group(account, group)?;
        let answer = json!({"ScheduleArn": arn});
        match self.store.events().insert_schedule(
            account,
            &group_record.arn,
            &arn,
            &serde_json::to_string(&record)?,
        ) {
            Ok(true) => {
                self.touched();
                Ok(answer)
            }
            // The group was deleted meanwhile.
            Ok(false) => Err(SchedulerError::not_found(messages::no_group(group))),
            Err(StoreError::Exists(_)) => {
                let existing = self.find_schedule(account, group, name)?;
                if req.client_token.is_some() && existing.client_token == req.client_token {
                    return Ok(answer);
                }
                Err(SchedulerError::conflict(messages::schedule_exists(name)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The schedule `name` in `group`, or AWS's not-found answer.
    pub(crate) fn find_schedule(
        &self,
        account: &str,
        group: &str,
        name: &str,
    ) -> Result<ScheduleRecord, SchedulerError> {
        match self
            .store
            .events()
            .get_schedule(&schedule_arn(account, group, name))?
        {
            Some(data) => Ok(serde_json::from_str(&data)?),
            None => Err(self.missing(account, group, name)),
        }
    }

    /// GetSchedule (`groupName` absent: `default`).
    pub fn get_schedule(
        &self,
        account: &str,
        name: &str,
        group: Option<&str>,
    ) -> Result<Value, SchedulerError> {
        checks::name(name, "name")?;
        let group = group_of(group)?;
        Ok(self.find_schedule(account, group, name)?.describe())
    }

    /// UpdateSchedule: every member replaced by the request's (those left out take their
    /// defaults, as AWS documents); the creation date stays.
    pub fn update_schedule(
        &self,
        account: &str,
        name: &str,
        req: ScheduleInput,
    ) -> Result<Value, SchedulerError> {
        let place = self.place(account, name, &req)?;
        let (group, now, arn) = (place.group, place.now_ms, place.arn.clone());
        // Validated before the schedule is looked at, as AWS's framework does.
        let fresh = schedule_record(&req, &place, now)?;
        let mut changed = false;
        let edited = self.store.events().update_schedule(&arn, |data| {
            let old: ScheduleRecord = serde_json::from_str(data)?;
            if req.client_token.is_some() && old.client_token == req.client_token {
                // A retry of the update already made.
                return Ok(());
            }
            let record = ScheduleRecord {
                created_ms: old.created_ms,
                ..fresh
            };
            *data = serde_json::to_string(&record)?;
            changed = true;
            Ok::<(), SchedulerError>(())
        })?;
        match edited {
            None => Err(self.missing(account, group, name)),
            Some(Err(e)) => Err(e),
            Some(Ok(_)) => {
                if changed {
                    self.touched();
                }
                Ok(json!({"ScheduleArn": arn}))
            }
        }
    }

    /// DeleteSchedule.
    pub fn delete_schedule(
        &self,
        account: &str,
        name: &str,
        group: Option<&str>,
        client_token: Option<&str>,
    ) -> Result<(), SchedulerError> {
        checks::name(name, "name")?;
        let group = group_of(group)?;
        if let Some(token) = client_token {
            checks::client_token(token, "clientToken")?;
        }
        let arn = schedule_arn(account, group, name);
        if self.store.events().delete_schedule(&arn)? {
            self.remember_deletion(client_token, &arn);
            self.touched();
            return Ok(());
        }
        if self.already_deleted(client_token, &arn) {
            return Ok(());
        }
        Err(self.missing(account, group, name))
    }

    /// Deletes the schedule `arn` after its last invocation (`ActionAfterCompletion`
    /// `DELETE`); false if it was already gone.
    pub fn delete_completed(&self, arn: &str) -> Result<bool, SchedulerError> {
        let deleted = self.store.events().delete_schedule(arn)?;
        if deleted {
            self.touched();
        }
        Ok(deleted)
    }

    /// Every schedule of every account, in ARN order (what the firing engine loads).
    pub fn all_schedules(&self) -> Result<Vec<ScheduleRecord>, SchedulerError> {
        self.store
            .events()
            .all_schedules()?
            .iter()
            .map(|r| serde_json::from_str(r).map_err(SchedulerError::from))
            .collect()
    }

    /// ListSchedules: the account's schedules (of one group, with `ScheduleGroup`) in
    /// (group, name) order, filtered by name prefix and state. `NextToken` is the last
    /// schedule's `<group>/<name>`.
    pub fn list_schedules(
        &self,
        account: &str,
        req: &ListSchedules,
    ) -> Result<Value, SchedulerError> {
        let limit = page_size(req.max_results)?;
        if let Some(group) = &req.group_name {
            checks::name(group, "groupName")?;
        }
        if let Some(prefix) = &req.name_prefix {
            checks::name(prefix, "namePrefix")?;
        }
        if let Some(state) = &req.state {
            checks::one_of(state, "state", &["ENABLED", "DISABLED"])?;
        }
        let mut after = match &req.next_token {
            None => None,
            Some(token) => {
                checks::length(token, "nextToken", 1, 2048)?;
                let (group, name) = token
                    .split_once('/')
                    .filter(|(g, n)| checks::name(g, "g").is_ok() && checks::name(n, "n").is_ok())
                    .ok_or_else(|| SchedulerError::validation(messages::BAD_NEXT_TOKEN))?;
                Some((group_arn(account, group), name.to_string()))
            }
        };
        let group_filter = match &req.group_name {
            Some(group) => Some(self.find_group(account, group)?.arn),
            None => None,
        };
        let mut found: Vec<ScheduleRecord> = Vec::new();
        loop {
            let rows = self.store.events().list_schedules(
                account,
                group_filter.as_deref(),
                req.name_prefix.as_deref(),
                after.as_ref().map(|(g, n)| (g.as_str(), n.as_str())),
                BATCH,
            )?;
            let exhausted = rows.len() < BATCH;
            for row in rows {
                let record: ScheduleRecord = serde_json::from_str(&row)?;
                after = Some((group_arn(account, &record.group_name), record.name.clone()));
                if req.state.as_ref().is_none_or(|s| *s == record.state) {
                    found.push(record);
                }
                if found.len() > limit {
                    break;
                }
            }
            if exhausted || found.len() > limit {
                break;
            }
        }
        let next = if found.len() > limit {
            found.truncate(limit);
            found.last().map(|s| format!("{}/{}", s.group_name, s.name))
        } else {
            None
        };
        let listed: Vec<Value> = found.iter().map(ScheduleRecord::summary).collect();
        Ok(with_token(json!({"Schedules": listed}), next))
    }
}
