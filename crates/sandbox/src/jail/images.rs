//! The function's code and the runtime client as file systems of their own, so that
//! nothing in the environment names where they live on the host.
//!
//! A bind mount shows, in `/proc/self/mountinfo`, its root as a path inside the file
//! system it comes from: binding `<data dir>/code/<sha>` at `/var/task` would tell the
//! function the host's data-directory path. The root of a file system shows as `/`. So
//! each directory is copied, once per server and directory, into a read-only ext4 image
//! (`mkfs.ext4 -d`, sized to its contents, sparse), attached to a loop device and
//! mounted detached; every environment then gets a clone of that mount, which costs what
//! a bind did. The device detaches itself once the server (which keeps one mount of
//! each) is gone.
//!
//! An image is made once per directory as it is (a replaced directory, such as a
//! reinstalled runtime client, gets a new one) and kept in `jail/images` across
//! restarts, named by a hash of the directory's path and identity, with the path beside
//! it (`<name>.src`); making a new image, and every start, removes the images of
//! directories that are gone or were replaced. The first environment of a new code pays for the copy (mkfs writes the files
//! once: milliseconds for small code, about a second per 100 MB on a busy disk); the
//! pool makes nothing of it ahead because the code is not known then. Where this fails
//! (no loop devices or e2fsprogs), the caller binds the directory as before.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustix::mount::{
    fsconfig_create, fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen, FsMountFlags,
    FsOpenFlags, MountAttrFlags,
};

use super::loopdev;
use super::tmpdisk::clone_mount;

/// A directory as it is now: a replaced directory (an updated runtime client) is a new
/// image.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    path: PathBuf,
    dev: u64,
    ino: u64,
    ctime: (i64, i64),
}

impl Key {
    /// The image's file name for this directory as it is now.
    fn image_name(&self) -> String {
        let mut bytes = self.path.as_os_str().as_encoded_bytes().to_vec();
        for n in [self.dev, self.ino] {
            bytes.extend(n.to_le_bytes());
        }
        for n in [self.ctime.0, self.ctime.1] {
            bytes.extend(n.to_le_bytes());
        }
        format!("{:016x}.img", super::sweep::fnv1a(&bytes))
    }

    fn of(path: &Path) -> io::Result<Self> {
        let meta = fs::metadata(path)?;
        Ok(Key {
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        })
    }
}

/// One directory's image, made once: its loop device (held open, so it stays attached
/// for as long as the server runs) and a mount of it to clone.
struct Kept {
    device: PathBuf,
    _handle: fs::File,
    keep: OwnedFd,
}

impl Kept {
    /// A clone of the kept mount, or on kernels that cannot clone a detached mount
    /// (before Linux 6.15) a new mount of the same device.
    fn mount(&self) -> io::Result<OwnedFd> {
        clone_mount(&self.keep).or_else(|_| mount_device(&self.device))
    }
}

type Slot = Arc<Mutex<Option<Kept>>>;

/// Read-only images of directories, made in `dir`.
pub struct DirImages {
    dir: PathBuf,
    made: Mutex<HashMap<Key, Slot>>,
}

impl DirImages {
    /// Images are kept in `dir`. Removed there: what a server that died while making
    /// one left, and the images of directories that are gone or were replaced.
    pub fn new(dir: PathBuf) -> io::Result<Self> {
        fs::create_dir_all(&dir)?;
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if extension != "img" {
                // Partial images (`.tmp`); sources are checked with their image below.
                if extension != "src" {
                    let _ = fs::remove_file(&path);
                }
                continue;
            }
            let src = path.with_extension("src");
            let current = fs::read(&src)
                .ok()
                .map(|bytes| PathBuf::from(std::ffi::OsString::from_vec(bytes)))
                .and_then(|source| Key::of(&source).ok())
                .is_some_and(|key| path.file_name() == Some(key.image_name().as_ref()));
            if !current {
                let _ = fs::remove_file(&path);
                let _ = fs::remove_file(&src);
            }
        }
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "src") && !path.with_extension("img").exists()
            {
                let _ = fs::remove_file(&path);
            }
        }
        Ok(Self {
            dir,
            made: Mutex::new(HashMap::new()),
        })
    }

    /// A new detached, read-only mount of `host`'s contents whose root is the root of
    /// its own file system.
    pub fn mount(&self, host: &Path) -> io::Result<OwnedFd> {
        let key = Key::of(host)?;
        let image = self.dir.join(key.image_name());
        let slot = self
            .made
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default()
            .clone();
        // Held while the image is made, so concurrent first uses make it once.
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(kept) = slot.as_ref() {
            return kept.mount();
        }
        if !image.exists() {
            self.forget_gone();
            self.make(host, &image)?;
        }
        let kept = mount_image(&image)?;
        let mount = kept.mount()?;
        *slot = Some(kept);
        Ok(mount)
    }

    /// Whether `host`'s image is made and mounted already, so that [`DirImages::mount`]
    /// only clones a mount (a system call) instead of making or waiting for one.
    pub fn is_kept(&self, host: &Path) -> bool {
        let Ok(key) = Key::of(host) else {
            return false;
        };
        let slot = self
            .made
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        slot.is_some_and(|slot| slot.try_lock().is_ok_and(|kept| kept.is_some()))
    }

    /// Drops the images of directories that are gone or were replaced since (deleted
    /// code, a reinstalled runtime client), with their files: checked whenever a new
    /// image is made, so that they are bounded by the directories in use. Environments
    /// still using one keep its file system until they end (the loop device detaches
    /// then).
    fn forget_gone(&self) {
        let gone: Vec<(Key, Slot)> = {
            let mut made = self.made.lock().unwrap_or_else(|p| p.into_inner());
            let stale: Vec<Key> = made
                .keys()
                .filter(|k| Key::of(&k.path).ok().as_ref() != Some(*k))
                .cloned()
                .collect();
            stale
                .into_iter()
                .filter_map(|k| made.remove(&k).map(|slot| (k, slot)))
                .collect()
        };
        for (key, slot) in gone {
            let image = self.dir.join(key.image_name());
            let _ = fs::remove_file(&image);
            let _ = fs::remove_file(image.with_extension("src"));
            drop(slot);
        }
    }

    /// Makes `host`'s image at `image`: written under a temporary name and renamed
    /// once complete, its source's path beside it first.
    fn make(&self, host: &Path, image: &Path) -> io::Result<()> {
        let partial = image.with_extension("tmp");
        let made = make_image(&partial, host)
            .and_then(|()| fs::write(image.with_extension("src"), host.as_os_str().as_bytes()))
            .and_then(|()| fs::rename(&partial, image));
        if made.is_err() {
            let _ = fs::remove_file(&partial);
        }
        made
    }
}

/// Bytes and inodes `dir`'s tree takes on an ext4 of 4 KiB blocks, roughly from above.
fn usage(dir: &Path) -> io::Result<(u64, u64)> {
    const BLOCK: u64 = 4096;
    let (mut bytes, mut inodes) = (BLOCK, 1u64);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            inodes += 1;
            bytes += meta.len().div_ceil(BLOCK).max(1) * BLOCK;
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    Ok((bytes, inodes))
}

/// Copies `src` into a new ext4 image at `image`, sized to hold it.
fn make_image(image: &Path, src: &Path) -> io::Result<()> {
    let (bytes, inodes) = usage(src)?;
    let meta = fs::metadata(src)?;
    // Metadata (inode tables, bitmaps, extent blocks) on top of the data; a sparse file
    // takes only what mkfs writes.
    let size = bytes + bytes / 8 + inodes * 512 + 8 * 1024 * 1024;
    let file = fs::File::create(image)?;
    file.set_len(size)?;
    drop(file);
    let inode_count = (inodes + 64).to_string();
    let owner = format!("root_owner={}:{}", meta.uid(), meta.gid());
    let out = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", "-b", "4096", "-m", "0", "-N", &inode_count])
        .args(["-O", "^has_journal,^resize_inode", "-E", &owner, "-d"])
        .arg(src)
        .arg(image)
        .stdin(std::process::Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "mkfs.ext4 -d {} failed: {}",
            src.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    // mkfs makes a lost+found the directory did not have.
    if !src.join(LOST_FOUND).exists() {
        let out = std::process::Command::new("debugfs")
            .args(["-w", "-R", &format!("rmdir {LOST_FOUND}")])
            .arg(image)
            .stdin(std::process::Stdio::null())
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "debugfs rmdir {LOST_FOUND} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
    }
    Ok(())
}

const LOST_FOUND: &str = "lost+found";

/// Attaches `image` to a loop device and mounts it.
fn mount_image(image: &Path) -> io::Result<Kept> {
    let (device, handle) = loopdev::attach(image)?;
    let keep = mount_device(&device)?;
    Ok(Kept {
        device,
        _handle: handle,
        keep,
    })
}

/// Mounts the ext4 on `device` read-only, detached.
fn mount_device(device: &Path) -> io::Result<OwnedFd> {
    let fs = fsopen("ext4", FsOpenFlags::FSOPEN_CLOEXEC)?;
    fsconfig_set_string(&fs, "source", device)?;
    fsconfig_set_flag(&fs, "ro")?;
    fsconfig_create(&fs)?;
    Ok(fsmount(
        &fs,
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::MOUNT_ATTR_RDONLY
            | MountAttrFlags::MOUNT_ATTR_NOSUID
            | MountAttrFlags::MOUNT_ATTR_NODEV
            | MountAttrFlags::MOUNT_ATTR_NOATIME,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_privileges;

    #[test]
    fn a_start_keeps_only_complete_images_of_directories_as_they_are() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let images = tmp.path().join("images");
        let code = tmp.path().join("code");
        fs::create_dir_all(&images).expect("mkdir");
        fs::create_dir_all(code.join("current")).expect("mkdir");
        let current = Key::of(&code.join("current")).expect("key").image_name();
        let write = |name: &str, body: &[u8]| fs::write(images.join(name), body).expect("write");
        write(&current, b"image");
        write(
            &current.replace(".img", ".src"),
            code.join("current").as_os_str().as_bytes(),
        );
        // A deleted code's image, a replaced directory's (same path, other identity),
        // a partial one, an image without its source, a source without its image.
        write("0000000000000001.img", b"image");
        write("0000000000000001.src", b"/no/such/code");
        write("0000000000000002.img", b"image");
        write(
            "0000000000000002.src",
            code.join("current").as_os_str().as_bytes(),
        );
        write("0000000000000003.tmp", b"partial");
        write("0000000000000004.img", b"image");
        write("0000000000000005.src", b"/x");
        DirImages::new(images.clone()).expect("new");
        let mut left: Vec<String> = fs::read_dir(&images)
            .expect("list")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        left.sort();
        assert_eq!(left, [current.clone(), current.replace(".img", ".src")]);
        // The name follows the directory's identity, not only its path.
        fs::remove_dir(code.join("current")).expect("rmdir");
        fs::create_dir(code.join("current")).expect("mkdir");
        fs::write(code.join("current/x"), b"x").expect("write");
        assert_ne!(
            Key::of(&code.join("current")).expect("key").image_name(),
            current
        );
    }

    #[test]
    fn images_are_made_once_hold_the_directory_and_go_with_it() {
        if !test_privileges::require(
            "root, loop devices and mkfs.ext4",
            test_privileges::is_root() && loopdev::available(),
        ) {
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let images = DirImages::new(tmp.path().join("images")).expect("images");
        let listing = || {
            let mut names: Vec<String> = fs::read_dir(tmp.path().join("images"))
                .expect("list")
                .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
                .collect();
            names.sort();
            names
        };
        let a = tmp.path().join("a");
        fs::create_dir_all(a.join("pkg")).expect("mkdir");
        fs::write(a.join("pkg/app.py"), "x = 1\n").expect("write");
        assert!(!images.is_kept(&a), "no image made yet");
        let first = images.mount(&a).expect("mount");
        assert!(images.is_kept(&a), "made and kept");
        let read = |mount: &OwnedFd, path: &str| {
            let fd = rustix::fs::openat(
                mount,
                path,
                rustix::fs::OFlags::RDONLY,
                rustix::fs::Mode::empty(),
            )?;
            let mut buf = [0u8; 64];
            let n = rustix::io::read(&fd, &mut buf)?;
            Ok::<_, rustix::io::Errno>(String::from_utf8_lossy(&buf[..n]).into_owned())
        };
        assert_eq!(read(&first, "pkg/app.py").expect("read"), "x = 1\n");
        assert_eq!(
            read(&first, "lost+found").err(),
            Some(rustix::io::Errno::NOENT)
        );
        let made = listing();
        assert_eq!(made.len(), 2, "{made:?}");
        let second = images.mount(&a).expect("mount again");
        assert_eq!(read(&second, "pkg/app.py").expect("read"), "x = 1\n");
        assert_eq!(listing(), made, "made once");
        // Another directory's image, once the first directory is gone, replaces it.
        fs::remove_dir_all(&a).expect("rm");
        assert!(!images.is_kept(&a), "the directory is gone");
        let b = tmp.path().join("b");
        fs::create_dir_all(&b).expect("mkdir");
        assert!(!images.is_kept(&b));
        images.mount(&b).expect("mount b");
        assert!(images.is_kept(&b));
        let now = listing();
        assert_eq!(now.len(), 2, "{now:?}");
        assert!(now.iter().all(|n| !made.contains(n)), "{now:?}");
        // A mount handed out before still reads (the file system lives on until the
        // last mount goes).
        assert_eq!(read(&first, "pkg/app.py").expect("read"), "x = 1\n");
    }

    #[test]
    fn usage_counts_every_entry_in_whole_blocks() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(tmp.path().join("a/b")).expect("mkdir");
        fs::write(tmp.path().join("a/b/one"), vec![1u8; 5000]).expect("write");
        fs::write(tmp.path().join("empty"), b"").expect("write");
        let (bytes, inodes) = usage(tmp.path()).expect("usage");
        // The root, a, b, one (2 blocks), empty (counted as a block).
        assert_eq!(inodes, 5);
        assert_eq!(bytes, 4096 * (1 + 1 + 1 + 2 + 1));
    }
}
