//! The links, addresses and routes of egress, made over rtnetlink from Hearth's own
//! process rather than by running `ip`: the messages are built by
//! `netlink-packet-route` and sent on a `NETLINK_ROUTE` socket, one request and its
//! acknowledgement at a time. A socket acts in the network namespace of the thread
//! that opened it, so the environment's end is configured through a socket opened on a
//! thread inside its namespace and the host's through one opened in the host's.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, BorrowedFd};

use hearth_model::egress::Ipv4Net;
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoData, InfoKind, InfoVeth, LinkAttribute,
    LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteProtocol, RouteScope,
    RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// A `NETLINK_ROUTE` socket of the calling thread's network namespace.
pub struct Rtnl {
    socket: Socket,
    sequence: u32,
}

impl Rtnl {
    /// Opens a socket that acts in the calling thread's network namespace (for good:
    /// later threads using it change nothing).
    pub fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(Self {
            socket,
            sequence: 0,
        })
    }

    /// Sends `message` and waits for the kernel's acknowledgement; `what` names the
    /// request in the error.
    fn request(&mut self, message: RouteNetlinkMessage, flags: u16, what: &str) -> io::Result<()> {
        self.sequence = self.sequence.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = self.sequence;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
        packet.finalize();
        let mut buf = vec![0; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.socket.send(&buf, 0)?;
        loop {
            let (reply, _) = self.socket.recv_from_full()?;
            let mut at = 0;
            while at < reply.len() {
                let answer = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&reply[at..])
                    .map_err(|e| io::Error::other(format!("netlink: {what}: {e}")))?;
                let length = answer.header.length as usize;
                if answer.header.sequence_number == self.sequence {
                    if let NetlinkPayload::Error(e) = &answer.payload {
                        return match e.code {
                            None => Ok(()),
                            Some(_) => {
                                let os = e.to_io();
                                Err(io::Error::new(os.kind(), format!("netlink: {what}: {os}")))
                            }
                        };
                    }
                }
                if length == 0 {
                    break;
                }
                at += (length + 3) & !3;
            }
        }
    }

    /// `ip link add NAME numtxqueues 1 numrxqueues 1 type veth peer name PEER
    /// numtxqueues 1 numrxqueues 1 netns FD`: the peer goes straight into the namespace
    /// `peer_ns` is a handle of. One queue each way, asked for up front: a veth made
    /// without saying gets one per CPU and is then cut down to one, and cutting the
    /// transmit queues waits for an RCU grace period while holding the kernel's RTNL
    /// lock, which every other link, address and namespace being made waits for.
    pub fn add_veth(&mut self, name: &str, peer: &str, peer_ns: BorrowedFd<'_>) -> io::Result<()> {
        let mut peer_message = LinkMessage::default();
        peer_message.attributes = vec![
            LinkAttribute::IfName(peer.to_string()),
            LinkAttribute::NumTxQueues(1),
            LinkAttribute::NumRxQueues(1),
            LinkAttribute::NetNsFd(peer_ns.as_raw_fd()),
        ];
        let mut link = LinkMessage::default();
        link.attributes = vec![
            LinkAttribute::IfName(name.to_string()),
            LinkAttribute::NumTxQueues(1),
            LinkAttribute::NumRxQueues(1),
            LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(InfoKind::Veth),
                LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_message))),
            ]),
        ];
        self.request(
            RouteNetlinkMessage::NewLink(link),
            NLM_F_CREATE | NLM_F_EXCL,
            &format!("add veth {name} (peer {peer})"),
        )
    }

    /// `ip link del NAME` (a veth's peer goes with it).
    pub fn del_link(&mut self, index: u32) -> io::Result<()> {
        let mut link = LinkMessage::default();
        link.header.index = index;
        self.request(
            RouteNetlinkMessage::DelLink(link),
            0,
            &format!("delete link {index}"),
        )
    }

    /// `ip link set dev INDEX up`.
    pub fn set_up(&mut self, index: u32) -> io::Result<()> {
        let mut link = LinkMessage::default();
        link.header.index = index;
        link.header.flags = LinkFlags::Up;
        link.header.change_mask = LinkFlags::Up;
        self.request(
            RouteNetlinkMessage::NewLink(link),
            0,
            &format!("set link {index} up"),
        )
    }

    /// `ip link set INDEX addrgenmode none`: the link gets no IPv6 address of its own
    /// (no link-local one when it comes up). Unlike writing its `disable_ipv6` sysctl,
    /// this waits for the kernel's RTNL lock: that write only tries the lock and restarts
    /// itself until it gets it, spinning on the CPU while other links are being made.
    pub fn no_ipv6_addresses(&mut self, index: u32) -> io::Result<()> {
        let mut link = LinkMessage::default();
        link.header.index = index;
        link.attributes = vec![LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(
            vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)],
        )])];
        self.request(
            RouteNetlinkMessage::SetLink(link),
            0,
            &format!("set link {index} addrgenmode none"),
        )
    }

    /// `ip addr add ADDR/PREFIX dev INDEX`.
    pub fn add_address(&mut self, index: u32, addr: Ipv4Addr, prefix: u8) -> io::Result<()> {
        let mut message = AddressMessage::default();
        message.header.family = AddressFamily::Inet;
        message.header.prefix_len = prefix;
        message.header.index = index;
        message.attributes = vec![
            AddressAttribute::Local(IpAddr::V4(addr)),
            AddressAttribute::Address(IpAddr::V4(addr)),
        ];
        self.request(
            RouteNetlinkMessage::NewAddress(message),
            NLM_F_CREATE | NLM_F_EXCL,
            &format!("add address {addr}/{prefix} to link {index}"),
        )
    }

    /// `ip route add default via GATEWAY dev INDEX onlink`.
    pub fn add_default_route(&mut self, index: u32, gateway: Ipv4Addr) -> io::Result<()> {
        let mut message = route_message(RouteType::Unicast, RouteScope::Universe);
        message.header.flags = RouteFlags::Onlink;
        message.attributes = vec![
            RouteAttribute::Gateway(RouteAddress::Inet(gateway)),
            RouteAttribute::Oif(index),
        ];
        self.request(
            RouteNetlinkMessage::NewRoute(message),
            NLM_F_CREATE | NLM_F_EXCL,
            &format!("add default route via {gateway}"),
        )
    }

    /// `ip route add unreachable NET`: fails when that route exists already, which is
    /// what makes it a claim.
    pub fn add_unreachable(&mut self, net: &Ipv4Net) -> io::Result<()> {
        let message = unreachable(net, RouteScope::Universe);
        self.request(
            RouteNetlinkMessage::NewRoute(message),
            NLM_F_CREATE | NLM_F_EXCL,
            &format!("add unreachable route {net}"),
        )
    }

    /// `ip route del unreachable NET`.
    pub fn del_unreachable(&mut self, net: &Ipv4Net) -> io::Result<()> {
        // Scope "nowhere" matches a route of any scope, as `ip route del` asks.
        let message = unreachable(net, RouteScope::NoWhere);
        self.request(
            RouteNetlinkMessage::DelRoute(message),
            0,
            &format!("delete unreachable route {net}"),
        )
    }
}

/// A route of the main table, as `ip route` makes them (protocol "boot").
fn route_message(kind: RouteType, scope: RouteScope) -> RouteMessage {
    let mut message = RouteMessage::default();
    message.header.address_family = AddressFamily::Inet;
    message.header.table = RouteHeader::RT_TABLE_MAIN;
    message.header.protocol = RouteProtocol::Boot;
    message.header.scope = scope;
    message.header.kind = kind;
    message
}

fn unreachable(net: &Ipv4Net, scope: RouteScope) -> RouteMessage {
    let mut message = route_message(RouteType::Unreachable, scope);
    message.header.destination_prefix_length = net.prefix;
    message.attributes = vec![RouteAttribute::Destination(RouteAddress::Inet(net.addr))];
    message
}

/// The index of link `name` in the calling thread's network namespace.
pub fn index_of(name: &str) -> io::Result<u32> {
    nix::net::if_::if_nametoindex(name)
        .map_err(|e| io::Error::new(io::Error::from(e).kind(), format!("link {name}: {e}")))
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;

    /// Runs `f` on a thread in a new network namespace of its own; `None` without the
    /// privilege to make one (the test then checks nothing).
    fn in_new_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        std::thread::spawn(move || {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
                .ok()
                .map(|()| f())
        })
        .join()
        .expect("thread")
    }

    #[test]
    fn a_range_is_claimed_once_and_a_veth_gets_its_addresses_and_route() {
        let ran = in_new_netns(|| {
            let mut rtnl = Rtnl::open().expect("socket");
            let net: Ipv4Net = "100.64.0.0/16".parse().expect("net");
            rtnl.add_unreachable(&net).expect("claimed");
            let again = rtnl.add_unreachable(&net).expect_err("claimed twice");
            assert_eq!(again.kind(), io::ErrorKind::AlreadyExists, "{again}");
            assert!(again
                .to_string()
                .contains("unreachable route 100.64.0.0/16"));
            rtnl.del_unreachable(&net).expect("released");
            rtnl.add_unreachable(&net).expect("claimed after release");

            // Both ends in this namespace (the handle of our own): what plumbing does.
            let own = std::fs::File::open("/proc/thread-self/ns/net").expect("ns");
            rtnl.add_veth("tv0", "tv1", own.as_fd()).expect("veth");
            let index = index_of("tv0").expect("tv0");
            let peer = index_of("tv1").expect("peer made with its name");
            rtnl.add_address(index, Ipv4Addr::new(100, 64, 0, 1), 31)
                .expect("address");
            rtnl.set_up(index).expect("up");
            rtnl.add_default_route(index, Ipv4Addr::new(100, 64, 0, 0))
                .expect("default route");
            let routes = std::fs::read_to_string("/proc/thread-self/net/route").expect("routes");
            assert!(
                routes
                    .lines()
                    .any(|l| l.starts_with("tv0\t00000000\t00004064")),
                "{routes}"
            );
            rtnl.del_link(peer).expect("deleted");
            assert!(index_of("tv0").is_err(), "the other end goes with it");
        });
        if ran.is_none() {
            eprintln!("skipped: cannot make a network namespace here");
        }
    }
}
