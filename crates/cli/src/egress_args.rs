//! `hearth server`'s egress options: the policy of functions that set none, and the
//! network jailed environments get (docs/egress.md).

use std::net::Ipv4Addr;

use hearth_model::egress::{EgressPolicy, Ipv4Net};
use hearth_sandbox::jail::EgressConfig;

#[derive(Debug, Clone, clap::Args)]
pub struct EgressArgs {
    /// The egress policy of a function that sets none: `all` (Lambda's behaviour
    /// outside a VPC), `none` (loopback only) or an allowlist (docs/egress.md).
    #[arg(long = "egress-default", env = "HEARTH_EGRESS_DEFAULT", default_value = "all",
          value_parser = parse_policy, value_name = "POLICY")]
    pub default: EgressPolicy,

    /// The IPv4 range jailed environments take their addresses from (a /31 each):
    /// `auto` (the first /16 of 100.64.0.0/10 that clashes with no route of the host),
    /// a CIDR, or `off` (no egress network at all: loopback only, as before).
    #[arg(long = "egress-range", env = "HEARTH_EGRESS_RANGE", default_value = "auto",
          value_parser = parse_range, value_name = "CIDR")]
    pub range: EgressRange,

    /// DNS resolvers written to the jails' /etc/resolv.conf (IPv4, comma-separated);
    /// by default the host's own, less loopback ones.
    #[arg(
        long = "egress-dns",
        env = "HEARTH_EGRESS_DNS",
        value_delimiter = ',',
        value_name = "ADDRS"
    )]
    pub dns: Vec<Ipv4Addr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EgressRange {
    Auto,
    Off,
    Given(Ipv4Net),
}

fn parse_policy(s: &str) -> Result<EgressPolicy, String> {
    s.parse()
}

fn parse_range(s: &str) -> Result<EgressRange, String> {
    match s {
        "auto" => Ok(EgressRange::Auto),
        "off" => Ok(EgressRange::Off),
        _ => {
            let net: Ipv4Net = s.parse()?;
            if net.prefix > 30 {
                return Err(format!("{net} is too small: a range needs at least a /30"));
            }
            Ok(EgressRange::Given(net))
        }
    }
}

impl EgressArgs {
    /// What the jail is asked for; `None` with `--egress-range off`.
    pub fn network(&self) -> Option<EgressConfig> {
        let range = match self.range {
            EgressRange::Off => return None,
            EgressRange::Auto => None,
            EgressRange::Given(net) => Some(net),
        };
        Some(EgressConfig {
            range,
            resolvers: (!self.dns.is_empty()).then(|| self.dns.clone()),
            likely: self.default.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_policies_parse() {
        assert_eq!(parse_range("auto"), Ok(EgressRange::Auto));
        assert_eq!(parse_range("off"), Ok(EgressRange::Off));
        assert_eq!(
            parse_range("10.99.0.0/16"),
            Ok(EgressRange::Given("10.99.0.0/16".parse().expect("net")))
        );
        assert!(parse_range("10.99.0.1/16").is_err());
        assert!(parse_range("10.99.0.0/31").is_err());
        assert_eq!(parse_policy("none"), Ok(EgressPolicy::None));
        assert!(parse_policy("nowhere").is_err());
    }
}
