//! A network namespace per environment, with only loopback, and the environment's
//! listeners inside it: the Runtime API at `127.0.0.1:9001` (where Lambda puts it) and
//! Hearth's AWS API for the function's own SDK calls at `127.0.0.1:9002`
//! (`AWS_ENDPOINT_URL`), both served by Hearth in-process.
//!
//! The namespace is made on a short-lived thread (`unshare(CLONE_NEWNET)` affects only
//! the calling thread), which also opens the listening socket there: a socket belongs
//! to the namespace it was created in, whichever thread later accepts on it. The
//! namespace lives on through that socket and an open handle to it, which the
//! environment's init process uses to join.

// Unsafe code is allowed here, and only here: bringing `lo` up takes an ioctl on a C struct; each use says why it is sound.
#![allow(unsafe_code)]

use std::net::TcpListener;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;

use nix::sched::{unshare, CloneFlags};

use super::egress::{Egress, Lease};

/// The Runtime API address inside every jailed environment.
pub const RUNTIME_API_ADDR: &str = "127.0.0.1:9001";

/// Where a jailed function reaches Hearth's AWS API (`AWS_ENDPOINT_URL`).
pub const AWS_API_ADDR: &str = "127.0.0.1:9002";

/// A network namespace and the listeners inside it.
pub struct NetNs {
    pub listener: TcpListener,
    pub aws_listener: TcpListener,
    handle: OwnedFd,
    /// The veth to the host and its addresses, with egress on; dropped last.
    pub lease: Option<Lease>,
}

impl NetNs {
    /// Creates a namespace with loopback up and binds the Runtime API in it; with
    /// `egress`, also a veth to the host with the environment's addresses and route.
    pub fn create(egress: Option<&Arc<Egress>>) -> std::io::Result<Self> {
        let lease = egress.map(|e| e.lease()).transpose()?;
        let made = std::thread::Builder::new()
            .name("hearth-netns".into())
            .spawn(move || -> std::io::Result<Self> {
                // The namespace the host's end of the veth goes to: this thread's before
                // it leaves it.
                let host_ns = match &lease {
                    Some(_) => Some(std::fs::File::open("/proc/thread-self/ns/net")?),
                    None => None,
                };
                unshare(CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)?;
                loopback_up()?;
                let listener = TcpListener::bind(RUNTIME_API_ADDR)?;
                let aws_listener = TcpListener::bind(AWS_API_ADDR)?;
                let handle = OwnedFd::from(std::fs::File::open("/proc/thread-self/ns/net")?);
                // Made from in here: a netlink socket opened on this thread acts in
                // the new namespace.
                if let (Some(lease), Some(host_ns)) = (&lease, &host_ns) {
                    lease.plumb_inside(host_ns.as_fd())?;
                }
                Ok(Self {
                    listener,
                    aws_listener,
                    handle,
                    lease,
                })
            })?
            .join()
            .map_err(|_| std::io::Error::other("network namespace thread panicked"))??;
        if let Some(lease) = &made.lease {
            lease.plumb_host()?;
        }
        Ok(made)
    }

    /// A path through which another process can open this namespace while Hearth
    /// holds it: `/proc/<hearth pid>/fd/<n>`.
    pub fn path(&self) -> String {
        format!(
            "/proc/{}/fd/{}",
            std::process::id(),
            self.handle.as_raw_fd()
        )
    }
}

/// Sets `lo` up in the calling thread's network namespace.
fn loopback_up() -> std::io::Result<()> {
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};

    nix::ioctl_read_bad!(get_flags, libc::SIOCGIFFLAGS, libc::ifreq);
    nix::ioctl_write_ptr_bad!(set_flags, libc::SIOCSIFFLAGS, libc::ifreq);

    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(std::io::Error::from)?;
    // SAFETY: `ifreq` is a plain C struct for which all-zero bytes are a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: `sock` is an open socket and `req` a valid `ifreq` naming an interface;
    // SIOCGIFFLAGS only writes the flags field of the struct we own.
    unsafe { get_flags(sock.as_raw_fd(), &mut req) }.map_err(std::io::Error::from)?;
    // SAFETY: reading the union field SIOCGIFFLAGS just filled in.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    req.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    // SAFETY: as above; SIOCSIFFLAGS reads the struct and changes only the interface.
    unsafe { set_flags(sock.as_raw_fd(), &req) }.map_err(std::io::Error::from)?;
    Ok(())
}
