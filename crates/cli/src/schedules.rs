//! EventBridge Scheduler's schedules as the EventBridge timer's [`Timetable`]: the two
//! services do not know each other; the server joins them here. Each enabled schedule is
//! timed by its expression, time zone, dates and flexible window, and delivers its one
//! target with its role, retry policy and dead-letter queue.

use std::sync::Arc;

use hearth_eventbridge::{Fire, ScheduledTarget, Timed, Timetable};
use hearth_scheduler::records::ScheduleRecord;
use hearth_scheduler::Scheduler;
use tokio::sync::Notify;

pub(crate) struct Schedules(pub Scheduler);

fn timed(r: ScheduleRecord) -> Option<Timed> {
    let schedule = match r.timing() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(schedule = %r.arn, error = %e, "a stored schedule does not parse; it does not fire");
            return None;
        }
    };
    let t = &r.target;
    Some(Timed {
        arn: r.arn.clone(),
        window: r.window(),
        since_ms: r.modified_ms,
        late_ms: t.max_event_age_s.saturating_mul(1000),
        fire: Fire::Target(ScheduledTarget {
            arn: t.arn.clone(),
            role_arn: t.role_arn.clone(),
            input: t.input.clone(),
            max_retries: u32::try_from(t.max_retry_attempts).unwrap_or(0),
            max_age_s: t.max_event_age_s,
            dead_letter: t.dead_letter_arn.clone(),
            group_id: t.sqs_message_group_id.clone(),
            detail_type: t.eventbridge_detail_type.clone(),
            source: t.eventbridge_source.clone(),
            delete_after_completion: r.delete_after_completion(),
        }),
        schedule,
    })
}

impl Timetable for Schedules {
    fn load(&self) -> Result<Vec<Timed>, String> {
        let all = self.0.all_schedules().map_err(|e| e.to_string())?;
        Ok(all
            .into_iter()
            .filter(ScheduleRecord::enabled)
            .filter_map(timed)
            .collect())
    }

    fn changed(&self) -> Arc<Notify> {
        self.0.changed()
    }

    fn completed(&self, arn: &str) {
        if let Err(e) = self.0.delete_completed(arn) {
            tracing::warn!(schedule = %arn, error = %e, "cannot delete a completed schedule");
        }
    }
}
