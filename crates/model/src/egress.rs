//! A function's egress policy (a Hearth extension, docs/egress.md): where its
//! environments may open connections. `all` (Lambda's behaviour outside a VPC), `none`
//! (loopback only), or an allowlist of IPv4 networks with optional protocol and ports.
//!
//! The text form is what users write and what Hearth shows:
//! `all`, `none`, or entries separated by commas or spaces, each
//! `[tcp:|udp:]A.B.C.D[/N][:PORT[-PORT]]` (`10.0.0.0/8`, `tcp:203.0.113.7:443`,
//! `udp:192.0.2.0/24:53`, `198.51.100.0/24:8000-8099`). An entry without a protocol
//! covers every protocol when it names no port, and TCP and UDP when it does.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Entries an allowlist may hold.
pub const MAX_RULES: usize = 64;
/// Longest text form accepted.
pub const MAX_LEN: usize = 4096;

/// Where a function's environments may connect to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum EgressPolicy {
    /// Anywhere but the addresses no policy reaches (the host, other environments,
    /// link-local and metadata addresses).
    #[default]
    All,
    /// Nowhere: loopback only.
    None,
    /// Only these destinations (and the configured DNS resolvers).
    Allow(Vec<EgressRule>),
}

/// An IPv4 network: an address with no bits set past its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Net {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Net {
    /// `addr/prefix`, refusing a prefix over 32 or host bits set.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Self, String> {
        if prefix > 32 {
            return Err(format!("prefix length /{prefix} is over 32"));
        }
        let net = Self { addr, prefix };
        if u32::from(addr) & !net.mask() != 0 {
            return Err(format!(
                "{addr}/{prefix} has host bits set (the network is {}/{prefix})",
                Ipv4Addr::from(u32::from(addr) & net.mask())
            ));
        }
        Ok(net)
    }

    pub fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        }
    }

    /// The first and last address.
    pub fn first(&self) -> u32 {
        u32::from(self.addr)
    }

    pub fn last(&self) -> u32 {
        u32::from(self.addr) | !self.mask()
    }

    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & self.mask() == u32::from(self.addr)
    }

    /// Whether the two share any address.
    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Ipv4Net {
    type Err = String;

    /// `A.B.C.D/N`, or `A.B.C.D` for one address.
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (
                a,
                p.parse::<u8>()
                    .map_err(|_| format!("{s:?}: the prefix length is not a number 0-32"))?,
            ),
            None => (s, 32),
        };
        let addr = addr
            .parse::<Ipv4Addr>()
            .map_err(|_| format!("{s:?} is not an IPv4 address or network"))?;
        Self::new(addr, prefix)
    }
}

/// A transport protocol an allowlist entry may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// One allowlist entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EgressRule {
    pub net: Ipv4Net,
    /// `None`: every protocol without ports, TCP and UDP with them.
    pub protocol: Option<Protocol>,
    /// An inclusive range of destination ports; `None`: every port.
    pub ports: Option<(u16, u16)>,
}

impl EgressRule {
    /// The protocols this entry allows by port (empty: every protocol, no port match).
    pub fn port_protocols(&self) -> Vec<Protocol> {
        match (self.protocol, self.ports) {
            (Some(p), _) => vec![p],
            (None, Some(_)) => vec![Protocol::Tcp, Protocol::Udp],
            (None, None) => vec![],
        }
    }
}

impl fmt::Display for EgressRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.protocol {
            write!(f, "{}:", p.as_str())?;
        }
        if self.net.prefix == 32 {
            write!(f, "{}", self.net.addr)?;
        } else {
            write!(f, "{}", self.net)?;
        }
        match self.ports {
            Some((lo, hi)) if lo == hi => write!(f, ":{lo}"),
            Some((lo, hi)) => write!(f, ":{lo}-{hi}"),
            None => Ok(()),
        }
    }
}

impl FromStr for EgressRule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.matches(':').count() > 2 {
            return Err(format!(
                "{s:?}: only IPv4 destinations are supported (IPv6 is not routed to functions)"
            ));
        }
        let (protocol, rest) = match s.split_once(':') {
            Some(("tcp", rest)) => (Some(Protocol::Tcp), rest),
            Some(("udp", rest)) => (Some(Protocol::Udp), rest),
            Some((p, _)) if !p.contains('.') => {
                return Err(format!("{p:?} is not a protocol (tcp or udp)"))
            }
            _ => (None, s),
        };
        let (net, ports) = match rest.split_once(':') {
            Some((net, ports)) => (net, Some(parse_ports(ports)?)),
            None => (rest, None),
        };
        Ok(Self {
            net: net.parse()?,
            protocol,
            ports,
        })
    }
}

fn parse_ports(s: &str) -> Result<(u16, u16), String> {
    let port = |p: &str| match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{p:?} is not a port (1-65535)")),
    };
    let (lo, hi) = match s.split_once('-') {
        Some((lo, hi)) => (port(lo)?, port(hi)?),
        None => (port(s)?, port(s)?),
    };
    if lo > hi {
        return Err(format!("port range {lo}-{hi} ends before it starts"));
    }
    Ok((lo, hi))
}

impl fmt::Display for EgressPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EgressPolicy::All => f.write_str("all"),
            EgressPolicy::None => f.write_str("none"),
            EgressPolicy::Allow(rules) => {
                for (i, r) in rules.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{r}")?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for EgressPolicy {
    type Err = String;

    /// The text form; the error says what is wrong, for the user.
    fn from_str(s: &str) -> Result<Self, String> {
        if s.len() > MAX_LEN {
            return Err(format!("an egress policy is at most {MAX_LEN} characters"));
        }
        let s = s.trim();
        match s {
            "all" => return Ok(EgressPolicy::All),
            "none" => return Ok(EgressPolicy::None),
            "" => return Err("an egress policy is `all`, `none` or a list of networks".into()),
            _ => {}
        }
        let mut rules = Vec::new();
        for entry in s
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
        {
            if rules.len() == MAX_RULES {
                return Err(format!("an allowlist has at most {MAX_RULES} entries"));
            }
            rules.push(entry.parse::<EgressRule>()?);
        }
        rules.sort();
        rules.dedup();
        Ok(EgressPolicy::Allow(rules))
    }
}

impl Serialize for EgressPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EgressPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<EgressPolicy, String> {
        s.parse()
    }

    #[test]
    fn words_and_lists_parse_and_print_back() {
        assert_eq!(parse("all"), Ok(EgressPolicy::All));
        assert_eq!(parse(" none "), Ok(EgressPolicy::None));
        let p =
            parse("tcp:203.0.113.7:443, 10.0.0.0/8 udp:192.0.2.0/24:53 198.51.100.0/24:8000-8099")
                .expect("valid");
        let EgressPolicy::Allow(rules) = &p else {
            panic!("an allowlist: {p:?}")
        };
        assert_eq!(
            rules[0],
            EgressRule {
                net: Ipv4Net::new(Ipv4Addr::new(10, 0, 0, 0), 8).expect("net"),
                protocol: None,
                ports: None
            }
        );
        assert_eq!(
            p.to_string(),
            "10.0.0.0/8,udp:192.0.2.0/24:53,198.51.100.0/24:8000-8099,tcp:203.0.113.7:443"
        );
        assert_eq!(
            parse(&p.to_string()),
            Ok(p.clone()),
            "the printed form reads back"
        );
        assert_eq!(
            serde_json::to_string(&p).expect("json"),
            "\"10.0.0.0/8,udp:192.0.2.0/24:53,198.51.100.0/24:8000-8099,tcp:203.0.113.7:443\""
        );
        assert_eq!(
            serde_json::from_str::<EgressPolicy>("\"none\"").expect("json"),
            EgressPolicy::None
        );
        // Duplicates collapse; a single address is a /32.
        assert_eq!(
            parse("192.0.2.1,192.0.2.1/32").expect("valid").to_string(),
            "192.0.2.1"
        );
    }

    #[test]
    fn which_protocols_an_entry_allows_by_port() {
        let rule = |s: &str| s.parse::<EgressRule>().expect("valid");
        assert!(rule("10.0.0.0/8").port_protocols().is_empty());
        assert_eq!(
            rule("10.0.0.0/8:80").port_protocols(),
            [Protocol::Tcp, Protocol::Udp]
        );
        assert_eq!(rule("udp:10.0.0.0/8").port_protocols(), [Protocol::Udp]);
    }

    #[test]
    fn mistakes_are_refused_with_a_reason() {
        for (bad, why) in [
            ("", "`all`, `none`"),
            ("10.0.0.1/8", "host bits set (the network is 10.0.0.0/8)"),
            ("10.0.0.0/33", "over 32"),
            ("10.0.0.0/x", "prefix length"),
            ("example.com", "not an IPv4 address"),
            ("10.0.0.0/8:0", "not a port"),
            ("10.0.0.0/8:70000", "not a port"),
            ("10.0.0.0/8:90-80", "ends before it starts"),
            ("sctp:10.0.0.0/8", "not a protocol"),
            ("2001:db8::/32", "only IPv4"),
            ("tcp:10.0.0.1:1:2", "only IPv4"),
            ("All", "not an IPv4"),
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        let many = (0..=MAX_RULES)
            .map(|i| format!("10.0.{i}.0/24"))
            .collect::<Vec<_>>();
        assert!(parse(&many.join(","))
            .expect_err("too many")
            .contains("at most 64"));
        assert!(parse(&"1".repeat(MAX_LEN + 1)).is_err());
    }

    #[test]
    fn networks_overlap_and_contain() {
        let net = |s: &str| s.parse::<Ipv4Net>().expect("net");
        assert!(net("100.64.0.0/16").overlaps(&net("100.64.3.0/24")));
        assert!(net("0.0.0.0/0").overlaps(&net("192.0.2.1")));
        assert!(!net("100.64.0.0/16").overlaps(&net("100.65.0.0/16")));
        assert!(net("100.64.0.0/16").contains(Ipv4Addr::new(100, 64, 255, 255)));
        assert_eq!(net("0.0.0.0/0").last(), u32::MAX);
    }
}
