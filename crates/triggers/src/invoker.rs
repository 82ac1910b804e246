//! [`Invoker`]: the handle every event source runs functions through, synchronously or
//! by the asynchronous queue, plus the few facts about a function that deciding how to
//! deliver to it needs. Narrow on purpose: a source that held the engine could skip
//! admission or logs; one that holds this cannot.

use std::sync::Arc;

use bytes::Bytes;
use hearth_engine::{EngineError, InvokePath, InvokeRequest, InvokeResponse, StreamedInvoke};
use hearth_model::event_invoke::EventInvokeConfig;
use hearth_model::FunctionRef;

use crate::queue::{EventQueue, InvocableEvent, QueueStats};

/// An event for the asynchronous queue (an Invoke with `InvocationType: Event`, the
/// legacy InvokeAsync, or any source that delivers asynchronously), validated by the
/// source.
#[derive(Debug, Clone)]
pub struct EnqueueRequest {
    /// The request id the function sees, on every attempt (an Invoke's 202 carries it).
    pub request_id: String,
    pub function: FunctionRef,
    pub payload: Bytes,
    /// The decoded JSON of `X-Amz-Client-Context`.
    pub client_context: Option<String>,
    /// The caller's X-Ray trace header (an Invoke's `X-Amzn-Trace-Id`, an SNS
    /// publisher's, a PutEvents caller's), kept with the event and handed to every
    /// attempt as `InvokeRequest::trace_id`.
    pub trace_header: Option<String>,
    /// The event comes from an SNS subscription: its invocations count in the header's
    /// `Lineage` for recursive loop detection (`InvokeRequest::counts_lineage`).
    pub counts_lineage: bool,
}

/// Cheap to clone; every clone reaches the same engine and queue.
#[derive(Clone)]
pub struct Invoker {
    path: Arc<InvokePath>,
    queue: Arc<dyn EventQueue>,
}

impl Invoker {
    /// The handle over the engine's one invoke path and the asynchronous `queue`. Built
    /// once, by the server, which hands clones to the control plane and the
    /// [`crate::Host`]: nothing else can run a function.
    pub fn new(path: InvokePath, queue: Arc<dyn EventQueue>) -> Self {
        Self {
            path: Arc::new(path),
            queue,
        }
    }

    /// Runs the invocation and answers: the engine resolves the function and qualifier,
    /// admits it against the concurrency limits, runs it and writes its log lines.
    pub async fn invoke(&self, req: InvokeRequest) -> Result<InvokeResponse, EngineError> {
        self.path.invoke(req).await
    }

    /// Runs the invocation with its response read as a stream, through the same path
    /// as [`Invoker::invoke`]: chunks as the function writes them, then its end.
    pub async fn invoke_stream(&self, req: InvokeRequest) -> Result<StreamedInvoke, EngineError> {
        self.path.invoke_stream(req).await
    }

    /// Hands the event to the asynchronous queue once the engine finds its function
    /// invocable now (else the error, and nothing is queued); returns once the event is
    /// on disk. Its delivery later goes through [`Invoker::invoke`].
    pub async fn enqueue(&self, req: EnqueueRequest) -> Result<(), EngineError> {
        self.path.engine().check_invocable(&req.function)?;
        self.queue
            .accept(InvocableEvent::checked(req))
            .await
            .map_err(EngineError::from)
    }

    /// The asynchronous invocation settings (retries, event age, destinations) of
    /// `function` at `qualifier` (`$LATEST`, a version or an alias); `None` when there
    /// are none (Lambda's defaults apply) or the function is gone.
    pub fn event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<EventInvokeConfig>, EngineError> {
        self.path.engine().event_invoke_config(function, qualifier)
    }

    /// Whether the execution role of `function` at `qualifier` lets Lambda send a record
    /// to `destination` (a function, queue or topic ARN; a function's in `function`'s
    /// account), as Lambda acts with the role when it does.
    pub fn role_may_send_to(
        &self,
        function: &str,
        qualifier: &str,
        destination: &str,
    ) -> Result<bool, EngineError> {
        self.path
            .engine()
            .role_may_send_to(function, qualifier, destination)
    }

    /// Whether the execution role of `function` at `qualifier` (`$LATEST` when `None`)
    /// lets Lambda call `action` on `resource`, another service's, whose own resource
    /// policy is `resource_policy`: what a mapping's poller asks before each call on its
    /// queue, as Lambda calls it with the role.
    pub fn role_may_call(
        &self,
        function: &str,
        qualifier: Option<&str>,
        action: &str,
        resource: &str,
        resource_policy: Option<&hearth_iam_policy::Policy>,
    ) -> Result<bool, EngineError> {
        self.path
            .engine()
            .role_may_call(function, qualifier, action, resource, resource_policy)
    }

    /// Whether `role` trusts the service principal `service` for `source_arn` and lets
    /// it call `action` on `resource`, whose own resource policy (a function's) is
    /// `resource_policy`: EventBridge Scheduler calling a schedule's target with its role.
    pub fn role_may_act(
        &self,
        role: &str,
        service: &str,
        source_arn: &str,
        action: &str,
        resource: &str,
        resource_policy: Option<&hearth_iam_policy::Policy>,
    ) -> Result<bool, EngineError> {
        self.path.engine().role_may_act(
            role,
            service,
            source_arn,
            action,
            resource,
            resource_policy,
        )
    }

    /// The dead-letter queue or topic (`DeadLetterConfig.TargetArn`) of `function` at
    /// `qualifier`, if it has one; `None` too for a function that is gone.
    pub fn dead_letter_target(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<String>, EngineError> {
        let r = FunctionRef {
            name: function.to_string(),
            qualifier: Some(qualifier.to_string()),
        };
        match self.path.engine().get_function(&r) {
            Ok(config) => Ok(config.dead_letter_target_arn),
            Err(EngineError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The function's resource-based policy (AddPermission's), if it has one: a source
    /// that invokes as a service principal (SNS as `sns.amazonaws.com`) is allowed by it,
    /// as Lambda decides.
    pub fn function_resource_policy(
        &self,
        function: &FunctionRef,
    ) -> Option<Arc<hearth_iam_policy::Policy>> {
        self.path.engine().function_resource_policy(function)
    }

    /// The function's reserved concurrency, if it has one: a source that delivers many
    /// events at once keeps within it rather than collect throttles.
    pub fn reserved_concurrency(&self, function: &str) -> Option<i64> {
        self.path.engine().reserved_concurrency(function)
    }

    /// Per function, the asynchronous queue's events not done yet.
    pub fn queue_stats(&self) -> Vec<QueueStats> {
        self.queue.stats()
    }
}

#[cfg(test)]
mod tests {
    use hearth_engine::NotFound;

    use super::*;
    use crate::test_support::{engine, Kept};

    #[tokio::test]
    async fn an_event_for_a_function_that_does_not_exist_never_reaches_the_queue() {
        let (engine, _dir) = engine();
        let kept = Arc::new(Kept::default());
        let invoker = Invoker::new(engine, kept.clone());
        let err = invoker
            .enqueue(EnqueueRequest {
                request_id: "r1".into(),
                function: FunctionRef::parse("nope", hearth_model::arn::ACCOUNT).expect("a name"),
                payload: Bytes::from_static(b"{}"),
                client_context: None,
                trace_header: None,
                counts_lineage: false,
            })
            .await
            .expect_err("refused");
        assert!(
            matches!(err, EngineError::NotFound(NotFound::Function { .. })),
            "{err:?}"
        );
        assert!(kept.accepted().is_empty());
    }
}
