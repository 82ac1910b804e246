//! The executor's invoke path for a resolved [`RunSpec`]: admit the invocation, take an
//! idle provisioned or warm environment or cold start one, run the event, write the
//! invocation's log lines, and answer as Lambda does (function failures are HTTP 200
//! with `X-Amz-Function-Error`). A fresh-env function's environment serves one
//! invocation and is then shut down (docs/fresh-env.md).

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use hearth_model::arn::function_arn;
use hearth_model::limits::LOG_TAIL_BYTES;
use hearth_model::settings::TracingMode;
use hearth_model::time::now_ms;
use hearth_model::FunctionRef;
use hearth_runtime_api::Invocation;
use hearth_store::LogBatch;

use super::code::CodeFailure;
use super::ending::Ending;
use super::env::{AfterRuntime, Environment, InitFailure, Origin, RunEnd};
use super::logs::{self, Report};
use super::telemetry::{Figures, ResponseSpans};
use super::{Executor, RunSpec};
use crate::error::EngineError;
use crate::observe::{Ending as ObservedEnding, Invoked, Queued, Start};

/// A synchronous (or dry-run) invocation.
#[derive(Debug, Clone)]
pub struct InvokeRequest {
    /// Also the `x-amzn-RequestId` of the Invoke response.
    pub request_id: String,
    pub function: FunctionRef,
    pub payload: Bytes,
    pub log_tail: bool,
    /// The decoded JSON of `X-Amz-Client-Context`.
    pub client_context: Option<String>,
    pub dry_run: bool,
    /// Which attempt at an asynchronous event this is (1 for the first), for the log.
    pub attempt: Option<i64>,
    /// Where a streamed response goes; set only by `InvokePath::invoke_stream`, `None`
    /// for every other caller (a streamed response is then buffered whole).
    pub stream: Option<crate::StreamTarget>,
    /// The X-Ray trace header the function sees (`Lambda-Runtime-Trace-Id`), when the
    /// caller has one (a function URL passes on its request's `X-Amzn-Trace-Id`); a
    /// new one otherwise.
    pub trace_id: Option<String>,
    /// The invocation comes from an SQS queue (an event-source mapping) or an SNS
    /// subscription: Lambda counts it in the trace header's `Lineage` and stops a
    /// recursive loop (see `Engine::count_recursion`). False for every other caller.
    pub counts_lineage: bool,
    /// Set for an event that waited in a queue (an asynchronous invocation, an event
    /// source mapping's batch): when it was accepted and which attempt this is, for its
    /// trace's `Dwell Time` and `Attempt #N`.
    pub queued: Option<Queued>,
}

impl InvokeRequest {
    /// A synchronous invoke of `function` with `payload` and nothing else asked: no log
    /// tail, client context, dry run, stream or trace of the caller's.
    pub fn new(request_id: String, function: FunctionRef, payload: Bytes) -> Self {
        Self {
            request_id,
            function,
            payload,
            log_tail: false,
            client_context: None,
            dry_run: false,
            attempt: None,
            stream: None,
            trace_id: None,
            counts_lineage: false,
            queued: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct InvokeResponse {
    pub executed_version: String,
    /// `Unhandled` when the function failed.
    pub function_error: Option<String>,
    /// Base64 of the invocation log's last 4 KB, when asked for.
    pub log_result: Option<String>,
    pub payload: Bytes,
}

/// Why an environment was not started.
pub(crate) enum StartError {
    /// Its code was collected between the lookup and the start: the function changed,
    /// and a new lookup finds what it runs now.
    CodeGone,
    /// Its code cannot be unpacked: the invocation is refused with this.
    Code(EngineError),
    /// The runtime (or the sandbox) failed to start.
    Init(InitFailure),
}

impl Executor {
    /// Runs one event of `spec`, admitted against its function's concurrency, on an
    /// idle provisioned environment of `qualifier` (the alias or version invoked), else
    /// a warm one of the same revision, else a new one. `None` when the code `spec`
    /// names was collected before an environment started: the function changed, and
    /// the caller resolves it again.
    pub(crate) async fn run(
        &self,
        spec: &RunSpec,
        qualifier: Option<&str>,
        req: &InvokeRequest,
    ) -> Option<Result<InvokeResponse, EngineError>> {
        // Held until the invocation is over (which may be after the caller is answered,
        // see `finish`): concurrency is busy environments.
        let mut permit = match self.inner.admission.admit(&spec.function).await {
            Ok(p) => Some(p),
            Err(e) => {
                if e.is_throttle() {
                    self.observer()
                        .throttled(&spec.function, req.function.qualifier.as_deref());
                }
                return Some(Err(e));
            }
        };
        if let Some(q) = qualifier {
            if let Some(done) = self.run_provisioned(spec, q, req, &mut permit).await {
                return Some(done);
            }
        }
        // A fresh-env function never reuses an environment (docs/fresh-env.md).
        if !spec.fresh_env {
            if let Some(done) = self.run_warm(spec, req, &mut permit).await {
                return Some(done);
            }
        }
        self.run_cold(spec, req, &mut permit).await
    }

    /// Runs the event on an idle provisioned environment of `qualifier`, if there is
    /// one whose runtime takes it.
    async fn run_provisioned(
        &self,
        spec: &RunSpec,
        qualifier: &str,
        req: &InvokeRequest,
        permit: &mut Option<super::admission::Permit>,
    ) -> Option<Result<InvokeResponse, EngineError>> {
        let mut env = self
            .inner
            .provisioned
            .take(&spec.function, qualifier, &spec.version)?;
        match self.run_on(spec, req, &mut env, true).await {
            Ran::Done(result) => Some(self.finish(spec, req, env, result, permit)),
            Ran::Undelivered => {
                self.release_provisioned(&spec.function, env, false);
                None
            }
        }
    }

    /// Runs the event on the most recently used warm environment of the spec's
    /// revision, if there is one whose runtime takes it.
    async fn run_warm(
        &self,
        spec: &RunSpec,
        req: &InvokeRequest,
        permit: &mut Option<super::admission::Permit>,
    ) -> Option<Result<InvokeResponse, EngineError>> {
        let (warm, stale) = self
            .inner
            .pool
            .acquire(&spec.pool_key, &spec.environment_key);
        drop(stale);
        let mut env = warm?;
        match self.run_on(spec, req, &mut env, true).await {
            Ran::Done(result) => Some(self.finish(spec, req, env, result, permit)),
            // The warm runtime died before it took the event: nothing ran, so the
            // event goes to a fresh environment instead.
            Ran::Undelivered => None,
        }
    }

    /// Cold-starts an environment and runs the event on it; `None` when the code is
    /// gone.
    async fn run_cold(
        &self,
        spec: &RunSpec,
        req: &InvokeRequest,
        permit: &mut Option<super::admission::Permit>,
    ) -> Option<Result<InvokeResponse, EngineError>> {
        let mut env = match self
            .start_environment(spec, &req.request_id, Origin::OnDemand)
            .await
        {
            Ok(env) => env,
            Err(StartError::CodeGone) => return None,
            Err(StartError::Code(e)) => return Some(Err(e)),
            Err(StartError::Init(failure)) => {
                return Some(self.init_failed(spec, req, failure).await)
            }
        };
        Some(match self.run_on(spec, req, &mut env, false).await {
            Ran::Done(result) => self.finish(spec, req, env, result, permit),
            // Only warm runs report this; a cold one reports the crash itself.
            Ran::Undelivered => Err(EngineError::internal("a new environment lost its event")),
        })
    }

    /// Starts an environment for a function version; its code (unpacked on first use)
    /// and its layers (composed on first use) stay pinned for as long as the
    /// environment lives.
    pub(crate) async fn start_environment(
        &self,
        spec: &RunSpec,
        request_id: &str,
        origin: Origin,
    ) -> Result<Environment, StartError> {
        let ready = match self.ready_with_layers(&spec.code, &spec.layers).await {
            Ok(ready) => ready,
            Err(CodeFailure::Gone) => return Err(StartError::CodeGone),
            Err(failure) => return Err(StartError::Code(failure.to_error())),
        };
        let began = Instant::now();
        let started = Environment::start(
            spec,
            ready,
            &self.inner.catalog,
            (
                &self.inner.sandbox,
                self.function_api().as_ref(),
                self.observer(),
            ),
            request_id,
            origin,
            (
                &self.inner.writer,
                self.inner.log_limits,
                &self.inner.observer,
            ),
        )
        .await;
        self.observer().started(&crate::observe::Started {
            function: &spec.function,
            version: &spec.version,
            duration: began.elapsed(),
            ok: started.is_ok(),
        });
        let mut env = started.map_err(StartError::Init)?;
        env.register_usage(&self.inner.usage, usage_tag(spec), began);
        env.count_shutdown_in(&self.inner.phases);
        Ok(env)
    }

    /// What a live environment's use is sampled for (see [`Executor::sample_host_use`]).
    pub(crate) fn sample_host_use(&self, now: Instant) -> Vec<crate::observe::HostUse> {
        self.inner.usage.sample(now)
    }

    /// Returns a healthy environment to where it came from, and answers; an invocation
    /// that extensions still work on is finished later, with its concurrency `permit`.
    fn finish(
        &self,
        spec: &RunSpec,
        req: &InvokeRequest,
        env: Environment,
        mut result: RunResult,
        permit: &mut Option<super::admission::Permit>,
    ) -> Result<InvokeResponse, EngineError> {
        if let Some(post) = result.deferred.take() {
            self.conclude_later(spec, req, env, post, permit.take());
            return result.response;
        }
        if spec.fresh_env {
            self.end_fresh(&spec.function, env);
            return result.response;
        }
        match env.origin {
            Origin::Provisioned { .. } => {
                self.release_provisioned(&spec.function, env, result.healthy)
            }
            Origin::OnDemand if result.healthy => {
                drop(self.inner.pool.release(&spec.pool_key, env))
            }
            Origin::OnDemand => drop(env),
        }
        result.response
    }

    /// Ends the environment of a fresh-env function after its one invocation (and the
    /// extensions' work on it), from a task of its own so that the caller's answer does
    /// not wait: its shutdown phase runs as for any environment stopped. A provisioned
    /// one is replaced in the background, ready for the next invocation.
    fn end_fresh(&self, function: &str, env: Environment) {
        let executor = self.clone();
        let function = function.to_string();
        tokio::spawn(async move {
            match env.origin {
                Origin::Provisioned { .. } => executor.release_provisioned(&function, env, false),
                Origin::OnDemand => drop(env),
            }
        });
    }

    /// Runs the event on `env` and writes the invocation's log: hands it to the
    /// runtime (and to the extensions subscribed to INVOKE), waits for its end, then
    /// closes the log with `END` and `REPORT`. When extensions still work on the
    /// invocation after the runtime's response, the caller gets that response at once
    /// and the rest is [`RunResult::deferred`] (unless it asked for the log's tail,
    /// which waits for `REPORT`). A warm environment whose runtime exited before it
    /// took the event reports [`Ran::Undelivered`] instead.
    async fn run_on(
        &self,
        spec: &RunSpec,
        req: &InvokeRequest,
        env: &mut Environment,
        warm: bool,
    ) -> Ran {
        let timeout = Duration::from_secs(spec.timeout_s.max(1) as u64);
        let start_ms = now_ms();
        let trace = self.observer().trace_header(
            &req.request_id,
            &spec.function,
            spec.tracing,
            req.trace_id.as_deref(),
        );
        let invocation = invocation(spec, req, start_ms, timeout, trace);
        let invocation_trace = invocation.trace_id.clone();
        // Armed before the event is handed over: the runtime may ask again as soon as
        // its response is taken. Only Active tracing asks the observer at all.
        let next_watch = (spec.tracing == TracingMode::Active
            && self.observer().watches_next(&req.request_id))
        .then(|| env.watch_next(&req.request_id));
        env.begin_log(&start_lines(start_ms, &spec.version, req), req.log_tail)
            .await;
        // One atomic load without subscribers.
        env.telemetry
            .start(start_ms, &req.request_id, &spec.version, &invocation_trace);
        let started = Instant::now();
        // One atomic load for a function without extensions.
        let extensions = env.extensions_want_invoke();
        if extensions {
            env.invoke_extensions(&invocation);
        }
        let end = env.run(invocation, timeout).await;
        let runtime_duration = started.elapsed();
        let finished = matches!(end, RunEnd::Finished(_));
        let id = &req.request_id;
        // Noted by the Runtime API only while someone subscribed: one atomic load else.
        let response = match env.telemetry.active() {
            true => env
                .take_response_timing()
                .map(|t| ResponseSpans::of((started, start_ms), &t)),
            false => None,
        };
        if warm && matches!(end, RunEnd::Exited(_)) && !env.delivered(id) {
            // Its START (held until output or the end) goes out with this line.
            env.end_log(&[(
                now_ms(),
                format!("RequestId: {id} The runtime exited before it took the event; a new environment runs it"),
            )])
            .await;
            return Ran::Undelivered;
        }
        if matches!(end, RunEnd::Exited(_)) {
            env.telemetry.fault(now_ms(), id);
        }
        let ending = Ending::of(end, id, spec.timeout_s, || env.oom_killed());
        let start = match env.origin {
            Origin::Provisioned { .. } => Start::Provisioned,
            Origin::OnDemand if warm => Start::Warm,
            Origin::OnDemand => Start::Cold,
        };
        let post = PostRuntime {
            provisioned_spillover: start != Start::Provisioned && self.spills(spec, req),
            start,
            ending,
            invocation_trace,
            start_ms,
            started,
            runtime_duration,
            timeout,
            next_watch,
            finished,
            extensions: extensions && finished,
            response,
        };
        if post.extensions && !req.log_tail {
            let response = InvokeResponse {
                executed_version: spec.version.clone(),
                function_error: post.ending.function_error.map(str::to_string),
                log_result: None,
                payload: post.ending.payload.clone(),
            };
            return Ran::Done(RunResult {
                response: Ok(response),
                healthy: post.ending.healthy,
                deferred: Some(Box::new(post)),
            });
        }
        Ran::Done(self.conclude(spec, req, env, post).await)
    }

    /// The end of an invocation once the runtime answered: waits for the extensions
    /// subscribed to INVOKE if there are any (their time counts in `Duration`, as
    /// `PostRuntimeExtensionsDuration`), writes `END` and `REPORT`, and tells the
    /// observer.
    async fn conclude(
        &self,
        spec: &RunSpec,
        req: &InvokeRequest,
        env: &mut Environment,
        post: PostRuntime,
    ) -> RunResult {
        let PostRuntime {
            start, mut ending, ..
        } = post;
        let mut post_runtime = None;
        let duration = if post.extensions {
            let after = env.await_extensions(post.started + post.timeout).await;
            let duration = post.started.elapsed();
            post_runtime = Some(duration.saturating_sub(post.runtime_duration));
            if let Some(line) = after_runtime_line(&req.request_id, &after, spec.timeout_s) {
                ending.lines.push(line);
                ending.healthy = false;
            }
            if env.extension_failed() {
                // It posted `exit/error`: the environment is not used again.
                ending.healthy = false;
            }
            if matches!(after, AfterRuntime::TimedOut) && ending.status.is_none() {
                ending.status = Some("timeout".into());
            }
            duration
        } else {
            post.runtime_duration
        };
        let healthy = ending.healthy;
        let init = env.init_duration;
        let observed = observed_ending(&ending);
        let durations = (post.runtime_duration, duration);
        let telemetry = (post.invocation_trace.as_str(), post.response);
        let response = close(spec, req, env, ending, durations, telemetry).await;
        self.observer().invoked(&Invoked {
            start,
            init,
            provisioned_spillover: post.provisioned_spillover,
            max_memory_used_mb: env.max_memory_used_mb(),
            post_runtime_extensions: post_runtime,
            ..invoked(
                spec,
                req,
                &post.invocation_trace,
                post.start_ms,
                duration,
                observed,
            )
        });
        if let Some(watch) = post.next_watch {
            self.await_next(
                &req.request_id,
                watch,
                post.finished,
                post.started + post.timeout,
            );
        }
        RunResult {
            response: Ok(response),
            healthy,
            deferred: None,
        }
    }

    /// Finishes an invocation whose caller already has the runtime's response, from a
    /// task of its own: the environment stays busy (its concurrency `permit` held)
    /// until the extensions are done with the invocation, then goes back.
    fn conclude_later(
        &self,
        spec: &RunSpec,
        req: &InvokeRequest,
        mut env: Environment,
        post: Box<PostRuntime>,
        permit: Option<super::admission::Permit>,
    ) {
        let executor = self.clone();
        let spec = spec.clone();
        // Without the caller's stream: holding it would keep the caller's response open.
        let req = InvokeRequest {
            stream: None,
            ..req.clone()
        };
        tokio::spawn(async move {
            let result = executor.conclude(&spec, &req, &mut env, *post).await;
            let _ = executor.finish(&spec, &req, env, result, &mut None);
            drop(permit);
        });
    }

    /// Tells the observer when the runtime asks for its next event after invocation
    /// `request_id`, from a task of its own so that the caller's answer does not wait:
    /// a runtime may work on after posting its response, and Lambda counts that time to
    /// the invocation's timeout, so the wait ends at `deadline`. An invocation that did
    /// not finish (timed out, crashed, abandoned) has no `next` to wait for.
    fn await_next(
        &self,
        request_id: &str,
        watch: tokio::sync::oneshot::Receiver<std::time::SystemTime>,
        finished: bool,
        deadline: Instant,
    ) {
        if !finished {
            self.observer().next_requested(request_id, None);
            return;
        }
        let observer = self.inner.observer.0.clone();
        let request_id = request_id.to_string();
        tokio::spawn(async move {
            let at = tokio::time::timeout_at(deadline.into(), watch).await;
            observer.next_requested(&request_id, at.ok().and_then(Result::ok));
        });
    }

    /// An environment failed to start: the caller gets the init error, the log gets
    /// what init printed and the invocation's lines.
    async fn init_failed(
        &self,
        spec: &RunSpec,
        req: &InvokeRequest,
        failure: InitFailure,
    ) -> Result<InvokeResponse, EngineError> {
        if let Some(detail) = failure.platform {
            return Err(EngineError::internal(detail));
        }
        let id = &req.request_id;
        let status = if failure.timed_out {
            "timeout".to_string()
        } else {
            format!("error\tError Type: {}", failure.error_type)
        };
        let report = Report {
            request_id: id,
            duration: failure.init_duration,
            memory_size_mb: spec.memory_mb,
            max_memory_used_mb: 0,
            init_duration: None,
            status: Some(status),
        };
        let mut lines = start_lines(now_ms(), &spec.version, req);
        lines.push((now_ms(), format!("END RequestId: {}", logs::field(id))));
        lines.push((now_ms(), report.line()));
        // The tail includes what init printed: that is where the reason for the failure is.
        let mut all = failure.lines;
        let unlogged = if failure.logged { all.len() } else { 0 };
        all.extend(lines);
        let log_result = req
            .log_tail
            .then(|| BASE64.encode(logs::tail(&all, LOG_TAIL_BYTES)));
        self.submit_logs(&spec.function, &failure.stream, &all[unlogged..])
            .await;
        let trace = self.observer().trace_header(
            &req.request_id,
            &spec.function,
            spec.tracing,
            req.trace_id.as_deref(),
        );
        self.observer().invoked(&Invoked {
            init: Some(failure.init_duration),
            provisioned_spillover: self.spills(spec, req),
            ..invoked(
                spec,
                req,
                &trace,
                now_ms(),
                failure.init_duration,
                ObservedEnding::InitError,
            )
        });
        Ok(InvokeResponse {
            executed_version: spec.version.clone(),
            function_error: Some("Unhandled".into()),
            log_result,
            payload: failure.body,
        })
    }

    /// Whether an on-demand run of `req` spills over from its qualifier's provisioned
    /// concurrency (see [`crate::observe::Invoked::provisioned_spillover`]).
    fn spills(&self, spec: &RunSpec, req: &InvokeRequest) -> bool {
        req.function
            .qualifier
            .as_deref()
            .is_some_and(|q| self.inner.provisioned.spills(&spec.function, q))
    }

    /// Whom the executor tells about its work.
    pub(crate) fn observer(&self) -> &dyn crate::observe::Observer {
        self.inner.observer.0.as_ref()
    }

    /// Queues lines for the log store (see `hearth_store::Writer`: readers of the logs
    /// wait for them, the invocation does not).
    pub(crate) async fn submit_logs(&self, function: &str, stream: &str, lines: &[(i64, String)]) {
        self.inner
            .writer
            .submit_logs(LogBatch::from_lines(
                function,
                stream,
                lines.iter().map(|(t, l)| (*t, l.as_str())),
            ))
            .await;
    }
}

/// The observer's record of an invocation on a cold environment (the caller sets what
/// differs).
fn invoked<'a>(
    spec: &'a RunSpec,
    req: &'a InvokeRequest,
    trace_header: &'a str,
    start_ms: i64,
    duration: Duration,
    ending: ObservedEnding,
) -> Invoked<'a> {
    Invoked {
        function: &spec.function,
        qualifier: req.function.qualifier.as_deref(),
        executed_version: &spec.version,
        request_id: &req.request_id,
        trace_header,
        tracing: spec.tracing,
        start_ms,
        duration,
        init: None,
        post_runtime_extensions: None,
        start: Start::Cold,
        provisioned_spillover: false,
        ending,
        queued: req.queued,
        memory_mb: spec.memory_mb,
        max_memory_used_mb: 0,
        ephemeral_storage_mb: spec.ephemeral_storage_mb,
        architecture: &spec.architecture,
        runtime: &spec.runtime,
    }
}

/// How an ending counts for the observer: a timeout, another failure, or success.
fn observed_ending(ending: &Ending) -> ObservedEnding {
    match (ending.function_error, ending.status.as_deref()) {
        (None, _) => ObservedEnding::Success,
        (Some(_), Some(s)) if s.starts_with("timeout") => ObservedEnding::Timeout,
        (Some(_), _) => ObservedEnding::Error,
    }
}

/// The event as the runtime's `/next` hands it over (an empty payload becomes `{}`).
fn invocation(
    spec: &RunSpec,
    req: &InvokeRequest,
    start_ms: i64,
    timeout: Duration,
    trace_id: String,
) -> Invocation {
    Invocation {
        request_id: req.request_id.clone(),
        payload: if req.payload.is_empty() {
            Bytes::from_static(b"{}")
        } else {
            req.payload.clone()
        },
        deadline_ms: start_ms + timeout.as_millis() as i64,
        invoked_function_arn: function_arn(&spec.function, req.function.qualifier.as_deref()),
        trace_id,
        client_context: req.client_context.clone(),
        cognito_identity: None,
        stream: req.stream.as_ref().map(|t| t.for_version(&spec.version)),
    }
}

/// Closes the invocation's log (the ending's own lines, `END`, `REPORT`) and answers.
async fn close(
    spec: &RunSpec,
    req: &InvokeRequest,
    env: &mut Environment,
    ending: Ending,
    (runtime_duration, duration): (Duration, Duration),
    (trace, response): (&str, Option<ResponseSpans>),
) -> InvokeResponse {
    let id = &req.request_id;
    let report = Report {
        request_id: id,
        duration,
        memory_size_mb: spec.memory_mb,
        max_memory_used_mb: env.max_memory_used_mb(),
        init_duration: env.init_duration.take(),
        status: ending.status,
    };
    let mut closing = ending.lines;
    let runtime_done_ms = now_ms();
    closing.push((now_ms(), format!("END RequestId: {}", logs::field(id))));
    closing.push((now_ms(), report.line()));
    let lines = env.end_log(&closing).await;
    // After the function's last lines (`end_log` read them all), as in the log.
    if env.telemetry.active() {
        env.telemetry.ended(
            (runtime_done_ms, now_ms()),
            &Figures {
                request_id: id,
                report_status: report.status.as_deref(),
                runtime_duration,
                duration,
                billed_ms: logs::billed_ms(duration, report.init_duration),
                memory_size_mb: spec.memory_mb,
                max_memory_used_mb: report.max_memory_used_mb,
                init_duration: report.init_duration,
                trace: Some(trace),
                response,
            },
        );
    }
    let log_result = req
        .log_tail
        .then(|| BASE64.encode(logs::tail(&lines, LOG_TAIL_BYTES)));
    InvokeResponse {
        executed_version: spec.version.clone(),
        function_error: ending.function_error.map(str::to_string),
        log_result,
        payload: ending.payload,
    }
}

/// The invocation's first log lines: Lambda's `START`, and for an asynchronous event a
/// Hearth line saying which attempt this is (retries keep the request id).
fn start_lines(ts: i64, version: &str, req: &InvokeRequest) -> Vec<(i64, String)> {
    let id = logs::field(&req.request_id);
    let mut lines = vec![(ts, format!("START RequestId: {id} Version: {version}"))];
    if let Some(n) = req.attempt {
        lines.push((ts, format!("ASYNC RequestId: {id} Attempt: {n}")));
    }
    lines
}

/// What running an event on an environment came to.
enum Ran {
    Done(RunResult),
    /// The environment died before its runtime took the event.
    Undelivered,
}

struct RunResult {
    response: Result<InvokeResponse, EngineError>,
    healthy: bool,
    /// What is left to do once extensions are done with the invocation, when the
    /// caller is answered before.
    deferred: Option<Box<PostRuntime>>,
}

/// An invocation whose runtime has answered, waiting to be concluded (see
/// [`Executor::conclude`]).
struct PostRuntime {
    start: Start,
    provisioned_spillover: bool,
    ending: Ending,
    invocation_trace: String,
    start_ms: i64,
    /// When the event was handed over, and how long the runtime took.
    started: Instant,
    runtime_duration: Duration,
    timeout: Duration,
    next_watch: Option<tokio::sync::oneshot::Receiver<std::time::SystemTime>>,
    finished: bool,
    /// Whether extensions subscribed to INVOKE are waited for.
    extensions: bool,
    /// How the response came, for the Telemetry API (none without subscribers).
    response: Option<ResponseSpans>,
}

/// The line an invocation's log gets when its extensions did not finish cleanly.
fn after_runtime_line(id: &str, after: &AfterRuntime, timeout_s: i64) -> Option<(i64, String)> {
    let text = match after {
        AfterRuntime::Done => return None,
        AfterRuntime::TimedOut => format!(
            "RequestId: {id} Error: Extensions did not finish the invocation within its timeout of {timeout_s}.00 seconds"
        ),
        AfterRuntime::Crashed { name, status } => format!(
            "RequestId: {id} Error: Extension {name} exited with error: {}",
            hearth_sandbox::describe_exit(*status)
        ),
    };
    Some((now_ms(), text))
}

/// An X-Ray style trace header: `Root=1-<epoch hex>-<96 bits>;Parent=<64 bits>;Sampled=0`.
pub fn trace_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        chrono::Utc::now().timestamp(),
        &id[..24],
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}

/// What an environment of `spec` is attributed its use to.
fn usage_tag(spec: &RunSpec) -> super::usage::Tag {
    super::usage::Tag {
        function: spec.function.clone(),
        version: spec.version.clone(),
        memory_mb: spec.memory_mb,
        ephemeral_storage_mb: spec.ephemeral_storage_mb,
        architecture: spec.architecture.clone(),
    }
}
