//! The address range environments take their addresses from, chosen so that it does
//! not clash with the host's routes: a given range is checked, an automatic one is the
//! first free /16 of the shared address space 100.64.0.0/10 (RFC 6598), starting at a
//! place derived from the data directory so that two servers rarely try the same one.
//! The range is claimed with an `unreachable` route of its own (which `ip route add`
//! refuses to add twice), so two servers starting at once cannot both take it.

use std::net::Ipv4Addr;

use hearth_model::egress::Ipv4Net;

/// Where automatic ranges come from.
pub const AUTO_SPACE: Ipv4Net = Ipv4Net {
    addr: Ipv4Addr::new(100, 64, 0, 0),
    prefix: 10,
};
/// The size of an automatic range: 32768 environments of two addresses each.
pub const AUTO_PREFIX: u8 = 16;

/// The IPv4 destinations of the main routing table, from `/proc/net/route`.
pub fn parse_routes(text: &str) -> Vec<(String, Ipv4Net)> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (Some(iface), Some(dest), Some(mask)) = (cols.first(), cols.get(1), cols.get(7)) else {
            continue;
        };
        let (Ok(dest), Ok(mask)) = (u32::from_str_radix(dest, 16), u32::from_str_radix(mask, 16))
        else {
            continue;
        };
        // The kernel prints the network-order word as a native integer.
        let (dest, mask) = (
            u32::from_be_bytes(dest.to_ne_bytes()),
            u32::from_be_bytes(mask.to_ne_bytes()),
        );
        let prefix = mask.count_ones() as u8;
        if let Ok(net) = Ipv4Net::new(Ipv4Addr::from(dest & mask), prefix) {
            out.push((iface.to_string(), net));
        }
    }
    out
}

/// The host's routes that `range` would clash with; the default route clashes with
/// nothing (a more specific route wins over it).
pub fn clashes(range: &Ipv4Net, routes: &[(String, Ipv4Net)]) -> Vec<String> {
    routes
        .iter()
        .filter(|(_, net)| net.prefix > 0 && net.overlaps(range))
        .map(|(iface, net)| format!("{net} (dev {iface})"))
        .collect()
}

/// The automatic candidates, in the order to try them: every /16 of [`AUTO_SPACE`],
/// starting at `seed`'s.
pub fn candidates(seed: u64) -> Vec<Ipv4Net> {
    let count = 1u32 << (AUTO_PREFIX - AUTO_SPACE.prefix);
    let start = (seed % u64::from(count)) as u32;
    (0..count)
        .map(|i| {
            let n = (start + i) % count;
            Ipv4Net {
                addr: Ipv4Addr::from(AUTO_SPACE.first() + (n << (32 - u32::from(AUTO_PREFIX)))),
                prefix: AUTO_PREFIX,
            }
        })
        .collect()
}

/// The addresses of environment `index` in `range`: the host's end and the
/// environment's, a /31 each pair; `None` past the end of the range.
pub fn pair(range: &Ipv4Net, index: u32) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let host = range.first().checked_add(index.checked_mul(2)?)?;
    let jail = host.checked_add(1)?;
    (jail <= range.last()).then(|| (Ipv4Addr::from(host), Ipv4Addr::from(jail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
tailscale0\t00004064\t00000000\t0001\t0\t0\t0\t0000C0FF\t0\t0\t0
";

    fn net(s: &str) -> Ipv4Net {
        s.parse().expect("net")
    }

    #[test]
    fn reads_the_kernels_route_table() {
        assert_eq!(
            parse_routes(ROUTES),
            [
                ("eth0".to_string(), net("0.0.0.0/0")),
                ("eth0".to_string(), net("192.0.2.0/24")),
                ("tailscale0".to_string(), net("100.64.0.0/10")),
            ]
        );
    }

    #[test]
    fn a_range_clashes_with_any_route_but_the_default() {
        let routes = parse_routes(ROUTES);
        assert!(clashes(&net("10.200.0.0/16"), &routes).is_empty());
        assert_eq!(
            clashes(&net("192.0.2.128/25"), &routes),
            ["192.0.2.0/24 (dev eth0)"]
        );
        assert_eq!(
            clashes(&net("100.70.0.0/16"), &routes),
            ["100.64.0.0/10 (dev tailscale0)"]
        );
    }

    #[test]
    fn automatic_candidates_cover_the_shared_space_from_the_seed() {
        let all = candidates(3);
        assert_eq!(all.len(), 64);
        assert_eq!(all[0], net("100.67.0.0/16"));
        assert_eq!(all[63], net("100.66.0.0/16"));
        assert!(all.iter().all(|n| AUTO_SPACE.overlaps(n)));
        assert_eq!(candidates(64)[0], net("100.64.0.0/16"));
    }

    #[test]
    fn pairs_are_slash_31s_inside_the_range() {
        let r = net("100.64.0.0/16");
        assert_eq!(
            pair(&r, 0),
            Some((Ipv4Addr::new(100, 64, 0, 0), Ipv4Addr::new(100, 64, 0, 1)))
        );
        assert_eq!(
            pair(&r, 129),
            Some((Ipv4Addr::new(100, 64, 1, 2), Ipv4Addr::new(100, 64, 1, 3)))
        );
        assert_eq!(
            pair(&r, 32767),
            Some((
                Ipv4Addr::new(100, 64, 255, 254),
                Ipv4Addr::new(100, 64, 255, 255)
            ))
        );
        assert_eq!(pair(&r, 32768), None);
        assert_eq!(pair(&net("192.0.2.7/32"), 0), None);
    }
}
