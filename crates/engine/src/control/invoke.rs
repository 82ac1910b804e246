//! The invoke path's control-plane half: resolve the reference to a run spec, answer
//! a dry run, and hand the event to the executor; resolve again if the code found was
//! collected meanwhile (the function changed).

use bytes::Bytes;
use hearth_model::FunctionRef;

use crate::error::EngineError;
use crate::executor::{InvokeRequest, InvokeResponse};
use crate::Engine;

/// How many times an invocation looks its function up again after the code it found
/// was collected (each time, the function changed in between).
const LOOKUPS: usize = 3;

/// The one way to run a function, made once with its [`Engine`] (see [`Engine::new`]).
/// Whoever builds the engine hands it to the single holder that every way in goes
/// through (the server's `Invoker`), so the control plane, which holds the `Engine`,
/// cannot run a function past it.
pub struct InvokePath {
    engine: Engine,
}

impl InvokePath {
    pub(crate) fn new(engine: Engine) -> Self {
        Self { engine }
    }

    /// Resolves the function and qualifier, admits the invocation against the
    /// concurrency limits, runs it and writes its log lines.
    pub async fn invoke(&self, req: InvokeRequest) -> Result<InvokeResponse, EngineError> {
        self.engine.invoke(req).await
    }

    /// As [`InvokePath::invoke`], with the response read as a stream: chunks as the
    /// function writes them (a function that answers buffered gives one chunk), then
    /// the end, with the function's error and the log tail. Errors before anything ran
    /// are returned as `invoke` returns them.
    pub async fn invoke_stream(
        &self,
        req: InvokeRequest,
    ) -> Result<crate::StreamedInvoke, EngineError> {
        self.engine.invoke_stream(req).await
    }

    /// The engine it runs on, for the reads that deciding how to deliver needs.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl Engine {
    pub(crate) async fn invoke(&self, req: InvokeRequest) -> Result<InvokeResponse, EngineError> {
        for _ in 0..LOOKUPS {
            if let Some(result) = self.invoke_once(&req).await {
                return result;
            }
        }
        Err(EngineError::internal(
            "an invocation's code was collected each time it was looked up",
        ))
    }

    /// One lookup and run; `None` when the code looked up was gone before it started.
    async fn invoke_once(
        &self,
        req: &InvokeRequest,
    ) -> Option<Result<InvokeResponse, EngineError>> {
        let target = match self.resolve_target(&req.function) {
            Ok(t) => t,
            Err(e) => return Some(Err(e)),
        };
        let counted;
        let req = if req.counts_lineage && !req.dry_run {
            match self.count_recursion(&target.spec.function, req) {
                Ok(r) => {
                    counted = r;
                    &counted
                }
                Err(e) => return Some(Err(e)),
            }
        } else {
            req
        };
        if req.dry_run {
            return Some(Ok(InvokeResponse {
                executed_version: target.spec.version.clone(),
                function_error: None,
                log_result: None,
                payload: Bytes::new(),
            }));
        }
        self.inner
            .executor
            .run(&target.spec, target.qualifier.as_deref(), req)
            .await
    }

    /// Checks that `r` names something invocable now (what an async invoke checks
    /// before it accepts the event), without running it.
    pub fn check_invocable(&self, r: &FunctionRef) -> Result<(), EngineError> {
        // As an invocation would pick, but without building the run spec it needs.
        let config = self.select(r, |a| a.pick_version(super::resolve::uniform()))?;
        super::resolve::runnable(&config)
    }

    /// The function's reserved concurrency, if it has one.
    pub fn reserved_concurrency(&self, function: &str) -> Option<i64> {
        self.inner.executor.admission().reserved(function)
    }
}
