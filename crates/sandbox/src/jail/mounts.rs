//! Assembling an environment's root file system in its own mount namespace: a tmpfs
//! holding only mount points, the host's system directories and interpreters bound
//! read-only, the code at `/var/task`, the runtime client at `/var/runtime`, a fresh
//! `/proc`, a minimal `/dev`, a synthetic `/etc` and a size-limited `/tmp`. Then
//! `pivot_root` into it and detach the host's tree.

use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::spec::JailSpec;

/// System directories every runtime needs (libraries, interpreters, CA certificates).
/// Where the host has merged `/usr`, `/bin`, `/lib`... are symlinks and are recreated
/// as the same symlinks.
const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];

/// Host files copied into the synthetic `/etc` by bind mount: none holds a secret.
const ETC_FILES: &[&str] = &[
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/alternatives",
    "/etc/mime.types",
];

/// Device nodes bound from the host's `/dev`.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];

fn err(what: &str, path: &Path, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{what} {}: {e}", path.display()))
}

fn bind(src: &Path, dst: &Path, readonly: bool) -> io::Result<()> {
    let flags = MsFlags::MS_BIND | MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount(Some(src), dst, None::<&str>, flags, None::<&str>).map_err(|e| err("bind", src, e))?;
    if readonly {
        // A bind mount takes the read-only flag only on a remount.
        let ro = flags | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        mount(None::<&str>, dst, None::<&str>, ro, None::<&str>)
            .map_err(|e| err("remount read-only", dst, e))?;
    }
    Ok(())
}

/// Creates the mount point for `src` under `root` (a directory or an empty file).
fn mount_point(root: &Path, inside: &Path, src: &Path) -> io::Result<PathBuf> {
    let dst = root.join(inside.strip_prefix("/").unwrap_or(inside));
    if src.is_dir() {
        fs::create_dir_all(&dst)?;
    } else {
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::File::create(&dst)?;
    }
    Ok(dst)
}

fn tmpfs(dst: &Path, options: &str, flags: MsFlags) -> io::Result<()> {
    mount(Some("tmpfs"), dst, Some("tmpfs"), flags, Some(options)).map_err(|e| err("tmpfs", dst, e))
}

/// Builds the root under `spec.root` and pivots into it. Runs as PID 1 of the
/// environment's PID namespace, inside its new mount namespace.
pub fn assemble(spec: &JailSpec) -> io::Result<()> {
    // Nothing done here may propagate back to the host's mounts.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| err("make private", Path::new("/"), e))?;
    let root = spec.root.as_path();
    tmpfs(
        root,
        "size=1m,mode=0755",
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
    )?;

    for dir in SYSTEM_DIRS {
        let host = Path::new(dir);
        match fs::symlink_metadata(host) {
            Ok(meta) if meta.file_type().is_symlink() => {
                symlink(fs::read_link(host)?, root.join(&dir[1..]))?;
            }
            Ok(_) => bind(host, &mount_point(root, host, host)?, true)?,
            Err(_) => {}
        }
    }
    for path in &spec.ro_paths {
        // Interpreters under /usr are already there.
        if SYSTEM_DIRS.iter().any(|d| path.starts_with(d)) || !path.exists() {
            continue;
        }
        bind(path, &mount_point(root, path, path)?, true)?;
    }
    let task = Path::new("/var/task");
    bind(
        &spec.task_root,
        &mount_point(root, task, &spec.task_root)?,
        true,
    )?;
    let runtime = Path::new("/var/runtime");
    match &spec.runtime_dir {
        Some(dir) => bind(dir, &mount_point(root, runtime, dir)?, true)?,
        None => fs::create_dir_all(root.join("var/runtime"))?,
    }
    fs::create_dir_all(root.join("opt"))?;

    let tmp = root.join("tmp");
    fs::create_dir_all(&tmp)?;
    match &spec.tmp_image {
        Some(image) => disk_tmp(image, &tmp)?,
        None => tmpfs(
            &tmp,
            &format!("size={}m,mode=1777", spec.tmp_mb.max(1)),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        )?,
    }

    let proc = root.join("proc");
    fs::create_dir_all(&proc)?;
    mount(
        Some("proc"),
        &proc,
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| err("mount", &proc, e))?;

    dev(root)?;
    etc(root, spec)?;

    pivot(root)
}

/// Mounts the environment's ext4 image at `tmp` through a loop device, then unlinks
/// the image: the device keeps it alive, and the space is freed when the environment
/// ends.
fn disk_tmp(image: &Path, tmp: &Path) -> io::Result<()> {
    let (device, handle) =
        super::loopdev::attach(image).map_err(|e| err("loop device for", image, e))?;
    mount(
        Some(device.as_path()),
        tmp,
        Some("ext4"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        None::<&str>,
    )
    .map_err(|e| err("mount", &device, e))?;
    // The mount holds the device now; from here it detaches when unmounted.
    drop(handle);
    fs::remove_file(image)
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

/// A synthetic `/etc`: the host's harmless files, and Lambda-like identity files.
fn etc(root: &Path, spec: &JailSpec) -> io::Result<()> {
    let etc = root.join("etc");
    fs::create_dir_all(&etc)?;
    for file in ETC_FILES {
        let host = Path::new(file);
        if host.exists() {
            bind(host, &mount_point(root, host, host)?, true)?;
        }
    }
    let files = [
        (
            "passwd",
            format!(
                "root:x:0:0:root:/root:/sbin/nologin\nsbx_user:x:{}:{}::/tmp:/sbin/nologin\n",
                spec.uid, spec.gid
            ),
        ),
        ("group", format!("root:x:0:\nsbx_user:x:{}:\n", spec.gid)),
        ("hosts", "127.0.0.1 localhost\n::1 localhost\n".to_string()),
        ("hostname", format!("{}\n", spec.hostname)),
        ("resolv.conf", String::new()),
    ];
    for (name, body) in files {
        let path = etc.join(name);
        fs::write(&path, body)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
    }
    Ok(())
}

/// Makes `root` the root and drops every mount of the host from this namespace.
fn pivot(root: &Path) -> io::Result<()> {
    let old = root.join(".old-root");
    fs::create_dir_all(&old)?;
    nix::unistd::pivot_root(root, &old).map_err(|e| err("pivot_root", root, e))?;
    nix::unistd::chdir("/").map_err(|e| err("chdir", Path::new("/"), e))?;
    umount2("/.old-root", MntFlags::MNT_DETACH)
        .map_err(|e| err("umount", Path::new("/.old-root"), e))?;
    fs::remove_dir("/.old-root")?;
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
