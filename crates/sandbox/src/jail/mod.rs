//! The `jail` backend: each environment in its own mount, PID, IPC, UTS, cgroup and
//! network namespaces, under cgroup limits (memory, CPU in proportion to memory,
//! pids), on a read-only root assembled from what the runtime needs, as an
//! unprivileged user with no capabilities, `no_new_privs` and a seccomp filter.
//!
//! Hearth starts `hearth __jail-init` ([`init::main`]) with a [`JailSpec`]; that process
//! builds the environment and execs the runtime. See `init.rs` for the process tree.

pub mod cgroup;
pub mod init;
mod loopdev;
mod mounts;
mod netns;
pub mod seccomp;
mod spec;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tokio::net::unix::pipe;
use tokio::process::{Child, Command};
use tokio::sync::Notify;

pub use netns::RUNTIME_API_ADDR;
pub use spec::{Enter, JailSpec, ENTER_ENV, INIT_ARG};

use crate::instance::spawn_with_output;
use crate::{GuestPaths, Instance, Prepared, Sandbox, SandboxError, SandboxSpec, Teardown};
use cgroup::{Cgroup, CgroupManager, Limits};
use netns::NetNs;

/// Lambda runs functions as an unprivileged user (`sbx_user1051`, uid 993).
const SANDBOX_UID: u32 = 993;
const SANDBOX_GID: u32 = 990;
/// CPU during the init phase: one whole CPU.
const INIT_CPU_MILLIS: u64 = 1000;
/// Environments kept ready ahead of need.
const POOL_SIZE: usize = 2;
/// Memory limit of an environment made ahead, until its function's applies.
const WAITING_MEMORY_MB: u64 = 128;
/// `/tmp` size made ahead: Lambda's default `EphemeralStorage`.
const DEFAULT_TMP_MB: u64 = 512;

/// The jail backend. Needs root (or the equivalent capabilities) on the host.
pub struct JailSandbox {
    shared: Arc<Shared>,
}

struct Shared {
    /// The `hearth` binary, re-executed as `hearth __jail-init`.
    exe: PathBuf,
    /// Where environment roots are assembled (empty mount points on the host).
    roots: PathBuf,
    /// Where `/tmp` images are made, when the host has loop devices and mkfs.ext4.
    tmp_images: Option<PathBuf>,
    cgroups: Arc<dyn CgroupManager>,
    seccomp: seccomp::CompiledFilter,
    /// Environments whose init process has joined its cgroup and namespaces and waits
    /// for a function: creating one costs milliseconds, mostly the cgroup join.
    ready: Mutex<Vec<Slot>>,
    refill: Arc<Notify>,
    /// Set at shutdown: no more environments are made ahead.
    closed: std::sync::atomic::AtomicBool,
}

/// An environment made ahead: its namespaces, cgroup and waiting init process. Dropped
/// unused, it removes all of them.
struct Slot {
    parts: Option<SlotParts>,
}

struct SlotParts {
    netns: NetNs,
    cgroup: Arc<dyn Cgroup>,
    root: PathBuf,
    child: Child,
    output: pipe::Receiver,
    spec_in: std::io::PipeWriter,
    /// The `/tmp` image and its size in MiB.
    tmp_image: Option<(PathBuf, u64)>,
}

impl std::fmt::Debug for JailSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JailSandbox")
            .field("exe", &self.shared.exe)
            .field("cgroups", &self.shared.cgroups.version())
            .finish()
    }
}

impl JailSandbox {
    /// Checks the host can jail, finds the cgroup hierarchy, and starts keeping
    /// environments ready. `work_dir` holds the per-environment root mount points. Must
    /// be called inside the tokio runtime.
    pub fn new(exe: PathBuf, work_dir: &Path) -> Result<Self, SandboxError> {
        if !nix::unistd::geteuid().is_root() {
            return Err(SandboxError::Jail(
                "the jail sandbox needs root (namespaces, mounts, cgroups); run as root or use --sandbox process".into(),
            ));
        }
        let cgroups = cgroup::detect().map_err(|e| SandboxError::Jail(format!("cgroups: {e}")))?;
        let seccomp = seccomp::filter()
            .map_err(|e| SandboxError::Jail(format!("seccomp: {e}")))?
            .to_compiled();
        let roots = work_dir.join("roots");
        std::fs::create_dir_all(&roots)
            .map_err(|e| SandboxError::Jail(format!("{}: {e}", roots.display())))?;
        let tmp_images = if loopdev::available() {
            let dir = work_dir.join("tmp");
            std::fs::create_dir_all(&dir)
                .map_err(|e| SandboxError::Jail(format!("{}: {e}", dir.display())))?;
            Some(dir)
        } else {
            tracing::warn!(
                "no loop devices or mkfs.ext4 (e2fsprogs): /tmp will be a tmpfs, which counts against each function's memory"
            );
            None
        };
        let shared = Arc::new(Shared {
            exe,
            roots,
            tmp_images,
            cgroups: Arc::from(cgroups),
            seccomp,
            ready: Mutex::new(Vec::new()),
            refill: Arc::new(Notify::new()),
            closed: std::sync::atomic::AtomicBool::new(false),
        });
        tokio::spawn(refill(Arc::downgrade(&shared)));
        shared.refill.notify_one();
        Ok(Self { shared })
    }
}

/// Keeps [`POOL_SIZE`] environments ready, topping up whenever one is taken.
async fn refill(shared: std::sync::Weak<Shared>) {
    loop {
        let notify = {
            let Some(s) = shared.upgrade() else { return };
            while !s.is_closed() && s.ready_count() < POOL_SIZE {
                match s.make_slot() {
                    Ok(slot) => s.lock_ready().push(slot),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not prepare an environment ahead");
                        break;
                    }
                }
            }
            s.refill.clone()
        };
        // A notification sent while filling is kept, so none is lost.
        notify.notified().await;
    }
}

impl Drop for JailSandbox {
    fn drop(&mut self) {
        // Lets the refill task see the sandbox is gone, and frees the ready environments.
        self.shared.lock_ready().clear();
        self.shared.refill.notify_one();
    }
}

impl Shared {
    fn lock_ready(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        self.ready.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_closed(&self) -> bool {
        self.closed.load(std::sync::atomic::Ordering::Acquire)
    }

    fn ready_count(&self) -> usize {
        self.lock_ready().len()
    }

    fn take_slot(&self) -> Result<Slot, SandboxError> {
        let slot = self.lock_ready().pop();
        self.refill.notify_one();
        match slot {
            Some(slot) => Ok(slot),
            None => self.make_slot(),
        }
    }

    /// Makes an environment up to the point where it waits for its function.
    fn make_slot(&self) -> Result<Slot, SandboxError> {
        let jail_err =
            |what: &str, e: &dyn std::fmt::Display| SandboxError::Jail(format!("{what}: {e}"));
        let netns = NetNs::create().map_err(SandboxError::Network)?;
        let id = unique_id();
        let root = self.roots.join(&id);
        std::fs::create_dir(&root).map_err(|e| jail_err("root", &e))?;
        let waiting = Limits {
            cpu_millis: INIT_CPU_MILLIS,
            ..Limits::for_memory_mb(WAITING_MEMORY_MB)
        };
        let cgroup: Arc<dyn Cgroup> = match self.cgroups.create(&format!("env-{id}"), &waiting) {
            Ok(c) => Arc::from(c),
            Err(e) => {
                let _ = std::fs::remove_dir(&root);
                return Err(jail_err("cgroup", &e));
            }
        };
        let enter = Enter {
            cgroup_procs: cgroup.procs_files(),
            netns: netns.path(),
        };
        // From here on, dropping `resources` undoes everything above (and the /tmp
        // image, once made).
        let mut resources = JailResources {
            cgroup: cgroup.clone(),
            root: root.clone(),
            tmp_image: None,
            cpu_millis: waiting.cpu_millis,
            _netns: None,
        };
        let tmp_image = match &self.tmp_images {
            Some(dir) => {
                let path = dir.join(format!("{id}.img"));
                loopdev::make_image(&path, DEFAULT_TMP_MB, SANDBOX_UID, SANDBOX_GID)
                    .map_err(|e| jail_err("/tmp image", &e))?;
                resources.tmp_image = Some(path.clone());
                Some((path, DEFAULT_TMP_MB))
            }
            None => None,
        };
        let json = serde_json::to_string(&enter).map_err(|e| jail_err("spec", &e))?;
        let (spec_out, spec_in) = std::io::pipe().map_err(SandboxError::Pipe)?;
        let mut cmd = Command::new(&self.exe);
        cmd.arg(INIT_ARG)
            .env_clear()
            .env(ENTER_ENV, json)
            .stdin(Stdio::from(spec_out));
        let (child, output) = spawn_with_output(cmd, &self.exe)?;
        // The slot owns these now and undoes them if dropped unused.
        std::mem::forget(resources);
        Ok(Slot {
            parts: Some(SlotParts {
                netns,
                cgroup,
                root,
                child,
                output,
                spec_in,
                tmp_image,
            }),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(mut p) = self.parts.take() {
            let _ = p.child.start_kill();
            drop(JailResources {
                cgroup: p.cgroup,
                root: p.root,
                tmp_image: p.tmp_image.map(|(path, _)| path),
                cpu_millis: 0,
                _netns: None,
            });
        }
    }
}

/// What an environment holds on the host, removed when it is dropped.
struct JailResources {
    cgroup: Arc<dyn Cgroup>,
    /// Unlinked by the environment once mounted; removed here if it never was.
    tmp_image: Option<PathBuf>,
    /// The CPU share the function's memory buys, applied after init.
    cpu_millis: u64,
    root: PathBuf,
    _netns: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl Teardown for JailResources {
    fn peak_memory_bytes(&self) -> Option<u64> {
        self.cgroup.peak_memory_bytes()
    }

    fn oom_killed(&self) -> bool {
        self.cgroup.oom_kills() > 0
    }

    fn kill_all(&self) {
        if let Err(e) = self.cgroup.kill_all() {
            tracing::warn!(error = %e, "could not kill an environment's processes");
        }
    }

    fn init_done(&self) {
        if let Err(e) = self.cgroup.set_cpu_millis(self.cpu_millis) {
            tracing::warn!(error = %e, "could not set an environment's CPU limit");
        }
    }
}

/// Teardowns in flight, so that shutdown can wait for them: a process that exits in
/// the middle of one leaves a frozen cgroup behind.
static TEARDOWNS: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

fn teardown(cgroup: Arc<dyn Cgroup>, root: PathBuf, tmp_image: Option<PathBuf>) {
    if let Err(e) = cgroup.destroy() {
        tracing::warn!(error = %e, "could not remove an environment's cgroup");
    }
    if let Some(image) = tmp_image {
        let _ = std::fs::remove_file(image);
    }
    // The mounts lived in the environment's own mount namespace; on the host this is
    // an empty directory.
    let _ = std::fs::remove_dir(&root);
}

/// Waits until every teardown started so far has finished, or `limit` has passed.
fn wait_for_teardowns(limit: Duration) {
    let (count, done) = &TEARDOWNS;
    let guard = count.lock().unwrap_or_else(|p| p.into_inner());
    let (guard, timeout) = done
        .wait_timeout_while(guard, limit, |n| *n > 0)
        .unwrap_or_else(|p| p.into_inner());
    if timeout.timed_out() {
        tracing::warn!(
            remaining = *guard,
            "environment teardown still running at shutdown"
        );
    }
}

impl Drop for JailResources {
    fn drop(&mut self) {
        // Killing and removing a cgroup can wait on the kernel for a while: not on the
        // thread that dropped the environment, which may be serving requests.
        let cgroup = self.cgroup.clone();
        let root = self.root.clone();
        let tmp_image = self.tmp_image.take();
        let (count, done) = &TEARDOWNS;
        *count.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        let finish = || {
            let mut n = count.lock().unwrap_or_else(|p| p.into_inner());
            *n -= 1;
            done.notify_all();
        };
        let spawned = std::thread::Builder::new()
            .name("hearth-teardown".into())
            .spawn(move || {
                teardown(cgroup, root, tmp_image);
                finish();
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no teardown thread; tearing down inline");
            teardown(self.cgroup.clone(), self.root.clone(), None);
            finish();
        }
    }
}

impl Sandbox for JailSandbox {
    fn name(&self) -> &'static str {
        "jail"
    }

    fn guest_paths(&self) -> GuestPaths {
        GuestPaths::Lambda
    }

    fn shutdown(&self) {
        self.shared
            .closed
            .store(true, std::sync::atomic::Ordering::Release);
        self.shared.lock_ready().clear();
        wait_for_teardowns(Duration::from_secs(10));
    }

    fn prepare(&self) -> Result<Prepared, SandboxError> {
        let slot = self.shared.take_slot()?;
        let listener = slot
            .parts
            .as_ref()
            .ok_or_else(|| SandboxError::Jail("environment already used".into()))?
            .netns
            .listener
            .try_clone()
            .map_err(SandboxError::Network)?;
        Ok(Prepared::new(listener, Some(Box::new(slot))))
    }

    fn spawn(&self, spec: &SandboxSpec, prepared: Prepared) -> Result<Instance, SandboxError> {
        let jail_err =
            |what: &str, e: &dyn std::fmt::Display| SandboxError::Jail(format!("{what}: {e}"));
        let mut slot = prepared
            .keep
            .and_then(|k| k.downcast::<Slot>().ok())
            .ok_or_else(|| SandboxError::Jail("environment was not prepared by the jail".into()))?;
        // Taken out, the parts are this environment's; the slot's Drop does nothing now.
        let parts = slot
            .parts
            .take()
            .ok_or_else(|| SandboxError::Jail("environment already used".into()))?;
        let limits = Limits::for_memory_mb(spec.memory_mb);
        // Like Lambda, init runs with a whole CPU whatever the memory size; the
        // function's share applies from its first event on.
        let init_limits = Limits {
            cpu_millis: limits.cpu_millis.max(INIT_CPU_MILLIS),
            ..limits
        };
        parts
            .cgroup
            .set_limits(&init_limits)
            .map_err(|e| jail_err("cgroup", &e))?;
        let tmp_image = match &parts.tmp_image {
            Some((path, mb)) if *mb == spec.ephemeral_storage_mb => Some(path.clone()),
            Some((path, _)) => {
                loopdev::make_image(path, spec.ephemeral_storage_mb, SANDBOX_UID, SANDBOX_GID)
                    .map_err(|e| jail_err("/tmp image", &e))?;
                Some(path.clone())
            }
            None => None,
        };
        let jail = JailSpec {
            program: spec.program.clone(),
            args: spec.args.clone(),
            env: spec.env.clone(),
            hostname: "localhost".into(),
            task_root: spec.task_root.clone(),
            runtime_dir: spec.runtime_dir.clone(),
            ro_paths: spec.ro_paths.clone(),
            root: parts.root.clone(),
            tmp_mb: spec.ephemeral_storage_mb,
            tmp_image: tmp_image.clone(),
            uid: SANDBOX_UID,
            gid: SANDBOX_GID,
            seccomp: Some(self.shared.seccomp.clone()),
        };
        let json = serde_json::to_vec(&jail).map_err(|e| jail_err("spec", &e))?;
        let SlotParts {
            netns,
            cgroup,
            root,
            child,
            output,
            mut spec_in,
            tmp_image: _,
        } = parts;
        let resources = JailResources {
            cgroup,
            root,
            tmp_image,
            cpu_millis: limits.cpu_millis,
            _netns: Some(Box::new(netns)),
        };
        let pid = child.id().unwrap_or_default();
        let instance = Instance::new(child, pid, output, Some(Box::new(resources)));
        // The spec is far smaller than a pipe's buffer, so this does not block; closing
        // the pipe lets init go on.
        spec_in
            .write_all(&json)
            .map_err(|e| jail_err("cannot hand the environment its function", &e))?;
        drop(spec_in);
        Ok(instance)
    }
}

fn unique_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
