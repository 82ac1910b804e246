//! How fast the jail makes environments: cold starts one at a time against the floor
//! (the same runtime exec'd directly), then a burst of concurrent cold starts, which
//! drains the ready pool and measures how many environments per second the host can
//! create.
//!
//! The runtime is this binary itself: run as `bootstrap` it connects to the Runtime API
//! (`AWS_LAMBDA_RUNTIME_API`), sends a `GET .../invocation/next` and waits, as a
//! `lambda_runtime` function does after its init; `--bootstrap <file>` runs another one
//! instead (a real function's `bootstrap`). An environment counts as started when that
//! first request arrives. Run as root, from the release build:
//!
//! ```text
//! cargo run --release -p hearth-sandbox --example jail_bench -- [--floor 100] [--sequential 100] [--burst 400] [--concurrency 16] [--bootstrap FILE]
//! ```
//!
//! It prints figures; it asserts none (a timed figure belongs in a benchmark).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_sandbox::{JailSandbox, Prepared, Sandbox, SandboxSpec};

const BOOTSTRAP_ARG: &str = "bootstrap";

fn main() {
    let arg1 = std::env::args().nth(1);
    if arg1.as_deref() == Some(hearth_sandbox::jail::INIT_ARG) {
        hearth_sandbox::jail::init::main();
    }
    if arg1.as_deref() == Some(BOOTSTRAP_ARG) {
        bootstrap();
    }
    let mut sequential = 100usize;
    let mut floor_runs = None;
    let mut bootstrap = None;
    let mut burst = 400usize;
    let mut concurrency = 16usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || -> usize {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{a} takes a number"))
        };
        match a.as_str() {
            "--sequential" => sequential = value(),
            "--floor" => floor_runs = Some(value()),
            "--bootstrap" => {
                bootstrap = Some(PathBuf::from(
                    args.next().expect("--bootstrap takes a path"),
                ))
            }
            "--burst" => burst = value(),
            "--concurrency" => concurrency = value(),
            other => panic!("unknown argument {other}"),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(64)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(run(
        bootstrap.as_deref(),
        floor_runs.unwrap_or(sequential),
        sequential,
        burst,
        concurrency,
    ));
}

/// The runtime: one `GET /next`, then wait to be killed.
fn bootstrap() -> ! {
    let started = now_ns();
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").expect("AWS_LAMBDA_RUNTIME_API");
    let mut conn = std::net::TcpStream::connect(&api).expect("connect to the Runtime API");
    let connected = now_ns();
    // When it reached main and when it was connected, for the per-stage figures.
    conn.write_all(
        format!(
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {api}\r\nX-Times: {started} {connected}\r\n\r\n"
        )
        .as_bytes(),
    )
    .expect("send");
    let mut buf = [0u8; 1];
    let _ = conn.read(&mut buf);
    std::process::exit(0)
}

/// Wall-clock nanoseconds (the same clock in every namespace of the host).
fn now_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// When the runtime reached `main`, connected, and its request arrived (ns).
struct Arrival {
    main: u128,
    #[allow(dead_code)]
    connected: u128,
    received: u128,
}

/// Waits for the runtime's first request on `listener`.
fn first_request(listener: &TcpListener) -> Arrival {
    // A runtime that never calls is a failure, not a hang.
    let limit = nix::sys::time::TimeVal::new(10, 0);
    nix::sys::socket::setsockopt(listener, nix::sys::socket::sockopt::ReceiveTimeout, &limit)
        .expect("SO_RCVTIMEO");
    let (mut conn, _) = listener
        .accept()
        .expect("the runtime's first request within 10 s");
    let mut buf = [0u8; 512];
    let n = conn.read(&mut buf).expect("read the request");
    let received = now_ns();
    let text = String::from_utf8_lossy(&buf[..n]);
    let times: Vec<u128> = text
        .lines()
        .find_map(|l| l.strip_prefix("X-Times: "))
        .map(|t| t.split(' ').filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_default();
    Arrival {
        main: times.first().copied().unwrap_or(received),
        connected: times.get(1).copied().unwrap_or(received),
        received,
    }
}

struct Task {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

/// A task directory holding `bootstrap` (this binary unless another is given).
fn task(bootstrap: Option<&Path>) -> Task {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("task");
    std::fs::create_dir(&root).expect("mkdir");
    let exe = match bootstrap {
        Some(b) => b.to_path_buf(),
        None => std::env::current_exe().expect("own path"),
    };
    std::fs::copy(&exe, root.join("bootstrap")).expect("copy");
    // The jailed user must be able to reach and run it.
    use std::os::unix::fs::PermissionsExt;
    for p in [dir.path(), root.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    Task { _dir: dir, root }
}

/// The environment a `lambda_runtime` function insists on.
fn runtime_env(api: &str) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", api),
        ("AWS_LAMBDA_FUNCTION_NAME", "bench"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn spec(task_root: &Path, api: &str) -> SandboxSpec {
    SandboxSpec {
        program: "/var/task/bootstrap".into(),
        args: vec![BOOTSTRAP_ARG.into()],
        env: runtime_env(api),
        task_root: task_root.to_path_buf(),
        runtime_dir: None,
        opt_dir: None,
        ro_paths: vec![],
        hidden: vec![],
        memory_mb: 128,
        ephemeral_storage_mb: 512,
        egress: hearth_model::egress::EgressPolicy::None,
    }
}

/// One cold start's stages, in milliseconds.
#[derive(Clone, Copy)]
struct Sample {
    /// `Sandbox::prepare` (taking a ready environment).
    prepare: f64,
    /// `Sandbox::spawn` (handing it the function).
    spawn: f64,
    /// From `spawn` returning to the runtime's `main` (attaching the function's
    /// mounts, exec, the dynamic loader).
    to_main: f64,
    /// From `main` to its first request arriving (connecting, sending).
    to_request: f64,
}

impl Sample {
    fn total(&self) -> f64 {
        self.prepare + self.spawn + self.to_main + self.to_request
    }
}

fn print_samples(label: &str, samples: &[Sample]) {
    let col = |f: fn(&Sample) -> f64| samples.iter().map(f).collect::<Vec<_>>();
    let total = col(Sample::total);
    println!(
        "{label}: n={} total p50 {:.2} p99 {:.2} ms | p50 of prepare {:.2}, spawn {:.2}, to runtime main {:.2}, main to first request {:.2}",
        samples.len(),
        pct(&total, 50.0),
        pct(&total, 99.0),
        pct(&col(|s| s.prepare), 50.0),
        pct(&col(|s| s.spawn), 50.0),
        pct(&col(|s| s.to_main), 50.0),
        pct(&col(|s| s.to_request), 50.0),
    );
}

fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let k = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[k.min(v.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ns_ms(from: u128, to: u128) -> f64 {
    to.saturating_sub(from) as f64 / 1e6
}

/// The floor: the runtime exec'd directly, until its first request.
fn direct_start(task_root: &Path) -> Sample {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let api = listener.local_addr().expect("addr").to_string();
    let t0 = Instant::now();
    let started = now_ns();
    let mut child = std::process::Command::new(task_root.join("bootstrap"))
        .arg(BOOTSTRAP_ARG)
        .env_clear()
        .envs(runtime_env(&api))
        // A real runtime complains when it is killed; the jail's output is not shown
        // either.
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let spawn = ms(t0.elapsed());
    let arrival = first_request(&listener);
    let _ = child.kill();
    let _ = child.wait();
    Sample {
        prepare: 0.0,
        spawn,
        to_main: ns_ms(started, arrival.main) - spawn,
        to_request: ns_ms(arrival.main, arrival.received),
    }
}

/// One cold start through the jail: prepare, spawn, first request; then drop it.
fn cold_start(sandbox: &JailSandbox, task_root: &Path) -> Sample {
    let t0 = Instant::now();
    let mut prepared: Prepared = sandbox.prepare().expect("prepare");
    let listener = prepared.take_listener().expect("listener");
    let t1 = Instant::now();
    let instance = sandbox
        .spawn(
            &spec(task_root, hearth_sandbox::jail::RUNTIME_API_ADDR),
            prepared,
        )
        .expect("spawn");
    let t2 = Instant::now();
    let spawned = now_ns();
    let arrival = first_request(&listener);
    drop(instance);
    Sample {
        prepare: ms(t1 - t0),
        spawn: ms(t2 - t1),
        to_main: ns_ms(spawned, arrival.main),
        to_request: ns_ms(arrival.main, arrival.received),
    }
}

async fn run(
    bootstrap: Option<&Path>,
    floor_runs: usize,
    sequential: usize,
    burst: usize,
    concurrency: usize,
) {
    let task = task(bootstrap);
    let work = tempfile::tempdir().expect("work dir");

    let exe = std::env::current_exe().expect("own path");
    let t = Instant::now();
    let sandbox = Arc::new(JailSandbox::new(exe, work.path(), None).expect("jail sandbox"));
    println!("JailSandbox::new {:.2} ms", ms(t.elapsed()));
    // Let the pool fill.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Cold starts one at a time, each from a pool that had time to refill, alternating
    // with the floor so that whatever else the host does weighs on both alike.
    let mut floor = Vec::new();
    let mut seq = Vec::new();
    for i in 0..floor_runs.max(sequential) {
        if i < floor_runs {
            let root = task.root.clone();
            floor.push(
                tokio::task::spawn_blocking(move || direct_start(&root))
                    .await
                    .expect("join"),
            );
        }
        if i < sequential {
            let s = sandbox.clone();
            let root = task.root.clone();
            seq.push(
                tokio::task::spawn_blocking(move || cold_start(&s, &root))
                    .await
                    .expect("join"),
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    print_samples("floor (the runtime exec'd directly)", &floor);
    print_samples("jail, one at a time", &seq);
    println!(
        "jail/floor p50 ratio {:.2}",
        pct(&seq.iter().map(Sample::total).collect::<Vec<_>>(), 50.0)
            / pct(&floor.iter().map(Sample::total).collect::<Vec<_>>(), 50.0)
    );

    // A burst: `burst` cold starts, `concurrency` at a time.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu_before = Cpu::now();
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let s = sandbox.clone();
        let root = task.root.clone();
        let next = next.clone();
        workers.push(tokio::task::spawn_blocking(move || {
            let mut samples = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < burst {
                samples.push(cold_start(&s, &root));
            }
            samples
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.expect("join"));
    }
    let elapsed = started.elapsed();
    // Teardowns still running belong to the burst's cost.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cpu = Cpu::now().since(&cpu_before);
    print_samples(
        &format!("jail, burst of {burst}, {concurrency} at a time"),
        &all,
    );
    println!(
        "burst: {:.0} environments/s ({burst} in {:.2} s); pool afterwards: {:?} (ready, target)",
        burst as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        sandbox.pool_stats(),
    );
    println!(
        "burst CPU per environment: {:.2} ms host-wide (the kernel's own threads included, and anything else running)",
        cpu.host_ms / burst as f64,
    );
    let t = Instant::now();
    tokio::task::spawn_blocking(move || sandbox.shutdown())
        .await
        .expect("join");
    println!("shutdown {:.2} ms", ms(t.elapsed()));
}

/// CPU time the whole host used (the environments' processes are the jail zygote's
/// children, not this process's, so its own usage would leave them out).
struct Cpu {
    host_ms: f64,
}

impl Cpu {
    fn now() -> Self {
        // The first line of /proc/stat: jiffies (1/100 s) per state; idle and iowait
        // are not busy.
        let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
        let fields: Vec<f64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        let busy: f64 = fields.iter().sum::<f64>()
            - fields.get(3).unwrap_or(&0.0)
            - fields.get(4).unwrap_or(&0.0);
        Cpu {
            host_ms: busy * 10.0,
        }
    }

    fn since(&self, before: &Cpu) -> Cpu {
        Cpu {
            host_ms: self.host_ms - before.host_ms,
        }
    }
}
