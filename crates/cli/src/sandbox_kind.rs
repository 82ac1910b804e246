//! `--sandbox`: how a server isolates execution environments, for `hearth server` and the
//! server `hearth-bench` starts.

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SandboxKind {
    /// Each environment in its own namespaces, cgroups and seccomp filter (needs root).
    Jail,
    /// Plain child processes: no isolation, for development only.
    Process,
}
