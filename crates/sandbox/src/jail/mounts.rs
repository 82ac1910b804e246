//! An environment's root file system, assembled in its own mount namespace in two steps.
//!
//! [`assemble`] runs ahead of need, before any function is known: a tmpfs holding only
//! mount points, the host's system directories bound read-only, a fresh `/proc` with the
//! host's disks, file systems and kernel internals masked, a minimal `/dev`, a copy of
//! the synthetic `/etc` ([`build_etc`], made once per start), the `/tmp` Hearth made,
//! then `pivot_root` into it and detach the host's tree. [`attach`] runs when a function
//! is assigned: it attaches the mounts Hearth opened for it (code, runtime client,
//! interpreter prefixes) read-only, swaps `/tmp` when the function wants another size,
//! hides global module folders, and makes the root read-only. As the host's tree is gone by then, the function's directories
//! arrive as detached mounts (`open_tree` in Hearth, `move_mount` here), not paths.

use std::fs;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use rustix::mount::{move_mount, MoveMountFlags};

use super::spec::{Bind, Enter, Tmp};

/// System directories every runtime needs (libraries, interpreters, CA certificates).
/// Where the host has merged `/usr`, `/bin`, `/lib`... are symlinks and are recreated
/// as the same symlinks.
pub const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];

/// Host files copied into the synthetic `/etc`: none holds a secret.
const ETC_FILES: &[&str] = &[
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/mime.types",
];

/// Host directories bound read-only into the synthetic `/etc` (copying their many
/// symlinks would make starting Hearth slow on some disks, and binding keeps them
/// current).
const ETC_DIRS: &[&str] = &["/etc/ssl", "/etc/ca-certificates", "/etc/alternatives"];

/// Device nodes bound from the host's `/dev`.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];

/// `/proc` files that tell about the host rather than the environment, each covered with
/// an empty file (a bind of `/dev/null`), as container runtimes do: block devices and
/// their I/O (other environments' `/tmp` loop devices among them: `diskstats`,
/// `partitions`), swap files, every process's file locks with their pids and inodes
/// (`locks`), kernel key rings, timers and scheduler internals. Missing ones are skipped.
const PROC_FILE_MASKS: &[&str] = &[
    "diskstats",
    "partitions",
    "swaps",
    "locks",
    "keys",
    "key-users",
    "timer_list",
    "timer_stats",
    "sched_debug",
    "latency_stats",
    "kallsyms",
    "kcore",
    "kmsg",
    "kpagecgroup",
    "kpagecount",
    "kpageflags",
    "vmallocinfo",
    "slabinfo",
    "pagetypeinfo",
    "iomem",
    "ioports",
    "sysrq-trigger",
];

/// `/proc` directories covered with an empty read-only tmpfs: file systems and their
/// devices (`fs/ext4/<device>` for every mounted ext4, other environments' `/tmp`
/// included), and hardware the function has no use for.
const PROC_DIR_MASKS: &[&str] = &["fs", "scsi", "acpi", "asound", "bus", "driver", "irq"];

/// Mount points every function's mounts go on.
const TASK: &str = "/var/task";
const RUNTIME: &str = "/var/runtime";

fn err(what: &str, path: &Path, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{what} {}: {e}", path.display()))
}

/// Makes `dst` read-only (and nosuid, nodev): a bind mount takes these flags only on a
/// remount.
fn remount_readonly(dst: &Path) -> io::Result<()> {
    let ro = MsFlags::MS_BIND
        | MsFlags::MS_REMOUNT
        | MsFlags::MS_RDONLY
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV;
    mount(None::<&str>, dst, None::<&str>, ro, None::<&str>)
        .map_err(|e| err("remount read-only", dst, e))
}

fn bind(src: &Path, dst: &Path, readonly: bool) -> io::Result<()> {
    let flags = MsFlags::MS_BIND | MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount(Some(src), dst, None::<&str>, flags, None::<&str>).map_err(|e| err("bind", src, e))?;
    if readonly {
        remount_readonly(dst)?;
    }
    Ok(())
}

/// Creates the mount point `dst` (a directory or an empty file) and its parents.
fn mount_point(dst: &Path, dir: bool) -> io::Result<()> {
    if dir {
        fs::create_dir_all(dst)
    } else {
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::File::create(dst).map(drop)
    }
}

fn tmpfs(dst: &Path, options: &str, flags: MsFlags) -> io::Result<()> {
    mount(Some("tmpfs"), dst, Some("tmpfs"), flags, Some(options)).map_err(|e| err("tmpfs", dst, e))
}

fn tmpfs_options(mb: u64) -> String {
    format!("size={}m,mode=1777", mb.max(1))
}

/// Puts the detached mount `fd` at `dst`.
fn attach_detached(fd: &OwnedFd, dst: &Path) -> io::Result<()> {
    move_mount(
        fd.as_fd(),
        "",
        rustix::fs::CWD,
        dst,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(|e| err("attach a mount at", dst, e))
}

/// Mounts the `/tmp` described by `tmp` at `dst`: the disk Hearth made (`disk`), or a
/// tmpfs.
fn mount_tmp(tmp: Tmp, disk: Option<&OwnedFd>, dst: &Path) -> io::Result<()> {
    match (tmp, disk) {
        (Tmp::Disk { .. }, Some(fd)) => attach_detached(fd, dst),
        (Tmp::Disk { .. }, None) => Err(err("mount", dst, "no /tmp file system was handed over")),
        (Tmp::Tmpfs { mb }, _) => tmpfs(
            dst,
            &tmpfs_options(mb),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        ),
    }
}

/// Builds everything that does not depend on the function under `enter.root` and
/// pivots into it. Runs as PID 1 of the environment's PID namespace (so that `/proc`
/// shows that namespace), inside its new mount namespace. The root stays writable for
/// [`attach`], which makes it read-only; only this process (root) can write to it.
pub fn assemble(enter: &Enter, tmp_disk: Option<&OwnedFd>) -> io::Result<()> {
    // Nothing done here may propagate back to the host's mounts.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| err("make private", Path::new("/"), e))?;
    let root = enter.root.as_path();
    tmpfs(
        root,
        "size=1m,mode=0755",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
    )?;

    for dir in SYSTEM_DIRS {
        let host = Path::new(dir);
        let inside = root.join(&dir[1..]);
        match fs::symlink_metadata(host) {
            Ok(meta) if meta.file_type().is_symlink() => symlink(fs::read_link(host)?, inside)?,
            Ok(_) => {
                mount_point(&inside, true)?;
                bind(host, &inside, true)?;
            }
            Err(_) => {}
        }
    }
    for dir in [TASK, RUNTIME, "/opt", "/tmp", "/proc"] {
        fs::create_dir_all(root.join(&dir[1..]))?;
    }
    mount_tmp(enter.tmp, tmp_disk, &root.join("tmp"))?;

    let proc = root.join("proc");
    mount(
        Some("proc"),
        &proc,
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| err("mount", &proc, e))?;
    mask_proc(&proc)?;

    dev(root)?;
    let etc = root.join("etc");
    fs::create_dir_all(&etc)?;
    // A copy on a small tmpfs rather than a bind of the synthetic /etc: a bind would
    // show the data directory's path in mountinfo. It is a few small files.
    tmpfs(
        &etc,
        "size=16m,mode=0755",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
    )?;
    for entry in fs::read_dir(&enter.etc)? {
        let entry = entry?;
        copy_readable(&entry.path(), &etc.join(entry.file_name()))?;
    }
    for host in ETC_DIRS {
        let inside = root.join(&host[1..]);
        if inside.is_dir() {
            bind(Path::new(host), &inside, true)?;
        }
    }
    remount_readonly(&etc)?;

    pivot(root)
}

/// Attaches the function's mounts (`fds`, one per entry of `binds`) read-only, swaps
/// `/tmp` for `tmp` when given (a disk one is the last of `fds`), covers each of
/// `hidden` that exists with an empty read-only tmpfs, then makes the root read-only.
/// Runs after [`assemble`], inside the new root.
pub fn attach(
    binds: &[Bind],
    tmp: Option<Tmp>,
    hidden: &[std::path::PathBuf],
    fds: &[OwnedFd],
) -> io::Result<()> {
    let wanted = binds.len() + usize::from(matches!(tmp, Some(Tmp::Disk { .. })));
    if fds.len() != wanted {
        return Err(io::Error::other(format!(
            "{} file descriptors handed over, {wanted} expected",
            fds.len()
        )));
    }
    for (b, fd) in binds.iter().zip(fds) {
        if !b.target.is_absolute() {
            return Err(err("mount point", &b.target, "is not absolute"));
        }
        // The fixed mount points exist already; interpreter prefixes get theirs here.
        if !b.target.exists() {
            mount_point(&b.target, b.dir)?;
        }
        attach_detached(fd, &b.target)?;
        remount_readonly(&b.target)?;
    }
    if let Some(tmp) = tmp {
        let tmp_dir = Path::new("/tmp");
        match tmp {
            Tmp::Disk { .. } => {
                umount2(tmp_dir, MntFlags::MNT_DETACH).map_err(|e| err("umount", tmp_dir, e))?;
                mount_tmp(tmp, fds.last(), tmp_dir)?;
            }
            // A tmpfs changes size in place.
            Tmp::Tmpfs { mb } => mount(
                None::<&str>,
                tmp_dir,
                None::<&str>,
                MsFlags::MS_REMOUNT | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some(tmpfs_options(mb).as_str()),
            )
            .map_err(|e| err("resize", tmp_dir, e))?,
        }
    }
    // The function's /tmp is its own: nothing there to hide.
    for dir in hidden {
        if dir.is_absolute() && !dir.starts_with("/tmp") && dir.is_dir() {
            hide(dir)?;
        }
    }
    // The root tmpfs holds only mount points: nothing may be created in it.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        None::<&str>,
    )
    .map_err(|e| err("remount read-only", Path::new("/"), e))
}

/// Covers the directory `dir` with an empty read-only tmpfs.
fn hide(dir: &Path) -> io::Result<()> {
    tmpfs(
        dir,
        "size=4k,nr_inodes=1,mode=0555",
        MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
    )
}

/// Covers the host information in the fresh `/proc` at `proc` ([`PROC_FILE_MASKS`],
/// [`PROC_DIR_MASKS`]). The function cannot undo it: it has no capability to unmount.
fn mask_proc(proc: &Path) -> io::Result<()> {
    let null = Path::new("/dev/null");
    for name in PROC_FILE_MASKS {
        let path = proc.join(name);
        if path.exists() {
            // Read-only, but not nodev: it must still open as the null device.
            bind(null, &path, false)?;
            let ro = MsFlags::MS_BIND
                | MsFlags::MS_REMOUNT
                | MsFlags::MS_RDONLY
                | MsFlags::MS_NOSUID
                | MsFlags::MS_NOEXEC;
            mount(None::<&str>, &path, None::<&str>, ro, None::<&str>)
                .map_err(|e| err("remount read-only", &path, e))?;
        }
    }
    for name in PROC_DIR_MASKS {
        let path = proc.join(name);
        if path.is_dir() {
            hide(&path)?;
        }
    }
    Ok(())
}

fn dev(root: &Path) -> io::Result<()> {
    let dev = root.join("dev");
    fs::create_dir_all(&dev)?;
    tmpfs(
        &dev,
        "size=64k,mode=0755",
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
    )?;
    for name in DEVICES {
        let host = Path::new("/dev").join(name);
        let dst = dev.join(name);
        fs::File::create(&dst)?;
        bind(&host, &dst, false)?;
    }
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        symlink(target, dev.join(link))?;
    }
    let shm = dev.join("shm");
    fs::create_dir_all(&shm)?;
    tmpfs(
        &shm,
        "size=64m,mode=1777",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
    )
}

/// Builds the synthetic `/etc` every environment binds read-only: copies of the host's
/// harmless files (only what any user may read), mount points for [`ETC_DIRS`], and
/// Lambda-like identity files. Made once per start, so an environment costs a few binds
/// instead of one per file and writing its own files.
pub fn build_etc(
    dir: &Path,
    uid: u32,
    gid: u32,
    hostname: &str,
    resolvers: &[std::net::Ipv4Addr],
) -> io::Result<()> {
    let resolv: String = resolvers
        .iter()
        .map(|r| format!("nameserver {r}\n"))
        .collect();
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
    for file in ETC_FILES {
        let host = Path::new(file);
        copy_readable(host, &dir.join(&file["/etc/".len()..]))?;
    }
    for host in ETC_DIRS {
        if Path::new(host).is_dir() {
            fs::create_dir(dir.join(&host["/etc/".len()..]))?;
        }
    }
    let files = [
        (
            "passwd",
            format!(
                "root:x:0:0:root:/root:/sbin/nologin\nsbx_user:x:{uid}:{gid}::/tmp:/sbin/nologin\n"
            ),
        ),
        ("group", format!("root:x:0:\nsbx_user:x:{gid}:\n")),
        // `sandbox.localdomain` is the environment itself (the Telemetry API's destinations
        // name it; AWS's sample extensions bind their listener to it).
        (
            "hosts",
            "127.0.0.1 localhost sandbox.localdomain sandbox\n::1 localhost\n".to_string(),
        ),
        ("hostname", format!("{hostname}\n")),
        ("resolv.conf", resolv),
    ];
    for (name, body) in files {
        let path = dir.join(name);
        fs::write(&path, body)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
    }
    Ok(())
}

/// Copies `src` to `dst` (a symlink as a symlink, a directory recursively) when anyone
/// may read it; what only some users may read is left out.
fn copy_readable(src: &Path, dst: &Path) -> io::Result<()> {
    let Ok(meta) = fs::symlink_metadata(src) else {
        return Ok(());
    };
    let mode = meta.permissions().mode();
    let kind = meta.file_type();
    if kind.is_symlink() {
        symlink(fs::read_link(src)?, dst)
    } else if kind.is_dir() && mode & 0o005 == 0o005 {
        fs::create_dir(dst)?;
        for entry in fs::read_dir(src)? {
            let entry = entry?;
            copy_readable(&entry.path(), &dst.join(entry.file_name()))?;
        }
        fs::set_permissions(dst, fs::Permissions::from_mode(mode & 0o755))
    } else if kind.is_file() && mode & 0o004 == 0o004 {
        fs::copy(src, dst)?;
        fs::set_permissions(dst, fs::Permissions::from_mode(mode & 0o755))
    } else {
        Ok(())
    }
}

/// Makes `root` the root and drops every mount of the host from this namespace.
fn pivot(root: &Path) -> io::Result<()> {
    let old = root.join(".old-root");
    fs::create_dir_all(&old)?;
    nix::unistd::pivot_root(root, &old).map_err(|e| err("pivot_root", root, e))?;
    nix::unistd::chdir("/").map_err(|e| err("chdir", Path::new("/"), e))?;
    umount2("/.old-root", MntFlags::MNT_DETACH)
        .map_err(|e| err("umount", Path::new("/.old-root"), e))?;
    fs::remove_dir("/.old-root")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_synthetic_etc_names_the_environment_sandbox_localdomain() {
        let dir = tempfile::tempdir().expect("tempdir");
        let etc = dir.path().join("etc");
        build_etc(
            &etc,
            993,
            990,
            "169.254.1.1",
            &["10.0.0.2".parse().expect("an IP")],
        )
        .expect("built");
        assert_eq!(
            fs::read_to_string(etc.join("hosts")).expect("hosts"),
            "127.0.0.1 localhost sandbox.localdomain sandbox\n::1 localhost\n"
        );
        assert_eq!(
            fs::read_to_string(etc.join("resolv.conf")).expect("resolv.conf"),
            "nameserver 10.0.0.2\n"
        );
    }
}
