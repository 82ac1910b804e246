//! The host's load as the kernel reports it: pressure stall information
//! (`/proc/pressure/{cpu,memory,io}`, Linux 4.20 with PSI enabled), available memory
//! (`/proc/meminfo`) and the load average (`/proc/loadavg`). What a kernel does not
//! offer is left out rather than reported as zero.

/// One reading of the host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Host {
    /// Share of the last 10 s in which some task waited for the CPU, memory or I/O
    /// (`some avg10`, as a ratio 0–1).
    pub cpu_pressure: Option<f64>,
    pub memory_pressure: Option<f64>,
    pub io_pressure: Option<f64>,
    pub memory_total_bytes: Option<u64>,
    pub memory_available_bytes: Option<u64>,
    /// The 1-minute load average.
    pub load1: Option<f64>,
}

impl Host {
    /// Reads the host now.
    pub fn read() -> Self {
        let read = |p: &str| std::fs::read_to_string(p).ok();
        let pressure = |p: &str| read(p).as_deref().and_then(some_avg10);
        let meminfo = read("/proc/meminfo");
        Self {
            cpu_pressure: pressure("/proc/pressure/cpu"),
            memory_pressure: pressure("/proc/pressure/memory"),
            io_pressure: pressure("/proc/pressure/io"),
            memory_total_bytes: meminfo.as_deref().and_then(|m| meminfo_kb(m, "MemTotal")),
            memory_available_bytes: meminfo
                .as_deref()
                .and_then(|m| meminfo_kb(m, "MemAvailable")),
            load1: read("/proc/loadavg")
                .as_deref()
                .and_then(|l| l.split_whitespace().next()?.parse().ok()),
        }
    }
}

/// `some avg10=1.50 ...` → 0.015.
fn some_avg10(text: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.starts_with("some "))?;
    let avg = line
        .split_whitespace()
        .find_map(|f| f.strip_prefix("avg10="))?;
    avg.parse::<f64>().ok().map(|p| p / 100.0)
}

/// `MemAvailable:   123 kB` → bytes.
fn meminfo_kb(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| {
        l.strip_prefix(key)
            .is_some_and(|rest| rest.starts_with(':'))
    })?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pressure_and_meminfo_are_read_as_the_kernel_writes_them() {
        let psi = "some avg10=12.50 avg60=3.00 avg300=1.00 total=123\nfull avg10=2.00 avg60=0.00 avg300=0.00 total=9\n";
        assert_eq!(some_avg10(psi), Some(0.125));
        assert_eq!(some_avg10("full avg10=2.00\n"), None);
        let meminfo = "MemTotal:       16384 kB\nMemFree:  1 kB\nMemAvailable:    8192 kB\n";
        assert_eq!(meminfo_kb(meminfo, "MemTotal"), Some(16384 * 1024));
        assert_eq!(meminfo_kb(meminfo, "MemAvailable"), Some(8192 * 1024));
        assert_eq!(meminfo_kb(meminfo, "Mem"), None);
    }
}
