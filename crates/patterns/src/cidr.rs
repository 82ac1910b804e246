//! The `cidr` operator: whether a string in the document is an IPv4 or IPv6 address inside
//! a network, with the validation reasons of EventBridge's engine.

use std::net::IpAddr;

/// A network: its address bits (IPv4 in the low 32 bits) and prefix length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cidr {
    v6: bool,
    network: u128,
    prefix: u32,
}

impl Cidr {
    pub(crate) fn parse(text: &str) -> Result<Cidr, String> {
        let mut parts = text.split('/');
        let (Some(ip), Some(mask), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err("Malformed CIDR, one '/' required".to_string());
        };
        let prefix: u32 = mask
            .parse()
            .map_err(|_| "Malformed CIDR, mask bits must be an integer".to_string())?;
        let addr: IpAddr = ip
            .parse()
            .map_err(|_| format!("Nonstandard IP address: {ip}"))?;
        let (v6, bits, width) = split(addr);
        if prefix > width {
            // Not documented; worded like Ruler's other CIDR reasons.
            return Err(format!(
                "Malformed CIDR, mask bits must be between 0 and {width}"
            ));
        }
        // Host bits set in the written address are ignored rather than refused.
        Ok(Cidr {
            v6,
            network: bits & mask_of(prefix, width),
            prefix,
        })
    }

    pub(crate) fn contains(&self, s: &str) -> bool {
        let Ok(addr) = s.parse::<IpAddr>() else {
            return false;
        };
        let (v6, bits, width) = split(addr);
        v6 == self.v6 && bits & mask_of(self.prefix, width) == self.network
    }
}

fn split(addr: IpAddr) -> (bool, u128, u32) {
    match addr {
        IpAddr::V4(a) => (false, u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (true, u128::from(a), 128),
    }
}

fn mask_of(prefix: u32, width: u32) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let all = if width == 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    };
    // prefix ≥ 1, so the shift is at most 127.
    let host = (1u128 << (width - prefix)) - 1;
    all & !host
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(t: &str) -> Cidr {
        Cidr::parse(t).expect("valid cidr")
    }

    #[test]
    fn ipv4_networks() {
        let n = c("10.0.0.0/24");
        assert!(n.contains("10.0.0.0"));
        assert!(n.contains("10.0.0.255"));
        assert!(!n.contains("10.0.1.0"));
        assert!(!n.contains("not an ip"));
        assert!(!n.contains("::ffff:10.0.0.1"), "families do not mix");
        assert!(c("0.0.0.0/0").contains("192.168.1.1"));
        assert!(c("192.168.1.7/32").contains("192.168.1.7"));
        assert!(!c("192.168.1.7/32").contains("192.168.1.8"));
        assert!(
            c("10.0.0.9/24").contains("10.0.0.1"),
            "host bits are ignored"
        );
    }

    #[test]
    fn ipv6_networks() {
        let n = c("2001:db8::/32");
        assert!(n.contains("2001:db8::1"));
        assert!(n.contains("2001:0db8:ffff::"));
        assert!(!n.contains("2001:db9::1"));
        assert!(!n.contains("10.0.0.1"));
        assert!(c("::/0").contains("fe80::1"));
        assert!(c("fe80::1/128").contains("fe80::1"));
        assert!(!c("fe80::1/128").contains("fe80::2"));
    }

    #[test]
    fn malformed_networks_are_refused() {
        assert_eq!(
            Cidr::parse("10.0.0.0").expect_err("no slash"),
            "Malformed CIDR, one '/' required"
        );
        assert_eq!(
            Cidr::parse("10.0.0.0/x").expect_err("bad mask"),
            "Malformed CIDR, mask bits must be an integer"
        );
        assert_eq!(
            Cidr::parse("10.0.0.256/8").expect_err("bad ip"),
            "Nonstandard IP address: 10.0.0.256"
        );
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("::/129").is_err());
    }
}
