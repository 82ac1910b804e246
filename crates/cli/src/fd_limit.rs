//! The server's own limit on open files: raised from the soft to the hard limit at start
//! (each connection and environment costs descriptors), and the default connection cap
//! derived from it.

/// Connections never capped below this, whatever the descriptor limit.
const MIN_CONNECTIONS: u64 = 64;

/// Raises `RLIMIT_NOFILE`'s soft limit to its hard limit and returns the limit in force.
/// Functions do not inherit it: the jail's init and the process sandbox set theirs to 1024.
pub fn raise() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    // An unlimited hard limit cannot be the soft one; the kernel's ceiling is nr_open.
    let target = limit.maximum.unwrap_or_else(nr_open);
    let current = limit.current.unwrap_or(target);
    if current >= target {
        return current;
    }
    let raised = Rlimit {
        current: Some(target),
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => target,
        Err(e) => {
            tracing::warn!(error = %e, soft = current, hard = target, "cannot raise the open-file limit");
            current
        }
    }
}

fn nr_open() -> u64 {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1 << 20)
}

/// Half the descriptors for client connections; the other half stays for what the server
/// needs besides: each environment's Runtime API listener and connections (at most 32),
/// output pipes, cgroup and process handles, the store's SQLite files.
pub fn default_connections(nofile: u64) -> usize {
    usize::try_from((nofile / 2).max(MIN_CONNECTIONS)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_of_the_descriptors_go_to_connections() {
        assert_eq!(default_connections(20_000), 10_000);
        assert_eq!(default_connections(1024), 512);
        assert_eq!(default_connections(16), 64);
    }

    #[test]
    fn the_soft_limit_ends_at_the_hard_one() {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        let now = raise();
        if let Some(hard) = limit.maximum {
            assert_eq!(now, hard);
        }
        assert_eq!(raise(), now);
    }
}
