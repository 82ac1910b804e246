//! The nftables rules of one server's egress, as `nft -f` text: one table of its own
//! (`inet hearth_<id>`, made at start and deleted at exit), whose fixed chains hold what
//! no policy can open, and whose sets hold each environment's policy as elements keyed
//! by its address, added when a function claims the environment and deleted when the
//! environment ends. Rendering is pure, so it is tested without root.
//!
//! What the chains say, for traffic from an environment's veth (`<prefix>*`):
//! - to the host itself (any of its addresses, the veth's own end included): refused
//!   (`input`), but for the configured DNS resolvers when one is a host address;
//! - forwarded: DNS to the configured resolvers for environments that may resolve;
//!   then refused to loopback, link-local and metadata addresses (169.254.0.0/16),
//!   multicast and the environments' own range (other environments); from an address
//!   not the environment's own (spoofed); then accepted per the sets; else refused;
//! - IPv6: refused (environments have IPv4 only; this also covers `::1` and
//!   `fd00:ec2::254`);
//! - new connections from the host or elsewhere into an environment: refused.
//!
//! Refusals are `reject` (admin-prohibited), so a function sees "no route to host" at
//! once rather than waiting for a timeout. Accepted traffic leaving the host is
//! masqueraded behind the host's address.

use std::fmt::Write;
use std::net::Ipv4Addr;

use hearth_model::egress::{EgressPolicy, Ipv4Net, Protocol};

/// Destinations no policy reaches, besides the host's own addresses and the range.
pub const ALWAYS_BLOCKED: &[&str] = &["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3"];

const REJECT: &str = "reject with icmpx type admin-prohibited";

/// What the table is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// `hearth_<16 hex digits>`.
    pub name: String,
    pub range: Ipv4Net,
    /// The host ends' name prefix (`nft` matches `<prefix>*`).
    pub prefix: String,
    pub resolvers: Vec<Ipv4Addr>,
}

impl Table {
    /// The whole table, for `nft -f`. Deleting it first (after `add table`, which makes
    /// deleting one that does not exist no error) replaces what a crashed server left.
    pub fn render(&self) -> String {
        let Table {
            name,
            range,
            prefix,
            resolvers,
        } = self;
        let veth = format!("\"{prefix}*\"");
        let blocked = ALWAYS_BLOCKED.join(", ");
        let mut dns = String::new();
        if !resolvers.is_empty() {
            let list = resolvers
                .iter()
                .map(Ipv4Addr::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            dns = format!(
                "\t\tip saddr @may_resolve ip daddr {{ {list} }} meta l4proto {{ tcp, udp }} th dport 53 accept\n"
            );
        }
        format!(
            "add table inet {name}
delete table inet {name}
table inet {name} {{
\tset all_out {{ type ipv4_addr; }}
\tset may_resolve {{ type ipv4_addr; }}
\tset net_out {{ type ipv4_addr . ipv4_addr; flags interval; }}
\tset port_out {{ type ipv4_addr . ipv4_addr . inet_proto . inet_service; flags interval; }}
\tchain input {{
\t\ttype filter hook input priority filter; policy accept;
\t\tiifname {veth} jump from_env_to_host
\t}}
\tchain from_env_to_host {{
\t\tmeta nfproto ipv6 {REJECT}
{dns}\t\t{REJECT}
\t}}
\tchain forward {{
\t\ttype filter hook forward priority filter; policy accept;
\t\tiifname {veth} jump from_env
\t\toifname {veth} ct state established,related accept
\t\toifname {veth} {REJECT}
\t}}
\tchain from_env {{
\t\tmeta nfproto ipv6 {REJECT}
\t\tip saddr != {range} {REJECT}
{dns}\t\tip daddr {{ {blocked}, {range} }} {REJECT}
\t\tct state established,related accept
\t\tip saddr @all_out accept
\t\tip saddr . ip daddr @net_out accept
\t\tip saddr . ip daddr . meta l4proto . th dport @port_out accept
\t\t{REJECT}
\t}}
\tchain output {{
\t\ttype filter hook output priority filter; policy accept;
\t\toifname {veth} ct state new {REJECT}
\t}}
\tchain postrouting {{
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tip saddr {range} oifname != {veth} masquerade
\t}}
}}
"
        )
    }
}

/// A set element: the set's name and the element's text.
pub type Element = (&'static str, String);

/// The set elements that give the environment at `addr` its `policy`; `none` has none
/// (everything is refused by default).
pub fn elements(addr: Ipv4Addr, policy: &EgressPolicy) -> Vec<Element> {
    let mut out = Vec::new();
    match policy {
        EgressPolicy::None => {}
        EgressPolicy::All => {
            out.push(("all_out", addr.to_string()));
            out.push(("may_resolve", addr.to_string()));
        }
        EgressPolicy::Allow(rules) => {
            out.push(("may_resolve", addr.to_string()));
            for rule in rules {
                let net = net_text(&rule.net);
                let protocols = rule.port_protocols();
                if protocols.is_empty() {
                    out.push(("net_out", format!("{addr} . {net}")));
                }
                let (lo, hi) = rule.ports.unwrap_or((0, u16::MAX));
                let ports = if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                };
                for p in protocols {
                    let proto = match p {
                        Protocol::Tcp => "tcp",
                        Protocol::Udp => "udp",
                    };
                    out.push(("port_out", format!("{addr} . {net} . {proto} . {ports}")));
                }
            }
        }
    }
    out
}

/// A network as `nft` takes it in a concatenation (a single address as itself).
fn net_text(net: &Ipv4Net) -> String {
    if net.prefix == 32 {
        net.addr.to_string()
    } else {
        net.to_string()
    }
}

/// `nft -f` text adding (`add`) or deleting (`delete`) `elements` in table `name`.
pub fn element_commands(verb: &str, name: &str, elements: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (set, element) in elements {
        let _ = writeln!(out, "{verb} element inet {name} {set} {{ {element} }}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(resolvers: Vec<Ipv4Addr>) -> Table {
        Table {
            name: "hearth_00000000000000ab".into(),
            range: "100.64.0.0/16".parse().expect("net"),
            prefix: "hh00abx".into(),
            resolvers,
        }
    }

    #[test]
    fn the_table_refuses_the_host_other_environments_and_metadata_before_any_policy() {
        let text = table(vec![Ipv4Addr::new(192, 0, 2, 53)]).render();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let at = |needle: &str| {
            lines
                .iter()
                .position(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("{needle:?} in\n{text}"))
        };
        assert_eq!(lines[0], "add table inet hearth_00000000000000ab");
        assert_eq!(lines[1], "delete table inet hearth_00000000000000ab");
        // Everything from an environment to the host is refused but DNS to a resolver.
        let to_host = at("chain from_env_to_host");
        assert_eq!(
            &lines[to_host + 1..to_host + 4],
            [
                "meta nfproto ipv6 reject with icmpx type admin-prohibited",
                "ip saddr @may_resolve ip daddr { 192.0.2.53 } meta l4proto { tcp, udp } th dport 53 accept",
                "reject with icmpx type admin-prohibited",
            ]
        );
        // Forwarded: the blocked destinations come before every accept of a policy.
        let blocked = at("ip daddr { 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/3, 100.64.0.0/16 } reject");
        assert!(at("ip saddr != 100.64.0.0/16 reject") < blocked);
        for accept in ["@all_out accept", "@net_out accept", "@port_out accept"] {
            assert!(blocked < at(accept), "{accept}");
        }
        let established = lines
            .iter()
            .position(|l| *l == "ct state established,related accept")
            .expect("established connections of the environment");
        assert!(blocked < established && established < at("@all_out accept"));
        assert_eq!(
            lines[at("@port_out accept") + 1],
            "reject with icmpx type admin-prohibited"
        );
        assert!(text.contains("iifname \"hh00abx*\" jump from_env\n"));
        assert!(text.contains("oifname \"hh00abx*\" ct state new reject"));
        assert!(text.contains("ip saddr 100.64.0.0/16 oifname != \"hh00abx*\" masquerade"));
        // Without resolvers, no DNS exception at all.
        assert!(!table(vec![]).render().contains("dport 53"));
    }

    #[test]
    fn each_policy_becomes_elements_keyed_by_the_environments_address() {
        let addr = Ipv4Addr::new(100, 64, 0, 3);
        let policy = |s: &str| s.parse::<EgressPolicy>().expect("policy");
        assert!(elements(addr, &policy("none")).is_empty());
        assert_eq!(
            elements(addr, &policy("all")),
            [
                ("all_out", "100.64.0.3".to_string()),
                ("may_resolve", "100.64.0.3".to_string())
            ]
        );
        assert_eq!(
            elements(
                addr,
                &policy("10.0.0.0/8 tcp:203.0.113.7:443 192.0.2.0/24:8000-8099 udp:198.51.100.1")
            ),
            [
                ("may_resolve", "100.64.0.3".to_string()),
                ("net_out", "100.64.0.3 . 10.0.0.0/8".to_string()),
                (
                    "port_out",
                    "100.64.0.3 . 192.0.2.0/24 . tcp . 8000-8099".to_string()
                ),
                (
                    "port_out",
                    "100.64.0.3 . 192.0.2.0/24 . udp . 8000-8099".to_string()
                ),
                (
                    "port_out",
                    "100.64.0.3 . 198.51.100.1 . udp . 0-65535".to_string()
                ),
                (
                    "port_out",
                    "100.64.0.3 . 203.0.113.7 . tcp . 443".to_string()
                ),
            ]
        );
        assert_eq!(
            element_commands("delete", "hearth_1", &elements(addr, &policy("all"))),
            "delete element inet hearth_1 all_out { 100.64.0.3 }\ndelete element inet hearth_1 may_resolve { 100.64.0.3 }\n"
        );
    }
}
