#!/usr/bin/env bash
# Sets Hearth up on a fresh Debian machine and shows it working:
#   installs the build dependencies (apt), the AWS CLI + boto3 (pip), axe-core (npm) if missing,
#   builds `hearth` (release), installs the runtimes this host can run, starts `hearth server`
#   in the background, deploys examples/hello-python with the AWS CLI and invokes it.
#
#   sudo bash scripts/setup.sh          (or `bash scripts/setup.sh` as root)
#   bash scripts/setup.sh --deps-only   only the apt, pip and npm dependencies (used by CI)
#
# Safe to re-run: a running server started by this script is restarted with the new build, and
# an existing hello-python function gets its code updated.
#
# Environment: HEARTH_DATA_DIR (default ~/.local/share/hearth), HEARTH_LISTEN
# (default 127.0.0.1:9000), HEARTH_RUNTIMES_DIR (default <data dir>/runtimes).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DEPS_ONLY=0
case "${1:-}" in
  "") ;;
  --deps-only) DEPS_ONLY=1 ;;
  -h | --help)
    sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "usage: $0 [--deps-only]" >&2
    exit 2
    ;;
esac

log() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'setup: %s\n' "$*" >&2
  exit 1
}

if [[ "$(id -u)" -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  die "run as root, or install sudo"
fi

# ---- system packages -------------------------------------------------------------------------
install_system_packages() {
  # cmake/autoconf/automake/libtool/g++/make build aws-lambda-ric's native module (nodejs runtimes).
  # e2fsprogs (mkfs.ext4, debugfs, dumpe2fs, tune2fs) makes each jailed environment's /tmp.
  # postgresql: the store of a fleet (docs/fleet.md); the store's tests start a private cluster
  # of it (crates/store/tests/conformance/backend.rs).
  # chromium: the headless browser of the CORS tests (tests/e2e/test_http_frameworks.py) and of
  # the console's browser tests (Playwright drives it: tests/e2e/console_browser.py).
  local wanted=(build-essential curl ca-certificates zip unzip cmake autoconf automake libtool pkg-config e2fsprogs nftables iproute2 postgresql chromium)
  command -v python3 >/dev/null 2>&1 || wanted+=(python3)
  if ! python3 -m pip --version >/dev/null 2>&1; then wanted+=(python3-pip); fi
  command -v node >/dev/null 2>&1 || wanted+=(nodejs npm)

  local missing=() pkg
  for pkg in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    log "system packages: all present"
    return
  fi
  log "installing system packages: ${missing[*]}"
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# pip into the python3 on PATH; Debian's own Python refuses that without a flag (PEP 668).
pip_install() {
  local flags=(--quiet --disable-pip-version-check)
  if python3 -c 'import os, sys, sysconfig; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
    flags+=(--break-system-packages)
  fi
  python3 -m pip install "${flags[@]}" "$@"
}

install_python_tools() {
  local wanted=()
  command -v aws >/dev/null 2>&1 || wanted+=(awscli)
  python3 -c 'import boto3' >/dev/null 2>&1 || wanted+=(boto3)
  if ((${#wanted[@]} > 0)); then
    log "installing with pip: ${wanted[*]}"
    pip_install "${wanted[@]}"
  fi
  # A non-root pip install puts scripts in ~/.local/bin.
  if ! command -v aws >/dev/null 2>&1 && [[ -x "$HOME/.local/bin/aws" ]]; then
    export PATH="$HOME/.local/bin:$PATH"
  fi
  command -v aws >/dev/null 2>&1 || die "the AWS CLI is still not on PATH after installing awscli"
  # SQS's query protocol is tested with an older botocore (1.30, the last before SQS moved
  # to AWS JSON 1.0), kept apart from the current one (tests/e2e/test_sqs_query.py).
  if [[ ! -f "$ROOT/target/old-botocore/botocore/__init__.py" ]]; then
    log "installing an older botocore for the SQS query protocol's tests"
    python3 -m pip install --quiet --disable-pip-version-check --target "$ROOT/target/old-botocore" \
      'botocore<1.31' 'boto3<1.28'
  fi
}

# The JavaScript that the console's browser tests inject into its pages: axe-core, the
# accessibility checker, at the version tests/console/package-lock.json locks
# (tests/e2e/console_browser.py). Installed again when that lock file changed.
install_node_tools() {
  local dir="$ROOT/tests/console"
  local stamp="$dir/node_modules/.hearth-installed-lock.json"
  if [[ -f "$dir/node_modules/axe-core/axe.min.js" ]] && cmp -s "$dir/package-lock.json" "$stamp"; then
    return
  fi
  command -v npm >/dev/null 2>&1 || die "npm not found: install Debian's npm and re-run"
  log "installing axe-core for the console's browser tests (npm ci in tests/console)"
  (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  cp "$dir/package-lock.json" "$stamp"
}

install_system_packages
install_python_tools
install_node_tools
command -v cargo >/dev/null 2>&1 || die "cargo not found: install a Rust toolchain (rustup) and re-run"
if ((DEPS_ONLY)); then
  log "dependencies installed"
  exit 0
fi

# ---- build and runtimes ----------------------------------------------------------------------
log "building hearth (cargo build --release --locked)"
cargo build --release --locked
HEARTH="$ROOT/target/release/hearth"

DATA_DIR="${HEARTH_DATA_DIR:-$HOME/.local/share/hearth}"
LISTEN="${HEARTH_LISTEN:-127.0.0.1:9000}"
ENDPOINT="http://$LISTEN"
PID_FILE="$DATA_DIR/hearth.pid"
LOG_FILE="$DATA_DIR/hearth.log"
mkdir -p "$DATA_DIR"
export HEARTH_DATA_DIR="$DATA_DIR"

log "installing runtimes (nodejs compiles a native module: a few minutes the first time)"
"$HEARTH" runtime install
"$HEARTH" runtime list

# ---- server ----------------------------------------------------------------------------------
# Any HTTP answer (403 without a signature, as by default) means it serves.
answers() {
  local code
  code="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 "$ENDPOINT/_hearth/runtimes")" || return 1
  [[ "$code" != 000 ]]
}

if [[ -f "$PID_FILE" ]]; then
  old_pid="$(cat "$PID_FILE")"
  if [[ "$old_pid" =~ ^[0-9]+$ ]] && [[ "$(ps -p "$old_pid" -o comm= 2>/dev/null)" == hearth ]]; then
    log "stopping the hearth server this script started before (pid $old_pid)"
    kill "$old_pid"
    for _ in $(seq 50); do
      kill -0 "$old_pid" 2>/dev/null || break
      sleep 0.2
    done
  fi
  rm -f "$PID_FILE"
fi
if answers 2>/dev/null; then
  die "something else already answers on $ENDPOINT; stop it or set HEARTH_LISTEN"
fi

log "starting hearth server on $LISTEN (log: $LOG_FILE)"
nohup "$HEARTH" server --listen "$LISTEN" --data-dir "$DATA_DIR" </dev/null >>"$LOG_FILE" 2>&1 &
server_pid=$!
echo "$server_pid" >"$PID_FILE"
for _ in $(seq 100); do
  answers 2>/dev/null && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    tail -n 20 "$LOG_FILE" >&2 || true
    die "hearth server exited; see $LOG_FILE"
  fi
  sleep 0.2
done
answers || die "hearth server did not answer on $ENDPOINT within 20 s; see $LOG_FILE"

# ---- the AWS CLI profile ----------------------------------------------------------------------
# The server made an administrator key on its first start (DATA_DIR/admin-credentials, 0600):
# the profile `hearth` of ~/.aws signs with it, for this server's region and endpoint, so that
# `aws --profile hearth lambda ...` (or AWS_PROFILE=hearth) works without more set-up.
CREDS="$DATA_DIR/admin-credentials"
for _ in $(seq 50); do [[ -s "$CREDS" ]] && break; sleep 0.2; done
[[ -s "$CREDS" ]] || die "the server did not write $CREDS; see $LOG_FILE"
ini_value() { sed -n "/^\[default\]/,/^\[/ s/^$1 *= *//p" "$CREDS" | head -n 1; }
KEY_ID="$(ini_value aws_access_key_id)"
KEY_SECRET="$(ini_value aws_secret_access_key)"
awsconf() { env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE aws configure set "$@" --profile hearth; }
awsconf aws_access_key_id "$KEY_ID"
awsconf aws_secret_access_key "$KEY_SECRET"
awsconf region us-east-1
awsconf endpoint_url "$ENDPOINT"
log "wrote the AWS CLI profile 'hearth' (~/.aws/config and ~/.aws/credentials) for $ENDPOINT"

# ---- the example function, with the AWS CLI --------------------------------------------------
awsh() {
  env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_SESSION_TOKEN \
    -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
    AWS_EC2_METADATA_DISABLED=true AWS_PAGER="" \
    aws --profile hearth --endpoint-url "$ENDPOINT" "$@"
}

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ZIP="$WORK/hello-python.zip"
(cd examples/hello-python && zip -q -X -r "$ZIP" . -x '__pycache__/*' '*.pyc')
RUNTIME="$(python3 -c 'import sys; print("python3.%d" % sys.version_info[1])')"
FUNCTION=hello-python

if awsh lambda get-function --function-name "$FUNCTION" >/dev/null 2>&1; then
  log "updating $FUNCTION (aws lambda update-function-code)"
  awsh lambda update-function-code --function-name "$FUNCTION" --zip-file "fileb://$ZIP" >/dev/null
  awsh lambda wait function-updated-v2 --function-name "$FUNCTION"
else
  log "creating $FUNCTION (aws lambda create-function, $RUNTIME)"
  awsh lambda create-function --function-name "$FUNCTION" --runtime "$RUNTIME" \
    --handler app.handler --role arn:aws:iam::000000000000:role/hearth \
    --zip-file "fileb://$ZIP" >/dev/null
  awsh lambda wait function-active-v2 --function-name "$FUNCTION"
fi

# AWS CLI v2 base64-decodes blobs unless told otherwise; v1 has no such option.
binary_format=()
if [[ "$(aws --version 2>&1)" == aws-cli/2* ]]; then
  binary_format=(--cli-binary-format raw-in-base64-out)
fi
log "invoking $FUNCTION (aws lambda invoke)"
awsh lambda invoke --function-name "$FUNCTION" "${binary_format[@]}" \
  --payload '{"name": "Hearth"}' "$WORK/response.json" >/dev/null
echo
echo "Response from $FUNCTION:"
cat "$WORK/response.json"
echo
echo
cat <<EOF
Hearth is running at $ENDPOINT (pid $server_pid, data in $DATA_DIR, log in $LOG_FILE).

  $HEARTH invoke $FUNCTION --payload '{"name": "you"}' --log
  $HEARTH logs $FUNCTION
  $HEARTH ls
  aws --profile hearth lambda list-functions

The administrator key is in $CREDS (the \`hearth\` client verbs read it from there).
The web console is at $ENDPOINT/console/: sign in with that key's id and secret.

Stop the server:  kill \$(cat $PID_FILE)
EOF
