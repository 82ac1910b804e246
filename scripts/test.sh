#!/usr/bin/env bash
# Hearth's whole test suite: builds the workspace, runs the Rust tests, then the end-to-end
# tests (a real `hearth server` driven by the AWS CLI, boto3 and the `hearth` client verbs;
# their conftest installs the runtimes and builds the test function zips itself).
#
#   bash scripts/test.sh [PYTEST ARGS...]
#
# Installs tests/requirements.txt with pip; scripts/setup.sh (or --deps-only) installs the
# system packages.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The end-to-end tests' Python packages (pytest, boto3, the AWS CLI); quick when present.
pip_flags=(--quiet --disable-pip-version-check)
if python3 -c 'import os, sys, sysconfig; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
  pip_flags+=(--break-system-packages)
fi
python3 -m pip install "${pip_flags[@]}" -r tests/requirements.txt

# Run as root (as CI is), the tests that need privileges (root, loop devices, cgroups; see
# docs/testing.md) must run: a missing prerequisite fails them instead of skipping them.
if [ "$(id -u)" = 0 ]; then
  export HEARTH_REQUIRE_PRIVILEGED_TESTS=1
fi

cargo build --locked
cargo test --workspace --locked
# The suite under the development-only process sandbox, which must behave the same
# (the isolation tests skip there; the modules marked sandbox_neutral, which the sandbox
# plays no part in, run in the jail pass only), then under the default jail sandbox. Each
# pass runs its modules on parallel workers (pytest-xdist; a module's tests stay on one
# worker, sharing its server), then alone the tests that look at host-wide state (marked
# host_wide).
workers="${HEARTH_TEST_WORKERS:-2}"
e2e() {
  local only="$1"
  shift
  pytest_part "$#" -n "$workers" --dist loadfile -m "not host_wide $only" "$@"
  pytest_part "$#" -m "host_wide $only" "$@"
}
# One part of a pass; the first argument is how many arguments the caller gave. Those that
# select tests (`-k ...`) may leave a part with none, which pytest reports as exit status 5:
# not a failure then; without them it is.
pytest_part() {
  local given="$1" rc=0
  shift
  python3 -m pytest tests/e2e -q -p no:cacheprovider "$@" || rc=$?
  if [ "$rc" = 5 ] && [ "$given" -gt 0 ]; then rc=0; fi
  return "$rc"
}
HEARTH_SANDBOX=process e2e "and not sandbox_neutral" "$@"
e2e "" "$@"
# The benchmark must keep working: a --quick smoke run (figures from a debug build and a
# short run are not worth quoting; `hearth-bench` on a release build is the measurement).
# `cargo build` above built it next to the `hearth` whose server it starts.
if [ "$(id -u)" = 0 ]; then
  target/debug/hearth-bench --quick --runtimes-dir target/test-runtimes --json target/bench-smoke.json
fi
