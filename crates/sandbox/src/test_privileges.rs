//! The one marker of tests that need privileges: root, loop devices with `mkfs.ext4`, real
//! cgroup controllers. Such a test starts with [`require`]; `grep -rn test_privileges::require`
//! lists them all (docs/testing.md).
//!
//! Without its prerequisite a test is skipped, saying so, unless
//! `HEARTH_REQUIRE_PRIVILEGED_TESTS=1`: then it fails, so that a run of `scripts/test.sh` (which
//! sets it when run as root) cannot pass with these tests silently not run. Also compiled into
//! `tests/seccomp.rs` by path, so it uses nothing of this crate.

/// Set to `1` to make a missing prerequisite fail the test instead of skipping it.
pub const REQUIRE_VAR: &str = "HEARTH_REQUIRE_PRIVILEGED_TESTS";

/// Whether this process runs as root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Whether a test that needs `what` may run: `true` when `present`. Otherwise it panics
/// under `HEARTH_REQUIRE_PRIVILEGED_TESTS=1`, else prints that the test is skipped and
/// returns `false`.
pub fn require(what: &str, present: bool) -> bool {
    let required = std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1");
    decide(what, present, required)
}

fn decide(what: &str, present: bool, required: bool) -> bool {
    if present {
        return true;
    }
    assert!(
        !required,
        "this test needs {what}, which this host lacks, and {REQUIRE_VAR}=1 says it must run"
    );
    eprintln!("skipped: this test needs {what} (set {REQUIRE_VAR}=1 to make that a failure)");
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_prerequisite_skips_unless_required() {
        assert!(decide("nothing", true, false));
        assert!(decide("nothing", true, true));
        assert!(!decide(
            "nothing real (this helper's own test)",
            false,
            false
        ));
        let failed = std::panic::catch_unwind(|| {
            decide("nothing real (this helper's own test)", false, true)
        });
        let message = failed.expect_err("required: a missing prerequisite fails");
        let message = message
            .downcast_ref::<String>()
            .expect("a formatted panic message");
        assert!(
            message.contains("nothing real (this helper's own test)"),
            "{message}"
        );
    }
}
