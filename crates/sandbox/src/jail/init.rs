//! `hearth __jail-init`: the jail's zygote, and the processes that turn themselves into
//! environments.
//!
//! Hearth starts one zygote per sandbox (`zygote.rs` is its side). Hearth makes
//! environments ahead of need, so everything that does not depend on the function
//! happens before one is assigned, and a claim only attaches the function's mounts and
//! starts the runtime. A new PID namespace only holds the *children* of the process that
//! made it, and the runtime should not be PID 1 (which ignores unhandled signals and
//! must reap orphans), so an environment is a small process tree:
//!
//! 0. **zygote** (one for all environments, single-threaded): forks an init process
//!    for each request from Hearth, reaps them and reports how each ended. Forking it
//!    is far cheaper than starting a new `hearth`, which the kernel and the dynamic
//!    loader would have to map, relocate and initialise every time;
//! 1. **init** (in Hearth's PID namespace): joins the cgroup and network namespace,
//!    unshares mount/PID/IPC/UTS/cgroup namespaces, forks the reaper, and relays how the
//!    environment ended as its own exit, which is what Hearth waits for;
//! 2. **reaper** (PID 1 inside): builds the root file system and pivots into it, forks
//!    the runtime's process, tells Hearth the environment is [`READY`] and waits for the
//!    [`Claim`] on its control socket (standard input); then attaches the function's
//!    mounts, releases the runtime's process, reaps orphans, and ends when the runtime
//!    does — taking every process left in the namespace with it, daemons included;
//! 3. **runtime** (PID 2): drops every privilege and installs seccomp while waiting;
//!    released with the command to run, enters `/var/task`, starts the function's
//!    external extensions (each handed to the reaper) and execs the runtime.
//!
//! Each of them dies with its parent (`PR_SET_PDEATHSIG`), the zygote with Hearth's
//! thread that started it.
//!
//! **SIGTERM** (the shutdown phase of an environment with extensions) reaches the
//! runtime through a relay: Hearth signals init, init its reaper, the reaper the runtime
//! (PID 2) alone. Once it relayed one, the reaper outlives the runtime until every other
//! process of the namespace (the extensions) ended, since its own end would kill them
//! before their share of the phase; Hearth kills them all at the phase's limit. Each step runs in a single-threaded process, so `fork` is
//! sound here.

// Unsafe code is allowed here, and only here: fork, signal dispositions, PR_CAPBSET_DROP
// and adopting received file descriptors have no safe wrappers; each use says why it is
// sound.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::fs;
use std::io::{self, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::process::exit;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::prctl;
use nix::sys::resource::{setrlimit, Resource};
use nix::sys::signal::SigSet;
use nix::sys::signal::{kill, sigaction, signal, SaFlags, SigAction, SigHandler, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{recv, recvmsg, send, ControlMessageOwned, MsgFlags};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{execve, fork, setgroups, setresgid, setresuid, ForkResult, Gid, Pid, Uid};

use super::spec::{Claim, Enter, Exec, ExtensionExec, Fork, Forked, Tmp, MAX_FDS, READY};
use super::{mounts, seccomp};

/// Where this process relays SIGTERM: init to its reaper, the reaper to the runtime
/// (0: nobody yet). Set by the parent after its fork, so a child's copy is 0.
static RELAY_TO: AtomicI32 = AtomicI32::new(0);
/// Set once SIGTERM was relayed.
static TERMINATING: AtomicBool = AtomicBool::new(false);

/// The SIGTERM handler of init and the reaper: `kill` is async-signal-safe, and so
/// are the atomics.
extern "C" fn relay_sigterm(_: libc::c_int) {
    let to = RELAY_TO.load(Ordering::Acquire);
    // 0 would signal the whole process group.
    if to > 0 {
        TERMINATING.store(true, Ordering::Release);
        let _ = kill(Pid::from_raw(to), Signal::SIGTERM);
    }
}

/// Relays SIGTERM to `to` from now on. `SA_RESTART`: the blocking `waitpid`s around
/// carry on. In the reaper (PID 1 of its namespace) the handler is also what lets the
/// signal in from Hearth's namespace at all.
fn relay_sigterm_to(to: Pid) -> io::Result<()> {
    RELAY_TO.store(to.as_raw(), Ordering::Release);
    let action = SigAction::new(
        SigHandler::Handler(relay_sigterm),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only loads and stores atomics and calls kill, all
    // async-signal-safe.
    unsafe { sigaction(Signal::SIGTERM, &action) }.map_err(os)?;
    Ok(())
}

/// Exit code for a failure to set the environment up (not the function's).
const SETUP_FAILED: i32 = 125;
/// Largest [`Claim`] accepted: Lambda's environment variables alone are limited to 4 KB.
const MAX_CLAIM: usize = 256 * 1024;

/// The entry point of `hearth __jail-init`, the zygote; never returns.
pub fn main() -> ! {
    match zygote() {
        Ok(()) => exit(0),
        Err(e) => {
            eprintln!("hearth jail zygote: {e}");
            exit(SETUP_FAILED)
        }
    }
}

/// Forks an init process for each [`Fork`] request on standard input (Hearth's socket)
/// and reports it and its end ([`Forked`]), until Hearth closes the socket.
fn zygote() -> io::Result<()> {
    // SAFETY: Hearth started this process with its socket as standard input, and
    // nothing else in this process uses descriptor 0.
    let hearth = unsafe { OwnedFd::from_raw_fd(0) };
    // Hearth's death ends the zygote and, through theirs, every environment.
    die_with_parent()?;
    // Every environment's processes are the zygote's descendants and inherit it (see
    // `crate::sched`): init and the reaper while they build a spare, the runtime and its
    // extensions.
    crate::sched::batch()?;
    // Exits arrive on a descriptor, so that one poll serves both. The mask is undone
    // in each child: a blocked signal stays blocked across exec.
    let mut chld = SigSet::empty();
    chld.add(Signal::SIGCHLD);
    chld.thread_block().map_err(os)?;
    let exits =
        SignalFd::with_flags(&chld, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).map_err(os)?;
    let tell = |message: &Forked| -> io::Result<()> {
        let json = serde_json::to_vec(message).map_err(io::Error::other)?;
        send(hearth.as_raw_fd(), &json, MsgFlags::MSG_NOSIGNAL).map_err(os)?;
        Ok(())
    };
    loop {
        let mut ready = [
            PollFd::new(hearth.as_fd(), PollFlags::POLLIN),
            PollFd::new(exits.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut ready, PollTimeout::NONE) {
            Err(nix::Error::EINTR) => continue,
            other => other.map_err(os)?,
        };
        let [from_hearth, exited] = ready.map(|p| p.any().unwrap_or(false));
        if exited {
            while exits.read_signal().map_err(os)?.is_some() {}
            loop {
                match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::Exited(pid, code)) => tell(&Forked::Ended {
                        pid: pid_u32(pid),
                        status: (code & 0xff) << 8,
                    })?,
                    Ok(WaitStatus::Signaled(pid, sig, core)) => tell(&Forked::Ended {
                        pid: pid_u32(pid),
                        status: sig as i32 | if core { 0x80 } else { 0 },
                    })?,
                    Ok(WaitStatus::StillAlive) | Err(nix::Error::ECHILD) => break,
                    Ok(_) => {}
                    Err(nix::Error::EINTR) => {}
                    Err(e) => return Err(os(e)),
                }
            }
        }
        if !from_hearth {
            continue;
        }
        let (raw, fds) = receive(&hearth)?;
        if raw.is_empty() {
            // Hearth is gone or closed the sandbox.
            return Ok(());
        }
        let request: Fork = serde_json::from_slice(&raw).map_err(io::Error::other)?;
        let Ok::<[OwnedFd; 2], _>([control, output]) = fds.try_into() else {
            tell(&Forked::Failed {
                id: request.id,
                error: "a fork request needs two file descriptors".into(),
            })?;
            continue;
        };
        // SAFETY: this process is single-threaded (freshly exec'd, no threads started).
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                let started = become_init(&chld, control, output, [hearth.as_fd(), exits.as_fd()]);
                let end = started.and_then(|()| run(&request.enter));
                match end {
                    Ok(end) => end.finish(),
                    Err(e) => {
                        eprintln!("hearth jail: {e}");
                        exit(SETUP_FAILED)
                    }
                }
            }
            Ok(ForkResult::Parent { child }) => {
                drop((control, output));
                tell(&Forked::Started {
                    id: request.id,
                    pid: pid_u32(child),
                })?;
            }
            Err(e) => tell(&Forked::Failed {
                id: request.id,
                error: format!("fork: {e}"),
            })?,
        }
    }
}

fn pid_u32(pid: Pid) -> u32 {
    u32::try_from(pid.as_raw()).unwrap_or_default()
}

/// In a child of the zygote: drops the zygote's descriptors and signal mask, leads a
/// process group of its own (Hearth kills environments by group), and takes `control`
/// as standard input and `output` as standard output and error.
fn become_init(
    chld: &SigSet,
    control: OwnedFd,
    output: OwnedFd,
    zygote: [std::os::fd::BorrowedFd<'_>; 2],
) -> io::Result<()> {
    for fd in zygote {
        // The zygote's socket to Hearth and its signalfd are not this process's: the
        // parent's handles to them are never dropped here (the child ends with exit).
        nix::unistd::close(fd.as_raw_fd()).map_err(os)?;
    }
    chld.thread_unblock().map_err(os)?;
    nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0)).map_err(os)?;
    nix::unistd::dup2_stdin(&control).map_err(os)?;
    nix::unistd::dup2_stdout(&output).map_err(os)?;
    nix::unistd::dup2_stderr(&output).map_err(os)?;
    Ok(())
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

/// Dies with its parent, also when the parent is already gone (it may have died between
/// the fork and here, and then no signal would come).
fn die_with_parent() -> io::Result<()> {
    let parent = nix::unistd::getppid();
    prctl::set_pdeathsig(Signal::SIGKILL).map_err(os)?;
    if nix::unistd::getppid() != parent {
        exit(SETUP_FAILED);
    }
    Ok(())
}

/// An environment's init process: joins, unshares, forks the reaper and ends as the
/// environment did.
fn run(enter: &Enter) -> io::Result<End> {
    // SAFETY: `become_init` made descriptor 0 the control socket, and nothing else in
    // this process uses it.
    let control = unsafe { OwnedFd::from_raw_fd(0) };
    // If the zygote dies (with Hearth), so does the environment.
    die_with_parent()?;
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
    let (read, write) = std::io::pipe()?;
    // SAFETY: this process is single-threaded (freshly exec'd, no threads started).
    match unsafe { fork() }.map_err(os)? {
        ForkResult::Child => {
            drop(read);
            let end = match reaper(enter, control) {
                Ok(end) => end,
                Err(e) => {
                    eprintln!("hearth jail: {e}");
                    End::Code(SETUP_FAILED)
                }
            };
            let mut w = write;
            let _ = w.write_all(&end.encode());
            exit(0)
        }
        ForkResult::Parent { child } => {
            relay_sigterm_to(child)?;
            // The reaper alone holds the control socket now: if it dies, Hearth sees
            // the socket close.
            drop(control);
            drop(write);
            let status = waitpid(child, None).map_err(os)?;
            let mut buf = Vec::new();
            let mut read = read;
            let _ = read.read_to_end(&mut buf);
            Ok(End::decode(&buf)
                .or_else(|| End::of(status))
                .unwrap_or(End::Code(SETUP_FAILED)))
        }
    }
}

/// Receives one message from the control socket: its bytes (empty when Hearth closed
/// the socket) and the file descriptors that came with it.
fn receive(control: &OwnedFd) -> io::Result<(Vec<u8>, Vec<OwnedFd>)> {
    // A buffer of the message's own size, not of the largest one: the reaper keeps its
    // memory for as long as the environment lives, and a zeroed MAX_CLAIM buffer (taken
    // from the heap once glibc had raised its mmap threshold) was most of it.
    let len = next_len(control)?;
    if len > MAX_CLAIM {
        return Err(io::Error::other("message from Hearth too large"));
    }
    let mut buf = vec![0u8; len];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; MAX_FDS]);
    let (bytes, truncated, raw_fds) = loop {
        let mut iov = [IoSliceMut::new(&mut buf)];
        match recvmsg::<()>(
            control.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(msg) => {
                let mut fds = Vec::new();
                for c in msg.cmsgs().map_err(os)? {
                    if let ControlMessageOwned::ScmRights(received) = c {
                        fds.extend(received);
                    }
                }
                break (msg.bytes, msg.flags.contains(MsgFlags::MSG_TRUNC), fds);
            }
            Err(nix::Error::EINTR) => {}
            Err(e) => return Err(os(e)),
        }
    };
    // SAFETY: the kernel just installed these descriptors in this process for this
    // message; nothing else refers to them.
    let fds = raw_fds
        .into_iter()
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect();
    if truncated {
        return Err(io::Error::other("message from Hearth too large"));
    }
    buf.truncate(bytes);
    Ok((buf, fds))
}

/// The length of the next message on the control socket (0 once Hearth closed it),
/// without taking it or the descriptors it carries: with `MSG_TRUNC` a Unix socket's
/// `recv` answers a packet's whole length whatever the buffer's size.
fn next_len(control: &OwnedFd) -> io::Result<usize> {
    loop {
        match recv(
            control.as_raw_fd(),
            &mut [],
            MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC,
        ) {
            Ok(len) => return Ok(len),
            Err(nix::Error::EINTR) => {}
            Err(e) => return Err(os(e)),
        }
    }
}

/// Gives the heap's free pages back to the system: the reaper and init live as long as
/// their environment, and what they freed after setting it up would otherwise stay theirs.
fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks and trims the allocator's own free lists; this
    // process is single-threaded.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// PID 1 of the environment.
fn reaper(enter: &Enter, control: OwnedFd) -> io::Result<End> {
    die_with_parent()?;
    let tmp_disk = match enter.tmp {
        Tmp::Disk { .. } => {
            let (_, mut fds) = receive(&control)?;
            if fds.len() != 1 {
                return Err(io::Error::other("no /tmp file system was handed over"));
            }
            fds.pop()
        }
        Tmp::Tmpfs { .. } => None,
    };
    mounts::assemble(enter, tmp_disk.as_ref())?;
    drop(tmp_disk);
    nix::unistd::sethostname(&enter.hostname).map_err(os)?;
    // Converted here, once for the runtime's process to install.
    let filter = match &enter.seccomp {
        Some(compiled) => Some(compiled.to_filter().map_err(io::Error::other)?),
        None => None,
    };
    let (exec_read, exec_write) = std::io::pipe()?;
    let (ready_read, ready_write) = std::io::pipe()?;
    // Carries the extensions' output pipe to the runtime's process once the claim
    // brings it (a descriptor needs a socket).
    let (handing, handed) = super::handoff::pair()?;
    // SAFETY: still single-threaded.
    let runtime = match unsafe { fork() }.map_err(os)? {
        ForkResult::Child => {
            drop(exec_write);
            drop(ready_read);
            drop(handing);
            let channels = RuntimeChannels {
                control,
                exec: exec_read,
                handed,
                ready: ready_write,
            };
            let e = runtime(enter, filter.as_ref(), channels);
            eprintln!("hearth jail: {e}");
            exit(SETUP_FAILED)
        }
        ForkResult::Parent { child } => child,
    };
    drop(exec_read);
    drop(ready_write);
    drop(handed);
    // After the fork: the runtime's process keeps the default disposition.
    relay_sigterm_to(runtime)?;
    let mut said = [0u8; 1];
    if (&ready_read).read(&mut said)? != 1 {
        // It died setting up, and said why on the environment's output.
        return Err(io::Error::other(
            "the runtime's process could not be set up",
        ));
    }
    drop(ready_read);
    send(control.as_raw_fd(), &[READY], MsgFlags::MSG_NOSIGNAL).map_err(os)?;

    let (raw, fds) = receive(&control)?;
    drop(control);
    if raw.is_empty() {
        // Hearth let this environment go unused (shutdown).
        return Ok(End::Code(0));
    }
    let claim: Claim = serde_json::from_slice(&raw).map_err(io::Error::other)?;
    let mut fds = fds;
    let extension_output = match claim.extension_output {
        true => fds.pop(),
        false => None,
    };
    mounts::attach(&claim.binds, claim.tmp, &claim.hidden, &fds)?;
    drop(fds);
    let exec = serde_json::to_vec(&claim.exec).map_err(io::Error::other)?;
    let mut exec_write = exec_write;
    // Should the runtime's process be gone, its exit (reaped below) says so.
    let _ = exec_write.write_all(&exec);
    drop(exec_write);
    let _ = hand_over(&handing, extension_output.as_ref());
    drop((handing, extension_output, exec, claim, raw, filter));
    release_free_memory();
    let mut ended = None;
    loop {
        match waitpid(None, None) {
            Ok(status) if status.pid() == Some(runtime) => {
                if let Some(end) = End::of(status) {
                    if !TERMINATING.load(Ordering::Acquire) {
                        return Ok(end);
                    }
                    // Shutting down: the extensions still have their share.
                    ended = Some(end);
                }
            }
            Ok(_) => {}
            Err(nix::Error::EINTR) => {}
            Err(e) => {
                // ECHILD: every process of the namespace ended.
                return match ended {
                    Some(end) if e == nix::Error::ECHILD => Ok(end),
                    _ => Err(os(e)),
                };
            }
        }
    }
}

/// Sends the runtime's process one message on `socket`: with the extensions' output
/// pipe when there is one (`E`), else without (`N`).
fn hand_over(socket: &OwnedFd, fd: Option<&OwnedFd>) -> io::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage};
    let raw: Vec<std::os::fd::RawFd> = fd.iter().map(|f| f.as_raw_fd()).collect();
    let rights = [ControlMessage::ScmRights(&raw)];
    let (bytes, cmsgs): (&[u8], &[ControlMessage]) = match raw.is_empty() {
        true => (b"N", &[]),
        false => (b"E", &rights),
    };
    sendmsg::<()>(
        socket.as_raw_fd(),
        &[io::IoSlice::new(bytes)],
        cmsgs,
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map_err(os)?;
    Ok(())
}

/// What the runtime's process gets from the reaper.
struct RuntimeChannels {
    /// The reaper's control socket (standard input so far).
    control: OwnedFd,
    /// The command, once the function is claimed.
    exec: io::PipeReader,
    /// Then the extensions' output pipe, if they have one (see [`hand_over`]).
    handed: OwnedFd,
    /// Told when the process is set up.
    ready: io::PipeWriter,
}

/// PID 2: drops every privilege, installs seccomp, says it is ready on `ready`, waits
/// for the command on `exec` and execs it; returns only on failure.
fn runtime(
    enter: &Enter,
    filter: Option<&seccomp::Filter>,
    channels: RuntimeChannels,
) -> io::Error {
    let RuntimeChannels {
        control,
        exec,
        handed,
        ready,
    } = channels;
    let attempt = || -> io::Result<std::convert::Infallible> {
        // Standard input is the control socket, which is the reaper's: the runtime gets
        // nothing to read instead.
        let null = fs::File::open("/dev/null")?;
        nix::unistd::dup2_stdin(&null).map_err(os)?;
        drop(null);
        // Descriptor 0 is /dev/null now and must stay open.
        let _ = control.into_raw_fd();
        setrlimit(Resource::RLIMIT_NOFILE, 1024, 1024).map_err(os)?;
        drop_capabilities()?;
        setgroups(&[]).map_err(os)?;
        let gid = Gid::from_raw(enter.gid);
        let uid = Uid::from_raw(enter.uid);
        setresgid(gid, gid, gid).map_err(os)?;
        setresuid(uid, uid, uid).map_err(os)?;
        match filter {
            Some(filter) => seccomp::apply(filter).map_err(io::Error::other)?,
            None => prctl::set_no_new_privs().map_err(os)?,
        }
        // Rust ignores SIGPIPE, and an ignored signal stays ignored across exec: the
        // runtime starts with the default, as it would anywhere else.
        // SAFETY: restoring the default disposition has no preconditions.
        unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) }.map_err(os)?;
        (&ready).write_all(b"R")?;
        drop(ready);
        let mut raw = Vec::new();
        (&exec).read_to_end(&mut raw)?;
        drop(exec);
        if raw.is_empty() {
            // The reaper never got a function (shutdown) or could not set it up.
            exit(0);
        }
        let spec: Exec = serde_json::from_slice(&raw).map_err(io::Error::other)?;
        // Received close-on-exec: the runtime does not keep it.
        let (_, mut got) = receive(&handed)?;
        drop(handed);
        let extension_output = got.pop();
        nix::unistd::chdir("/var/task").map_err(os)?;
        for extension in &spec.extensions {
            start_extension(extension, extension_output.as_ref())?;
        }
        drop(extension_output);
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
        Err(io::Error::other(format!(
            "cannot start {}: {}",
            spec.program.display(),
            os(e)
        )))
    };
    match attempt() {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

/// Starts an external extension with the runtime's process's own state (user, no
/// capabilities, seccomp filter, namespaces, cgroup, directory, output), before the
/// runtime. A watcher forked twice (so that the reaper, PID 1, adopts and reaps it, not
/// the runtime, which never waits for children it did not make) runs the extension as
/// its child and tells the environment's Runtime API how it ended (see
/// [`report_exit`]), which is how Hearth learns of an extension's crash. Its standard
/// output and error are `output` when the extensions have a pipe of their own. A
/// program that cannot be executed says so on the output and ends with 127.
fn start_extension(extension: &ExtensionExec, output: Option<&OwnedFd>) -> io::Result<()> {
    // What the extension's process needs is made before the forks.
    let program = cstring(extension.program.as_os_str().as_encoded_bytes())?;
    let argv = [program.clone()];
    let envp = extension
        .env
        .iter()
        .map(|(k, v)| cstring(format!("{k}={v}").as_bytes()))
        .collect::<io::Result<Vec<_>>>()?;
    // SAFETY: the runtime's process is single-threaded (a fork of the reaper, which is),
    // and so is each child below.
    match unsafe { fork() }.map_err(os)? {
        ForkResult::Child => {
            // SAFETY: as above.
            if let Ok(ForkResult::Child) = unsafe { fork() } {
                // The watcher.
                // SAFETY: as above.
                match unsafe { fork() } {
                    Ok(ForkResult::Child) => {
                        if let Some(out) = output {
                            if nix::unistd::dup2_stdout(out)
                                .and_then(|()| nix::unistd::dup2_stderr(out))
                                .is_err()
                            {
                                exit(127)
                            }
                        }
                        let Err(e) = execve(&program, &argv, &envp);
                        eprintln!(
                            "hearth jail: cannot start extension {}: {}",
                            extension.program.display(),
                            os(e)
                        );
                        exit(127)
                    }
                    Ok(ForkResult::Parent { child }) => {
                        if let Some(end) = waitpid(child, None).ok().and_then(End::of) {
                            report_exit(extension, end);
                        }
                    }
                    Err(_) => {}
                }
            }
            exit(0)
        }
        ForkResult::Parent { child } => {
            waitpid(child, None).map_err(os)?;
            Ok(())
        }
    }
}

/// Tells the environment's Runtime API (`AWS_LAMBDA_RUNTIME_API` of the extension's
/// environment) that an extension's process ended: `POST /_hearth/extension/exited`
/// with its file name and wait status. Best effort: an environment already going away
/// does not listen.
fn report_exit(extension: &ExtensionExec, end: End) {
    let Some(addr) = extension
        .env
        .iter()
        .find(|(k, _)| k == "AWS_LAMBDA_RUNTIME_API")
        .map(|(_, v)| v)
    else {
        return;
    };
    let name = extension
        .program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let status = match end {
        End::Code(code) => (code & 0xff) << 8,
        End::Signal(sig) => sig & 0x7f,
    };
    let request = format!(
        "POST /_hearth/extension/exited HTTP/1.1\r\nHost: {addr}\r\nHearth-Extension-Name: {name}\r\n\
         Hearth-Extension-Status: {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if let Ok(mut stream) = std::net::TcpStream::connect(addr.as_str()) {
        let _ = stream.write_all(request.as_bytes());
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
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
