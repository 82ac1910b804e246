//! Outbound networking for jailed environments (docs/egress.md): a veth pair from the
//! host into each environment's network namespace, a /31 of addresses per environment
//! out of the server's range (`range.rs`), a default route through the host's end, and
//! one nftables table per server (`ruleset.rs`) that masquerades what leaves, refuses
//! what no policy may reach and holds each environment's policy as set elements.
//!
//! The veth is made when the environment is made ahead (in the pool), with the policy
//! most functions have (the server's default) already applied, so claiming it for such a
//! function changes no rule, and for another takes one nftables batch that swaps
//! elements. Links, addresses and routes are made over rtnetlink from Hearth's process
//! (`rtnl.rs`), the table and its elements by libnftables in-process (`nft.rs`, the
//! `nft` program where the library cannot be loaded): making or ending an environment
//! runs no program.
//!
//! Teardown: an environment's elements and veth are removed when it ends (deleting the
//! host's end removes both), the table and the range's route at shutdown, and what a
//! crashed server left (the table, links named with its prefix, the range's route,
//! recorded in `egress.state`) at the next start on the same data directory; the table
//! and route of a server that died on another data directory at any server's start
//! (owners recorded in `/run/hearth-egress`).

mod host_forward;
mod nft;
pub mod range;
pub mod rtnl;
pub mod ruleset;

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use hearth_model::egress::{EgressPolicy, Ipv4Net};

use rtnl::Rtnl;
use ruleset::Table;

/// The environment's end of its veth, inside its namespace.
pub const GUEST_IF: &str = "eth0";

/// What the server was asked for.
#[derive(Debug, Clone, Default)]
pub struct EgressConfig {
    /// The environments' addresses; `None`: the first free /16 of 100.64.0.0/10.
    pub range: Option<Ipv4Net>,
    /// The DNS resolvers environments use; `None`: the host's own (non-loopback) ones.
    pub resolvers: Option<Vec<Ipv4Addr>>,
    /// The policy most functions have (the server's default): environments made ahead
    /// get it then, so that claiming one for such a function changes no rule.
    pub likely: EgressPolicy,
}

/// One server's egress: its table, its range and which addresses are taken.
pub struct Egress {
    table: Table,
    likely: EgressPolicy,
    /// Where the range is recorded for a sweep after a crash.
    state_file: PathBuf,
    /// Indexes of /31s not in use, below `next`.
    free: Mutex<(Vec<u32>, u32)>,
    closed: AtomicBool,
}

impl std::fmt::Debug for Egress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Egress")
            .field("table", &self.table)
            .finish()
    }
}

fn nft(script: &str) -> io::Result<()> {
    nft::run(script)
}

/// Deletes link `name` of the calling thread's namespace (a veth's peer goes with it).
fn del_link(name: &str) -> io::Result<()> {
    let index = rtnl::index_of(name)?;
    Rtnl::open()?.del_link(index)
}

/// The table name and veth prefix of the jail in `work_dir`: from the same hash as its
/// cgroup base, so a start finds what a crashed server on the same data directory left.
fn names(work_dir: &Path) -> io::Result<(String, String, u64)> {
    let canonical = work_dir.canonicalize()?;
    let hash = super::sweep::fnv1a(canonical.as_os_str().as_encoded_bytes());
    // 15 bytes at most for a link name: "hh" + 6 + "x" + up to 5 digits.
    Ok((
        format!("hearth_{hash:016x}"),
        format!("hh{:06x}x", hash & 0xff_ffff),
        hash,
    ))
}

/// The host's IPv4 resolvers that an environment can reach (not loopback ones).
fn host_resolvers() -> Vec<Ipv4Addr> {
    for file in ["/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"] {
        let found = parse_resolv_conf(&std::fs::read_to_string(file).unwrap_or_default());
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// The `nameserver` lines' IPv4 addresses, without loopback ones.
pub fn parse_resolv_conf(text: &str) -> Vec<Ipv4Addr> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<Ipv4Addr>().ok())
        .filter(|a| !a.is_loopback() && !a.is_unspecified())
        .collect()
}

/// Removes what an earlier server on this data directory left: its table, its links and
/// its range's route.
fn sweep(table: &str, prefix: &str, state_file: &Path) -> usize {
    let mut removed = host_forward::close(table);
    if nft(&format!("delete table inet {table}\n")).is_ok() {
        removed += 1;
    }
    if let Ok(links) = std::fs::read_dir("/sys/class/net") {
        for link in links.flatten() {
            let name = link.file_name().to_string_lossy().into_owned();
            if name.starts_with(prefix) && del_link(&name).is_ok() {
                removed += 1;
            }
        }
    }
    if let Ok(range) = std::fs::read_to_string(state_file) {
        let deleted = range
            .trim()
            .parse::<Ipv4Net>()
            .map_err(io::Error::other)
            .and_then(|r| Rtnl::open()?.del_unreachable(&r));
        if deleted.is_ok() {
            removed += 1;
        }
        let _ = std::fs::remove_file(state_file);
    }
    removed
}

/// Where each live server records the range it claimed, with its process and table, so
/// that a start can take back what a server killed on another data directory left (its
/// own data directory may never start again).
const OWNERS: &str = "/run/hearth-egress";

fn owner_file(range: &Ipv4Net) -> PathBuf {
    Path::new(OWNERS).join(format!("{}_{}", range.addr, range.prefix))
}

/// Records this server as the owner of `range` (best effort: without the record, only
/// the same data directory's next start sweeps it).
fn record_owner(range: &Ipv4Net, table: &str) {
    let written = std::fs::create_dir_all(OWNERS).and_then(|()| {
        std::fs::write(
            owner_file(range),
            format!("{} {table} {range}\n", std::process::id()),
        )
    });
    if let Err(e) = written {
        tracing::debug!(error = %e, "egress range owner not recorded");
    }
}

/// Removes the tables and range routes of recorded owners that are no longer running.
fn reclaim_from_dead_owners() -> usize {
    let Ok(entries) = std::fs::read_dir(OWNERS) else {
        return 0;
    };
    let mut reclaimed = 0;
    for entry in entries.flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [pid, table, range] = fields[..] else {
            continue;
        };
        // A pid in use again by another process keeps the claim: the safe mistake.
        if Path::new("/proc").join(pid).exists() || !table.starts_with("hearth_") {
            continue;
        }
        host_forward::close(table);
        let _ = nft(&format!("delete table inet {table}\n"));
        if let Ok(range) = range.parse::<Ipv4Net>() {
            let _ = Rtnl::open().and_then(|mut r| r.del_unreachable(&range));
        }
        let _ = std::fs::remove_file(entry.path());
        reclaimed += 1;
    }
    reclaimed
}

/// Claims a range: `wanted`, or the first free automatic one.
fn claim_range(wanted: Option<Ipv4Net>, seed: u64) -> Result<Ipv4Net, String> {
    let routes =
        range::parse_routes(&std::fs::read_to_string("/proc/net/route").unwrap_or_default());
    let claim = |r: &Ipv4Net| Rtnl::open()?.add_unreachable(r);
    if let Some(r) = wanted {
        let clashes = range::clashes(&r, &routes);
        if !clashes.is_empty() {
            return Err(format!(
                "the egress range {r} overlaps the host's routes {}; choose another with --egress-range",
                clashes.join(", ")
            ));
        }
        claim(&r).map_err(|e| format!("cannot claim the egress range {r}: {e}"))?;
        return Ok(r);
    }
    for r in range::candidates(seed) {
        if range::clashes(&r, &routes).is_empty() && claim(&r).is_ok() {
            return Ok(r);
        }
    }
    Err(format!(
        "every /16 of {} clashes with the host's routes; choose a range with --egress-range",
        range::AUTO_SPACE
    ))
}

impl Egress {
    /// Sweeps what a crashed server left, claims a range, makes the table and turns
    /// IPv4 forwarding on. Fails (with the reason) where the host lacks `ip`, `nft`,
    /// veth or nftables.
    pub fn start(config: &EgressConfig, work_dir: &Path) -> Result<Arc<Self>, String> {
        let (name, prefix, seed) =
            names(work_dir).map_err(|e| format!("{}: {e}", work_dir.display()))?;
        let state_file = work_dir.join("egress.state");
        let swept = sweep(&name, &prefix, &state_file) + reclaim_from_dead_owners();
        if swept > 0 {
            tracing::info!(swept, "removed the egress network an earlier server left");
        }
        let range = claim_range(config.range, seed)?;
        let resolvers = config.resolvers.clone().unwrap_or_else(host_resolvers);
        let table = Table {
            name,
            range,
            prefix,
            resolvers,
        };
        let egress = Arc::new(Self {
            table,
            likely: config.likely.clone(),
            state_file,
            free: Mutex::new((Vec::new(), 0)),
            closed: AtomicBool::new(false),
        });
        // From here on, dropping `egress` (closing it) undoes what was done.
        std::fs::write(&egress.state_file, range.to_string())
            .map_err(|e| format!("{}: {e}", egress.state_file.display()))?;
        record_owner(&range, &egress.table.name);
        nft(&egress.table.render()).map_err(|e| format!("nftables: {e}"))?;
        match host_forward::open(&egress.table.prefix, &egress.table.name) {
            Ok(0) => {}
            Ok(chains) => tracing::info!(
                chains,
                "the host's forward chains that drop by default (Docker, ufw, firewalld) now accept the environments' veths; the egress table still decides what passes"
            ),
            Err(e) => tracing::warn!(error = %e, "could not list the host's forward chains: where one drops by default (Docker, ufw, firewalld), functions reach nothing"),
        }
        if host_forward::legacy_iptables_loaded() {
            let p = &egress.table.prefix;
            tracing::warn!(
                "legacy iptables rules are loaded and nftables cannot see them: if their FORWARD chain drops by default (Docker, ufw), functions reach nothing; allow the environments with `iptables -I FORWARD -i {p}+ -j ACCEPT` and `iptables -I FORWARD -o {p}+ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`"
            );
        }
        let forward = "/proc/sys/net/ipv4/ip_forward";
        if std::fs::read_to_string(forward).is_ok_and(|v| v.trim() != "1") {
            std::fs::write(forward, "1").map_err(|e| format!("{forward}: {e}"))?;
            tracing::info!("IPv4 forwarding turned on for function egress");
        }
        if egress.table.resolvers.is_empty() {
            tracing::warn!("no DNS resolver for functions (the host's are loopback ones or none): pass --egress-dns");
        }
        tracing::info!(range = %range, table = %egress.table.name, resolvers = ?egress.table.resolvers, nftables_in_process = nft::in_process(), "function egress network");
        Ok(egress)
    }

    pub fn range(&self) -> Ipv4Net {
        self.table.range
    }

    pub fn resolvers(&self) -> &[Ipv4Addr] {
        &self.table.resolvers
    }

    /// Takes a /31 for a new environment.
    pub fn lease(self: &Arc<Self>) -> io::Result<Lease> {
        let index = {
            let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
            match free.0.pop() {
                Some(i) => i,
                None => {
                    free.1 += 1;
                    free.1 - 1
                }
            }
        };
        let Some((host, guest)) = range::pair(&self.table.range, index) else {
            self.release(index);
            return Err(io::Error::other(format!(
                "the egress range {} is full",
                self.table.range
            )));
        };
        Ok(Lease {
            egress: self.clone(),
            index,
            host,
            guest,
            host_if: format!("{}{index}", self.table.prefix),
            made: AtomicBool::new(false),
            applied: Mutex::new(None),
        })
    }

    fn release(&self, index: u32) {
        self.free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .push(index);
    }

    /// Removes the table and the range's route; environments still alive lose their
    /// way out. Idempotent.
    pub fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        host_forward::close(&self.table.name);
        if let Err(e) = nft(&format!("delete table inet {}\n", self.table.name)) {
            tracing::warn!(error = %e, "could not remove the egress table");
        }
        let deleted = Rtnl::open().and_then(|mut r| r.del_unreachable(&self.table.range));
        if let Err(e) = deleted {
            tracing::warn!(error = %e, "could not remove the egress range's route");
        }
        let _ = std::fs::remove_file(&self.state_file);
        let _ = std::fs::remove_file(owner_file(&self.table.range));
    }
}

impl Drop for Egress {
    fn drop(&mut self) {
        self.close();
    }
}

/// One environment's veth and addresses. Dropped, it removes its policy's elements and
/// its veth, then gives its addresses back.
pub struct Lease {
    egress: Arc<Egress>,
    index: u32,
    /// The host's end (the environment's gateway) and the environment's address.
    pub host: Ipv4Addr,
    pub guest: Ipv4Addr,
    pub host_if: String,
    made: AtomicBool,
    /// The policy applied and its set elements.
    applied: Mutex<Option<(EgressPolicy, Vec<ruleset::Element>)>>,
}

impl Lease {
    /// Makes the veth from inside the new namespace: call on the thread that entered
    /// it. The host's end goes to the namespace `host_ns` is a handle of (Hearth's own).
    pub fn plumb_inside(&self, host_ns: BorrowedFd<'_>) -> io::Result<()> {
        let Lease {
            host,
            guest,
            host_if,
            ..
        } = self;
        let mut rtnl = Rtnl::open()?;
        rtnl.add_veth(GUEST_IF, host_if, host_ns)?;
        self.made.store(true, Ordering::Release);
        let index = rtnl::index_of(GUEST_IF)?;
        // IPv4 only (the table refuses IPv6 anyway): no IPv6 address, not even the
        // link-local one, to leak through; set before the link comes up, as on the host's
        // end. Not by writing the link's `disable_ipv6` sysctl: every namespace names its
        // link alike, and the kernel's lookup of `/proc/sys/net/ipv6/conf/<link>` walks a
        // chain holding that name once per namespace alive, so that one write was a third
        // of this thread's time in a burst of new environments. The environment cannot add
        // an address itself (no CAP_NET_ADMIN). A host without IPv6 refuses the request.
        let _ = rtnl.no_ipv6_addresses(index);
        rtnl.add_address(index, *guest, 31)?;
        rtnl.set_up(index)?;
        rtnl.add_default_route(index, *host)?;
        Ok(())
    }

    /// Sets up the host's end (call from a thread in the host's namespace) and gives
    /// the environment the policy most functions have.
    pub fn plumb_host(&self) -> io::Result<()> {
        let Lease { host, host_if, .. } = self;
        let index = rtnl::index_of(host_if)?;
        let mut rtnl = Rtnl::open()?;
        // No IPv6 address on the host's end either (nor on the environment's, and the
        // table refuses IPv6). A host without IPv6 refuses the request.
        let _ = rtnl.no_ipv6_addresses(index);
        rtnl.add_address(index, *host, 31)?;
        rtnl.set_up(index)?;
        self.apply(&self.egress.likely)
    }

    /// Whether the environment has `policy` already, so that [`Lease::apply`] has nothing
    /// to do.
    pub fn has(&self, policy: &EgressPolicy) -> bool {
        let applied = self.applied.lock().unwrap_or_else(|p| p.into_inner());
        applied.as_ref().is_some_and(|(p, _)| p == policy)
    }

    /// Opens the environment to what `policy` allows, and only that: nothing to do when
    /// it has that policy already (as made ahead), else one `nft` run that swaps the
    /// elements.
    pub fn apply(&self, policy: &EgressPolicy) -> io::Result<()> {
        let mut applied = self.applied.lock().unwrap_or_else(|p| p.into_inner());
        if applied.as_ref().is_some_and(|(p, _)| p == policy) {
            return Ok(());
        }
        let name = &self.egress.table.name;
        let elements = ruleset::elements(self.guest, policy);
        let mut script = String::new();
        if let Some((_, old)) = applied.as_ref() {
            script.push_str(&ruleset::element_commands("delete", name, old));
        }
        script.push_str(&ruleset::element_commands("add", name, &elements));
        if !script.is_empty() {
            nft(&script)?;
        }
        *applied = Some((policy.clone(), elements));
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let elements = self
            .applied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .map(|(_, elements)| elements)
            .unwrap_or_default();
        let closed = self.egress.closed.load(Ordering::Acquire);
        if !elements.is_empty() && !closed {
            let script = ruleset::element_commands("delete", &self.egress.table.name, &elements);
            if let Err(e) = nft(&script) {
                tracing::warn!(error = %e, "could not remove an environment's egress rules");
            }
        }
        if self.made.load(Ordering::Acquire) {
            // Gone already when the namespace went first.
            let _ = del_link(&self.host_if);
        }
        self.egress.release(self.index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolvers_are_the_hosts_reachable_ones() {
        let text = "# comment\nnameserver 127.0.0.53\nnameserver 192.0.2.53\noptions edns0\nnameserver ::1\nnameserver  198.51.100.1 \n";
        assert_eq!(
            parse_resolv_conf(text),
            [Ipv4Addr::new(192, 0, 2, 53), Ipv4Addr::new(198, 51, 100, 1)]
        );
    }

    #[test]
    fn names_fit_a_link_name_and_follow_the_directory() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (table, prefix, _) = names(tmp.path()).expect("names");
        assert!(table.starts_with("hearth_") && table.len() == 7 + 16);
        assert_eq!(prefix.len(), 9);
        assert!(format!("{prefix}32767").len() <= 15, "IFNAMSIZ");
        assert_eq!(names(&tmp.path().join(".")).expect("same").0, table);
    }
}
