#!/usr/bin/env bash
# Builds the end-to-end test functions into deployment zips.
#
#   tests/build-functions.sh OUTDIR
#
# Writes into OUTDIR:
#   python.zip, python-v2.zip  app.py (+ broken_import.py, broken_raise.py), differing in version.txt
#   node.zip                   index.mjs
#   http-echo.zip              http/echo.py, the echo of the function URL and HTTP API tests
#   rust.zip                   `bootstrap`: the workspace's hearth-echo (crates/echo, lambda_runtime)
#   rust-stream.zip            `bootstrap`: hearth-echo-stream (crates/echo, lambda_runtime streaming)
#   rust-http.zip              `bootstrap`: hearth-echo-http (crates/echo, a lambda_http web app)
#   shell.zip                  a bash `bootstrap` speaking the Runtime API with curl
#   stream-node.zip            stream/index.mjs (awslambda.streamifyResponse, HttpResponseStream)
#   stream-shell.zip           stream/shell/bootstrap: a custom runtime streaming with curl
#   no-bootstrap.zip           a custom-runtime package without a bootstrap
#   not-executable.zip         the shell bootstrap without its exec bits
#   adversary.zip              adversary.py, the attacks of the isolation tests
#   flood.zip                  flood.py, which prints a lot (the tests of log limits)
#   net.zip                    net.py, network probes (the egress tests)
#   sdk.zip                    sdk/app.py with boto3 and botocore (only the lambda, logs and
#                              sqs models) and their dependencies, copied from the python3
#                              running this script (pip install -r tests/requirements.txt)
#
# Zips are written with fixed timestamps so the same sources give the same bytes (and CodeSha256),
# and with unix mode bits in external_attr so `bootstrap` stays executable.
# The Rust echo is built with `cargo build --release -p hearth-echo` into the workspace's target
# directory (CARGO_TARGET_DIR if set), next to target/release/hearth, where `hearth-bench` also
# finds it. HEARTH_SKIP_RUST=1 skips the rust zips.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
FUNCS="$HERE/functions"
OUT="$1"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

RUST_BIN=""
if [ "${HEARTH_SKIP_RUST:-0}" != "1" ]; then
  # From the repository, so that a relative CARGO_TARGET_DIR means what it means to cargo.
  TARGET_DIR="$(cd "$REPO" && mkdir -p "${CARGO_TARGET_DIR:-target}" && cd "${CARGO_TARGET_DIR:-target}" && pwd)"
  echo "building hearth-echo (lambda_runtime) into $TARGET_DIR/release" >&2
  (cd "$REPO" && cargo build --release --locked --quiet -p hearth-echo)
  RUST_BIN="$TARGET_DIR/release/hearth-echo"
fi

python3 - "$FUNCS" "$OUT" "$RUST_BIN" <<'PY'
import os
import sys
import zipfile

funcs, out, rust_bin = sys.argv[1], sys.argv[2], sys.argv[3]
FIXED_TIME = (2024, 1, 1, 0, 0, 0)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write_zip(name, entries):
    """entries: list of (archive name, bytes, unix mode)."""
    tmp = os.path.join(out, name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname, data, mode in entries:
            info = zipfile.ZipInfo(arcname, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so external_attr carries the mode
            info.external_attr = (0o100000 | mode) << 16
            zf.writestr(info, data)
    os.replace(tmp, os.path.join(out, name))
    print("built %s" % os.path.join(out, name), file=sys.stderr)


py = os.path.join(funcs, "python")
py_files = [(n, read(os.path.join(py, n)), 0o644) for n in sorted(os.listdir(py)) if n.endswith(".py")]
write_zip("python.zip", py_files + [("version.txt", b"v1\n", 0o644)])
write_zip("python-v2.zip", py_files + [("version.txt", b"v2\n", 0o644)])

write_zip("node.zip", [("index.mjs", read(os.path.join(funcs, "node", "index.mjs")), 0o644)])
write_zip("http-echo.zip", [("echo.py", read(os.path.join(funcs, "http", "echo.py")), 0o644)])

shell_bootstrap = read(os.path.join(funcs, "shell", "echo", "bootstrap"))
write_zip("shell.zip", [("bootstrap", shell_bootstrap, 0o755)])
write_zip("stream-node.zip", [("index.mjs", read(os.path.join(funcs, "stream", "index.mjs")), 0o644)])
write_zip("stream-shell.zip",
          [("bootstrap", read(os.path.join(funcs, "stream", "shell", "bootstrap")), 0o755)])
write_zip("not-executable.zip", [("bootstrap", shell_bootstrap, 0o644)])
write_zip(
    "no-bootstrap.zip",
    [("README.txt", read(os.path.join(funcs, "shell", "no-bootstrap", "README.txt")), 0o644)],
)

adv = os.path.join(funcs, "adversary")
write_zip("adversary.zip", [("adversary.py", read(os.path.join(adv, "adversary.py")), 0o644)])

write_zip("flood.zip", [("flood.py", read(os.path.join(funcs, "flood", "flood.py")), 0o644)])

write_zip("net.zip", [("net.py", read(os.path.join(funcs, "net", "net.py")), 0o644)])


def vendored():
    """boto3, botocore and their pure-Python dependencies, as installed; botocore's data
    cut to what a function calling Lambda, CloudWatch Logs and SQS needs."""
    import importlib
    entries = []
    for module in ("boto3", "botocore", "jmespath", "dateutil", "urllib3", "s3transfer", "six"):
        path = importlib.import_module(module).__file__
        if os.path.basename(path) != "__init__.py":
            entries.append((os.path.basename(path), read(path), 0o644))
            continue
        root = os.path.dirname(path)
        base = os.path.dirname(root)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            rel = os.path.relpath(dirpath, base)
            if module == "botocore" and rel.startswith(os.path.join("botocore", "data") + os.sep):
                service = rel.split(os.sep)[2]
                if service not in ("lambda", "logs", "sqs"):
                    continue
            for name in sorted(filenames):
                if name.endswith(".pyc"):
                    continue
                entries.append((os.path.join(rel, name), read(os.path.join(dirpath, name)), 0o644))
    return entries


write_zip("sdk.zip", [("app.py", read(os.path.join(funcs, "sdk", "app.py")), 0o644)] + vendored())

if rust_bin:
    write_zip("rust.zip", [("bootstrap", read(rust_bin), 0o755)])
    write_zip("rust-stream.zip", [("bootstrap", read(rust_bin + "-stream"), 0o755)])
    write_zip("rust-http.zip", [("bootstrap", read(rust_bin + "-http"), 0o755)])
PY
