//! The relay floor, measured: the relay (`super::relay`, this executable run again with
//! `--relay-floor-serve`) and N copies of the floor's Rust echo runtime against it, loaded
//! like Hearth by the same closed loop. The runtimes are the bench's children, not the
//! relay's, so the relay's `/proc/<pid>/stat` CPU time is its own alone. Hearth's
//! throughput and server CPU per invoke over the relay's say how far Hearth is from what this
//! protocol (three HTTP/1.1 exchanges per invoke) costs on this machine with its HTTP stack.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::floor::RuntimeCommand;
use super::load::{self, Conn, LoadResult};
use super::procs;
use super::relay::{Addresses, SERVE_FLAG};
use super::report::Report;
use super::{Plan, WARMUP_PER_WORKER};

/// How the figures are measured, for the report.
pub const METHOD: &str = "the relay floor is the smallest server doing what Hearth's data \
plane does between a client and warm runtimes, with the HTTP stack Hearth serves with (a \
tokio multi-thread runtime with a worker per two CPUs, at least one, as Hearth's by default, and hyper 1's HTTP/1.1 server, each \
connection's task wrapped as Hearth's are to poll it again in place when it wakes itself), in a \
process of its own (hearth-bench --relay-floor-serve): a POST .../invocations on one port reads the body, \
queues it with a request id and answers with what a runtime posts to \
.../invocation/{id}/response on the other port, where GET .../invocation/next waits on the \
shared queue (one receiver behind a mutex) and hands the event over with the headers the \
official clients need. It has no authentication check (the bench's client signs its requests \
for it as for Hearth, and it ignores the signature), no logs, no limits, no function lookup, \
no sandbox, no store and no metrics. For each concurrency c, after Hearth's window: c copies \
of the floor's Rust echo runtime (children of the bench, not of the relay) against it, the \
same closed loop, warm-up and window as Hearth's; CPU per invoke is utime + stime of the relay \
process (server) and of the runtimes together over the window, divided by the invokes \
completed. Ratios: Hearth's invokes/s over the relay's, Hearth's server CPU per invoke over \
the relay's.";

/// The relay process and its runtimes; all killed when dropped.
struct RelayFloor {
    relay: Child,
    runtimes: Vec<Child>,
    addresses: Addresses,
    relay_log: PathBuf,
    runtime_log: PathBuf,
}

impl RelayFloor {
    /// Starts the relay, waits for its addresses, then starts `runtimes` runtimes on it.
    fn start(command: &RuntimeCommand, runtimes: usize, work: &Path) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot find this executable")?;
        let relay_log = work.join("relay-floor.log");
        let runtime_log = work.join("relay-floor-runtimes.log");
        let stderr = File::options()
            .create(true)
            .append(true)
            .open(&relay_log)
            .with_context(|| format!("cannot open {}", relay_log.display()))?;
        let mut relay = Command::new(&exe)
            .arg(SERVE_FLAG)
            // Kept open: the relay serves until it closes (or the bench dies).
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {} {SERVE_FLAG}", exe.display()))?;
        let mut line = String::new();
        let read = match relay.stdout.take() {
            Some(stdout) => BufReader::new(stdout).read_line(&mut line),
            None => Ok(0),
        };
        let Some(addresses) = read.ok().and_then(|_| Addresses::parse(&line)) else {
            let _ = relay.kill();
            let status = relay.wait();
            bail!(
                "the relay floor did not say where it listens (it printed {line:?}, then \
                 {status:?}); see {}",
                relay_log.display()
            );
        };
        // From here on, dropping `floor` kills whatever was started.
        let mut floor = Self {
            relay,
            runtimes: Vec::with_capacity(runtimes),
            addresses,
            relay_log,
            runtime_log,
        };
        for _ in 0..runtimes {
            let child = command.spawn_against(addresses.runtime_api, &floor.runtime_log)?;
            floor.runtimes.push(child);
        }
        Ok(floor)
    }

    /// CPU time so far, in µs: the relay's, and its runtimes' together.
    fn cpu_us(&self) -> anyhow::Result<(f64, f64)> {
        let relay = procs::cpu_us_of(self.relay.id())?;
        let mut runtimes = 0.0;
        for child in &self.runtimes {
            runtimes += procs::cpu_us_of(child.id())?;
        }
        Ok((relay, runtimes))
    }

    /// Fails, naming the logs, if the relay or a runtime has exited.
    fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.relay.try_wait()? {
            bail!(
                "the relay floor exited ({status}); see {}",
                self.relay_log.display()
            );
        }
        for child in &mut self.runtimes {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "a relay floor runtime exited ({status}); see {}",
                    self.runtime_log.display()
                );
            }
        }
        Ok(())
    }

    /// A load failure, with whichever process died as its cause when one did.
    fn explain(&mut self, e: anyhow::Error) -> anyhow::Error {
        match self.check_alive() {
            Ok(()) => e.context(format!(
                "the relay floor failed (its logs: {}, {})",
                self.relay_log.display(),
                self.runtime_log.display()
            )),
            Err(dead) => e.context(dead),
        }
    }
}

impl Drop for RelayFloor {
    fn drop(&mut self) {
        for child in &mut self.runtimes {
            let _ = child.kill();
            let _ = child.wait();
        }
        drop(self.relay.stdin.take());
        let _ = self.relay.kill();
        let _ = self.relay.wait();
    }
}

/// The relay floor with one runtime, invoked one request at a time beside Hearth and the
/// floor (see `measure::warm_overhead`): what the protocol's third exchange and a relay's
/// hand-offs add to the floor at concurrency 1.
pub struct Single {
    floor: RelayFloor,
    conn: Conn,
}

impl Single {
    /// Starts the relay and one runtime of `command` on it; requests are signed with the key
    /// of `hearth`, as Hearth's are.
    pub fn start(
        command: &RuntimeCommand,
        hearth: SocketAddr,
        work: &Path,
    ) -> anyhow::Result<Self> {
        let floor = RelayFloor::start(command, 1, work)?;
        let addr = floor.addresses.invoke;
        load::share_credentials(hearth, addr);
        Ok(Self {
            floor,
            conn: Conn::new(addr),
        })
    }

    /// One Invoke of `path` with `payload`, timed by the client as Hearth's are.
    pub fn invoke(&mut self, path: &str, payload: &[u8]) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let response = self
            .conn
            .request("POST", path, &[], payload)
            .map_err(|e| self.floor.explain(e))?;
        let elapsed = started.elapsed();
        load::check_invoke(&response)?;
        Ok(elapsed)
    }
}

/// What the relay floor did at one concurrency.
pub struct Figures {
    pub per_second: f64,
    /// CPU per invoke of the relay process, µs.
    pub server_us: f64,
    /// CPU per invoke of the runtimes together, µs.
    pub runtimes_us: f64,
}

/// The relay floor with `concurrency` runtimes under the closed loop Hearth had: `req` to
/// the relay, signed with the key of `hearth` (so the relay reads the very same requests).
pub fn measure(
    plan: &Plan,
    command: &RuntimeCommand,
    concurrency: usize,
    hearth: SocketAddr,
    req: load::Request<'_>,
    work: &Path,
) -> anyhow::Result<Figures> {
    let mut floor = RelayFloor::start(command, concurrency, work)?;
    let addr = floor.addresses.invoke;
    load::share_credentials(hearth, addr);
    let run = |floor: &mut RelayFloor, window, min_each| -> anyhow::Result<LoadResult> {
        let result = load::closed_loop(addr, req, concurrency, window, min_each)
            .map_err(|e| floor.explain(e))?;
        floor.check_alive()?;
        Ok(result)
    };
    run(&mut floor, plan.warmup, WARMUP_PER_WORKER)?;
    let (relay_before, runtimes_before) = floor.cpu_us()?;
    let result = run(&mut floor, plan.window, 0)?;
    let (relay_after, runtimes_after) = floor.cpu_us()?;
    let n = result.completed.max(1) as f64;
    Ok(Figures {
        per_second: result.per_second(),
        server_us: (relay_after - relay_before) / n,
        runtimes_us: (runtimes_after - runtimes_before) / n,
    })
}

/// The relay floor's figures at concurrency `c`, and Hearth's over them.
pub fn record(
    report: &mut Report,
    c: usize,
    relay: &Figures,
    hearth_per_second: f64,
    hearth_server_us: f64,
) {
    let over = |hearth: f64, floor: f64| (floor > 0.0).then(|| hearth / floor);
    report.add(
        &format!("relay_floor_c{c}_rps"),
        &format!("  relay floor throughput, concurrency {c}"),
        "/s",
        Some(relay.per_second),
        None,
    );
    report.add(
        &format!("relay_floor_cpu_per_invoke_c{c}_server_us"),
        "  relay floor CPU per invoke, relay process",
        "us",
        Some(relay.server_us),
        None,
    );
    report.add(
        &format!("relay_floor_cpu_per_invoke_c{c}_runtimes_us"),
        "  relay floor CPU per invoke, runtimes",
        "us",
        Some(relay.runtimes_us),
        None,
    );
    report.add(
        &format!("throughput_c{c}_over_relay_floor"),
        "  Hearth throughput / relay floor's",
        "x",
        over(hearth_per_second, relay.per_second),
        None,
    );
    report.add(
        &format!("cpu_per_invoke_c{c}_server_over_relay_floor"),
        "  Hearth server CPU per invoke / relay floor's",
        "x",
        over(hearth_server_us, relay.server_us),
        None,
    );
}
