//! The dispatcher and one attempt at an event: run it through the invoker (the
//! engine's one invoke path), decide what follows (see `policy`), and record that in the
//! store before the in-memory queue moves on.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hearth_model::arn::LATEST;
use hearth_model::event_invoke::{DestinationKind, EventInvokeConfig};
use hearth_model::time::now_ms;
use hearth_model::FunctionRef;
use hearth_store::{Change, Durability, QueueOp, QueuedEvent};
use hearth_triggers::{EngineError, InvokeRequest, Invoker, OutboundMessage, Queued};

use crate::policy::{decide, Attempt, Condition, Decision, Outcome, Policy};
use crate::queue::Pending;
use crate::record::{dead_letter_message, destination_record};
use crate::report::{age_ms, DropReason, Happened};
use crate::Shared;

/// Longest sleep with nothing due (a push wakes the dispatcher anyway).
const IDLE_WAIT: Duration = Duration::from_secs(60);

/// How often a node that may not run its events looks again.
const STANDING_WAIT: Duration = Duration::from_millis(100);

/// Starts attempts while there are ready events and free slots, then sleeps until
/// something is pushed, finishes, or becomes due.
pub(crate) async fn dispatch(s: Arc<Shared>, invoker: Invoker) {
    // The standing's lapses this dispatcher has let go for.
    let mut lapses = s.holder.standing.lapses();
    loop {
        if s.stopping.load(Ordering::SeqCst) {
            return;
        }
        if !s.may_run() {
            // Out of good standing or drained: nothing starts (see `claims`). Out of
            // standing, what waits is let go here, at once, not by the claim task, which
            // may be stuck in a store call to a database it cannot reach.
            if !s.holder.standing.is_good() {
                crate::claims::lapsed(&s);
                // The heartbeat that ends this lapse counts it.
                lapses = s.holder.standing.lapses() + 1;
            }
            let _ = tokio::time::timeout(STANDING_WAIT, s.wake.notified()).await;
            continue;
        }
        let seen = s.holder.standing.lapses();
        if seen != lapses {
            // The standing lapsed while this dispatcher slept (all slots busy, say, on
            // attempts whose store writes hung while the node was cut off): what waits
            // may have been taken over meanwhile.
            lapses = seen;
            crate::claims::lapsed(&s);
            continue;
        }
        let now = now_ms();
        let (taken, wakeup) = {
            let mut q = s.queue();
            q.promote(now);
            let total = s.config.max_running;
            let slots = total.saturating_sub(q.running());
            let taken = q.take(now, slots, total, |f| {
                match invoker.reserved_concurrency(f) {
                    // Reserved 0 runs nothing: let the attempt send the event on at once.
                    Some(n) if n > 0 => n as usize,
                    _ => usize::MAX,
                }
            });
            (taken, q.next_wakeup(now))
        };
        for p in taken {
            tokio::spawn(attempt(s.clone(), invoker.clone(), p));
        }
        let wait = wakeup.map_or(IDLE_WAIT, |t| {
            Duration::from_millis((t - now_ms()).clamp(1, IDLE_WAIT.as_millis() as i64) as u64)
        });
        let _ = tokio::time::timeout(wait, s.wake.notified()).await;
    }
}

/// How long an event waits after the store failed to record its attempt.
const STORE_RETRY: Duration = Duration::from_secs(5);

/// One attempt at an event taken from the queue.
async fn attempt(s: Arc<Shared>, invoker: Invoker, p: Pending) {
    let (function, seq) = (p.event.function.clone(), p.event.seq);
    let mut unchanged = p.clone();
    let again = match run(&s, &invoker, p.event, p.payload).await {
        Ok(again) => again,
        Err(e) => {
            // The store could not be read: keep the event as its row still is and try
            // it again later, rather than lose it.
            tracing::error!(error = %e, function, seq, "async event not run: the store failed; trying it again later");
            unchanged.event.due_ms = now_ms() + STORE_RETRY.as_millis() as i64;
            Some(unchanged)
        }
    };
    s.queue().finish(&function, seq, again, now_ms());
    s.wake.notify_one();
}

/// Runs the attempt and records what follows; returns the event if it goes back to
/// the queue.
async fn run(
    s: &Shared,
    invoker: &Invoker,
    event: QueuedEvent,
    payload: Option<Bytes>,
) -> Result<Option<Pending>, EngineError> {
    let qualifier = event.qualifier.as_deref().unwrap_or(LATEST);
    // `None` for a function that is gone too: the invoke below finds that out.
    let config = invoker.event_invoke_config(&event.function, qualifier)?;
    let policy = Policy::new(config.as_ref(), &s.config.retry_delays);
    let dest = |condition| config.as_ref().and_then(|c| destination(c, condition));
    let payload = match payload {
        Some(p) => p,
        None => match read_payload(s, event.seq).await? {
            Some(p) => p,
            // Already done (removed by an earlier attempt whose write landed late).
            None => return Ok(None),
        },
    };
    let now = now_ms();
    if policy.expired(&event, now) {
        let condition = Some(Condition::EventAgeExceeded);
        let ending = (condition, DropReason::of(condition));
        return finish(s, invoker, &event, ending, &payload, dest(condition)).await;
    }
    if invoker.reserved_concurrency(&event.function) == Some(0) {
        // Lambda sends an event of a function that may not run straight to its failure
        // destination.
        let mut event = event;
        event.progress.last_outcome = serde_json::to_string(&throttle_outcome()).ok();
        let condition = Some(Condition::RetriesExhausted);
        let ending = (condition, Some(DropReason::NoConcurrency));
        return finish(s, invoker, &event, ending, &payload, dest(condition)).await;
    }
    let age_ms = age_ms(event.accepted_ms, now);
    s.report_at(&event, Happened::Attempt { age_ms }, now);
    let attempt = match invoke(invoker, &event, &payload).await {
        Ok(attempt) => attempt,
        Err(stopped) => {
            // Lambda sends an event its recursive loop detection stopped to the function's
            // on-failure destination or dead-letter queue, with no retry (a retry would be
            // the same loop). UNSURE: the record's `condition` for it is not documented;
            // Hearth says RetriesExhausted, the one failure condition of a run attempt.
            let mut event = event;
            event.progress.last_outcome = serde_json::to_string(&recursive_outcome(&stopped)).ok();
            let condition = Some(Condition::RetriesExhausted);
            let ending = (condition, Some(DropReason::RecursiveLoop));
            return finish(s, invoker, &event, ending, &payload, dest(condition)).await;
        }
    };
    let (decision, progress) = decide(&event, &attempt, &policy, now_ms());
    let mut event = event;
    event.progress = progress;
    match decision {
        Decision::Done(condition) => {
            let ending = (condition, DropReason::of(condition));
            finish(s, invoker, &event, ending, &payload, dest(condition)).await
        }
        Decision::Again {
            due_ms,
            pause_function,
        } => {
            event.due_ms = due_ms;
            // Not waited for (see `finish`): if it is lost, the event runs sooner.
            s.writer.submit_all(vec![Change::Queue(QueueOp::Reschedule {
                seq: event.seq,
                owner: Some(s.holder.node.clone()),
                due_ms,
                progress: event.progress.clone(),
            })]);
            if pause_function {
                s.queue().pause(&event.function, due_ms);
            }
            Ok(Some(Pending {
                event,
                payload: Some(payload),
            }))
        }
    }
}

/// The destination configured for how the event ended.
fn destination(c: &EventInvokeConfig, condition: Option<Condition>) -> Option<String> {
    match condition? {
        Condition::Success => c.destination_config.on_success(),
        _ => c.destination_config.on_failure(),
    }
    .map(str::to_string)
}

/// What the queue knows of an event accepted at `accepted_ms` and run `runs` times
/// before, for its trace: X-Ray's `Dwell Time` runs from its acceptance to this attempt's
/// start, and `Attempt #N` counts from 1.
fn queued(accepted_ms: i64, runs: i64) -> Queued {
    Queued {
        accepted_ms,
        attempt: u32::try_from(runs.saturating_add(1).max(1)).unwrap_or(u32::MAX),
    }
}

/// Runs the event once through the invoker, with the caller's trace header; the message
/// of the refusal when recursive loop detection stopped it.
async fn invoke(
    invoker: &Invoker,
    event: &QueuedEvent,
    payload: &Bytes,
) -> Result<Attempt, String> {
    let result = invoker
        .invoke(InvokeRequest {
            client_context: event.client_context.clone(),
            attempt: Some(event.progress.runs + 1),
            trace_id: event.trace_header.clone(),
            counts_lineage: event.counts_lineage,
            queued: Some(queued(event.accepted_ms, event.progress.runs)),
            ..InvokeRequest::new(
                event.request_id.clone(),
                FunctionRef {
                    name: event.function.clone(),
                    qualifier: event.qualifier.clone(),
                },
                payload.clone(),
            )
        })
        .await;
    Ok(match result {
        Ok(r) => Attempt::Ran(Outcome {
            status_code: 200,
            executed_version: r.executed_version,
            function_error: r.function_error,
            payload: String::from_utf8_lossy(&r.payload).into_owned(),
        }),
        Err(EngineError::NotFound(_)) => {
            tracing::warn!(
                function = event.function,
                request_id = event.request_id,
                "async event dropped: its function (or the version or alias named) no longer exists"
            );
            Attempt::Gone
        }
        Err(EngineError::RecursiveInvocation(message)) => return Err(message),
        Err(e) => setback(&e),
    })
}

/// What a stop by recursive loop detection looks like in a failure record: Lambda's
/// `RecursiveInvocationException` (400).
fn recursive_outcome(message: &str) -> Outcome {
    Outcome {
        status_code: 400,
        executed_version: LATEST.into(),
        function_error: None,
        payload: serde_json::json!({
            "errorType": "RecursiveInvocationException",
            "errorMessage": message,
        })
        .to_string(),
    }
}

/// An attempt that did not run: throttled, or Hearth's failure.
fn setback(e: &EngineError) -> Attempt {
    if e.is_throttle() {
        return Attempt::Setback { throttled: true };
    }
    // System errors, and a function busy with an update: try again later.
    tracing::warn!(error = %e, "async attempt did not run");
    Attempt::Setback { throttled: false }
}

/// What a throttle looks like in a failure record.
fn throttle_outcome() -> Outcome {
    Outcome {
        status_code: 429,
        executed_version: LATEST.into(),
        function_error: None,
        payload: serde_json::json!({
            "errorType": "TooManyRequestsException",
            "errorMessage": "Rate Exceeded.",
            "reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
        })
        .to_string(),
    }
}

/// The event is done (with `condition`, and dropped for a reason unless it succeeded):
/// sends a record to `dest` (the destination configured for `condition`) if there is
/// one, and its event to the dead-letter target if it failed, and removes the event.
/// Nothing goes back to the queue. A record or dead letter sent to a queue or topic goes
/// before the event's removal is committed: a crash between sends it again when the
/// event runs again (at-least-once, as everywhere here; so are its reports).
async fn finish(
    s: &Shared,
    invoker: &Invoker,
    event: &QueuedEvent,
    (condition, dropped): (Option<Condition>, Option<DropReason>),
    payload: &[u8],
    dest: Option<String>,
) -> Result<Option<Pending>, EngineError> {
    if let Some(reason) = dropped {
        s.report(event, Happened::Dropped(reason));
    }
    // The function's last answer, if it ever answered.
    let last = event
        .progress
        .last_outcome
        .as_deref()
        .and_then(|o| serde_json::from_str::<Outcome>(o).ok());
    let mut follow = None;
    let qualifier = event.qualifier.as_deref().unwrap_or(LATEST);
    // Lambda sends the record with the function's execution role: one that may no
    // longer invoke the destination (its policy changed since the configuration was
    // accepted) loses the record, as on AWS.
    let dest = match dest {
        Some(arn) if !invoker.role_may_send_to(&event.function, qualifier, &arn)? => {
            tracing::warn!(
                function = event.function,
                request_id = event.request_id,
                destination = arn,
                "destination record not sent: the function's execution role does not allow lambda:InvokeFunction on it"
            );
            s.report(event, Happened::DestinationDeliveryFailure);
            None
        }
        dest => dest,
    };
    if let (Some(condition), Some(arn)) = (condition, dest) {
        let record =
            destination_record(event, payload, condition, last.as_ref(), chrono::Utc::now());
        match DestinationKind::of(&arn, condition != Condition::Success) {
            DestinationKind::Queue | DestinationKind::Topic => {
                let message = OutboundMessage {
                    body: record.to_string(),
                    attributes: Vec::new(),
                    detail_type: None,
                };
                if !send(s, &arn, message, "destination record", event).await {
                    s.report(event, Happened::DestinationDeliveryFailure);
                }
            }
            // An event of source `lambda` whose detail is the record (AWS's shape).
            DestinationKind::EventBus => {
                let detail_type = if condition == Condition::Success {
                    "Lambda Function Invocation Result - Success"
                } else {
                    "Lambda Function Invocation Result - Failure"
                };
                let message = OutboundMessage {
                    body: record.to_string(),
                    attributes: Vec::new(),
                    detail_type: Some(detail_type.to_string()),
                };
                if !send(s, &arn, message, "destination record", event).await {
                    s.report(event, Happened::DestinationDeliveryFailure);
                }
            }
            _ => follow = function_record(s, event, &arn, record)?,
        }
    }
    if let Some(failed) = condition.filter(|c| *c != Condition::Success) {
        dead_letter(s, invoker, event, qualifier, payload, last.as_ref(), failed).await?;
    }
    if condition.is_some_and(|c| c != Condition::Success) {
        tracing::info!(
            function = event.function,
            request_id = event.request_id,
            condition = condition.map(Condition::as_str),
            attempts = event.progress.runs,
            "async event failed"
        );
    }
    let next = follow.as_ref().map(|f| f.0.clone());
    // The event goes only if this node still holds it, and its record is queued only
    // then (an event another node took over is done, and recorded, there).
    let done = Change::Queue(QueueOp::Finish {
        seq: event.seq,
        owner: Some(s.holder.node.clone()),
        follow,
    });
    match next {
        // Submitted after the attempt's log lines, so committed no earlier than them.
        // Not waited for, so that many attempts share a commit: until it lands, the
        // event's row is still there, and a crash makes it run again.
        None => s.writer.submit_all(vec![done]),
        Some(next) => {
            // Waited for: the record runs only once it is in the store, read from there
            // (so a record the fence dropped is not run from memory).
            s.writer.commit(vec![done], Durability::Committed).await?;
            s.report(&next, Happened::Received);
            if next.owner.is_some() {
                s.enqueue([Pending {
                    event: next,
                    payload: None,
                }]);
            }
        }
    }
    Ok(None)
}

/// The record for a function destination, queued as a new event of that function (in
/// the source function's own account, as the configuration was checked).
fn function_record(
    s: &Shared,
    event: &QueuedEvent,
    arn: &str,
    record: serde_json::Value,
) -> Result<Option<Box<(QueuedEvent, Bytes)>>, EngineError> {
    let target = match FunctionRef::parse(arn, hearth_model::arn::key_account(&event.function)) {
        Ok(target) => target,
        Err(e) => {
            tracing::warn!(
                destination = arn,
                error = e.message,
                "destination is not a function; record dropped"
            );
            s.report(event, Happened::DestinationDeliveryFailure);
            return Ok(None);
        }
    };
    let now = now_ms();
    let next = QueuedEvent {
        seq: s.seq()?,
        owner: s.new_owner(),
        request_id: uuid::Uuid::new_v4().to_string(),
        function: target.name,
        qualifier: target.qualifier,
        client_context: None,
        accepted_ms: now,
        due_ms: now,
        progress: Default::default(),
        // The record's invocation continues the event's trace; it is not an SNS one.
        trace_header: event.trace_header.clone(),
        counts_lineage: false,
    };
    Ok(Some(Box::new((next, Bytes::from(record.to_string())))))
}

/// Sends a failed event to the function's dead-letter queue or topic, if it has one its
/// role may send to: the event as it was given, with Lambda's attributes saying why
/// (`RequestID`, `ErrorCode`, `ErrorMessage`).
async fn dead_letter(
    s: &Shared,
    invoker: &Invoker,
    event: &QueuedEvent,
    qualifier: &str,
    payload: &[u8],
    last: Option<&Outcome>,
    condition: Condition,
) -> Result<(), EngineError> {
    let Some(target) = invoker.dead_letter_target(&event.function, qualifier)? else {
        return Ok(());
    };
    if !invoker.role_may_send_to(&event.function, qualifier, &target)? {
        tracing::warn!(
            function = event.function,
            request_id = event.request_id,
            target,
            "dead letter not sent: the function's execution role may not send to its dead-letter target"
        );
        s.report(event, Happened::DeadLetterError);
        return Ok(());
    }
    let message = dead_letter_message(event, payload, last, condition);
    if !send(s, &target, message, "dead letter", event).await {
        s.report(event, Happened::DeadLetterError);
    }
    Ok(())
}

/// Hands `message` to the queue or topic `target`; answers whether it was taken. A
/// message that cannot be sent is dropped with a warning (the caller counts it, as
/// Lambda counts it in `DestinationDeliveryFailures` or `DeadLetterErrors`, and goes
/// on).
async fn send(
    s: &Shared,
    target: &str,
    message: OutboundMessage,
    what: &str,
    event: &QueuedEvent,
) -> bool {
    let Some(sink) = s.sink.get() else {
        tracing::warn!(
            target,
            what,
            "not sent: this server has no queues or topics"
        );
        return false;
    };
    match sink.send(target, message).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(
                function = event.function,
                request_id = event.request_id,
                target,
                error = %e,
                "{what} not sent"
            );
            false
        }
    }
}

async fn read_payload(s: &Shared, seq: i64) -> Result<Option<Bytes>, EngineError> {
    let store = s.store.clone();
    Ok(tokio::task::spawn_blocking(move || store.queue().queued_payload(seq)).await??)
}

#[cfg(test)]
mod tests {
    use hearth_engine::{Conflict, Throttle};
    use hearth_model::State;

    use super::*;

    #[test]
    fn an_attempt_counts_from_one_after_the_runs_before_it() {
        let first = queued(1_700_000_000_123, 0);
        assert_eq!(
            first,
            Queued {
                accepted_ms: 1_700_000_000_123,
                attempt: 1
            }
        );
        assert_eq!(queued(5, 2).attempt, 3);
    }

    #[test]
    fn only_a_throttle_comes_back_without_counting() {
        for reason in [Throttle::ReservedConcurrency, Throttle::AccountConcurrency] {
            assert!(matches!(
                setback(&EngineError::Throttled(reason)),
                Attempt::Setback { throttled: true }
            ));
        }
        let busy = EngineError::Conflict(Conflict::NotActive {
            state: State::Pending,
        });
        for e in [busy, EngineError::internal("the store failed")] {
            assert!(matches!(setback(&e), Attempt::Setback { throttled: false }));
        }
    }
}
