//! An alarm's state change, one way for `SetAlarmState` and the evaluator: the new state
//! and, when it differs from the old, the notifications of its actions are written in one
//! atomic edit of the alarm's record, then the history item. The evaluator delivers the
//! notifications (see `alarm_evaluator`), so a change is never left without its actions.

use hearth_store::Edited;

use crate::alarm_history::{self, STATE_UPDATE};
use crate::alarm_model::{MetricAlarm, PendingAction, StateValue};
use crate::alarm_notify;
use crate::{CloudWatch, CloudWatchError};

/// The new state of a change.
pub struct NewState {
    pub state: StateValue,
    pub reason: String,
    /// JSON text.
    pub reason_data: Option<String>,
}

/// What the alarm must still be for the change to apply (the evaluator's guard against
/// a configuration or state written since it read the alarm).
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    pub state_updated_ms: i64,
    pub configuration_updated_ms: i64,
}

/// Sets `arn`'s state at `now_ms`. Answers the old state and the alarm as written;
/// `None` when there is no such alarm or it changed since `expect`.
pub fn change(
    cw: &CloudWatch,
    arn: &str,
    expect: Option<Expect>,
    new: NewState,
    now_ms: i64,
) -> Result<Option<(StateValue, MetricAlarm)>, CloudWatchError> {
    let region = cw.region().to_string();
    let mut outcome: Option<(StateValue, String, Option<String>, MetricAlarm)> = None;
    let edited = cw.store.edit_metric_alarm(
        arn,
        Box::new(|record: &mut String| {
            let Ok(mut alarm) = MetricAlarm::from_record(record) else {
                return false;
            };
            if let Some(e) = expect {
                if alarm.state_updated_ms != e.state_updated_ms
                    || alarm.configuration_updated_ms != e.configuration_updated_ms
                {
                    return false;
                }
            }
            let old = alarm.state_value;
            alarm.state_value = new.state;
            let old_reason = std::mem::replace(&mut alarm.state_reason, new.reason);
            let old_data = std::mem::replace(&mut alarm.state_reason_data, new.reason_data);
            alarm.state_updated_ms = now_ms;
            if old != new.state {
                alarm.state_transitioned_ms = now_ms;
                if alarm.actions_enabled {
                    let message = alarm_notify::message(&alarm, old, &region);
                    let pending: Vec<PendingAction> = alarm
                        .actions_of(new.state)
                        .iter()
                        .map(|a| PendingAction {
                            action: a.clone(),
                            message: message.clone(),
                            changed_ms: now_ms,
                        })
                        .collect();
                    alarm.pending.extend(pending);
                }
            }
            *record = alarm.to_record();
            outcome = Some((old, old_reason, old_data, alarm));
            true
        }),
    )?;
    let Edited::Done(_) = edited else {
        return Ok(None);
    };
    let Some((old, old_reason, old_data, alarm)) = outcome else {
        return Ok(None);
    };
    let (summary, data) = alarm_history::state_update(
        (old, &old_reason, old_data.as_deref()),
        (
            alarm.state_value,
            &alarm.state_reason,
            alarm.state_reason_data.as_deref(),
        ),
    );
    alarm_history::add(
        cw,
        &alarm.account,
        &alarm.alarm_name,
        now_ms,
        STATE_UPDATE,
        &summary,
        &data,
    )?;
    Ok(Some((old, alarm)))
}
