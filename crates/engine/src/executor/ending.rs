//! How an invocation's end ([`RunEnd`]) is answered and logged, as Lambda does: the
//! caller's payload and `X-Amz-Function-Error`, the lines before `END`, the `REPORT`
//! status, and whether the environment may serve again.

use bytes::Bytes;
use hearth_model::limits::{STREAM_RESPONSE_MAX_BYTES, SYNC_RESPONSE_MAX_BYTES};
use hearth_model::time::now_ms;
use hearth_runtime_api::{FunctionFailure, Outcome};
use hearth_sandbox::describe_exit;

use super::env::{error_body, timeout_body, RunEnd};

/// What an invocation's end comes to: the caller's payload, the log's extra lines and
/// `REPORT` status, and whether the environment may serve again.
#[derive(Debug)]
pub(super) struct Ending {
    pub payload: Bytes,
    /// `Unhandled` when the function failed.
    pub function_error: Option<&'static str>,
    /// `REPORT`'s `Status:` field (absent on success).
    pub status: Option<String>,
    /// Lines written before `END` (the timeout's, the crash's).
    pub lines: Vec<(i64, String)>,
    pub healthy: bool,
}

impl Ending {
    /// Lambda's answer for `end` of invocation `id` (`timeout_s` is the function's;
    /// `oom_killed` says whether the environment was killed for its memory). That is
    /// asked only when the runtime exited: in a jail it reads a cgroup file, which every
    /// warm invocation paid for before.
    pub(super) fn of(
        end: RunEnd,
        id: &str,
        timeout_s: i64,
        oom_killed: impl FnOnce() -> bool,
    ) -> Self {
        match end {
            RunEnd::Finished(Outcome::Response(body)) => Self::healthy(body),
            // An error the runtime reported, posted or in a stream's trailers.
            RunEnd::Finished(
                Outcome::Error { body, error_type }
                | Outcome::Streamed {
                    failure: Some(FunctionFailure { body, error_type }),
                    ..
                },
            ) => {
                let t = error_type.unwrap_or_else(|| "Unhandled".into());
                Self {
                    healthy: true,
                    ..Self::failed(body, format!("error\tError Type: {t}"))
                }
            }
            // A streamed response is already with the caller; only its end is left.
            RunEnd::Finished(Outcome::Streamed { failure: None, .. }) => {
                Self::healthy(Bytes::new())
            }
            // The runtime's connection closed mid-stream: it is not trusted again.
            RunEnd::Finished(Outcome::StreamBroken { bytes }) => Self::failed(
                error_body(
                    "Runtime.InvalidResponse",
                    &format!("RequestId: {id} Error: the response stream broke off after {bytes} bytes"),
                ),
                "error\tError Type: Runtime.InvalidResponse".into(),
            ),
            RunEnd::Finished(Outcome::StreamTooLarge) => Self::failed(
                Bytes::from(serde_json::json!({
                    "errorMessage": format!("Response payload size exceeded maximum allowed payload size ({STREAM_RESPONSE_MAX_BYTES} bytes)."),
                    "errorType": "Function.ResponseSizeTooLarge",
                }).to_string()),
                "error\tError Type: Function.ResponseSizeTooLarge".into(),
            ),
            // Runtime clients differ after a 413 (awslambdaric exits); a fresh
            // environment serves the next event either way.
            RunEnd::Finished(Outcome::ResponseTooLarge) => Self::failed(
                Bytes::from(serde_json::json!({
                    "errorMessage": format!("Response payload size exceeded maximum allowed payload size ({SYNC_RESPONSE_MAX_BYTES} bytes)."),
                    "errorType": "Function.ResponseSizeTooLarge",
                }).to_string()),
                "error\tError Type: Function.ResponseSizeTooLarge".into(),
            ),
            RunEnd::TimedOut => Self {
                lines: vec![(
                    now_ms(),
                    format!(
                        "{} {id} Task timed out after {timeout_s}.00 seconds",
                        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                    ),
                )],
                ..Self::failed(timeout_body(id, timeout_s), "timeout".into())
            },
            RunEnd::Exited(exit) => Self::exited(exit, id, oom_killed()),
            RunEnd::Abandoned => Self::failed(
                error_body(
                    "Runtime.InvalidResponse",
                    &format!("RequestId: {id} Error: the runtime asked for its next event without answering this one"),
                ),
                "error\tError Type: Runtime.InvalidResponse".into(),
            ),
        }
    }

    fn healthy(payload: Bytes) -> Self {
        Self {
            payload,
            function_error: None,
            status: None,
            lines: Vec::new(),
            healthy: true,
        }
    }

    /// A function error after which the environment is not used again.
    fn failed(payload: Bytes, status: String) -> Self {
        Self {
            payload,
            function_error: Some("Unhandled"),
            status: Some(status),
            lines: Vec::new(),
            healthy: false,
        }
    }

    /// The runtime exited during the invocation; killed for memory, Lambda names it,
    /// otherwise it is an exit like any.
    fn exited(exit: std::process::ExitStatus, id: &str, oom_killed: bool) -> Self {
        let error_type = if oom_killed {
            "Runtime.OutOfMemory"
        } else {
            "Runtime.ExitError"
        };
        let reason = if exit.code() == Some(0) {
            "Runtime exited without providing a reason".to_string()
        } else {
            format!("Runtime exited with error: {}", describe_exit(exit))
        };
        let message = format!("RequestId: {id} Error: {reason}");
        Self {
            lines: vec![(now_ms(), message.clone()), (now_ms(), error_type.into())],
            ..Self::failed(
                error_body(error_type, &message),
                format!("error\tError Type: {error_type}"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    use super::*;

    fn json(b: &Bytes) -> serde_json::Value {
        serde_json::from_slice(b).expect("json")
    }

    #[test]
    fn the_oom_check_is_made_only_for_a_runtime_that_exited() {
        let asked = std::cell::Cell::new(0);
        let oom = || {
            asked.set(asked.get() + 1);
            true
        };
        let ok = Ending::of(
            RunEnd::Finished(Outcome::Response(Bytes::from_static(b"1"))),
            "r",
            3,
            oom,
        );
        assert!(ok.healthy);
        Ending::of(RunEnd::TimedOut, "r", 3, oom);
        Ending::of(RunEnd::Abandoned, "r", 3, oom);
        assert_eq!(
            asked.get(),
            0,
            "an invocation that did not exit reads no OOM count"
        );
        let killed = Ending::of(RunEnd::Exited(ExitStatus::from_raw(9)), "r", 3, oom);
        assert_eq!(asked.get(), 1);
        assert_eq!(killed.function_error, Some("Unhandled"));
        assert_eq!(json(&killed.payload)["errorType"], "Runtime.OutOfMemory");
    }

    #[test]
    fn a_response_or_a_handled_error_keeps_the_environment() {
        let ok = Ending::of(
            RunEnd::Finished(Outcome::Response(Bytes::from_static(b"42"))),
            "id",
            3,
            || false,
        );
        assert_eq!(
            (&ok.payload[..], ok.function_error, ok.status, ok.healthy),
            (&b"42"[..], None, None, true)
        );
        let error = Ending::of(
            RunEnd::Finished(Outcome::Error {
                body: Bytes::from_static(b"{}"),
                error_type: Some("ValueError".into()),
            }),
            "id",
            3,
            || false,
        );
        assert_eq!(error.function_error, Some("Unhandled"));
        assert_eq!(
            error.status.as_deref(),
            Some("error\tError Type: ValueError")
        );
        assert!(error.healthy, "a function error is not the environment's");
        let untyped = Ending::of(
            RunEnd::Finished(Outcome::Error {
                body: Bytes::new(),
                error_type: None,
            }),
            "id",
            3,
            || false,
        );
        assert_eq!(
            untyped.status.as_deref(),
            Some("error\tError Type: Unhandled")
        );
    }

    #[test]
    fn a_timeout_retires_the_environment_with_lambdas_words() {
        let t = Ending::of(RunEnd::TimedOut, "req-1", 2, || false);
        assert!(!t.healthy);
        assert_eq!(t.status.as_deref(), Some("timeout"));
        assert_eq!(
            json(&t.payload)["errorMessage"],
            "RequestId: req-1 Error: Task timed out after 2.00 seconds"
        );
        assert_eq!(t.lines.len(), 1);
        assert!(t.lines[0]
            .1
            .ends_with(" req-1 Task timed out after 2.00 seconds"));
    }

    #[test]
    fn an_exit_names_out_of_memory_when_the_kernel_killed_it() {
        let killed = ExitStatus::from_raw(9);
        let oom = Ending::of(RunEnd::Exited(killed), "r", 3, || true);
        assert_eq!(json(&oom.payload)["errorType"], "Runtime.OutOfMemory");
        assert_eq!(
            oom.lines.last().map(|l| l.1.as_str()),
            Some("Runtime.OutOfMemory")
        );
        let crash = Ending::of(RunEnd::Exited(ExitStatus::from_raw(1 << 8)), "r", 3, || {
            false
        });
        assert_eq!(json(&crash.payload)["errorType"], "Runtime.ExitError");
        assert_eq!(
            json(&crash.payload)["errorMessage"],
            "RequestId: r Error: Runtime exited with error: exit status 1"
        );
        assert!(!crash.healthy);
        let quiet = Ending::of(RunEnd::Exited(ExitStatus::from_raw(0)), "r", 3, || false);
        assert_eq!(
            json(&quiet.payload)["errorMessage"],
            "RequestId: r Error: Runtime exited without providing a reason"
        );
    }

    #[test]
    fn oversized_and_abandoned_responses_retire_the_environment() {
        let big = Ending::of(RunEnd::Finished(Outcome::ResponseTooLarge), "r", 3, || {
            false
        });
        assert!(!big.healthy);
        assert_eq!(
            json(&big.payload)["errorType"],
            "Function.ResponseSizeTooLarge"
        );
        let broken = Ending::of(
            RunEnd::Finished(Outcome::StreamBroken { bytes: 5 }),
            "r",
            3,
            || false,
        );
        assert!(!broken.healthy);
        assert_eq!(
            json(&broken.payload)["errorMessage"],
            "RequestId: r Error: the response stream broke off after 5 bytes"
        );
        let gone = Ending::of(RunEnd::Abandoned, "r", 3, || false);
        assert!(!gone.healthy);
        assert_eq!(json(&gone.payload)["errorType"], "Runtime.InvalidResponse");
    }
}
