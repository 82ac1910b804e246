//! The jail's seccomp filter: the reviewed deny list in `seccomp-rules.json`, compiled
//! with `seccompiler` for the host architecture once per process, and installed in an
//! environment's first process right before it execs the runtime.
//!
//! seccompiler gives each BPF program a single match action, so the policy compiles to
//! one program per action (EPERM for the deny list, ENOSYS for `clone3`) plus, on
//! x86_64, a small guard for the x32 ABI. The kernel runs every installed program on each
//! call and keeps the strictest answer, so together they act as one filter.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use seccompiler::{sock_filter, BpfProgram, TargetArch};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The policy, as reviewed.
const RULES: &str = include_str!("seccomp-rules.json");

/// The architectures the policy compiles for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Arch {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "aarch64")]
    Aarch64,
}

impl Arch {
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

    /// The architecture this process runs on.
    pub fn host() -> Result<Arch, SeccompError> {
        match std::env::consts::ARCH {
            "x86_64" => Ok(Arch::X86_64),
            "aarch64" => Ok(Arch::Aarch64),
            other => Err(SeccompError::UnsupportedArch(other)),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    fn target(self) -> TargetArch {
        match self {
            Arch::X86_64 => TargetArch::x86_64,
            Arch::Aarch64 => TargetArch::aarch64,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("seccomp-rules.json is malformed: {0}")]
    Parse(#[source] serde_json::Error),
    #[error("seccomp-rules.json: {0}")]
    Invalid(String),
    #[error("cannot compile the seccomp filter for {arch}: {source}")]
    Compile {
        arch: &'static str,
        #[source]
        source: seccompiler::Error,
    },
    #[error("seccomp filters are not supported on {0}")]
    UnsupportedArch(&'static str),
    #[error("refusing to install a seccomp filter built for {filter} on {host}")]
    WrongArch {
        filter: &'static str,
        host: &'static str,
    },
    #[error("cannot install the seccomp filter: {0}")]
    Install(#[source] seccompiler::Error),
}

/// The compiled policy for one architecture: BPF programs to install in order.
#[derive(Debug, Clone)]
pub struct Filter {
    arch: Arch,
    programs: Vec<BpfProgram>,
}

impl Filter {
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The programs [`apply`] installs; each is one entry in the kernel's filter stack.
    pub fn programs(&self) -> &[BpfProgram] {
        &self.programs
    }
}

/// A compiled [`Filter`] as plain numbers, so that Hearth compiles the rules once and
/// each environment's init process only installs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompiledFilter {
    arch: String,
    /// `(code, jt, jf, k)` of each instruction, per program.
    programs: Vec<Vec<(u16, u8, u8, u32)>>,
}

impl Filter {
    pub fn to_compiled(&self) -> CompiledFilter {
        CompiledFilter {
            arch: self.arch.name().to_string(),
            programs: self
                .programs
                .iter()
                .map(|p| p.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect())
                .collect(),
        }
    }
}

impl CompiledFilter {
    /// The filter again, for this host's architecture only.
    pub fn to_filter(&self) -> Result<Filter, SeccompError> {
        let arch = Arch::host()?;
        if self.arch != arch.name() {
            return Err(SeccompError::Invalid(format!(
                "filter compiled for {}, host is {}",
                self.arch,
                arch.name()
            )));
        }
        Ok(Filter {
            arch,
            programs: self
                .programs
                .iter()
                .map(|p| {
                    p.iter()
                        .map(|&(code, jt, jf, k)| sock_filter { code, jt, jf, k })
                        .collect()
                })
                .collect(),
        })
    }
}

/// The policy compiled for the host, once per process. Call it before forking: it
/// allocates, [`apply`] does not.
pub fn filter() -> Result<&'static Filter, SeccompError> {
    static FILTER: OnceLock<Filter> = OnceLock::new();
    if let Some(filter) = FILTER.get() {
        return Ok(filter);
    }
    let compiled = compile(Arch::host()?)?;
    Ok(FILTER.get_or_init(|| compiled))
}

/// Compiles the policy for `arch`, which need not be the host's.
pub fn compile(arch: Arch) -> Result<Filter, SeccompError> {
    let rules: Rules = serde_json::from_str(RULES).map_err(SeccompError::Parse)?;
    compile_rules(&rules, arch)
}

/// Sets `no_new_privs` and installs `filter` for every thread of the calling process
/// (TSYNC), or for the calling thread alone on kernels without TSYNC. The filter is
/// inherited across fork and exec and cannot be removed. Does not allocate, so it may
/// run between fork and exec. After an error some programs may already be installed:
/// the caller must not go on to exec the runtime.
pub fn apply(filter: &Filter) -> Result<(), SeccompError> {
    let host = Arch::host()?;
    if filter.arch != host {
        // The programs would kill the process on its first system call.
        return Err(SeccompError::WrongArch {
            filter: filter.arch.name(),
            host: host.name(),
        });
    }
    for program in &filter.programs {
        match seccompiler::apply_filter_all_threads(program) {
            Ok(()) => {}
            // EINVAL here means a kernel older than TSYNC (3.17).
            Err(seccompiler::Error::Seccomp(err)) if err.raw_os_error() == Some(libc::EINVAL) => {
                seccompiler::apply_filter(program).map_err(SeccompError::Install)?;
            }
            Err(err) => return Err(SeccompError::Install(err)),
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rules {
    #[serde(rename = "_comment")]
    comment: Vec<String>,
    groups: Vec<Group>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    /// Required: every group says why its calls are denied.
    #[serde(rename = "_comment")]
    comment: String,
    action: Action,
    /// Limits the group to these architectures; absent means all.
    arches: Option<Vec<Arch>>,
    syscalls: Vec<String>,
    when_arg_has_any_bit: Option<BitTest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BitTest {
    arg: u8,
    /// Flag name (for the reader) to its value as a hex string.
    bits: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
enum Action {
    #[serde(rename = "EPERM")]
    Eperm,
    #[serde(rename = "ENOSYS")]
    Enosys,
}

impl Action {
    fn errno(self) -> i32 {
        match self {
            Action::Eperm => libc::EPERM,
            Action::Enosys => libc::ENOSYS,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Action::Eperm => "eperm",
            Action::Enosys => "enosys",
        }
    }
}

/// Translates the policy into seccompiler's JSON format, one filter per action, so that
/// syscall names resolve through seccompiler's per-architecture tables.
fn compile_rules(rules: &Rules, arch: Arch) -> Result<Filter, SeccompError> {
    if rules.comment.iter().all(|line| line.trim().is_empty()) {
        return Err(SeccompError::Invalid("the policy has no _comment".into()));
    }
    let mut by_action: BTreeMap<Action, Vec<serde_json::Value>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for group in &rules.groups {
        if group.comment.trim().is_empty() {
            return Err(SeccompError::Invalid(format!(
                "the group with {:?} has an empty _comment",
                group.syscalls
            )));
        }
        if group.syscalls.is_empty() {
            return Err(SeccompError::Invalid(format!(
                "the group \"{}\" lists no syscalls",
                group.comment
            )));
        }
        // One group per name: seccompiler would otherwise merge an unconditional rule
        // with a conditional one into a conditional one.
        for name in &group.syscalls {
            if !seen.insert(name.as_str()) {
                return Err(SeccompError::Invalid(format!(
                    "{name} appears in more than one place"
                )));
            }
        }
        if group
            .arches
            .as_ref()
            .is_some_and(|only| !only.contains(&arch))
        {
            continue;
        }
        let conditions = group
            .when_arg_has_any_bit
            .as_ref()
            .map(bit_conditions)
            .transpose()?;
        let entries = by_action.entry(group.action).or_default();
        for name in &group.syscalls {
            match &conditions {
                None => entries.push(json!({ "syscall": name })),
                // Rules of one syscall are or-bound: any listed bit set matches.
                Some(conditions) => entries.extend(
                    conditions
                        .iter()
                        .map(|condition| json!({ "syscall": name, "args": [condition] })),
                ),
            }
        }
    }

    let document: serde_json::Map<String, serde_json::Value> = by_action
        .iter()
        .map(|(action, entries)| {
            let filter = json!({
                "mismatch_action": "allow",
                "match_action": { "errno": action.errno() },
                "filter": entries,
            });
            (action.key().to_owned(), filter)
        })
        .collect();
    let bytes = serde_json::to_vec(&document)
        .map_err(|e| SeccompError::Invalid(format!("cannot serialise for seccompiler: {e}")))?;
    let mut compiled =
        seccompiler::compile_from_json(bytes.as_slice(), arch.target()).map_err(|source| {
            SeccompError::Compile {
                arch: arch.name(),
                source,
            }
        })?;

    let mut programs = Vec::with_capacity(by_action.len() + 1);
    for action in by_action.keys() {
        let program = compiled.remove(action.key()).ok_or_else(|| {
            SeccompError::Invalid(format!("seccompiler returned no {} filter", action.key()))
        })?;
        programs.push(program);
    }
    if arch == Arch::X86_64 {
        programs.push(x32_guard());
    }
    Ok(Filter { arch, programs })
}

fn bit_conditions(test: &BitTest) -> Result<Vec<serde_json::Value>, SeccompError> {
    if test.bits.is_empty() {
        return Err(SeccompError::Invalid(
            "when_arg_has_any_bit lists no bits".into(),
        ));
    }
    test.bits
        .iter()
        .map(|(name, hex)| {
            let bit = hex
                .strip_prefix("0x")
                .and_then(|digits| u32::from_str_radix(digits, 16).ok())
                .filter(|bit| *bit != 0)
                .ok_or_else(|| {
                    SeccompError::Invalid(format!("{name} = {hex:?} is not a 32-bit hex mask"))
                })?;
            // The kernel reads clone()'s flags as 32 bits; so does this test.
            Ok(json!({
                "index": test.arg,
                "type": "dword",
                "op": { "masked_eq": bit },
                "val": bit,
                "comment": name,
            }))
        })
        .collect()
}

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const SECCOMP_DATA_NR_OFFSET: u32 = 0;
const SECCOMP_DATA_ARCH_OFFSET: u32 = 4;

/// x86_64 kernels built with the x32 ABI accept every call a second time under its
/// number plus bit 30, with the same audit arch. seccompiler matches exact numbers, so
/// the deny list alone would let `mount` through as x32 `mount`. Answers every x32 call
/// with ENOSYS, as a kernel without x32 does.
fn x32_guard() -> BpfProgram {
    let enosys = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
    vec![
        bpf_stmt(
            libc::BPF_LD | libc::BPF_W | libc::BPF_ABS,
            SECCOMP_DATA_ARCH_OFFSET,
        ),
        bpf_jump(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            AUDIT_ARCH_X86_64,
            0,
            3,
        ),
        bpf_stmt(
            libc::BPF_LD | libc::BPF_W | libc::BPF_ABS,
            SECCOMP_DATA_NR_OFFSET,
        ),
        bpf_jump(
            libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K,
            X32_SYSCALL_BIT,
            0,
            1,
        ),
        bpf_stmt(libc::BPF_RET | libc::BPF_K, enosys),
        bpf_stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
    ]
}

fn bpf_stmt(code: u32, k: u32) -> sock_filter {
    bpf_jump(code, k, 0, 0)
}

fn bpf_jump(code: u32, k: u32, jt: u8, jf: u8) -> sock_filter {
    // BPF opcodes are 16 bits wide; libc declares the constants as u32.
    let code = u16::try_from(code).expect("BPF opcodes fit in 16 bits");
    sock_filter { code, jt, jf, k }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        serde_json::from_str(RULES).expect("seccomp-rules.json parses")
    }

    /// Every call the isolation issue names, plus the extras this policy promises.
    const MUST_DENY: &[&str] = &[
        "mount",
        "umount2",
        "pivot_root",
        "ptrace",
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "bpf",
        "perf_event_open",
        "keyctl",
        "add_key",
        "request_key",
        "unshare",
        "setns",
        "clock_settime",
        "clock_adjtime",
        "settimeofday",
        "adjtimex",
        "swapon",
        "swapoff",
        "reboot",
        "acct",
        "quotactl",
        "quotactl_fd",
        "open_by_handle_at",
        "name_to_handle_at",
        "userfaultfd",
        "process_vm_readv",
        "process_vm_writev",
        "fsopen",
        "fsconfig",
        "fsmount",
        "move_mount",
        "open_tree",
        "mount_setattr",
        "syslog",
        "lookup_dcookie",
    ];

    #[test]
    fn compiles_for_every_arch() {
        for arch in Arch::ALL {
            let filter = compile(arch).unwrap_or_else(|e| panic!("{}: {e}", arch.name()));
            assert_eq!(filter.arch(), arch);
            // EPERM list, clone3 ENOSYS, and the x32 guard on x86_64.
            let expected = if arch == Arch::X86_64 { 3 } else { 2 };
            assert_eq!(filter.programs().len(), expected, "{}", arch.name());
            assert!(filter.programs().iter().all(|program| !program.is_empty()));
        }
    }

    #[test]
    fn host_filter_is_compiled_once() {
        let first = filter().expect("compiles for the host");
        let second = filter().expect("compiles for the host");
        assert!(std::ptr::eq(first, second));
        assert_eq!(first.arch(), Arch::host().expect("supported host"));
    }

    #[test]
    fn required_calls_are_denied_unconditionally_with_eperm() {
        let rules = rules();
        for name in MUST_DENY {
            let group = rules
                .groups
                .iter()
                .find(|group| group.syscalls.iter().any(|s| s == name))
                .unwrap_or_else(|| panic!("{name} is not in seccomp-rules.json"));
            assert_eq!(group.action, Action::Eperm, "{name}");
            assert!(group.arches.is_none(), "{name} is denied on every arch");
            assert!(
                group.when_arg_has_any_bit.is_none(),
                "{name} has no exceptions"
            );
        }
    }

    #[test]
    fn clone_is_filtered_on_every_namespace_flag() {
        let rules = rules();
        let group = rules
            .groups
            .iter()
            .find(|group| group.syscalls == ["clone"])
            .expect("a clone group");
        assert_eq!(group.action, Action::Eperm);
        let test = group
            .when_arg_has_any_bit
            .as_ref()
            .expect("an argument test");
        assert_eq!(
            test.arg, 0,
            "clone's flags are argument 0 on x86_64 and aarch64"
        );
        let expected: BTreeMap<String, i32> = [
            ("CLONE_NEWTIME", libc::CLONE_NEWTIME),
            ("CLONE_NEWNS", libc::CLONE_NEWNS),
            ("CLONE_NEWCGROUP", libc::CLONE_NEWCGROUP),
            ("CLONE_NEWUTS", libc::CLONE_NEWUTS),
            ("CLONE_NEWIPC", libc::CLONE_NEWIPC),
            ("CLONE_NEWUSER", libc::CLONE_NEWUSER),
            ("CLONE_NEWPID", libc::CLONE_NEWPID),
            ("CLONE_NEWNET", libc::CLONE_NEWNET),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
        let listed: BTreeMap<String, i32> = test
            .bits
            .iter()
            .map(|(name, hex)| {
                let value = i32::from_str_radix(hex.trim_start_matches("0x"), 16)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                (name.clone(), value)
            })
            .collect();
        assert_eq!(listed, expected);
    }

    #[test]
    fn clone3_answers_enosys() {
        let rules = rules();
        let group = rules
            .groups
            .iter()
            .find(|group| group.syscalls.iter().any(|s| s == "clone3"))
            .expect("a clone3 group");
        assert_eq!(group.action, Action::Enosys);
        assert!(group.when_arg_has_any_bit.is_none());
    }

    fn compile_str(json: &str) -> Result<Filter, SeccompError> {
        let rules: Rules = serde_json::from_str(json).map_err(SeccompError::Parse)?;
        compile_rules(&rules, Arch::X86_64)
    }

    #[test]
    fn a_name_in_two_groups_is_rejected() {
        let json = r#"{ "_comment": ["t"], "groups": [
            { "_comment": "a", "action": "EPERM", "syscalls": ["mount"] },
            { "_comment": "b", "action": "ENOSYS", "syscalls": ["mount"] } ] }"#;
        assert!(matches!(compile_str(json), Err(SeccompError::Invalid(_))));
    }

    #[test]
    fn an_unknown_syscall_is_rejected() {
        let json = r#"{ "_comment": ["t"], "groups": [
            { "_comment": "a", "action": "EPERM", "syscalls": ["mount_everything"] } ] }"#;
        assert!(matches!(
            compile_str(json),
            Err(SeccompError::Compile { .. })
        ));
    }

    #[test]
    fn a_group_without_a_comment_is_rejected() {
        let missing = r#"{ "_comment": ["t"], "groups": [
            { "action": "EPERM", "syscalls": ["mount"] } ] }"#;
        assert!(matches!(compile_str(missing), Err(SeccompError::Parse(_))));
        let empty = r#"{ "_comment": ["t"], "groups": [
            { "_comment": " ", "action": "EPERM", "syscalls": ["mount"] } ] }"#;
        assert!(matches!(compile_str(empty), Err(SeccompError::Invalid(_))));
    }

    #[test]
    fn unknown_fields_and_bad_masks_are_rejected() {
        let unknown = r#"{ "_comment": ["t"], "groups": [
            { "_comment": "a", "action": "EPERM", "syscalls": ["mount"], "args": [] } ] }"#;
        assert!(matches!(compile_str(unknown), Err(SeccompError::Parse(_))));
        let bad_mask = r#"{ "_comment": ["t"], "groups": [
            { "_comment": "a", "action": "EPERM", "syscalls": ["clone"],
              "when_arg_has_any_bit": { "arg": 0, "bits": { "X": "12" } } } ] }"#;
        assert!(matches!(
            compile_str(bad_mask),
            Err(SeccompError::Invalid(_))
        ));
    }

    #[test]
    fn arch_limited_groups_compile_only_there() {
        // iopl does not exist on aarch64; the group must be skipped there, not fail.
        let json = r#"{ "_comment": ["t"], "groups": [
            { "_comment": "a", "action": "EPERM", "arches": ["x86_64"], "syscalls": ["iopl"] },
            { "_comment": "b", "action": "EPERM", "syscalls": ["mount"] } ] }"#;
        let rules: Rules = serde_json::from_str(json).expect("parses");
        let x86 = compile_rules(&rules, Arch::X86_64).expect("x86_64");
        let arm = compile_rules(&rules, Arch::Aarch64).expect("aarch64");
        assert!(x86.programs()[0].len() > arm.programs()[0].len());
    }

    #[test]
    fn x32_guard_answers_enosys_above_bit_30() {
        let guard = x32_guard();
        assert_eq!(guard[1].k, AUDIT_ARCH_X86_64);
        assert_eq!(guard[3].k, X32_SYSCALL_BIT);
        assert_eq!(guard[4].k, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32);
        assert_eq!(guard[5].k, libc::SECCOMP_RET_ALLOW);
    }

    #[test]
    fn compiled_filter_round_trips() {
        let filter = filter().expect("host filter");
        let json = serde_json::to_string(&filter.to_compiled()).expect("encode");
        let back: CompiledFilter = serde_json::from_str(&json).expect("decode");
        let again = back.to_filter().expect("same arch");
        assert_eq!(again.arch(), filter.arch());
        assert_eq!(again.programs(), filter.programs());
    }
}
