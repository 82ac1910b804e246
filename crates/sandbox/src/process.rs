//! The `process` backend: the runtime is a plain child process in its own process
//! group. No isolation at all — for development only. The external extensions of its
//! `opt_dir` start first, each a child in its own process group, writing to one pipe of
//! their own (the engine logs it with the runtime's, and tells it apart for the Telemetry
//! API's `extension` records).

use std::path::Path;
use std::process::Stdio;

use tokio::process::Command;

use crate::extensions;
use crate::instance::{spawn_on_pipe, ExtensionProcesses};
use crate::{GuestPaths, Instance, Prepared, Sandbox, SandboxError, SandboxSpec};

/// Open files a function may have (Lambda's limit).
const FUNCTION_NOFILE: u64 = 1024;

#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessSandbox;

impl Sandbox for ProcessSandbox {
    fn name(&self) -> &'static str {
        "process"
    }

    fn guest_paths(&self) -> GuestPaths {
        GuestPaths::Host
    }

    fn starts_extensions(&self) -> bool {
        true
    }

    fn prepare(&self) -> Result<Prepared, SandboxError> {
        let xray = crate::xray::bind_host().map_err(SandboxError::Network)?;
        Ok(Prepared::loopback()?.with_xray_socket(xray))
    }

    fn spawn(&self, spec: &SandboxSpec, _prepared: Prepared) -> Result<Instance, SandboxError> {
        let (reader, writer) = std::io::pipe().map_err(SandboxError::Pipe)?;
        // Before the runtime, as Lambda starts them.
        let (extensions, extension_output) = start_extensions(spec)?.unzip();
        let cmd = command(&spec.program, &spec.args, &spec.env, spec);
        let (child, output) = spawn_on_pipe(cmd, &spec.program, (reader, writer))?;
        let pid = child.id().unwrap_or_default();
        Ok(Instance::new(child, pid, output, None)
            .with_extensions(extensions)
            .with_extension_output(extension_output))
    }
}

/// A process of the environment: `program` with exactly `env`, in the function's
/// directory, with Lambda's descriptor limit.
fn command(
    program: &Path,
    args: &[String],
    env: &[(String, String)],
    spec: &SandboxSpec,
) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(&spec.task_root)
        .stdin(Stdio::null());
    // The server raises its own descriptor limit; a function gets Lambda's 1024, as
    // in the jail, and runs under SCHED_BATCH as in the jail (see `crate::sched`).
    // SAFETY: the closure runs in the forked child before exec and only makes two
    // system calls (setrlimit and sched_setscheduler are async-signal-safe); it
    // allocates nothing and takes no lock.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::resource::setrlimit(
                nix::sys::resource::Resource::RLIMIT_NOFILE,
                FUNCTION_NOFILE,
                FUNCTION_NOFILE,
            )
            .map_err(std::io::Error::from)?;
            crate::sched::batch()
        });
    }
    cmd
}

/// Starts the executables of `<opt>/extensions/`, each the leader of its own process
/// group, writing to the extensions' own output pipe; a task per extension reports its
/// end. Returns them and the reading end of their pipe.
fn start_extensions(
    spec: &SandboxSpec,
) -> Result<Option<(ExtensionProcesses, tokio::net::unix::pipe::Receiver)>, SandboxError> {
    let names = extensions::list(spec.opt_dir.as_deref());
    let Some(opt) = spec.opt_dir.as_deref().filter(|_| !names.is_empty()) else {
        return Ok(None);
    };
    let (reader, output) = std::io::pipe().map_err(SandboxError::Pipe)?;
    let env = extensions::environment(&spec.env);
    let (tx, exits) = tokio::sync::mpsc::unbounded_channel();
    let mut pids = Vec::with_capacity(names.len());
    for name in names {
        let program = extensions::dir(opt).join(&name);
        let mut cmd = command(&program, &[], &env, spec);
        let out = output.try_clone().map_err(SandboxError::Pipe)?;
        let err = output.try_clone().map_err(SandboxError::Pipe)?;
        cmd.stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0);
        let mut child = cmd.spawn().map_err(|source| SandboxError::ExtensionSpawn {
            name: name.clone(),
            source,
        })?;
        pids.push(child.id().unwrap_or_default());
        let tx = tx.clone();
        tokio::spawn(async move {
            if let Ok(status) = child.wait().await {
                // Nobody listens once the environment is gone.
                let _ = tx.send((name, status));
            }
        });
    }
    // Only the extensions keep write ends: the pipe ends when they are all gone.
    drop(output);
    let output =
        tokio::net::unix::pipe::Receiver::from_owned_fd(std::os::fd::OwnedFd::from(reader))
            .map_err(SandboxError::Pipe)?;
    Ok(Some((ExtensionProcesses { pids, exits }, output)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_environment_gets_a_daemon_socket_on_a_free_loopback_port() {
        let mut prepared = ProcessSandbox.prepare().expect("prepared");
        let socket = prepared.take_xray_socket().expect("a daemon socket");
        let addr = socket.local_addr().expect("bound");
        assert_eq!(addr.ip(), std::net::Ipv4Addr::LOCALHOST);
        assert_ne!(addr.port(), 0);
        assert!(prepared.take_xray_socket().is_none(), "taken once");
    }

    #[tokio::test]
    async fn extensions_start_before_the_runtime_on_their_own_output_with_their_environment() {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::ExitStatusExt;
        use tokio::io::AsyncReadExt;

        let dir = std::env::temp_dir().join(format!("hearth-ext-spawn-{}", std::process::id()));
        let ext = extensions::dir(&dir.join("opt"));
        std::fs::create_dir_all(&ext).expect("mkdir");
        let script = ext.join("probe");
        std::fs::write(
            &script,
            "#!/bin/sh\necho \"ext handler=[$_HANDLER] api=[$AWS_LAMBDA_RUNTIME_API]\"\ntouch ext-done\nexit 3\n",
        )
        .expect("write");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let spec = SandboxSpec {
            program: "/bin/sh".into(),
            // The runtime waits for the mark the extension leaves in the directory both
            // run in, so the order of their lines is known.
            args: vec![
                "-c".into(),
                "while [ ! -e ext-done ]; do sleep 0.01; done; echo runtime handler=$_HANDLER"
                    .into(),
            ],
            env: vec![
                ("_HANDLER".into(), "app.handler".into()),
                ("AWS_LAMBDA_RUNTIME_API".into(), "127.0.0.1:9".into()),
                ("PATH".into(), "/usr/bin:/bin".into()),
            ],
            task_root: dir.clone(),
            runtime_dir: None,
            opt_dir: Some(dir.join("opt")),
            ro_paths: vec![],
            hidden: vec![],
            memory_mb: 128,
            ephemeral_storage_mb: 512,
            egress: Default::default(),
        };
        let prepared = ProcessSandbox.prepare().expect("prepared");
        let mut instance = ProcessSandbox.spawn(&spec, prepared).expect("spawned");
        let mut exits = instance.take_extension_exits().expect("extensions started");
        let (name, status) = exits.next().await;
        assert_eq!((name.as_str(), status.code()), ("probe", Some(3)));
        let status = instance.wait().await.expect("runtime ends");
        assert_eq!(status.into_raw(), 0);
        let mut out = String::new();
        instance
            .take_output()
            .expect("output")
            .read_to_string(&mut out)
            .await
            .expect("read");
        assert_eq!(out, "runtime handler=app.handler\n");
        let mut ext_out = String::new();
        instance
            .take_extension_output()
            .expect("the extensions' own output")
            .read_to_string(&mut ext_out)
            .await
            .expect("read");
        assert_eq!(ext_out, "ext handler=[] api=[127.0.0.1:9]\n");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
