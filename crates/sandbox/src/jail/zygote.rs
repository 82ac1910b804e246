//! Hearth's side of the zygote: one `hearth __jail-init` process per sandbox that forks
//! every environment's init process, instead of Hearth starting (and the kernel loading
//! and relocating) a fresh `hearth` for each. Hearth is multi-threaded and may not run
//! code between fork and exec; the zygote is single-threaded, small, and has done its
//! start-up once. See `init.rs` for its loop.
//!
//! The init processes are the zygote's children, so the zygote reaps them and reports
//! how each ended ([`Forked::Ended`]); [`Instance`](crate::Instance) waits on that. A
//! supervisor thread reads the zygote's messages and starts it again should it die,
//! after telling everyone waiting that their processes died with it (they do: each
//! dies with its parent). It is also the zygote's parent thread, and the zygote dies
//! with it (`PR_SET_PDEATHSIG` follows the parent thread).

use std::collections::HashMap;
use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::Duration;

use nix::sys::socket::{recv, sendmsg, ControlMessage, MsgFlags, Shutdown};
use tokio::sync::watch;

use super::handoff;
use super::spec::{Enter, Fork, Forked, INIT_ARG};
use crate::instance::Adopted;

/// How long a fork request may take.
const FORK_LIMIT: Duration = Duration::from_secs(10);
/// Pause before starting a zygote again.
const RESTART_PAUSE: Duration = Duration::from_millis(200);
/// Largest message from the zygote (they are small).
const MAX_MESSAGE: usize = 4096;
/// SIGKILL's wait status: how an init process ends when its zygote dies.
const KILLED: i32 = 9;

pub struct Zygote {
    shared: Arc<Shared>,
}

struct Shared {
    exe: PathBuf,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Hearth's end of the running zygote's socket.
    socket: Option<Arc<OwnedFd>>,
    next_id: u64,
    /// Fork requests waiting for their answer.
    pending: HashMap<u64, mpsc::Sender<io::Result<Adopted>>>,
    /// Processes not yet ended, by pid.
    running: HashMap<u32, watch::Sender<Option<ExitStatus>>>,
    closed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Zygote {
    /// Starts the supervisor thread, which starts the zygote from `exe`.
    pub fn start(exe: PathBuf) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            exe,
            state: Mutex::new(State::default()),
        });
        let (started, first) = mpsc::channel();
        let s = shared.clone();
        std::thread::Builder::new()
            .name("hearth-zygote".into())
            .spawn(move || supervise(&s, started))?;
        // The first start's outcome, so that a broken host is reported at once.
        first
            .recv()
            .map_err(|_| io::Error::other("the zygote's supervisor ended"))??;
        Ok(Self { shared })
    }

    /// A new environment's init process, which gets `control` as its standard input
    /// and `output` as its standard output and error.
    pub fn fork(&self, enter: Enter, control: OwnedFd, output: OwnedFd) -> io::Result<Adopted> {
        let (tx, rx) = mpsc::channel();
        let (id, socket) = {
            let mut state = self.shared.lock();
            let socket = state
                .socket
                .clone()
                .ok_or_else(|| io::Error::other("no zygote running"))?;
            let id = state.next_id;
            state.next_id += 1;
            state.pending.insert(id, tx);
            (id, socket)
        };
        let json = serde_json::to_vec(&Fork { id, enter }).map_err(io::Error::other)?;
        let raw = [control.as_raw_fd(), output.as_raw_fd()];
        let sent = sendmsg::<()>(
            socket.as_raw_fd(),
            &[IoSlice::new(&json)],
            &[ControlMessage::ScmRights(&raw)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        );
        if let Err(e) = sent {
            self.shared.lock().pending.remove(&id);
            return Err(io::Error::other(format!("cannot reach the zygote: {e}")));
        }
        // The zygote has its own copies now.
        drop((control, output));
        match rx.recv_timeout(FORK_LIMIT) {
            Ok(outcome) => outcome,
            Err(_) => {
                self.shared.lock().pending.remove(&id);
                Err(io::Error::other("the zygote did not answer"))
            }
        }
    }
}

impl Drop for Zygote {
    fn drop(&mut self) {
        // Shutting Hearth's end makes the zygote exit (its init processes die with it)
        // and the supervisor's read end.
        let mut state = self.shared.lock();
        state.closed = true;
        if let Some(socket) = state.socket.take() {
            let _ = nix::sys::socket::shutdown(socket.as_raw_fd(), Shutdown::Both);
        }
    }
}

/// Runs zygotes one after the other for as long as the sandbox lives.
fn supervise(shared: &Shared, first: mpsc::Sender<io::Result<()>>) {
    let mut first = Some(first);
    loop {
        let started = start(shared);
        let (mut child, socket) = match started {
            Ok(pair) => pair,
            Err(e) => {
                if let Some(first) = first.take() {
                    let _ = first.send(Err(e));
                    return;
                }
                tracing::warn!(error = %e, "cannot start the jail's zygote");
                std::thread::sleep(RESTART_PAUSE);
                continue;
            }
        };
        if let Some(first) = first.take() {
            let _ = first.send(Ok(()));
        }
        read(shared, &socket);
        let _ = child.kill();
        let _ = child.wait();
        let mut state = shared.lock();
        state.socket = None;
        for (_, tx) in state.pending.drain() {
            let _ = tx.send(Err(io::Error::other("the zygote ended")));
        }
        for (_, tx) in state.running.drain() {
            let _ = tx.send(Some(ExitStatus::from_raw(KILLED)));
        }
        if state.closed {
            return;
        }
        drop(state);
        tracing::warn!("the jail's zygote ended; starting another");
        std::thread::sleep(RESTART_PAUSE);
    }
}

fn start(shared: &Shared) -> io::Result<(std::process::Child, Arc<OwnedFd>)> {
    let (ours, theirs) = handoff::pair()?;
    let child = Command::new(&shared.exe)
        .arg(INIT_ARG)
        .env_clear()
        .stdin(Stdio::from(theirs))
        .spawn()?;
    let ours = Arc::new(ours);
    shared.lock().socket = Some(ours.clone());
    Ok((child, ours))
}

/// Handles the zygote's messages until it ends (or Hearth closes the sandbox).
fn read(shared: &Shared, socket: &OwnedFd) {
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let n = match recv(socket.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(0) => return,
            Ok(n) => n,
            Err(nix::Error::EINTR) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read from the jail's zygote");
                return;
            }
        };
        let message: Forked = match serde_json::from_slice(&buf[..n]) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable message from the jail's zygote");
                return;
            }
        };
        let mut state = shared.lock();
        match message {
            Forked::Started { id, pid } => {
                let (tx, rx) = watch::channel(None);
                state.running.insert(pid, tx);
                if let Some(waiting) = state.pending.remove(&id) {
                    let _ = waiting.send(Ok(Adopted { pid, status: rx }));
                }
            }
            Forked::Failed { id, error } => {
                if let Some(waiting) = state.pending.remove(&id) {
                    let _ = waiting.send(Err(io::Error::other(error)));
                }
            }
            Forked::Ended { pid, status } => {
                if let Some(tx) = state.running.remove(&pid) {
                    let _ = tx.send(Some(ExitStatus::from_raw(status)));
                }
            }
        }
    }
}
