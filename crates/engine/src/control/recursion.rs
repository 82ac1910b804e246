//! Recursive loop detection on the invoke path: an invocation from an SQS queue or an SNS
//! subscription is counted in its trace header's `Lineage` (one more invocation of its
//! function by the event chain); past the limit (`hearth_traces::RECURSION_LIMIT`), a
//! function whose recursion config is `Terminate` (the default) is not run, the observer
//! counts the drop (`RecursiveInvocationsDropped`) and the caller gets
//! [`EngineError::RecursiveInvocation`] to deal with the event as Lambda does (a queue's
//! message stays for its redrive policy, an SNS event goes to the function's on-failure
//! destination or dead-letter queue). `Allow` runs it.

use hearth_model::arn::{function_arn, LATEST};
use hearth_model::function_settings::RecursiveLoop;
use hearth_traces::{count_invocation, function_hash, TraceHeader};

use crate::error::EngineError;
use crate::executor::InvokeRequest;
use crate::Engine;

/// What the loop check decided for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recursion {
    /// Run it with this trace header (the incoming one, its `Lineage` counted).
    Run(String),
    /// A loop under `Terminate`: dropped at this count.
    Drop(u32),
}

/// The decision for an invocation of `function` (its key) with the caller's `incoming`
/// header, under the function's `config`. An unreadable header counts as none, as the
/// trace does (`continue_trace`).
pub(crate) fn decide(function: &str, incoming: Option<&str>, config: RecursiveLoop) -> Recursion {
    let header: Option<TraceHeader> = incoming.and_then(|h| h.parse().ok());
    let step = count_invocation(
        header.as_ref(),
        &function_hash(&function_arn(function, None)),
    );
    if step.is_loop() && config == RecursiveLoop::Terminate {
        Recursion::Drop(step.count)
    } else {
        Recursion::Run(step.header.to_string())
    }
}

impl Engine {
    /// Counts `req` (an invocation of `function`, its key, from SQS or SNS) in its chain:
    /// the request to run, with the counted header, or the refusal of a loop.
    pub(crate) fn count_recursion(
        &self,
        function: &str,
        req: &InvokeRequest,
    ) -> Result<InvokeRequest, EngineError> {
        let config = self
            .settings_of(function, LATEST)?
            .recursive_loop
            .unwrap_or_default();
        match decide(function, req.trace_id.as_deref(), config) {
            Recursion::Run(header) => Ok(InvokeRequest {
                trace_id: Some(header),
                ..req.clone()
            }),
            Recursion::Drop(count) => {
                let arn = function_arn(function, None);
                tracing::warn!(
                    function = %arn,
                    request_id = %req.request_id,
                    invocations = count,
                    "recursive loop detected: the function's event chain would invoke it more than {} times; \
                     the invocation is dropped (its recursion config is Terminate)",
                    hearth_traces::RECURSION_LIMIT
                );
                self.inner
                    .executor
                    .observer()
                    .recursive_invocation_dropped(function);
                // UNSURE: AWS's exact message for RecursiveInvocationException is not
                // documented; this one says what happened.
                Err(EngineError::RecursiveInvocation(format!(
                    "Lambda detected a recursive loop and stopped the invocation of {arn}"
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    fn hash(function: &str) -> String {
        function_hash(&function_arn(function, None))
    }

    #[test]
    fn a_first_invocation_starts_the_functions_count() {
        let h = hash("f");
        assert_eq!(
            decide("f", Some(ROOT), RecursiveLoop::Terminate),
            Recursion::Run(format!("{ROOT};Lineage={h}:1"))
        );
        assert_eq!(
            decide("f", None, RecursiveLoop::Terminate),
            Recursion::Run(format!("Lineage={h}:1"))
        );
        assert_eq!(
            decide("f", Some("garbage"), RecursiveLoop::Terminate),
            Recursion::Run(format!("Lineage={h}:1"))
        );
    }

    #[test]
    fn the_seventeenth_is_dropped_under_terminate_and_run_under_allow() {
        let h = hash("f");
        let at_16 = format!("{ROOT};Lineage={h}:16");
        assert_eq!(
            decide("f", Some(&at_16), RecursiveLoop::Terminate),
            Recursion::Drop(17)
        );
        assert_eq!(
            decide("f", Some(&at_16), RecursiveLoop::Allow),
            Recursion::Run(format!("{ROOT};Lineage={h}:17"))
        );
        let at_15 = format!("{ROOT};Lineage={h}:15");
        assert_eq!(
            decide("f", Some(&at_15), RecursiveLoop::Terminate),
            Recursion::Run(format!("{ROOT};Lineage={h}:16"))
        );
        // Another function's count is its own.
        assert_eq!(
            decide("g", Some(&at_16), RecursiveLoop::Terminate),
            Recursion::Run(format!("{ROOT};Lineage={h}:16|{}:1", hash("g")))
        );
    }
}
