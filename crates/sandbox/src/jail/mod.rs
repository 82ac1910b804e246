//! The `jail` backend: each environment in its own mount, PID, IPC, UTS, cgroup and
//! network namespaces, under cgroup limits (memory, CPU in proportion to memory,
//! pids), on a read-only root assembled from what the runtime needs, as an
//! unprivileged user with no capabilities, `no_new_privs` and a seccomp filter.
//!
//! Environments are made ahead of need (`pool.rs`, `slot.rs`) by a few refill threads:
//! Hearth starts `hearth __jail-init` ([`init::main`]), which joins its cgroup and
//! network namespace, builds the generic root, forks the runtime's process, drops its
//! privileges and waits. A claim ([`JailSandbox::spawn`]) then only hands over the
//! function's directories as mounts and the command to exec (`handoff.rs`). See
//! `init.rs` for the process tree, and `examples/jail_bench.rs` to measure it.

pub mod cgroup;
pub mod egress;
mod handoff;
mod images;
pub mod init;
mod loopdev;
mod mounts;
mod netns;
mod pool;
pub mod seccomp;
mod slot;
mod spec;
pub mod sweep;
mod teardown;
mod tmpdisk;
mod zygote;

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use netns::{AWS_API_ADDR, RUNTIME_API_ADDR};
pub use spec::{Bind, Claim, Enter, Exec, ExtensionExec, Fork, Forked, Tmp, INIT_ARG, READY};

use crate::{GuestPaths, Instance, Prepared, Sandbox, SandboxError, SandboxSpec, SpawnNow};
use cgroup::Limits;
use pool::Pool;
use slot::{Maker, Slot, SlotParts};
use teardown::JailResources;

/// Lambda runs functions as an unprivileged user (`sbx_user1051`, uid 993).
const SANDBOX_UID: u32 = 993;
const SANDBOX_GID: u32 = 990;
/// `/tmp` size made ahead: Lambda's default `EphemeralStorage`.
const DEFAULT_TMP_MB: u64 = 512;

/// The jail backend. Needs root (or the equivalent capabilities) on the host.
pub struct JailSandbox {
    maker: Arc<Maker>,
    pool: Arc<Pool>,
    /// Code and runtime clients as file systems of their own (`images.rs`), when the
    /// host has loop devices and e2fsprogs.
    images: Option<images::DirImages>,
}

pub use egress::EgressConfig;

impl std::fmt::Debug for JailSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JailSandbox")
            .field("exe", &self.maker.exe)
            .field("cgroups", &self.maker.cgroups.version())
            .finish()
    }
}

fn jail_err(what: &str, e: &dyn std::fmt::Display) -> SandboxError {
    SandboxError::Jail(format!("{what}: {e}"))
}

impl JailSandbox {
    /// Checks the host can jail, finds the cgroup hierarchy, removes what an earlier
    /// server on the same `work_dir` left behind (`sweep.rs`; the caller holds the data
    /// directory's lock), and starts keeping environments ready. `work_dir` holds the
    /// root mount points and `/tmp` images.
    /// Must be called inside the tokio runtime.
    ///
    /// With `egress`, environments get outbound networking (`egress/`); should the host
    /// not allow it, a warning says why and environments have loopback only.
    pub fn new(
        exe: PathBuf,
        work_dir: &Path,
        egress: Option<&EgressConfig>,
    ) -> Result<Self, SandboxError> {
        if !nix::unistd::geteuid().is_root() {
            return Err(SandboxError::Jail(
                "the jail sandbox needs root (namespaces, mounts, cgroups); run as root or use --sandbox process".into(),
            ));
        }
        // Every environment assembles its root on this one empty directory, each in its
        // own mount namespace; `roots` held one directory per environment before and is
        // only swept now.
        let roots = work_dir.join("roots");
        let root = work_dir.join("root");
        std::fs::create_dir_all(&root).map_err(|e| jail_err(&root.display().to_string(), &e))?;
        // A base of this data directory's own: the sweep below must never reach another
        // server's environments.
        let base = sweep::cgroup_base(work_dir)
            .map_err(|e| jail_err(&work_dir.display().to_string(), &e))?;
        let cgroups = cgroup::detect_named(&base).map_err(|e| jail_err("cgroups", &e))?;
        let swept = sweep::sweep(cgroups.as_ref(), &roots);
        // Empty now unless the sweep failed (which it warns about below).
        let _ = std::fs::remove_dir(&roots);
        if swept.cgroups + swept.roots > 0 {
            tracing::info!(
                cgroups = swept.cgroups,
                roots = swept.roots,
                "removed what an earlier server on this data directory left behind"
            );
        }
        for failure in &swept.failures {
            tracing::warn!(%failure, "could not remove a leftover of an earlier server");
        }
        tracing::info!(bases = ?cgroups.bases(), "environment cgroups");
        let seccomp = seccomp::filter()
            .map_err(|e| jail_err("seccomp", &e))?
            .to_compiled();
        let egress = egress.and_then(|config| match egress::Egress::start(config, work_dir) {
            Ok(e) => Some(e),
            Err(e) => {
                tracing::warn!(error = %e, "NO FUNCTION EGRESS: environments have loopback only, whatever their egress policy");
                None
            }
        });
        let resolvers = egress
            .as_ref()
            .map(|e| e.resolvers().to_vec())
            .unwrap_or_default();
        let etc = work_dir.join("etc");
        mounts::build_etc(&etc, SANDBOX_UID, SANDBOX_GID, slot::HOSTNAME, &resolvers)
            .map_err(|e| jail_err(&etc.display().to_string(), &e))?;
        let disks = if loopdev::available() {
            let dir = work_dir.join("tmp");
            Some(Arc::new(
                tmpdisk::TmpDisks::new(dir.clone(), SANDBOX_UID, SANDBOX_GID)
                    .map_err(|e| jail_err(&dir.display().to_string(), &e))?,
            ))
        } else {
            tracing::warn!(
                "no loop devices or mkfs.ext4 (e2fsprogs): /tmp will be a tmpfs, which counts against each function's memory"
            );
            None
        };
        let images = match &disks {
            Some(_) => {
                let dir = work_dir.join("images");
                Some(
                    images::DirImages::new(dir.clone())
                        .map_err(|e| jail_err(&dir.display().to_string(), &e))?,
                )
            }
            None => None,
        };
        let zygote = zygote::Zygote::start(exe.clone())
            .map_err(|e| jail_err("cannot start the jail's zygote", &e))?;
        let maker = Arc::new(Maker {
            zygote,
            exe,
            root,
            etc,
            disks,
            cgroups: Arc::from(cgroups),
            seccomp,
            egress,
        });
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| jail_err("the jail needs a tokio runtime", &e))?;
        let pool = Pool::start(maker.clone(), runtime);
        Ok(Self {
            maker,
            pool,
            images,
        })
    }

    /// Environments ready now and how many the pool aims to keep, for measurements.
    pub fn pool_stats(&self) -> (usize, usize) {
        self.pool.stats()
    }

    /// Whether a claim of `prepared` for `spec` does only quick system calls (cgroup
    /// writes, cloning mounts, a message to the environment): nothing that makes a
    /// `/tmp` disk or an image, waits for another claim making one, or runs `nft` for
    /// another egress policy. Code whose image is made meanwhile is mounted all the same.
    fn spawns_at_once(&self, spec: &SandboxSpec, prepared: &Prepared) -> bool {
        let Some(parts) = prepared
            .keep
            .as_ref()
            .and_then(|k| k.downcast_ref::<Slot>())
            .and_then(|slot| slot.parts.as_ref())
        else {
            return false;
        };
        let tmp_as_made = match parts.tmp {
            Tmp::Disk { mb } => mb == spec.ephemeral_storage_mb,
            Tmp::Tmpfs { .. } => true,
        };
        let policy_as_made = parts
            .netns
            .lease
            .as_ref()
            .is_none_or(|lease| lease.has(&spec.egress));
        let images_made = self.images.as_ref().is_none_or(|images| {
            [
                Some(&spec.task_root),
                spec.runtime_dir.as_ref(),
                spec.opt_dir.as_ref(),
            ]
            .into_iter()
            .flatten()
            .all(|dir| images.is_kept(dir))
        });
        tmp_as_made && policy_as_made && images_made
    }

    /// The function's read-only mounts (detached here, attached inside) and where
    /// they go.
    fn binds(&self, spec: &SandboxSpec) -> Result<(Vec<Bind>, Vec<OwnedFd>), SandboxError> {
        let mut binds = Vec::new();
        let mut fds = Vec::new();
        // The code, the runtime client and the layers as file systems of their own, so
        // that their mounts do not show the host's paths; bound as they are should that
        // fail.
        let mut own = vec![(spec.task_root.clone(), PathBuf::from("/var/task"))];
        if let Some(dir) = &spec.runtime_dir {
            own.push((dir.clone(), PathBuf::from("/var/runtime")));
        }
        // The function's layers, composed once on the host, at Lambda's `/opt`.
        if let Some(dir) = &spec.opt_dir {
            own.push((dir.clone(), PathBuf::from("/opt")));
        }
        let mut wanted = Vec::new();
        for (host, target) in own {
            match self.images.as_ref().map(|i| i.mount(&host)) {
                Some(Ok(fd)) => {
                    fds.push(fd);
                    binds.push(Bind { target, dir: true });
                }
                Some(Err(e)) => {
                    tracing::warn!(dir = %host.display(), error = %e, "cannot make an image; binding the directory");
                    wanted.push((host, target));
                }
                None => wanted.push((host, target)),
            }
        }
        for path in &spec.ro_paths {
            // Interpreters under /usr are there already.
            if mounts::SYSTEM_DIRS.iter().any(|d| path.starts_with(d)) || !path.exists() {
                continue;
            }
            wanted.push((path.clone(), path.clone()));
        }
        for (host, target) in wanted {
            fds.push(handoff::clone_tree(&host).map_err(|e| jail_err("mount", &e))?);
            binds.push(Bind {
                target,
                dir: host.is_dir(),
            });
        }
        Ok((binds, fds))
    }
}

/// The external extensions of the spec's `opt_dir`, as the jail shows them at
/// `/opt/extensions/` (where the composed layers are mounted).
fn extension_execs(spec: &SandboxSpec) -> Vec<ExtensionExec> {
    let names = crate::extensions::list(spec.opt_dir.as_deref());
    if names.is_empty() {
        return Vec::new();
    }
    let env = crate::extensions::environment(&spec.env);
    names
        .into_iter()
        .map(|name| ExtensionExec {
            program: PathBuf::from("/opt/extensions").join(name),
            env: env.clone(),
        })
        .collect()
}

impl Drop for JailSandbox {
    fn drop(&mut self) {
        // Stops the workers and frees the ready environments. Environments still in use
        // end with the workers' threads, which started them (parent-death signal).
        self.pool.close(false);
    }
}

impl Sandbox for JailSandbox {
    fn name(&self) -> &'static str {
        "jail"
    }

    fn guest_paths(&self) -> GuestPaths {
        GuestPaths::Lambda
    }

    fn shutdown(&self) {
        self.pool.close(true);
        teardown::wait_for_teardowns(Duration::from_secs(10));
        // This data directory's (now empty) cgroup base; the shared `hearth` above it
        // stays. An environment still there keeps it, for the next start's sweep.
        if let Err(e) = self.maker.cgroups.remove_base() {
            tracing::debug!(error = %e, "cgroup base not removed");
        }
        if let Some(egress) = &self.maker.egress {
            egress.close();
        }
    }

    /// Started by the runtime's process before it execs the runtime (see `init`); their
    /// programs are found at `/opt/extensions/` only where `opt_dir` is mounted at `/opt`.
    fn starts_extensions(&self) -> bool {
        true
    }

    fn enforces_egress(&self) -> bool {
        self.maker.egress.is_some()
    }

    fn prepare(&self) -> Result<Prepared, SandboxError> {
        prepared_from(self.pool.take()?)
    }

    fn prepare_now(&self) -> Option<Result<Prepared, SandboxError>> {
        self.pool.try_take().map(prepared_from)
    }

    fn spawn_now(&self, spec: &SandboxSpec, prepared: Prepared) -> SpawnNow {
        if self.spawns_at_once(spec, &prepared) {
            SpawnNow::Done(self.spawn(spec, prepared))
        } else {
            SpawnNow::Later(prepared)
        }
    }

    fn spawn(&self, spec: &SandboxSpec, prepared: Prepared) -> Result<Instance, SandboxError> {
        let mut slot = prepared
            .keep
            .and_then(|k| k.downcast::<Slot>().ok())
            .ok_or_else(|| SandboxError::Jail("environment was not prepared by the jail".into()))?;
        // Taken out, the parts are this environment's; the slot's Drop does nothing now.
        let parts = slot
            .parts
            .take()
            .ok_or_else(|| SandboxError::Jail("environment already used".into()))?;
        let SlotParts {
            id,
            netns,
            cgroup,
            child,
            output,
            control,
            tmp,
            tmp_disk,
        } = parts;
        // The policy's elements before the function runs; removed with the lease.
        if let Some(lease) = &netns.lease {
            lease
                .apply(&spec.egress)
                .map_err(|e| jail_err("egress policy", &e))?;
        }
        let limits = Limits::for_memory_mb(spec.memory_mb);
        // Like Lambda, init runs with a whole CPU whatever the memory size; the
        // function's share applies from its first event on. Environments wait under
        // the smallest function's memory with init's CPU (`waiting_limits`), so a claim
        // writes only what its function changes: most often the memory limit alone.
        let init_limits = Limits {
            cpu_millis: limits.cpu_millis.max(slot::INIT_CPU_MILLIS),
            ..limits
        };
        // From here on, returning early removes everything (the init process is killed
        // when its handle drops).
        let mut resources = JailResources {
            cgroup: cgroup.clone(),
            cpu_millis: (limits.cpu_millis != init_limits.cpu_millis).then_some(limits.cpu_millis),
            netns: Some(netns),
            tmp: self
                .maker
                .disks
                .clone()
                .map(|d| (d, tmp_disk.into_iter().collect())),
        };
        // A size other than the one made ahead: a disk of that size (kept ones are used
        // again) replaces it, or the tmpfs is resized.
        let tmp_mb = spec.ephemeral_storage_mb;
        let mut new_tmp = None;
        let mut tmp_fd = None;
        match tmp {
            Tmp::Disk { mb } | Tmp::Tmpfs { mb } if mb == tmp_mb => {}
            Tmp::Disk { .. } => {
                if let Some((disks, back)) = &mut resources.tmp {
                    match disks.take(&format!("{id}-claim"), tmp_mb) {
                        Ok((mount, disk)) => {
                            tmp_fd = Some(mount);
                            back.extend(disk);
                            new_tmp = Some(Tmp::Disk { mb: tmp_mb });
                        }
                        // A full data directory: a tmpfs, rather than no environment.
                        Err(e) if tmpdisk::no_space(&e) => {
                            tracing::warn!("no room for a /tmp disk in the data directory: this environment's /tmp is a tmpfs");
                            new_tmp = Some(Tmp::Tmpfs { mb: tmp_mb });
                        }
                        Err(e) => return Err(jail_err("/tmp", &e)),
                    }
                }
            }
            Tmp::Tmpfs { .. } => new_tmp = Some(Tmp::Tmpfs { mb: tmp_mb }),
        }
        let mut instance = Instance::adopted(child, output, Some(Box::new(resources)));
        cgroup
            .change_limits(&slot::waiting_limits(), &init_limits)
            .map_err(|e| jail_err("cgroup", &e))?;
        let (binds, mut fds) = self.binds(spec)?;
        fds.extend(tmp_fd);
        let extensions = extension_execs(spec);
        // The extensions write to a pipe of their own (the claim's last descriptor), so
        // that the Telemetry API can tell their lines from the runtime's.
        let extension_output = !extensions.is_empty();
        if extension_output {
            let (reader, writer) = std::io::pipe().map_err(SandboxError::Pipe)?;
            fds.push(std::os::fd::OwnedFd::from(writer));
            let reader =
                tokio::net::unix::pipe::Receiver::from_owned_fd(std::os::fd::OwnedFd::from(reader))
                    .map_err(SandboxError::Pipe)?;
            instance = instance.with_extension_output(Some(reader));
        }
        let claim = Claim {
            binds,
            tmp: new_tmp,
            hidden: spec.hidden.clone(),
            exec: Exec {
                program: spec.program.clone(),
                args: spec.args.clone(),
                env: spec.env.clone(),
                extensions,
            },
            extension_output,
        };
        handoff::send_claim(&control, &claim, &fds)
            .map_err(|e| jail_err("cannot hand the environment its function", &e))?;
        Ok(instance)
    }
}

/// The sockets a claimed spare environment's network side gives the engine (see
/// [`Prepared`]), the slot kept inside for `spawn`.
fn prepared_from(slot: Slot) -> Result<Prepared, SandboxError> {
    let netns = &slot
        .parts
        .as_ref()
        .ok_or_else(|| SandboxError::Jail("environment already used".into()))?
        .netns;
    let listener = netns.listener.try_clone().map_err(SandboxError::Network)?;
    let aws_listener = netns
        .aws_listener
        .try_clone()
        .map_err(SandboxError::Network)?;
    let xray = netns.xray.try_clone().map_err(SandboxError::Network)?;
    let connector = netns.connector().map_err(SandboxError::Network)?;
    Ok(Prepared::new(listener, Some(Box::new(slot)))
        .with_aws_listener(aws_listener)
        .with_connector(connector)
        .with_xray_socket(xray))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn extensions_are_started_from_opt_with_the_runtimes_environment_less_its_own() {
        let opt = std::env::temp_dir().join(format!("hearth-jail-ext-{}", std::process::id()));
        let dir = crate::extensions::dir(&opt);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let probe = dir.join("probe");
        std::fs::write(&probe, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let mut spec = SandboxSpec {
            program: "/var/runtime/bootstrap".into(),
            args: vec![],
            env: vec![
                ("_HANDLER".into(), "app.handler".into()),
                ("AWS_LAMBDA_RUNTIME_API".into(), "169.254.100.1:9001".into()),
            ],
            task_root: "/nonexistent".into(),
            runtime_dir: None,
            opt_dir: None,
            ro_paths: vec![],
            hidden: vec![],
            memory_mb: 128,
            ephemeral_storage_mb: 512,
            egress: Default::default(),
        };
        assert!(
            extension_execs(&spec).is_empty(),
            "no layers, no extensions"
        );
        spec.opt_dir = Some(opt.clone());
        let execs = extension_execs(&spec);
        std::fs::remove_dir_all(&opt).expect("cleanup");
        assert_eq!(execs.len(), 1);
        assert_eq!(execs[0].program, PathBuf::from("/opt/extensions/probe"));
        assert_eq!(
            execs[0].env,
            vec![(
                "AWS_LAMBDA_RUNTIME_API".to_string(),
                "169.254.100.1:9001".to_string()
            )]
        );
    }
}
