//! A network namespace per environment, with only loopback, and the environment's
//! listeners inside it: the Runtime API at `127.0.0.1:9001` (where Lambda puts it) and
//! Hearth's AWS API for the function's own SDK calls at `127.0.0.1:9002`
//! (`AWS_ENDPOINT_URL`), both served by Hearth in-process; and the X-Ray daemon's UDP
//! socket at Lambda's own `169.254.79.129:2000` (`AWS_XRAY_DAEMON_ADDRESS`), that
//! address added to the namespace's loopback (see [`bind_xray`]).
//!
//! The namespace is made on a short-lived thread (`unshare(CLONE_NEWNET)` affects only
//! the calling thread), which also opens the listening socket there: a socket belongs
//! to the namespace it was created in, whichever thread later accepts on it. The
//! namespace lives on through that socket and an open handle to it, which the
//! environment's init process uses to join.

// Unsafe code is allowed here, and only here: bringing `lo` up takes an ioctl on a C struct; each use says why it is sound.
#![allow(unsafe_code)]

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;

use nix::sched::{unshare, CloneFlags};

use super::egress::rtnl::{self, Rtnl};
use super::egress::{Egress, Lease};
use crate::xray::{LAMBDA_DAEMON_ADDR, LAMBDA_DAEMON_IP, LOOPBACK_DAEMON_ADDR};

/// The Runtime API address inside every jailed environment.
pub const RUNTIME_API_ADDR: &str = "127.0.0.1:9001";

/// Where a jailed function reaches Hearth's AWS API (`AWS_ENDPOINT_URL`).
pub const AWS_API_ADDR: &str = "127.0.0.1:9002";

/// A network namespace and the listeners inside it.
pub struct NetNs {
    pub listener: TcpListener,
    pub aws_listener: TcpListener,
    /// The X-Ray daemon's socket; its local address is the one the function is told.
    pub xray: UdpSocket,
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
                let xray = bind_xray()?;
                let handle = OwnedFd::from(std::fs::File::open("/proc/thread-self/ns/net")?);
                // Made from in here: a netlink socket opened on this thread acts in
                // the new namespace.
                if let (Some(lease), Some(host_ns)) = (&lease, &host_ns) {
                    lease.plumb_inside(host_ns.as_fd())?;
                }
                Ok(Self {
                    listener,
                    aws_listener,
                    xray,
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

    /// Opens connections from inside this namespace, for the host (see
    /// [`crate::Connector`]); it holds the namespace open while it lives.
    pub fn connector(&self) -> std::io::Result<crate::Connector> {
        let ns = Arc::new(self.handle.try_clone()?);
        Ok(Arc::new(move |addr| connect_inside(&ns, addr)))
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

/// How long a connection into a namespace may take to open: the peer is a listener on
/// the environment's loopback, which answers at once or not at all.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// A connection to `addr` made from inside the namespace `ns`, on a short-lived thread
/// that joins it (`setns` affects only the calling thread, as `unshare` above); the socket
/// belongs to the namespace it was created in, whichever thread uses it later.
fn connect_inside(ns: &Arc<OwnedFd>, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let ns = Arc::clone(ns);
    std::thread::Builder::new()
        .name("hearth-netns-connect".into())
        .spawn(move || {
            nix::sched::setns(ns.as_fd(), CloneFlags::CLONE_NEWNET)
                .map_err(std::io::Error::from)?;
            TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
        })?
        .join()
        .map_err(|_| std::io::Error::other("network namespace thread panicked"))?
}

/// Binds the X-Ray daemon's socket in the calling thread's (new) network namespace, at
/// Lambda's address, which goes on `lo` as a /32 first: the namespace has no other
/// interface that could hold a 169.254 address, and one on `lo` is delivered locally,
/// never routed out, so it opens nothing (with egress, the host's rules refuse
/// 169.254.0.0/16 and spoofed sources anyway). Should the kernel refuse the address,
/// the namespace's `127.0.0.1:2000` serves instead (the function is told whichever was
/// bound), with one warning per server.
fn bind_xray() -> std::io::Result<UdpSocket> {
    let added =
        rtnl::index_of("lo").and_then(|lo| Rtnl::open()?.add_address(lo, LAMBDA_DAEMON_IP, 32));
    match added {
        Ok(()) => UdpSocket::bind(SocketAddr::V4(LAMBDA_DAEMON_ADDR)),
        Err(e) => {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                tracing::warn!(error = %e, "cannot give environments Lambda's X-Ray daemon address; their daemon is at {LOOPBACK_DAEMON_ADDR}");
            });
            UdpSocket::bind(SocketAddr::V4(LOOPBACK_DAEMON_ADDR))
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_privileges;

    #[test]
    fn the_xray_socket_is_at_lambdas_address_inside_the_namespace() {
        if !test_privileges::require("root", test_privileges::is_root()) {
            return;
        }
        let netns = NetNs::create(None).expect("a network namespace");
        assert_eq!(
            netns.xray.local_addr().expect("bound"),
            SocketAddr::V4(LAMBDA_DAEMON_ADDR)
        );
        // A datagram sent from inside the namespace, as an SDK sends it (from an unbound
        // socket), arrives.
        let path = netns.path();
        let sent = std::thread::spawn(move || -> std::io::Result<usize> {
            let ns = std::fs::File::open(&path)?;
            nix::sched::setns(ns, CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)?;
            let client = UdpSocket::bind("0.0.0.0:0")?;
            client.send_to(b"segment", LAMBDA_DAEMON_ADDR)
        })
        .join()
        .expect("sender thread");
        assert_eq!(sent.expect("sent from inside"), 7);
        let mut buf = [0u8; 16];
        netns
            .xray
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .expect("timeout set");
        let (n, _) = netns.xray.recv_from(&mut buf).expect("received");
        assert_eq!(&buf[..n], b"segment");
    }

    #[test]
    fn the_connector_reaches_a_listener_on_the_namespaces_loopback() {
        if !test_privileges::require("root", test_privileges::is_root()) {
            return;
        }
        let netns = NetNs::create(None).expect("a network namespace");
        // The Runtime API's listener is on the namespace's 127.0.0.1:9001, not the host's.
        let connect = netns.connector().expect("a connector");
        let addr: SocketAddr = RUNTIME_API_ADDR.parse().expect("an address");
        let mut stream = connect(addr).expect("connected from inside");
        let (mut accepted, _) = netns.listener.accept().expect("accepted");
        use std::io::{Read, Write};
        stream.write_all(b"ping").expect("written");
        let mut buf = [0u8; 4];
        accepted.read_exact(&mut buf).expect("read");
        assert_eq!(&buf, b"ping");
        // Nothing listens at a port of the namespace's loopback nobody bound.
        let refused = connect(SocketAddr::from(([127, 0, 0, 1], 9))).expect_err("refused");
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}
