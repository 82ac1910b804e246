#!/usr/bin/env bash
# Profiles the server's warm invoke path: starts `hearth server` (signed requests, as by
# default) under a profiler, deploys the Rust echo (hearth-echo as the `bootstrap` of a
# provided.al2023 function), warms it, runs N signed Invokes one after another, stops the
# server and prints what the measured window cost. Startup, the deploy and the warm-up are
# left out of the figures. See docs/performance.md.
#
#   sudo PROFILER=callgrind SANDBOX=process scripts/profile-warm.sh 200 /tmp/cg
#
# PROFILER  callgrind: the server runs under `valgrind --tool=callgrind`; prints the
#             instructions per invoke (total Ir of the window / N), their groups and the
#             top exclusive and inclusive functions. Stable on a noisy machine.
#           perf (the default where `perf` works): `perf stat -e task-clock` (server CPU
#             per invoke) and `perf record -g` over the window; prints the top symbols and
#             the kernel's share.
#           strace: `strace -c -f` on all the server's threads: syscalls per invoke.
# SANDBOX   process (default) or jail (needs root).
# HEARTH_BIN, ECHO_BIN  the binaries (default target/release/hearth and hearth-echo; build
#           them with `cargo build --release -p hearth-cli --bin hearth -p hearth-echo
#           --bin hearth-echo`: a debug build's profile says little about a release's).
#
# Under valgrind /proc/self/exe is valgrind's own executable, so the server is told its
# real one with HEARTH_JAIL_EXE (the jail starts its zygote as `<exe> __jail-init`).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
n="${1:?usage: [PROFILER=callgrind|perf|strace] [SANDBOX=process|jail] $0 N OUT_DIR}"
out="${2:?usage: $0 N OUT_DIR}"
sandbox="${SANDBOX:-process}"
if [ -z "${PROFILER:-}" ]; then
  if perf stat -e task-clock true >/dev/null 2>&1; then PROFILER=perf; else PROFILER=callgrind; fi
fi
hearth="$(realpath "${HEARTH_BIN:-target/release/hearth}")"
echo_bin="$(realpath "${ECHO_BIN:-target/release/hearth-echo}")"
for f in "$hearth" "$echo_bin"; do
  [ -x "$f" ] || { echo "$f is missing: cargo build --release -p hearth-cli --bin hearth -p hearth-echo --bin hearth-echo" >&2; exit 1; }
done

if [ "$PROFILER" = callgrind ] && [ "$sandbox" = jail ]; then
  # valgrind 3.19 does not know fsopen(2) (syscall 430), which the jail mounts with.
  echo "the jail does not run under valgrind (it mounts with fsopen(2), which valgrind 3.19 does not know): use PROFILER=perf or strace for SANDBOX=jail" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$out/data" "$out/runtimes"
out="$(realpath "$out")"
python3 - "$echo_bin" "$out/echo.zip" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as z:
    info = zipfile.ZipInfo("bootstrap")
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, open(sys.argv[1], "rb").read())
EOF

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
server=("$hearth" server --listen "127.0.0.1:$port" --data-dir "$out/data"
  --runtimes-dir "$out/runtimes" --sandbox "$sandbox" --idle-ttl 1h)
wrap=()
if [ "$PROFILER" = callgrind ]; then
  wrap=(valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out.%p" --dump-instr=no)
fi
(
  # valgrind refuses a setrlimit(RLIMIT_NOFILE) whose hard limit is not its own (its own
  # is the hard limit less 12 descriptors it keeps): 1036 makes it the 1024 that the
  # process sandbox sets for a function before exec.
  if [ "$PROFILER" = callgrind ]; then ulimit -n 1036; fi
  NO_COLOR=1 HEARTH_JAIL_EXE="$hearth" exec "${wrap[@]}" "${server[@]}" >"$out/server.log" 2>&1
) &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT

case "$PROFILER" in
  callgrind)
    before="callgrind_control -z $pid >/dev/null"
    after="callgrind_control -d $pid >/dev/null"
    ;;
  perf)
    before="perf stat -e task-clock -p $pid -o $out/perf-stat.txt >/dev/null 2>&1 & echo \$! >$out/stat.pid;
            perf record -g -p $pid -o $out/perf.data >$out/perf-record.log 2>&1 & echo \$! >$out/record.pid; sleep 2"
    after="kill -INT \$(cat $out/stat.pid) \$(cat $out/record.pid); sleep 2"
    ;;
  strace)
    before="strace -c -f -o $out/strace.txt \$(ls /proc/$pid/task | sed 's/^/-p /') >/dev/null 2>&1 & echo \$! >$out/strace.pid; sleep 2"
    after="kill -INT \$(cat $out/strace.pid); sleep 2"
    ;;
  *) echo "PROFILER is callgrind, perf or strace, not $PROFILER" >&2; exit 1 ;;
esac

python3 scripts/profile_warm.py drive "http://127.0.0.1:$port" "$out/data" "$out/echo.zip" "$n" \
  --before "$before" --after "$after"
kill -TERM "$pid"
wait "$pid" || true
trap - EXIT

echo "== $PROFILER, --sandbox $sandbox, $n warm invokes"
case "$PROFILER" in
  callgrind)
    dump="$(ls "$out"/callgrind.out."$pid".* | head -1)"
    python3 scripts/profile_warm.py groups "$dump" "$n"
    ;;
  perf)
    msec="$(awk '/task-clock/ {gsub(",", "", $1); print $1}' "$out/perf-stat.txt")"
    python3 -c "print(f'server CPU per warm invoke: {$msec * 1000 / $n:.1f} µs (task-clock {$msec} ms)')"
    perf report -i "$out/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -12
    echo "-- top symbols (self)"
    perf report -i "$out/perf.data" --no-children --stdio -g none 2>/dev/null | grep -E '^ +[0-9.]+%' | head -30
    ;;
  strace)
    calls="$(awk '$NF == "total" {print $(NF-2)}' "$out/strace.txt")"
    echo "syscalls per warm invoke: $((calls / n)) ($calls in all)"
    head -30 "$out/strace.txt"
    ;;
esac
