//! Attaching a file to a loop device, so that an environment's `/tmp` is a real disk
//! file system of exactly its size, as on Lambda: a tmpfs would be charged to the
//! function's memory instead. The device is configured to detach itself (autoclear)
//! when its file system is unmounted, which happens once no mount of it is left (see
//! `tmpdisk.rs`, which also makes each size's image once, with [`make_image`], and
//! copies it for every environment).

// Unsafe code is allowed here, and only here: the loop-device ioctls take C structs;
// each use says why it is sound.
#![allow(unsafe_code)]

use std::fs::OpenOptions;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
const LOOP_CONFIGURE: libc::c_ulong = 0x4C0A;
const LO_FLAGS_AUTOCLEAR: u32 = 4;

/// `struct loop_info64` from `<linux/loop.h>`.
#[repr(C)]
struct LoopInfo64 {
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; 64],
    lo_crypt_name: [u8; 64],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
}

/// `struct loop_config` from `<linux/loop.h>` (Linux 5.8).
#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

/// Attaches `image` to a free loop device that detaches itself once unused; returns
/// the device's path and an open handle. Autoclear acts on the last close, so the
/// caller keeps the handle until the device is mounted, then drops it.
pub fn attach(image: &Path) -> io::Result<(PathBuf, std::fs::File)> {
    let control = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/loop-control")?;
    let file = OpenOptions::new().read(true).write(true).open(image)?;
    // Another environment may take the device we were offered: ask again.
    for _ in 0..32 {
        // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns a device number.
        let n = unsafe { libc::ioctl(control.as_raw_fd(), LOOP_CTL_GET_FREE) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let path = PathBuf::from(format!("/dev/loop{n}"));
        let device = OpenOptions::new().read(true).write(true).open(&path)?;
        // SAFETY: all-zero bytes are a valid value of this plain C struct.
        let mut config: LoopConfig = unsafe { std::mem::zeroed() };
        config.fd = u32::try_from(file.as_raw_fd()).map_err(io::Error::other)?;
        config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
        // SAFETY: `device` is an open loop device and `config` a valid `loop_config`
        // that the kernel only reads.
        let rc = unsafe { libc::ioctl(device.as_raw_fd(), LOOP_CONFIGURE, &config) };
        if rc == 0 {
            return Ok((path, device));
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EBUSY) {
            return Err(e);
        }
    }
    Err(io::Error::other("no free loop device"))
}

/// Makes a sparse ext4 image in which an unprivileged user can write exactly `mb` MiB,
/// with its root directory owned by `uid:gid`. The file is a little larger than `mb`
/// for the file system's own metadata, and what is left over beyond `mb` is reserved
/// (reserved blocks bind every user but root; functions never run as root). No
/// journal, few inodes, lazy initialisation; four e2fsprogs runs, so tens of
/// milliseconds: made once per size, as a template.
pub fn make_image(path: &Path, mb: u64, uid: u32, gid: u32) -> io::Result<()> {
    let file = std::fs::File::create(path)?;
    file.set_len((mb + mb / 32 + 4) * 1024 * 1024)?;
    drop(file);
    let owner = format!("lazy_itable_init=1,lazy_journal_init=1,root_owner={uid}:{gid}");
    let made = tool(
        "mkfs.ext4",
        &[
            "-q",
            "-F",
            "-m",
            "0",
            "-i",
            "65536",
            "-O",
            "^has_journal,^resize_inode",
            "-E",
            &owner,
        ],
        path,
    )
    .and_then(|_| {
        // Lambda's /tmp starts empty: no lost+found (and its blocks count as free).
        tool("debugfs", &["-w", "-R", "rmdir lost+found"], path)?;
        let header = tool("dumpe2fs", &["-h"], path)?;
        let field = |name: &str| -> io::Result<u64> {
            header
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| io::Error::other(format!("dumpe2fs printed no {name}")))
        };
        let free = field("Free blocks:")?;
        let block = field("Block size:")?;
        let count = field("Block count:")?;
        // The kernel keeps 2% of the blocks (at most 4096) for its own use.
        let kernel = (count / 50).min(4096);
        let wanted = mb * 1024 * 1024 / block + kernel;
        if free < wanted {
            return Err(io::Error::other(format!(
                "{free} free blocks, {wanted} needed"
            )));
        }
        tool("tune2fs", &["-r", &(free - wanted).to_string()], path).map(drop)
    });
    if made.is_err() {
        let _ = std::fs::remove_file(path);
    }
    made
}

/// Runs an e2fsprogs tool on `path`; its standard output, or an error with its message.
fn tool(program: &str, args: &[&str], path: &Path) -> io::Result<String> {
    let out = std::process::Command::new(program)
        .args(args)
        .arg(path)
        .stdin(std::process::Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether this host can give environments a disk-backed `/tmp`.
pub fn available() -> bool {
    Path::new("/dev/loop-control").exists()
        && std::process::Command::new("mkfs.ext4")
            .arg("-V")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_privileges;

    #[test]
    fn image_attaches_and_mounts() {
        if !test_privileges::require(
            "root, /dev/loop-control and mkfs.ext4",
            test_privileges::is_root() && available(),
        ) {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let image = dir.path().join("t.img");
        make_image(&image, 64, 993, 990).expect("image");
        let (device, handle) = attach(&image).expect("attach");
        let target = dir.path().join("mnt");
        std::fs::create_dir(&target).expect("mkdir");
        let mounted = nix::mount::mount(
            Some(device.as_path()),
            &target,
            Some("ext4"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        );
        drop(handle);
        let meta = std::fs::metadata(&target);
        let stat = nix::sys::statvfs::statvfs(&target);
        let entries = std::fs::read_dir(&target).map(|d| d.count());
        let _ = nix::mount::umount(&target);
        mounted.expect("mount");
        use std::os::unix::fs::MetadataExt;
        assert_eq!(meta.expect("stat").uid(), 993);
        let stat = stat.expect("statvfs");
        // Exactly 64 MiB for everyone but root.
        assert_eq!(stat.blocks_available() * stat.fragment_size(), 64 << 20);
        assert_eq!(entries.expect("read_dir"), 0, "/tmp starts empty");
    }
}
