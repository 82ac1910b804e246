//! Each environment's `/tmp` as a disk of its own: a sparse ext4 image on a loop device,
//! mounted by Hearth as a detached mount that the environment attaches.
//!
//! A disk the environment never changed is used again: Hearth keeps a second detached
//! mount of each file system, and once every process of the environment is gone it
//! checks that the root directory's change time and the free block and inode counts
//! are still what they were when it was made (mounted `noatime`, so reading leaves no
//! trace). Any change at all, even a file made and removed, retires the disk. Setting
//! one up and removing it (image, loop device, mount, unmount, freeing the image's
//! blocks) is most of what a `/tmp` costs, and most functions never write there.
//!
//! Making a file system spawns four e2fsprogs tools (tens of milliseconds), so each
//! size is made once as a template ([`loopdev::make_image`]) whose few written
//! extents (about 128 KiB for 512 MiB) are kept in memory; an environment's image is a
//! sparse file with those extents written back, which takes well under a millisecond
//! and is the same file system, byte for byte, with the same "exactly N MiB usable"
//! reserve. The image is unlinked as soon as the loop device holds it, so nothing is
//! left on disk once the environment's mount namespace (the last user of the file
//! system) goes away and the device detaches itself.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use nix::unistd::{lseek, Whence};
use rustix::mount::{
    fsconfig_create, fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen, open_tree,
    FsMountFlags, FsOpenFlags, MountAttrFlags, OpenTreeFlags,
};

use super::loopdev;

/// Sizes whose templates are kept; functions use a handful at most.
const MAX_TEMPLATES: usize = 16;
/// Unused disks kept for reuse, per size.
const MAX_SPARE: usize = 32;

/// The written parts of a freshly made image; everything else is a hole (zeros).
struct Template {
    len: u64,
    extents: Vec<(u64, Vec<u8>)>,
}

/// A size's template, once made.
type TemplateSlot = Mutex<Option<Arc<Template>>>;

/// Makes `/tmp` file systems under one directory.
pub struct TmpDisks {
    dir: PathBuf,
    uid: u32,
    gid: u32,
    /// One slot per size; its lock is held while that size's template is made, so
    /// concurrent first uses make it once.
    templates: Mutex<BTreeMap<u64, Arc<TemplateSlot>>>,
    /// Disks returned unchanged, by size.
    spare: Mutex<BTreeMap<u64, Vec<TmpDisk>>>,
}

/// A `/tmp` file system Hearth keeps while an environment uses it, to use it again if
/// the environment left it as it was.
pub struct TmpDisk {
    mb: u64,
    /// A detached mount of the file system, never attached anywhere.
    keep: OwnedFd,
    pristine: Snapshot,
}

/// What any change to the file system would alter.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    ctime: (i64, i64),
    mtime: (i64, i64),
    free_blocks: u64,
    free_inodes: u64,
}

impl Snapshot {
    fn of(mount: &OwnedFd) -> io::Result<Self> {
        let st = rustix::fs::fstat(mount)?;
        let vfs = rustix::fs::fstatvfs(mount)?;
        Ok(Snapshot {
            ctime: (st.st_ctime as i64, st.st_ctime_nsec as i64),
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            free_blocks: vfs.f_bfree,
            free_inodes: vfs.f_ffree,
        })
    }
}

/// A new detached mount of the same file system as `mount`.
pub(super) fn clone_mount(mount: &OwnedFd) -> io::Result<OwnedFd> {
    Ok(open_tree(
        mount,
        "",
        OpenTreeFlags::OPEN_TREE_CLONE
            | OpenTreeFlags::OPEN_TREE_CLOEXEC
            | OpenTreeFlags::AT_EMPTY_PATH,
    )?)
}

impl TmpDisks {
    /// Images are made in `dir` (on the host's disk, where they take only the space
    /// their files use) with their root directory owned by `uid:gid`. Images a previous
    /// run left behind are removed.
    pub fn new(dir: PathBuf, uid: u32, gid: u32) -> io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "img") {
                let _ = std::fs::remove_file(path);
            }
        }
        Ok(Self {
            dir,
            uid,
            gid,
            templates: Mutex::new(BTreeMap::new()),
            spare: Mutex::new(BTreeMap::new()),
        })
    }

    /// An empty ext4 file system in which the function can write exactly `mb` MiB,
    /// mounted nosuid, nodev and noatime but attached nowhere yet (to hand to the
    /// environment), and the disk to [give back](Self::give_back) once the environment
    /// is gone. The disk is `None` when the kernel cannot clone a detached mount (before
    /// Linux 6.15); such file systems are not reused.
    pub fn take(&self, name: &str, mb: u64) -> io::Result<(OwnedFd, Option<TmpDisk>)> {
        let spare = self
            .spare
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&mb)
            .and_then(Vec::pop);
        if let Some(disk) = spare {
            if let Ok(mount) = clone_mount(&disk.keep) {
                return Ok((mount, Some(disk)));
            }
        }
        let template = self.template(mb)?;
        let image = self.dir.join(format!("{name}.img"));
        let made = write_image(&image, &template).and_then(|()| mount_image(&image));
        // The loop device holds the file now (or nothing does, on failure).
        let _ = std::fs::remove_file(&image);
        let keep = made?;
        let pristine = Snapshot::of(&keep)?;
        match clone_mount(&keep) {
            Ok(mount) => Ok((mount, Some(TmpDisk { mb, keep, pristine }))),
            Err(_) => Ok((keep, None)),
        }
    }

    /// Takes back a disk whose environment's processes are all gone: kept for another
    /// environment if nothing changed on it, else released (the loop device detaches
    /// once the environment's mount namespace is gone too).
    pub fn give_back(&self, disk: TmpDisk) {
        if Snapshot::of(&disk.keep).ok().as_ref() != Some(&disk.pristine) {
            return;
        }
        let mut spare = self.spare.lock().unwrap_or_else(|p| p.into_inner());
        let list = spare.entry(disk.mb).or_default();
        if list.len() < MAX_SPARE {
            list.push(disk);
        }
    }

    fn template(&self, mb: u64) -> io::Result<Arc<Template>> {
        let slot = {
            let mut all = self.templates.lock().unwrap_or_else(|p| p.into_inner());
            if !all.contains_key(&mb) && all.len() >= MAX_TEMPLATES {
                // Rare sizes come and go; the default one is made again when needed.
                if let Some(&evict) = all.keys().find(|&&k| k != mb) {
                    all.remove(&evict);
                }
            }
            all.entry(mb).or_default().clone()
        };
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = slot.as_ref() {
            return Ok(t.clone());
        }
        let path = self.dir.join(format!("template-{mb}.img"));
        let made =
            loopdev::make_image(&path, mb, self.uid, self.gid).and_then(|()| read_extents(&path));
        let _ = std::fs::remove_file(&path);
        let template = Arc::new(made?);
        *slot = Some(template.clone());
        Ok(template)
    }
}

/// Reads the data extents of the sparse file at `path` (SEEK_DATA / SEEK_HOLE), leaving
/// out blocks of zeros, which a hole reads back as.
fn read_extents(path: &Path) -> io::Result<Template> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut extents: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut pos = 0u64;
    while pos < len {
        let data = match lseek(&file, offset(pos)?, Whence::SeekData) {
            Ok(d) => d as u64,
            // No data after `pos`.
            Err(nix::Error::ENXIO) => break,
            Err(e) => return Err(e.into()),
        };
        let hole = lseek(&file, offset(data)?, Whence::SeekHole)? as u64;
        let mut buf = vec![0u8; usize::try_from(hole - data).map_err(io::Error::other)?];
        file.read_exact_at(&mut buf, data)?;
        const BLOCK: usize = 4096;
        for (i, block) in buf.chunks(BLOCK).enumerate() {
            if block.iter().any(|&b| b != 0) {
                let at = data + (i * BLOCK) as u64;
                match extents.last_mut() {
                    Some((start, bytes)) if *start + bytes.len() as u64 == at => {
                        bytes.extend_from_slice(block)
                    }
                    _ => extents.push((at, block.to_vec())),
                }
            }
        }
        pos = hole;
    }
    Ok(Template { len, extents })
}

fn offset(pos: u64) -> io::Result<i64> {
    i64::try_from(pos).map_err(io::Error::other)
}

fn write_image(path: &Path, template: &Template) -> io::Result<()> {
    let file = File::create(path)?;
    file.set_len(template.len)?;
    for (at, bytes) in &template.extents {
        file.write_all_at(bytes, *at)?;
    }
    Ok(())
}

/// Attaches `image` to a loop device and mounts it, detached.
fn mount_image(image: &Path) -> io::Result<OwnedFd> {
    let (device, handle) = loopdev::attach(image)?;
    let fs = fsopen("ext4", FsOpenFlags::FSOPEN_CLOEXEC)?;
    fsconfig_set_string(&fs, "source", &device)?;
    // The inode tables of a sparse image read as zeros already; without this the
    // kernel's lazy-init thread would write zeros over them, filling the file.
    fsconfig_set_flag(&fs, "noinit_itable")?;
    // Scratch space: nothing on it must survive a crash, so no cache flushes (each one
    // reaches the host's disk through the loop device).
    fsconfig_set_flag(&fs, "nobarrier")?;
    fsconfig_create(&fs)?;
    let mount = fsmount(
        &fs,
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::MOUNT_ATTR_NOSUID
            | MountAttrFlags::MOUNT_ATTR_NODEV
            | MountAttrFlags::MOUNT_ATTR_NOATIME,
    )?;
    // The file system holds the device now; it detaches (autoclear) when unmounted.
    drop(handle);
    Ok(mount)
}

/// Whether making a disk failed for want of room in the data directory: the caller then
/// gives the environment a tmpfs `/tmp` instead, so that invocations keep working on a
/// full disk.
pub fn no_space(e: &io::Error) -> bool {
    e.raw_os_error() == Some(nix::libc::ENOSPC) || e.to_string().contains("No space left on device")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_privileges;

    /// Whether the host has what the jail's `/tmp` disks need (else skipped or failed,
    /// see [`test_privileges::require`]).
    fn needs_loop_devices() -> bool {
        test_privileges::require(
            "root, /dev/loop-control and mkfs.ext4",
            test_privileges::is_root() && loopdev::available(),
        )
    }

    /// Attaches a detached mount (as the jail's PID 1 does) at `target`.
    fn attach(mount: &OwnedFd, target: &Path) {
        rustix::mount::move_mount(
            mount,
            "",
            rustix::fs::CWD,
            target,
            rustix::mount::MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
        )
        .expect("attach");
    }

    #[test]
    fn clones_mount_empty_with_exactly_their_size() {
        if !needs_loop_devices() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let disks = TmpDisks::new(dir.path().join("images"), 993, 990).expect("disks");
        for (name, mb) in [("a", 64), ("b", 64), ("c", 80)] {
            let (mount, _) = disks.take(name, mb).expect("make");
            let target = dir.path().join(name);
            std::fs::create_dir(&target).expect("mkdir");
            attach(&mount, &target);
            std::fs::write(target.join("probe"), b"x").expect("writable");
            std::fs::remove_file(target.join("probe")).expect("remove");
            let meta = std::fs::metadata(&target);
            let stat = nix::sys::statvfs::statvfs(&target);
            let entries = std::fs::read_dir(&target).map(|d| d.count());
            let _ = nix::mount::umount(&target);
            use std::os::unix::fs::MetadataExt;
            assert_eq!(meta.expect("stat").uid(), 993);
            let stat = stat.expect("statvfs");
            // Exactly the size for everyone but root.
            assert_eq!(stat.blocks_available() * stat.fragment_size(), mb << 20);
            assert_eq!(entries.expect("read_dir"), 0, "/tmp starts empty");
        }
        // Images are unlinked once their device holds them.
        let left = std::fs::read_dir(dir.path().join("images"))
            .expect("ls")
            .count();
        assert_eq!(left, 0);
    }

    #[test]
    fn only_untouched_disks_are_used_again() {
        if !needs_loop_devices() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let disks = TmpDisks::new(dir.path().join("images"), 993, 990).expect("disks");
        // Clones of one template share a UUID: tell file systems apart by device.
        let fsid = |fd: &OwnedFd| rustix::fs::fstat(fd).expect("stat").st_dev;
        // Used by an environment as its /tmp: attached, then gone with its namespace.
        let use_it = |mount: OwnedFd, write: bool| {
            let target = dir.path().join("mnt");
            std::fs::create_dir_all(&target).expect("mkdir");
            attach(&mount, &target);
            drop(mount);
            let _ = std::fs::read_dir(&target).map(|d| d.count());
            if write {
                std::fs::write(target.join("f"), b"secret").expect("write");
                std::fs::remove_file(target.join("f")).expect("remove");
            }
            // Another test of this binary forking meanwhile holds copies of the mount's
            // file descriptors until its child execs: the mount is busy that long.
            let start = std::time::Instant::now();
            loop {
                match nix::mount::umount(&target) {
                    Err(nix::Error::EBUSY)
                        if start.elapsed() < std::time::Duration::from_secs(5) =>
                    {
                        std::thread::sleep(std::time::Duration::from_millis(5))
                    }
                    done => break done.expect("umount"),
                }
            }
        };
        let spares = || {
            disks
                .spare
                .lock()
                .expect("lock")
                .get(&64)
                .map_or(0, Vec::len)
        };
        let (mount, disk) = disks.take("a", 64).expect("take");
        let first = fsid(&mount);
        use_it(mount, false);
        disks.give_back(disk.expect("this kernel clones detached mounts"));
        assert_eq!(spares(), 1, "an untouched disk is kept");
        let (mount, disk) = disks.take("b", 64).expect("take");
        assert_eq!(fsid(&mount), first, "and used again");
        assert_eq!(spares(), 0);
        use_it(mount, true);
        disks.give_back(disk.expect("kept"));
        assert_eq!(spares(), 0, "a disk written to is not used again");
    }
}
