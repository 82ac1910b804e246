//! A sandbox for tests: instead of a process, each environment runs an in-process
//! task that plays the runtime against the environment's Runtime API over real HTTP
//! (`next`, `response`, `error`, `init/error`), following a [`Script`] the test gives,
//! and writes its output to a real pipe, so the engine's timeouts, crashes, warm reuse,
//! pool and log collection run unchanged and need no root. [`Records`] keeps what it
//! saw. Built only for tests (the `scripted` feature): the server never offers it.

mod client;
mod records;
mod task;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::pin::Pin;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::unix::pipe;

pub use records::{Event, Records};
pub(crate) use task::Task;

use crate::{GuestPaths, Instance, Prepared, Sandbox, SandboxError, SandboxSpec};
use client::Client;
use task::ExitSlot;

/// What a process that writes to a pipe nobody reads dies of.
const SIGPIPE: i32 = 13;

/// One thing the scripted runtime does.
pub enum Step {
    /// Writes a line (a newline is added) to the environment's output.
    Print(String),
    Sleep(Duration),
    /// Waits for a future the test controls (a gate, a barrier).
    Until(Pin<Box<dyn Future<Output = ()> + Send>>),
    /// Posts the invocation's response (nothing during init).
    Respond(Bytes),
    /// Posts the invocation's error, or during init `/runtime/init/error`, with the
    /// error type in `Lambda-Runtime-Function-Error-Type`.
    Fail {
        error_type: String,
        body: Bytes,
    },
    /// Never goes on: the engine's timeout (or a kill) ends it.
    Hang,
    /// Posts the invocation's response as a stream with this content type, playing
    /// `parts` while the post is open (as Node's `streamifyResponse` writes).
    Stream {
        content_type: String,
        parts: Vec<StreamStep>,
    },
    /// Ends the runtime with this exit code, as `exit(code)` would.
    Exit(i32),
    /// Ends the runtime as this signal would (11: a segmentation fault).
    Signal(i32),
}

impl Step {
    pub fn print(line: impl Into<String>) -> Self {
        Self::Print(line.into())
    }

    pub fn respond(body: impl Into<Bytes>) -> Self {
        Self::Respond(body.into())
    }

    /// A failure with Lambda's `{"errorType", "errorMessage"}` body.
    pub fn fail(error_type: &str, message: &str) -> Self {
        let body = serde_json::json!({"errorType": error_type, "errorMessage": message});
        Self::Fail {
            error_type: error_type.to_string(),
            body: Bytes::from(body.to_string()),
        }
    }

    pub fn until(wait: impl Future<Output = ()> + Send + 'static) -> Self {
        Self::Until(Box::pin(wait))
    }
}

/// One thing a scripted runtime does while its streamed response is open.
pub enum StreamStep {
    /// Writes a chunk of the body.
    Write(Bytes),
    /// Waits for a future the test controls.
    Until(Pin<Box<dyn Future<Output = ()> + Send>>),
    /// Never goes on: the engine's timeout (or a kill) ends it.
    Hang,
    /// Ends the stream with this error in its trailers
    /// (`Lambda-Runtime-Function-Error-Type`, `Lambda-Runtime-Function-Error-Body`).
    Fail { error_type: String, body: Bytes },
}

impl StreamStep {
    pub fn write(chunk: impl Into<Bytes>) -> Self {
        Self::Write(chunk.into())
    }

    pub fn until(wait: impl Future<Output = ()> + Send + 'static) -> Self {
        Self::Until(Box::pin(wait))
    }
}

/// What a new environment's runtime is told about itself.
#[derive(Debug, Clone)]
pub struct Start {
    /// Its number (0 for the first environment started).
    pub environment: usize,
    pub env: BTreeMap<String, String>,
}

type InitScript = dyn Fn(&Start) -> Vec<Step> + Send + Sync;
type InvokeScript = dyn Fn(&Event) -> Vec<Step> + Send + Sync;

/// What every environment's runtime does: its init steps, then for each event the
/// steps `on_invoke` gives. Steps that end without an answer leave the runtime asking
/// for its next event (as a runtime that forgot to answer would).
#[derive(Clone)]
pub struct Script {
    init: Arc<InitScript>,
    invoke: Arc<InvokeScript>,
}

impl Default for Script {
    /// Ready at once; answers every event with its own payload.
    fn default() -> Self {
        Self {
            init: Arc::new(|_| Vec::new()),
            invoke: Arc::new(|e| vec![Step::Respond(e.payload.clone())]),
        }
    }
}

impl Script {
    /// The steps of init, before the runtime's first `next`.
    pub fn on_init(mut self, f: impl Fn(&Start) -> Vec<Step> + Send + Sync + 'static) -> Self {
        self.init = Arc::new(f);
        self
    }

    /// The steps for one event.
    pub fn on_invoke(mut self, f: impl Fn(&Event) -> Vec<Step> + Send + Sync + 'static) -> Self {
        self.invoke = Arc::new(f);
        self
    }
}

/// A [`Sandbox`] whose environments are scripted runtimes.
#[derive(Clone, Default)]
pub struct ScriptedSandbox {
    script: Script,
    records: Records,
}

impl ScriptedSandbox {
    pub fn new(script: Script) -> Self {
        Self {
            script,
            records: Records::default(),
        }
    }

    /// What it has seen so far (and will see: the records are shared).
    pub fn records(&self) -> Records {
        self.records.clone()
    }
}

impl Sandbox for ScriptedSandbox {
    fn name(&self) -> &'static str {
        "scripted"
    }

    fn guest_paths(&self) -> GuestPaths {
        GuestPaths::Host
    }

    fn prepare(&self) -> Result<Prepared, SandboxError> {
        // A daemon socket as the process sandbox makes, so the engine's hand-over of it
        // is tested without processes.
        let xray = crate::xray::bind_host().map_err(SandboxError::Network)?;
        Ok(Prepared::loopback()?.with_xray_socket(xray))
    }

    fn spawn(&self, spec: &SandboxSpec, _prepared: Prepared) -> Result<Instance, SandboxError> {
        let spawn_error = |source: std::io::Error| SandboxError::Spawn {
            program: spec.program.display().to_string(),
            source,
        };
        // As a runtime client does: the Runtime API is where the environment says.
        let addr: SocketAddr = spec
            .env
            .iter()
            .find(|(k, _)| k == "AWS_LAMBDA_RUNTIME_API")
            .and_then(|(_, v)| v.parse().ok())
            .ok_or_else(|| spawn_error(std::io::ErrorKind::NotFound.into()))?;
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|e| spawn_error(std::io::Error::other(e)))?;
        let (reader, writer) = std::io::pipe().map_err(SandboxError::Pipe)?;
        let output =
            pipe::Receiver::from_owned_fd(OwnedFd::from(reader)).map_err(SandboxError::Pipe)?;
        let writer =
            pipe::Sender::from_owned_fd(OwnedFd::from(writer)).map_err(SandboxError::Pipe)?;
        let exit = ExitSlot::new();
        let environment = self.records.started(spec.clone(), exit.clone());
        let runtime = Runtime {
            script: self.script.clone(),
            records: self.records.clone(),
            environment,
            client: Client::new(addr),
            output: writer,
        };
        let start = Start {
            environment,
            env: spec.env.iter().cloned().collect(),
        };
        let slot = exit.clone();
        let task = handle.spawn(async move {
            // The output pipe closes (the runtime is dropped) before the end is seen,
            // as a process's pipe does when it exits.
            let status = runtime.run(start).await;
            slot.set(status);
        });
        Ok(Instance::task(Task::new(exit, task.abort_handle()), output))
    }
}

/// What playing a list of steps came to.
enum Flow {
    Continue,
    Exit(ExitStatus),
}

/// One environment's scripted runtime.
struct Runtime {
    script: Script,
    records: Records,
    environment: usize,
    client: Client,
    output: pipe::Sender,
}

impl Runtime {
    async fn run(mut self, start: Start) -> ExitStatus {
        let init = (self.script.init)(&start);
        if let Flow::Exit(status) = self.play(init, None).await {
            return status;
        }
        loop {
            let next = match self.client.next().await {
                Ok(next) => next,
                Err(e) => return self.crash(&e).await,
            };
            let environment = self.environment;
            let event = self.records.took(environment, |number| Event {
                environment,
                number,
                request_id: next.request_id,
                deadline_ms: next.deadline_ms,
                invoked_function_arn: next.invoked_function_arn,
                client_context: next.client_context,
                payload: next.payload,
            });
            let steps = (self.script.invoke)(&event);
            if let Flow::Exit(status) = self.play(steps, Some(&event.request_id)).await {
                return status;
            }
        }
    }

    /// Plays `steps` of init (`request_id` none) or of one invocation.
    async fn play(&mut self, steps: Vec<Step>, request_id: Option<&str>) -> Flow {
        for step in steps {
            let posted = match step {
                Step::Print(line) => {
                    if self.print(&line).await.is_err() {
                        // Nobody reads the output any more: a process would get SIGPIPE.
                        return Flow::Exit(ExitStatus::from_raw(SIGPIPE));
                    }
                    Ok(())
                }
                Step::Sleep(d) => {
                    tokio::time::sleep(d).await;
                    Ok(())
                }
                Step::Until(wait) => {
                    wait.await;
                    Ok(())
                }
                Step::Hang => std::future::pending::<Result<(), client::CallError>>().await,
                Step::Exit(code) => return Flow::Exit(ExitStatus::from_raw((code & 0xff) << 8)),
                Step::Signal(signal) => return Flow::Exit(ExitStatus::from_raw(signal & 0x7f)),
                Step::Respond(body) => match request_id {
                    Some(id) => self.client.respond(id, body).await,
                    None => Ok(()),
                },
                Step::Fail { error_type, body } => {
                    self.client.error(request_id, &error_type, body).await
                }
                Step::Stream {
                    content_type,
                    parts,
                } => match request_id {
                    Some(id) => self.stream(id, &content_type, parts).await,
                    None => Ok(()),
                },
            };
            if let Err(e) = posted {
                return Flow::Exit(self.crash(&e).await);
            }
        }
        Flow::Continue
    }

    /// Posts a streamed response, writing `parts` into its body as they come.
    async fn stream(
        &self,
        request_id: &str,
        content_type: &str,
        parts: Vec<StreamStep>,
    ) -> Result<(), client::CallError> {
        let (mut tx, body) = http_body_util::channel::Channel::new(1);
        let post = self.client.stream(request_id, content_type, body);
        let feed = async move {
            for part in parts {
                match part {
                    StreamStep::Write(chunk) => {
                        let _ = tx.send_data(chunk).await;
                    }
                    StreamStep::Until(wait) => wait.await,
                    StreamStep::Hang => std::future::pending::<()>().await,
                    StreamStep::Fail { error_type, body } => {
                        let mut trailers = hyper::HeaderMap::new();
                        let encoded = base64::Engine::encode(
                            &base64::engine::general_purpose::STANDARD,
                            &body,
                        );
                        for (name, value) in [
                            ("lambda-runtime-function-error-type", error_type),
                            ("lambda-runtime-function-error-body", encoded),
                        ] {
                            if let Ok(v) = hyper::header::HeaderValue::from_str(&value) {
                                trailers.insert(name, v);
                            }
                        }
                        let _ = tx.send_trailers(trailers).await;
                    }
                }
            }
            // Dropping the sender ends the body.
        };
        let (posted, ()) = tokio::join!(post, feed);
        posted
    }

    async fn print(&mut self, line: &str) -> std::io::Result<()> {
        self.output.write_all(format!("{line}\n").as_bytes()).await
    }

    /// A runtime client whose call failed reports it and exits 1.
    async fn crash(&mut self, e: &client::CallError) -> ExitStatus {
        let _ = self.print(&format!("scripted runtime: {e}")).await;
        ExitStatus::from_raw(1 << 8)
    }
}

#[cfg(test)]
mod tests;
