//! The host's own forward chains that drop by default. Docker (through iptables-nft),
//! ufw and firewalld leave a base chain on the forward hook whose policy is `drop`; a
//! packet must pass every base chain on its hook, so the server's table accepting an
//! environment's traffic is not enough and functions would reach nothing. While the
//! server runs, each such chain gets two rules at its head: traffic from the server's
//! veths, and replies to it, accepted. That opens nothing the server's own table
//! refuses (its chain still sees every packet and rejects what the policy does not
//! allow). The rules carry the server's table name as their comment, by which they are
//! found and removed when the server stops, or, after a crash, when it next starts.
//!
//! Chains are listed with `nft -j` (the program: output is read only here, at start and
//! stop). Rules of the legacy iptables, which nftables cannot see, are not changed: a
//! warning says what to add to them.

use std::io;
use std::process::Command;

use serde::Deserialize;

/// A chain as `nft -j list chains` describes it.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub struct Chain {
    pub family: String,
    pub table: String,
    pub name: String,
    #[serde(default)]
    pub hook: Option<String>,
    #[serde(default)]
    pub policy: Option<String>,
}

/// A rule as `nft -j list chain` describes it.
#[derive(Debug, Deserialize)]
struct Rule {
    handle: u64,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize)]
struct Listing {
    nftables: Vec<serde_json::Value>,
}

/// The items named `kind` (`chain`, `rule`) of an `nft -j` listing.
fn items<T: for<'de> Deserialize<'de>>(json: &str, kind: &str) -> io::Result<Vec<T>> {
    let listing: Listing = serde_json::from_str(json).map_err(io::Error::other)?;
    Ok(listing
        .nftables
        .into_iter()
        .filter_map(|mut item| item.get_mut(kind).map(serde_json::Value::take))
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

/// A name `nft` takes as it is, unquoted.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The base chains of other tables on the forward hook whose policy is `drop`, of the
/// families that see IPv4 (`ip`, `inet`).
pub fn dropping(chains: Vec<Chain>, own_table: &str) -> Vec<Chain> {
    chains
        .into_iter()
        .filter(|c| {
            c.hook.as_deref() == Some("forward")
                && c.policy.as_deref() == Some("drop")
                && matches!(c.family.as_str(), "ip" | "inet")
                && c.table != own_table
                && plain_name(&c.table)
                && plain_name(&c.name)
        })
        .collect()
}

/// The `nft -f` text that opens `chain` to the veths named `<prefix>*`, marked `table`.
pub fn open_rules(chain: &Chain, prefix: &str, table: &str) -> String {
    let at = format!("{} {} {}", chain.family, chain.table, chain.name);
    format!(
        "insert rule {at} oifname \"{prefix}*\" ct state established,related accept comment \"{table}\"\n\
         insert rule {at} iifname \"{prefix}*\" accept comment \"{table}\"\n"
    )
}

fn nft_json(args: &[&str]) -> io::Result<String> {
    let out = Command::new("nft").arg("-j").args(args).output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "nft -j {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    String::from_utf8(out.stdout).map_err(io::Error::other)
}

fn host_chains() -> io::Result<Vec<Chain>> {
    items(&nft_json(&["list", "chains"])?, "chain")
}

/// Opens every dropping forward chain to the server's veths; answers how many.
pub fn open(prefix: &str, table: &str) -> io::Result<usize> {
    let chains = dropping(host_chains()?, table);
    let script: String = chains
        .iter()
        .map(|c| open_rules(c, prefix, table))
        .collect();
    if !script.is_empty() {
        super::nft(&script)?;
    }
    Ok(chains.len())
}

/// Removes the rules marked `table` from every chain that may hold them (a server's own
/// at its stop, a crashed one's at the next start); answers how many.
pub fn close(table: &str) -> usize {
    let Ok(chains) = host_chains() else {
        return 0;
    };
    let mut removed = 0;
    for c in chains
        .into_iter()
        .filter(|c| c.hook.as_deref() == Some("forward") && c.table != table)
        .filter(|c| plain_name(&c.table) && plain_name(&c.name))
    {
        let Ok(json) = nft_json(&["list", "chain", &c.family, &c.table, &c.name]) else {
            continue;
        };
        let script: String = items::<Rule>(&json, "rule")
            .unwrap_or_default()
            .iter()
            .filter(|r| r.comment.as_deref() == Some(table))
            .map(|r| {
                removed += 1;
                format!(
                    "delete rule {} {} {} handle {}\n",
                    c.family, c.table, c.name, r.handle
                )
            })
            .collect();
        if !script.is_empty() {
            if let Err(e) = super::nft(&script) {
                tracing::warn!(error = %e, chain = %c.name, table = %c.table, "could not remove the egress rules from a host forward chain");
            }
        }
    }
    removed
}

/// Whether legacy iptables tables are loaded (nftables cannot see their rules).
pub fn legacy_iptables_loaded() -> bool {
    std::fs::read_to_string("/proc/net/ip_tables_names")
        .is_ok_and(|names| names.lines().any(|l| l.trim() == "filter"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}},
        {"chain": {"family": "ip", "table": "filter", "name": "FORWARD", "handle": 2, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
        {"chain": {"family": "ip", "table": "filter", "name": "DOCKER-USER", "handle": 5}},
        {"chain": {"family": "ip", "table": "filter", "name": "INPUT", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
        {"chain": {"family": "inet", "table": "firewalld", "name": "filter_FORWARD", "handle": 9, "type": "filter", "hook": "forward", "prio": 10, "policy": "accept"}},
        {"chain": {"family": "ip6", "table": "filter", "name": "FORWARD", "handle": 3, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
        {"chain": {"family": "inet", "table": "hearth_00000000000000ab", "name": "forward", "handle": 4, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
        {"chain": {"family": "inet", "table": "ufw", "name": "fwd", "handle": 7, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}}
    ]}"#;

    #[test]
    fn only_other_tables_ipv4_forward_chains_that_drop_are_opened() {
        let chains: Vec<Chain> = items(LISTING, "chain").expect("parses");
        assert_eq!(chains.len(), 7);
        let found: Vec<(String, String)> = dropping(chains, "hearth_00000000000000ab")
            .into_iter()
            .map(|c| (c.table, c.name))
            .collect();
        assert_eq!(
            found,
            [
                ("filter".to_string(), "FORWARD".to_string()),
                ("ufw".to_string(), "fwd".to_string())
            ]
        );
    }

    #[test]
    fn the_rules_accept_the_veths_and_are_marked() {
        let chain = Chain {
            family: "ip".into(),
            table: "filter".into(),
            name: "FORWARD".into(),
            hook: Some("forward".into()),
            policy: Some("drop".into()),
        };
        assert_eq!(
            open_rules(&chain, "hh00abx", "hearth_00000000000000ab"),
            "insert rule ip filter FORWARD oifname \"hh00abx*\" ct state established,related accept comment \"hearth_00000000000000ab\"\n\
             insert rule ip filter FORWARD iifname \"hh00abx*\" accept comment \"hearth_00000000000000ab\"\n"
        );
        let rules: Vec<Rule> = items(
            r#"{"nftables": [{"rule": {"family": "ip", "table": "filter", "chain": "FORWARD", "handle": 12, "comment": "hearth_x", "expr": []}}, {"rule": {"handle": 13, "expr": []}}]}"#,
            "rule",
        )
        .expect("parses");
        assert_eq!(rules.len(), 2);
        assert_eq!(
            (rules[0].handle, rules[0].comment.as_deref()),
            (12, Some("hearth_x"))
        );
        assert_eq!(rules[1].comment, None);
    }
}
