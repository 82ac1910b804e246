//! `hearth-bench --soak DURATION`: mixed load against the bench's own server for a while
//! (see `load`), sampling what the server holds every few seconds (see `sample`) and
//! printing each sample as a row while it runs; at the end, the growth per minute of each
//! series over the second half and whether that is flat or growing (see `trend`). It
//! reports; it never fails because something grew or took long.

mod load;
mod report;
mod sample;
mod trend;

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine as _;
use hearth_cli::output::{emit, StdoutClosed};
use hearth_runtimes::Catalog;
use serde_json::{json, Map, Value};

use super::functions::{self, zip_files};
use super::load::Conn;
use super::server::{self, FunctionSpec, Server};
use super::{progress, BenchArgs};
use load::{Load, Progress, Targets, PACE};
use report::{follow, row, row_header, series, summary, Followed, METHOD};
use sample::{Probe, Sample};

/// Idle environments are reclaimed during the soak too, so that reclaim is exercised.
const IDLE_TTL: &str = "60s";
/// Memory of the soak's functions: the echo needs little, and a small CPU share keeps the
/// load from taking the whole machine.
const MEMORY_MB: u32 = 256;
const ECHO: &str = "soak-echo";
const CHATTY: &str = "soak-chatty";
/// What the log-chatty function prints on every invoke: lines of 100 bytes.
const CHATTY_LINES: usize = 200;
const CHATTY_HANDLER: &str = "def handler(event, context):\n    for i in range(200):\n        print('soak chatty line %5d ' % i + 'x' * 78)\n    return {}\n";

/// Samples every 10 s, more often for soaks under two minutes (12 samples at least).
pub fn default_interval(duration: Duration) -> Duration {
    (duration / 12).clamp(Duration::from_secs(1), Duration::from_secs(10))
}

/// The code of cycle `n`: the echo with a file that names the cycle, so that every cycle
/// stores two new blobs. The echo's entry is copied compressed, not compressed again.
fn cycle_zip(base: &[u8], tag: &str) -> anyhow::Result<Vec<u8>> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    out.merge_archive(zip::ZipArchive::new(std::io::Cursor::new(base))?)?;
    out.start_file("cycle.txt", zip::write::SimpleFileOptions::default())?;
    out.write_all(tag.as_bytes())?;
    Ok(out.finish()?.into_inner())
}

fn spec(runtime: &str, handler: &str, zip: &[u8]) -> FunctionSpec {
    FunctionSpec {
        runtime: runtime.to_string(),
        handler: handler.to_string(),
        zip_base64: base64::engine::general_purpose::STANDARD.encode(zip),
        memory_mb: MEMORY_MB,
    }
}

/// Where the server with data directory `data_dir` keeps its environments' cgroups (its
/// own base under Hearth's, see `jail/sweep.rs`), or why that is unknown.
fn cgroup_dir(pid: u32, data_dir: &Path) -> Result<std::path::PathBuf, String> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
    let cgroup =
        std::fs::read_to_string(format!("/proc/{pid}/cgroup")).map_err(|e| e.to_string())?;
    let base = hearth_sandbox::jail::sweep::cgroup_base(&data_dir.join("jail"))
        .map_err(|e| e.to_string())?;
    hearth_sandbox::jail::cgroup::environments_dir(&mountinfo, &cgroup, &base)
        .map_err(|e| e.to_string())
}

pub fn run(
    args: &BenchArgs,
    duration: Duration,
    exe: &Path,
    echo: &Path,
    runtimes_dir: &Path,
    sandbox: &str,
    work: &Path,
) -> anyhow::Result<()> {
    let every = args
        .sample_every
        .unwrap_or_else(|| default_interval(duration));
    let mut notes = Vec::new();
    let catalog = Catalog::discover(runtimes_dir);
    let echo_zip = zip_files(&[(
        "bootstrap",
        &std::fs::read(echo).with_context(|| format!("cannot read {}", echo.display()))?,
        0o755,
    )])?;
    let python = functions::newest_python(&catalog.available());
    if python.is_none() {
        notes.push(format!(
            "no log-chatty function: no python3.N runtime is installed in {}",
            runtimes_dir.display()
        ));
    }

    let mut server = Server::start(exe, work, runtimes_dir, sandbox, IDLE_TTL)?;
    let data_dir = Server::data_dir(work);
    let cgroups = if sandbox == "jail" {
        match cgroup_dir(server.pid(), &data_dir) {
            Ok(dir) => Some(dir),
            Err(why) => {
                notes.push(format!("environment cgroups not counted: {why}"));
                None
            }
        }
    } else {
        None
    };
    let mut conn = Conn::new(server.addr());
    let mut deploy = |name: &str, spec: &FunctionSpec| -> anyhow::Result<()> {
        server::create_function(&mut conn, name, spec)?;
        server::wait_active(&mut conn, name)?;
        server::invoke(&mut conn, name, b"{}")
    };
    progress("deploying the soak's functions");
    deploy(ECHO, &spec("provided.al2023", "bootstrap", &echo_zip))
        .map_err(|e| server.explain(e))?;
    if let Some(runtime) = &python {
        let zip = zip_files(&[("app.py", CHATTY_HANDLER.as_bytes(), 0o644)])?;
        deploy(CHATTY, &spec(runtime, "app.handler", &zip)).map_err(|e| server.explain(e))?;
    }
    let base = Arc::new(echo_zip);
    let targets = Targets {
        echo: ECHO.into(),
        cycle_code: Box::new(move |n| {
            let make = |tag: String| {
                cycle_zip(&base, &tag).map(|z| spec("provided.al2023", "bootstrap", &z))
            };
            Ok((make(format!("cycle {n} a"))?, make(format!("cycle {n} b"))?))
        }),
        chatty: python.as_ref().map(|_| CHATTY.to_string()),
    };

    let probe = Probe {
        pid: server.pid(),
        data_dir: data_dir.clone(),
        cgroup_dir: cgroups,
    };
    let all = series();
    progress(format!(
        "soak: {duration:?} of mixed load, a sample every {every:?}"
    ));
    let out = |text: &str| match emit(text.as_bytes()) {
        Err(e) if e.is::<StdoutClosed>() => Ok(()),
        other => other,
    };
    out(&format!("{}\n", row_header()))?;
    let progress_counts = Arc::new(Progress::default());
    let started = Instant::now();
    let load = Load::start(server.addr(), targets, PACE, progress_counts.clone());
    let mut samples = Vec::new();
    let mut sampler = Conn::new(server.addr());
    let mut k = 0u32;
    let result = loop {
        let t = started.elapsed();
        let taken = probe
            .sample(&mut sampler, t.as_secs_f64())
            .map(|mut s| {
                s.done = progress_counts.done();
                s.errors = progress_counts.failed();
                s
            })
            .and_then(|s| {
                out(&format!("{}\n", row(&s)))?;
                Ok(s)
            });
        match taken {
            Ok(s) => samples.push(s),
            Err(e) => break Err(e),
        }
        if let Err(e) = server.check_alive() {
            break Err(e);
        }
        if t >= duration {
            break Ok(());
        }
        k += 1;
        let next = (every * k).min(duration);
        if let Some(wait) = next.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    };
    load.stop();
    result.map_err(|e| server.explain(e))?;
    progress("stopping the server");
    server.stop();

    let trends = follow(&all, &samples);
    let errors = progress_counts
        .errors
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let counts = load_counts(&progress_counts);
    let report = json!({
        "mode": "soak",
        "duration_s": duration.as_secs_f64(),
        "sample_every_s": every.as_secs_f64(),
        "samples": samples.iter().map(Sample::json).collect::<Vec<_>>(),
        "trends": trends.iter().map(Followed::json).collect::<Map<String, Value>>(),
        "load": counts,
        "errors": errors,
        "notes": notes,
        "method": METHOD,
        "facts": {
            "sandbox": sandbox,
            "idle_ttl": IDLE_TTL,
            "function_memory_mb": MEMORY_MB,
            "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "pace": {
                "sync_per_s": PACE.sync_per_s,
                "event_per_s": PACE.event_per_s,
                "cycle_pause_s": PACE.cycle_pause.as_secs_f64(),
                "chatty_per_s": if python.is_some() { PACE.chatty_per_s } else { 0.0 },
                "chatty_lines_per_invoke": CHATTY_LINES,
            },
            "debug_build": cfg!(debug_assertions),
        },
    });
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        progress(format!("wrote {}", path.display()));
    }
    out(&summary(&trends, &counts, &errors, &notes))
}

fn load_counts(p: &Progress) -> Value {
    use std::sync::atomic::Ordering::Relaxed;
    let c = |c: &load::Counter| json!({"ok": c.ok.load(Relaxed), "failed": c.failed.load(Relaxed)});
    json!({
        "sync_invokes": c(&p.sync),
        "event_invokes": c(&p.event),
        "create_update_delete_cycles": c(&p.cycles),
        "log_chatty_invokes": c(&p.chatty),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_interval() {
        assert_eq!(
            default_interval(Duration::from_secs(600)),
            Duration::from_secs(10)
        );
        assert_eq!(
            default_interval(Duration::from_secs(60)),
            Duration::from_secs(5)
        );
        assert_eq!(
            default_interval(Duration::from_secs(5)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn cycle_code_differs_and_keeps_the_bootstrap() {
        use std::io::Read;
        let base = zip_files(&[("bootstrap", b"#!/bin/sh\n", 0o755)]).expect("zip");
        let a = cycle_zip(&base, "cycle 1 a").expect("a");
        let b = cycle_zip(&base, "cycle 1 b").expect("b");
        assert_ne!(a, b);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(a)).expect("read");
        let mut boot = archive.by_name("bootstrap").expect("bootstrap");
        assert_eq!(boot.unix_mode().expect("mode") & 0o777, 0o755);
        let mut text = String::new();
        boot.read_to_string(&mut text).expect("read");
        assert_eq!(text, "#!/bin/sh\n");
    }
}
