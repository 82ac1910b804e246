//! Hearth's end of an environment's control socket (a `SOCK_SEQPACKET` pair whose other
//! end is the init process's standard input): one message per step, JSON with file
//! descriptors alongside. See `init.rs` for the other end.
//!
//! The function's directories travel as mounts, not paths: Hearth clones each one
//! (`open_tree`) in its own mount namespace, where the paths mean what it meant, and
//! the environment, whose root no longer shows the host's tree, attaches them.

use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::Duration;

use nix::sys::socket::{
    recv, sendmsg, setsockopt, socketpair, sockopt, AddressFamily, ControlMessage, MsgFlags,
    SockFlag, SockType,
};
use nix::sys::time::TimeVal;
use rustix::mount::{open_tree, OpenTreeFlags};

use super::spec::{Claim, MAX_FDS, READY};

/// A new control socket pair: Hearth's end and the end the init process gets.
pub fn pair() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?)
}

/// Sends `bytes` (never empty: an empty message reads as the socket closing) and
/// `fds`.
fn send(control: &OwnedFd, bytes: &[u8], fds: &[OwnedFd]) -> io::Result<()> {
    if fds.len() > MAX_FDS {
        return Err(io::Error::other(format!(
            "{} mounts for one environment; at most {MAX_FDS}",
            fds.len()
        )));
    }
    let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
    let rights = [ControlMessage::ScmRights(&raw)];
    let cmsgs: &[ControlMessage] = if raw.is_empty() { &[] } else { &rights };
    let sent = sendmsg::<()>(
        control.as_raw_fd(),
        &[IoSlice::new(bytes)],
        cmsgs,
        MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
        None,
    )?;
    if sent != bytes.len() {
        return Err(io::Error::other("short write on the control socket"));
    }
    Ok(())
}

/// Hands over the `/tmp` made ahead (a detached mount).
pub fn send_tmp(control: &OwnedFd, mount: OwnedFd) -> io::Result<()> {
    send(control, b"T", &[mount])
}

/// Hands over the function: `claim` and one mount per bind, then the new `/tmp` if any.
pub fn send_claim(control: &OwnedFd, claim: &Claim, fds: &[OwnedFd]) -> io::Result<()> {
    let json = serde_json::to_vec(claim).map_err(io::Error::other)?;
    send(control, &json, fds)
}

/// A read-only-to-be copy of the host directory (or file) `path`, attached nowhere.
pub fn clone_tree(path: &Path) -> io::Result<OwnedFd> {
    open_tree(
        rustix::fs::CWD,
        path,
        OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
    )
    .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))
}

/// Waits up to `limit` for the environment to say it is ready. An error means it will
/// not be (it failed, and its output says why).
pub fn wait_ready(control: &OwnedFd, limit: Duration) -> io::Result<()> {
    let timeout = TimeVal::new(
        i64::try_from(limit.as_secs()).unwrap_or(i64::MAX),
        i64::from(limit.subsec_micros()),
    );
    setsockopt(control, sockopt::ReceiveTimeout, &timeout)?;
    let mut byte = [0u8; 1];
    loop {
        return match recv(control.as_raw_fd(), &mut byte, MsgFlags::empty()) {
            Ok(1) if byte[0] == READY => Ok(()),
            Ok(0) => Err(io::Error::other("the environment's init process ended")),
            Ok(_) => Err(io::Error::other("unexpected message from init")),
            Err(nix::Error::EINTR) => continue,
            Err(nix::Error::EAGAIN) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("not ready after {limit:?}"),
            )),
            Err(e) => Err(e.into()),
        };
    }
}
