//! The jail's seccomp filter against the real kernel. Each test re-runs this test binary
//! as a child process (filtered or not) and runs its body there, so no filter ever
//! reaches the test harness itself.
//!
//! The probes pass null pointers or invalid values: without the filter the kernel
//! rejects them with some other errno (checked by `probes_fail_differently_unfiltered`
//! when run as root), so EPERM under the filter can only come from seccomp, and nothing
//! happens to the host if the filter were missing.

// Raw system calls (the ones the filter must refuse have no safe wrappers) and fork.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::io::{Read, Write};
use std::process::Command;

use hearth_sandbox::jail::seccomp::{self, Arch};

// The marker of tests that need privileges, shared with the crate's unit tests.
#[path = "../src/test_privileges.rs"]
mod test_privileges;

const CHILD_ENV: &str = "HEARTH_SECCOMP_TEST_CHILD";

/// Runs `body` in a fresh copy of this test binary, under the filter if `filtered`.
/// Passes when the child ran exactly that test and it passed.
fn in_child(name: &str, filtered: bool, body: fn()) {
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        if filtered {
            let filter = seccomp::filter().expect("the policy compiles for the host");
            seccomp::apply(filter).expect("the filter installs");
        }
        body();
        return;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .output()
        .expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child for {name} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

/// A raw system call: `Ok(return value)` or `Err(errno)`.
fn raw(nr: libc::c_long, args: [libc::c_long; 6]) -> Result<libc::c_long, i32> {
    // SAFETY: every caller passes null or dangling-free pointers (null, or pointers to
    // live CStr literals) and values the kernel validates; a raw syscall has no other
    // memory effect on this process. Calls that could create a process are handled by
    // their callers, which `_exit` in the child branch.
    let ret = unsafe { libc::syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]) };
    if ret == -1 {
        Err(std::io::Error::last_os_error()
            .raw_os_error()
            .expect("a failed syscall sets errno"))
    } else {
        Ok(ret)
    }
}

const NULL: libc::c_long = 0;

fn cstr(s: &'static CStr) -> libc::c_long {
    s.as_ptr() as libc::c_long
}

/// Calls that must be denied, with arguments the kernel would reject anyway (or that do
/// nothing but fail) if the filter were absent.
fn probes() -> Vec<(&'static str, libc::c_long, [libc::c_long; 6])> {
    let missing = cstr(c"/nonexistent/hearth-seccomp-test");
    let mut probes = vec![
        ("mount", libc::SYS_mount, [NULL, NULL, NULL, 0, NULL, 0]),
        ("umount2", libc::SYS_umount2, [NULL, 0, 0, 0, 0, 0]),
        ("pivot_root", libc::SYS_pivot_root, [NULL, NULL, 0, 0, 0, 0]),
        ("chroot", libc::SYS_chroot, [NULL, 0, 0, 0, 0, 0]),
        ("fsopen", libc::SYS_fsopen, [NULL, 0, 0, 0, 0, 0]),
        ("fsmount", libc::SYS_fsmount, [-1, 0, 0, 0, 0, 0]),
        (
            "move_mount",
            libc::SYS_move_mount,
            [-1, NULL, -1, NULL, 0, 0],
        ),
        ("open_tree", libc::SYS_open_tree, [-1, NULL, 0, 0, 0, 0]),
        ("setns", libc::SYS_setns, [-1, 0, 0, 0, 0, 0]),
        // An undefined flag bit and too many segments: EINVAL before anything loads.
        (
            "kexec_load",
            libc::SYS_kexec_load,
            [0, 0xffff, NULL, 0x10, 0, 0],
        ),
        (
            "kexec_file_load",
            libc::SYS_kexec_file_load,
            [-1, -1, 0, NULL, 0x100, 0],
        ),
        (
            "init_module",
            libc::SYS_init_module,
            [NULL, 0, NULL, 0, 0, 0],
        ),
        (
            "finit_module",
            libc::SYS_finit_module,
            [-1, NULL, 0, 0, 0, 0],
        ),
        (
            "delete_module",
            libc::SYS_delete_module,
            [NULL, 0, 0, 0, 0, 0],
        ),
        // Wrong magic numbers: EINVAL.
        ("reboot", libc::SYS_reboot, [0, 0, 0, NULL, 0, 0]),
        // No such process.
        (
            "ptrace",
            libc::SYS_ptrace,
            [libc::PTRACE_ATTACH as libc::c_long, 0x7fff_fff0, 0, 0, 0, 0],
        ),
        // Non-zero flags: EINVAL.
        (
            "process_vm_readv",
            libc::SYS_process_vm_readv,
            [0, NULL, 0, NULL, 0, 1],
        ),
        (
            "process_vm_writev",
            libc::SYS_process_vm_writev,
            [0, NULL, 0, NULL, 0, 1],
        ),
        (
            "kcmp",
            libc::SYS_kcmp,
            [0x7fff_fff0, 0x7fff_fff0, 0, 0, 0, 0],
        ),
        ("pidfd_getfd", libc::SYS_pidfd_getfd, [-1, 0, 0, 0, 0, 0]),
        ("bpf", libc::SYS_bpf, [0x7fff, NULL, 0, 0, 0, 0]),
        (
            "perf_event_open",
            libc::SYS_perf_event_open,
            [NULL, 0, -1, -1, 0, 0],
        ),
        (
            "userfaultfd",
            libc::SYS_userfaultfd,
            [0x7fff_0000, 0, 0, 0, 0, 0],
        ),
        (
            "io_uring_setup",
            libc::SYS_io_uring_setup,
            [0, NULL, 0, 0, 0, 0],
        ),
        ("syslog", libc::SYS_syslog, [0x7fff, NULL, 0, 0, 0, 0]),
        ("keyctl", libc::SYS_keyctl, [0x7fff, 0, 0, 0, 0, 0]),
        ("add_key", libc::SYS_add_key, [NULL, NULL, NULL, 0, 0, 0]),
        (
            "request_key",
            libc::SYS_request_key,
            [NULL, NULL, NULL, 0, 0, 0],
        ),
        (
            "clock_settime",
            libc::SYS_clock_settime,
            [libc::CLOCK_REALTIME as libc::c_long, NULL, 0, 0, 0, 0],
        ),
        (
            "clock_adjtime",
            libc::SYS_clock_adjtime,
            [libc::CLOCK_REALTIME as libc::c_long, NULL, 0, 0, 0, 0],
        ),
        // A time zone at address 1: EFAULT.
        (
            "settimeofday",
            libc::SYS_settimeofday,
            [NULL, 1, 0, 0, 0, 0],
        ),
        ("adjtimex", libc::SYS_adjtimex, [NULL, 0, 0, 0, 0, 0]),
        ("swapon", libc::SYS_swapon, [NULL, 0, 0, 0, 0, 0]),
        ("swapoff", libc::SYS_swapoff, [NULL, 0, 0, 0, 0, 0]),
        ("acct", libc::SYS_acct, [missing, 0, 0, 0, 0, 0]),
        ("quotactl", libc::SYS_quotactl, [0, NULL, 0, NULL, 0, 0]),
        ("quotactl_fd", libc::SYS_quotactl_fd, [-1, 0, 0, NULL, 0, 0]),
        (
            "open_by_handle_at",
            libc::SYS_open_by_handle_at,
            [-1, NULL, 0, 0, 0, 0],
        ),
        (
            "name_to_handle_at",
            libc::SYS_name_to_handle_at,
            [-1, NULL, NULL, NULL, 0, 0],
        ),
    ];
    probes.extend(arch_probes());
    probes
}

#[cfg(target_arch = "x86_64")]
fn arch_probes() -> Vec<(&'static str, libc::c_long, [libc::c_long; 6])> {
    vec![
        // Level 4 does not exist; a zero-length range is invalid.
        ("iopl", libc::SYS_iopl, [4, 0, 0, 0, 0, 0]),
        ("ioperm", libc::SYS_ioperm, [0, 0, 1, 0, 0, 0]),
    ]
}

#[cfg(not(target_arch = "x86_64"))]
fn arch_probes() -> Vec<(&'static str, libc::c_long, [libc::c_long; 6])> {
    Vec::new()
}

/// Probes a host may refuse to root on its own.
const HOST_GATED: &[&str] = &[
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "io_uring_setup",
    "iopl",
    "ioperm",
];

#[test]
fn probes_fail_differently_unfiltered() {
    // Without root, capability checks answer EPERM on their own: no control to compare.
    if !test_privileges::require("root", test_privileges::is_root()) {
        return;
    }
    in_child("probes_fail_differently_unfiltered", false, || {
        for (name, nr, args) in probes() {
            let result = raw(nr, args);
            assert!(result.is_err(), "{name} without the filter: {result:?}");
            if result == Err(libc::EPERM) {
                // Kernel lockdown and sysctls (kexec_load_disabled, modules_disabled,
                // io_uring_disabled) refuse these even to root.
                assert!(
                    HOST_GATED.contains(&name),
                    "{name} without the filter: EPERM"
                );
                eprintln!("{name}: refused by this host even without the filter");
            }
        }
    });
}

#[test]
fn denied_calls_fail_with_eperm() {
    in_child("denied_calls_fail_with_eperm", true, || {
        for (name, nr, args) in probes() {
            assert_eq!(raw(nr, args), Err(libc::EPERM), "{name}");
        }
    });
}

#[test]
fn the_filter_is_installed_with_no_new_privs() {
    in_child("the_filter_is_installed_with_no_new_privs", true, || {
        let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
        let field = |key: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(key))
                .map(str::trim)
                .unwrap_or_else(|| panic!("{key} in /proc/self/status"))
                .to_owned()
        };
        assert_eq!(field("NoNewPrivs:"), "1");
        assert_eq!(field("Seccomp:"), "2", "filter mode");
        let programs = seccomp::filter().expect("compiled").programs().len();
        assert_eq!(field("Seccomp_filters:"), programs.to_string());
    });
}

#[test]
fn unshare_of_a_namespace_fails_with_eperm() {
    in_child("unshare_of_a_namespace_fails_with_eperm", true, || {
        for flag in [libc::CLONE_NEWNS, libc::CLONE_NEWUSER, libc::CLONE_NEWNET] {
            let result = raw(libc::SYS_unshare, [flag as libc::c_long, 0, 0, 0, 0, 0]);
            assert_eq!(result, Err(libc::EPERM), "unshare({flag:#x})");
        }
    });
}

/// clone() as fork: flags plus SIGCHLD, no new stack. Returns the result in the parent;
/// a child that was created exits at once.
fn clone_fork(flags: libc::c_int) -> Result<libc::c_long, i32> {
    let flags = (flags | libc::SIGCHLD) as libc::c_long;
    let result = raw(libc::SYS_clone, [flags, 0, 0, 0, 0, 0]);
    match result {
        Ok(0) => {
            // SAFETY: in the forked child; leave without running the parent's code.
            unsafe { libc::_exit(0) }
        }
        Ok(pid) => {
            let mut status = 0;
            // SAFETY: `pid` is our child; `status` is a live local.
            unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
        }
        Err(_) => {}
    }
    result
}

#[test]
fn clone_with_a_namespace_flag_fails_with_eperm() {
    in_child("clone_with_a_namespace_flag_fails_with_eperm", true, || {
        for flag in [
            libc::CLONE_NEWNS,
            libc::CLONE_NEWCGROUP,
            libc::CLONE_NEWUTS,
            libc::CLONE_NEWIPC,
            libc::CLONE_NEWUSER,
            libc::CLONE_NEWPID,
            libc::CLONE_NEWNET,
        ] {
            assert_eq!(clone_fork(flag), Err(libc::EPERM), "clone({flag:#x})");
        }
        // A namespace flag hidden among ordinary ones.
        let mixed = libc::CLONE_NEWUSER | libc::CLONE_FILES | libc::CLONE_FS;
        assert_eq!(clone_fork(mixed), Err(libc::EPERM));
        // Plain clone (fork) still works.
        assert!(matches!(clone_fork(0), Ok(pid) if pid > 0));
    });
}

#[test]
fn clone3_fails_with_enosys() {
    in_child("clone3_fails_with_enosys", true, || {
        // Without the filter a null struct of size 0 is EINVAL.
        assert_eq!(
            raw(libc::SYS_clone3, [NULL, 0, 0, 0, 0, 0]),
            Err(libc::ENOSYS)
        );
    });
}

#[cfg(target_arch = "x86_64")]
#[test]
fn x32_calls_fail_with_enosys() {
    in_child("x32_calls_fail_with_enosys", true, || {
        // On kernels built with x32 this would be a real mount call.
        const X32: libc::c_long = 0x4000_0000;
        let result = raw(X32 | libc::SYS_mount, [NULL, NULL, NULL, 0, NULL, 0]);
        assert_eq!(result, Err(libc::ENOSYS));
    });
}

#[test]
fn ordinary_calls_still_work() {
    in_child("ordinary_calls_still_work", true, || {
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        assert_eq!(u32::try_from(pid).ok(), Some(std::process::id()));

        let path = std::env::temp_dir().join(format!("hearth-seccomp-{pid}"));
        std::fs::write(&path, b"hello").expect("write a file");
        let mut contents = String::new();
        std::fs::File::open(&path)
            .and_then(|mut file| file.read_to_string(&mut contents))
            .expect("read it back");
        assert_eq!(contents, "hello");
        std::fs::remove_file(&path).expect("remove it");

        // SAFETY: the child only calls _exit; the parent waits for it.
        match unsafe { libc::fork() } {
            // SAFETY: in the forked child; leave without running the parent's code.
            0 => unsafe { libc::_exit(7) },
            -1 => panic!("fork: {}", std::io::Error::last_os_error()),
            child => {
                let mut status = 0;
                // SAFETY: `child` is ours; `status` is a live local.
                unsafe { libc::waitpid(child, &mut status, 0) };
                assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 7);
            }
        }

        // glibc tries clone3 for threads and posix_spawn, then falls back to clone.
        let answer = std::thread::spawn(|| 42).join().expect("a thread runs");
        assert_eq!(answer, 42);
        let status = Command::new("/bin/true").status().expect("spawn /bin/true");
        assert!(status.success());

        // The filter is inherited across exec.
        let output = Command::new("/bin/sh")
            .args(["-c", "grep '^Seccomp:' /proc/self/status"])
            .output()
            .expect("spawn /bin/sh");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "Seccomp:\t2"
        );

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("socket, bind, listen");
        let addr = listener.local_addr().expect("local address");
        let mut client = std::net::TcpStream::connect(addr).expect("connect");
        client.write_all(b"ping").expect("send");
        let (mut server, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).expect("receive");
        assert_eq!(&buf, b"ping");
        std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
    });
}

#[test]
fn a_filter_for_another_arch_is_refused() {
    in_child("a_filter_for_another_arch_is_refused", false, || {
        let host = Arch::host().expect("a supported host");
        let other = Arch::ALL
            .into_iter()
            .find(|arch| *arch != host)
            .expect("two arches");
        let filter = seccomp::compile(other).expect("compiles");
        assert!(matches!(
            seccomp::apply(&filter),
            Err(seccomp::SeccompError::WrongArch { .. })
        ));
        let status = std::fs::read_to_string("/proc/self/status").expect("read status");
        assert!(
            status.lines().any(|line| line == "Seccomp:\t0"),
            "nothing installed"
        );
    });
}
