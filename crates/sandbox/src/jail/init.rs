//! `hearth __jail-init`: the process that turns itself into an environment.
//!
//! Three processes, because a new PID namespace only holds the *children* of the
//! process that made it, and because the runtime should not be PID 1 (which ignores
//! unhandled signals and must reap orphans):
//!
//! 1. **init** (in Hearth's PID namespace): joins the cgroup and network namespace,
//!    unshares mount/PID/IPC/UTS/cgroup namespaces, then waits for its function's spec
//!    on standard input (Hearth starts these ahead of need: joining a v1 cgroup alone
//!    costs milliseconds), forks, and relays how the environment ended as its own exit,
//!    which is what Hearth waits for;
//! 2. **reaper** (PID 1 inside): builds the root file system, forks the runtime,
//!    reaps orphans, and ends when the runtime does — taking every process left in the
//!    namespace with it, daemons included;
//! 3. **runtime** (PID 2): drops every privilege, installs seccomp, execs the runtime.
//!
//! Each step runs in a fresh single-threaded process, so `fork` is sound here.

// Unsafe code is allowed here, and only here: fork, signal dispositions and PR_CAPBSET_DROP have no safe wrappers; each use says why it is sound.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::process::exit;

use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::prctl;
use nix::sys::resource::{setrlimit, Resource};
use nix::sys::signal::{kill, signal, SigHandler, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{execve, fork, pipe, setgroups, setresgid, setresuid, ForkResult, Gid, Pid, Uid};

use super::spec::{Enter, JailSpec, ENTER_ENV};
use super::{mounts, seccomp};

/// Exit code for a failure to set the environment up (not the function's).
const SETUP_FAILED: i32 = 125;

/// The entry point of `hearth __jail-init`; never returns.
pub fn main() -> ! {
    match run() {
        Ok(end) => end.finish(),
        Err(e) => {
            eprintln!("hearth jail: {e}");
            exit(SETUP_FAILED)
        }
    }
}

/// How the runtime ended, carried from the reaper to init over a pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Code(i32),
    Signal(i32),
}

impl End {
    fn encode(self) -> [u8; 5] {
        let (tag, n) = match self {
            End::Code(c) => (b'C', c),
            End::Signal(s) => (b'S', s),
        };
        let b = n.to_le_bytes();
        [tag, b[0], b[1], b[2], b[3]]
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let n = i32::from_le_bytes(bytes.get(1..5)?.try_into().ok()?);
        match bytes.first()? {
            b'C' => Some(End::Code(n)),
            b'S' => Some(End::Signal(n)),
            _ => None,
        }
    }

    fn of(status: WaitStatus) -> Option<Self> {
        match status {
            WaitStatus::Exited(_, code) => Some(End::Code(code)),
            WaitStatus::Signaled(_, sig, _) => Some(End::Signal(sig as i32)),
            _ => None,
        }
    }

    /// Ends this process the same way, so Hearth sees the runtime's own exit.
    fn finish(self) -> ! {
        match self {
            End::Code(code) => exit(code),
            End::Signal(sig) => {
                if let Ok(sig) = Signal::try_from(sig) {
                    // SAFETY: restoring the default disposition has no preconditions.
                    let _ = unsafe { signal(sig, SigHandler::SigDfl) };
                    let _ = kill(Pid::this(), sig);
                }
                exit(128 + sig)
            }
        }
    }
}

fn os(e: nix::Error) -> io::Error {
    io::Error::from(e)
}

fn run() -> io::Result<End> {
    let raw = std::env::var(ENTER_ENV)
        .map_err(|_| io::Error::other(format!("{ENTER_ENV} is not set")))?;
    let enter: Enter = serde_json::from_str(&raw).map_err(io::Error::other)?;
    // If Hearth dies, so does the environment.
    prctl::set_pdeathsig(Signal::SIGKILL).map_err(os)?;
    for procs in &enter.cgroup_procs {
        fs::write(procs, "0")
            .map_err(|e| io::Error::other(format!("join {}: {e}", procs.display())))?;
    }
    let netns = fs::File::open(&enter.netns)?;
    setns(netns.as_fd(), CloneFlags::CLONE_NEWNET).map_err(os)?;
    drop(netns);
    unshare(
        CloneFlags::CLONE_NEWNS
            | CloneFlags::CLONE_NEWPID
            | CloneFlags::CLONE_NEWIPC
            | CloneFlags::CLONE_NEWUTS
            | CloneFlags::CLONE_NEWCGROUP,
    )
    .map_err(os)?;
    // Ready: wait for the function. Hearth closes the pipe after writing the spec.
    let mut raw = Vec::new();
    io::stdin().lock().read_to_end(&mut raw)?;
    if raw.is_empty() {
        // Hearth let this environment go unused (shutdown).
        return Ok(End::Code(0));
    }
    let spec: JailSpec = serde_json::from_slice(&raw).map_err(io::Error::other)?;
    let (read, write) = pipe().map_err(os)?;
    // SAFETY: this process is single-threaded (freshly exec'd, no threads started).
    match unsafe { fork() }.map_err(os)? {
        ForkResult::Child => {
            drop(read);
            let end = match reaper(&spec) {
                Ok(end) => end,
                Err(e) => {
                    eprintln!("hearth jail: {e}");
                    End::Code(SETUP_FAILED)
                }
            };
            let mut w = fs::File::from(write);
            let _ = w.write_all(&end.encode());
            exit(0)
        }
        ForkResult::Parent { child } => {
            drop(write);
            let status = waitpid(child, None).map_err(os)?;
            let mut buf = Vec::new();
            let _ = fs::File::from(read).read_to_end(&mut buf);
            Ok(End::decode(&buf)
                .or_else(|| End::of(status))
                .unwrap_or(End::Code(SETUP_FAILED)))
        }
    }
}

/// PID 1 of the environment.
fn reaper(spec: &JailSpec) -> io::Result<End> {
    prctl::set_pdeathsig(Signal::SIGKILL).map_err(os)?;
    mounts::assemble(spec)?;
    nix::unistd::sethostname(&spec.hostname).map_err(os)?;
    // SAFETY: still single-threaded.
    let runtime = match unsafe { fork() }.map_err(os)? {
        ForkResult::Child => {
            let e = exec_runtime(spec);
            eprintln!("hearth jail: cannot start {}: {e}", spec.program.display());
            exit(SETUP_FAILED)
        }
        ForkResult::Parent { child } => child,
    };
    loop {
        match waitpid(None, None) {
            Ok(status) if status.pid() == Some(runtime) => {
                if let Some(end) = End::of(status) {
                    return Ok(end);
                }
            }
            Ok(_) => {}
            Err(nix::Error::EINTR) => {}
            Err(e) => return Err(os(e)),
        }
    }
}

/// Drops every privilege and execs the runtime; returns only on failure.
fn exec_runtime(spec: &JailSpec) -> io::Error {
    let attempt = || -> io::Result<io::Error> {
        nix::unistd::chdir("/var/task").map_err(os)?;
        setrlimit(Resource::RLIMIT_NOFILE, 1024, 1024).map_err(os)?;
        drop_capabilities()?;
        setgroups(&[]).map_err(os)?;
        let gid = Gid::from_raw(spec.gid);
        let uid = Uid::from_raw(spec.uid);
        setresgid(gid, gid, gid).map_err(os)?;
        setresuid(uid, uid, uid).map_err(os)?;
        if let Some(compiled) = &spec.seccomp {
            let filter = compiled.to_filter().map_err(io::Error::other)?;
            seccomp::apply(&filter).map_err(io::Error::other)?;
        } else {
            prctl::set_no_new_privs().map_err(os)?;
        }
        let program = cstring(spec.program.as_os_str().as_encoded_bytes())?;
        let mut argv = vec![program.clone()];
        for a in &spec.args {
            argv.push(cstring(a.as_bytes())?);
        }
        let envp = spec
            .env
            .iter()
            .map(|(k, v)| cstring(format!("{k}={v}").as_bytes()))
            .collect::<io::Result<Vec<_>>>()?;
        let Err(e) = execve(&program, &argv, &envp);
        Ok(os(e))
    };
    match attempt() {
        Ok(e) | Err(e) => e,
    }
}

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::other("argument or variable contains a NUL byte"))
}

/// Empties the capability bounding set, so nothing exec'd later can regain any.
fn drop_capabilities() -> io::Result<()> {
    let last = fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .unwrap_or(40);
    for cap in 0..=last {
        // SAFETY: PR_CAPBSET_DROP takes a capability number and touches nothing else.
        let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
        if rc != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINVAL) {
                return Err(e);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_round_trips() {
        for end in [
            End::Code(0),
            End::Code(1),
            End::Code(255),
            End::Signal(9),
            End::Signal(11),
        ] {
            assert_eq!(End::decode(&end.encode()), Some(end));
        }
        assert_eq!(End::decode(b""), None);
        assert_eq!(End::decode(b"X\0\0\0\0"), None);
    }
}
