//! The event sources `hearth server` runs, in the order they start (they stop in the
//! reverse order). A new source is built here from its settings and state and joins
//! the list; `docs/event-sources.md` says what else it needs.

use hearth_events::AsyncQueue;
use hearth_mappings::MappingSource;
use hearth_triggers::EventSource;

/// Every source the server runs. The control plane's Invoke is not among them: it makes
/// functions run through the same invoker, but is driven by the HTTP server.
pub(crate) fn sources(
    queue: &AsyncQueue,
    sns: &hearth_sns::Sns,
    mappings: MappingSource,
    events: hearth_eventbridge::Deliveries,
    timer: hearth_eventbridge::Timer,
    node: &str,
) -> Vec<Box<dyn EventSource>> {
    vec![
        Box::new(queue.dispatcher()),
        // After the async queue: SNS's and EventBridge's Lambda deliveries are async
        // invocations.
        Box::new(hearth_sns::Deliveries::new(sns, node)),
        Box::new(events),
        // After the deliveries: what a slot fires is delivered by them.
        Box::new(timer),
        Box::new(mappings),
    ]
}
