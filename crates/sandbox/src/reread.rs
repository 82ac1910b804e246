//! A kernel file read again for every invocation (an environment's peak memory, for
//! REPORT's `Max Memory Used`): opened on the first read and kept, then read with
//! `pread` at offset 0 into a buffer on the stack. procfs and cgroupfs make a file's
//! text anew for each read from its start, so this sees what a fresh `open` would,
//! without the path lookup, the `open` and `close` and the `String` of every read.

use std::fs::File;
use std::mem::MaybeUninit;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Largest text read: `/proc/PID/status` is about 1.5 KB (`VmHWM` in its first half); a
/// cgroup's numbers are short.
const MAX: usize = 4096;

/// One file, kept open from its first successful open on (a file that is not there is
/// looked for again at the next read).
#[derive(Debug, Default)]
pub(crate) struct Reread {
    file: OnceLock<File>,
}

/// A copy opens the file again on its first read.
impl Clone for Reread {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl Reread {
    /// The file's whole text (up to 4 KB) handed to `parse`, or `None` when it cannot be
    /// opened or read. `path` is asked for on the first read only.
    pub(crate) fn with<T>(
        &self,
        path: impl FnOnce() -> PathBuf,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let file = match self.file.get() {
            Some(file) => file,
            None => {
                let opened = File::open(path()).ok()?;
                self.file.get_or_init(|| opened)
            }
        };
        // Left uninitialised: pread(2) fills what it returns (zeroing 4 KB for every read
        // showed in the warm path's profile). One read: procfs and cgroupfs hand a file
        // this small over whole.
        let mut buf = [MaybeUninit::<u8>::uninit(); MAX];
        let (text, _) = loop {
            match rustix::io::pread(file, &mut buf, 0) {
                Err(rustix::io::Errno::INTR) => continue,
                read => break read.ok()?,
            }
        };
        parse(std::str::from_utf8(text).ok()?)
    }

    /// A file holding one number.
    pub(crate) fn u64(&self, path: impl FnOnce() -> PathBuf) -> Option<u64> {
        self.with(path, |text| text.trim().parse().ok())
    }
}

/// `VmHWM` of a `/proc/PID/status` text, in bytes.
pub(crate) fn vm_hwm_bytes(status: &str) -> Option<u64> {
    // Searched for rather than split into lines: read once per invocation.
    let after = &status[status.find("VmHWM:")? + "VmHWM:".len()..];
    let kb: u64 = after[..after.find('\n').unwrap_or(after.len())]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::os::unix::fs::FileExt;

    #[test]
    fn reads_the_files_current_text_each_time_through_one_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("n");
        std::fs::write(&path, "12\n").expect("write");
        let file = Reread::default();
        assert_eq!(file.u64(|| path.clone()), Some(12));
        // Rewritten in place (as the kernel makes a control file's text anew).
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.write_at(b"345\n", 0))
            .expect("rewrite");
        assert_eq!(file.u64(|| path.clone()), Some(345));
        // Kept open: a file removed since is still read through the descriptor.
        std::fs::remove_file(&path).expect("rm");
        assert_eq!(file.u64(|| path.clone()), Some(345));
        assert_eq!(
            Reread::default().u64(|| path.clone()),
            None,
            "a missing file is None"
        );
    }

    #[test]
    fn reads_this_process_peak_memory_again_and_again() {
        let path = || PathBuf::from("/proc/self/status");
        let file = Reread::default();
        let first = file.with(path, vm_hwm_bytes).expect("VmHWM");
        assert!(first > 0);
        // 64 MiB touched: the high-water mark rises, and the kept descriptor sees it.
        let big = vec![1u8; 64 << 20];
        std::hint::black_box(&big);
        let second = file.with(path, vm_hwm_bytes).expect("VmHWM");
        assert!(second >= first + (60 << 20), "{first} then {second}");
    }

    #[test]
    fn parses_vm_hwm() {
        assert_eq!(
            vm_hwm_bytes("Name:\tx\nVmPeak:\t 10 kB\nVmHWM:\t    2048 kB\n"),
            Some(2048 * 1024)
        );
        assert_eq!(vm_hwm_bytes("Name:\tx\n"), None);
    }
}
