#!/usr/bin/env python3
"""The client side of scripts/profile-warm.sh, and the reading of its callgrind dump.

    profile_warm.py drive ENDPOINT DATA_DIR ZIP N --before CMD --after CMD
        Waits for the server, deploys ZIP as a provided.al2023 function, warms it, runs
        CMD --before, then N signed Invokes one after another, then CMD --after.
    profile_warm.py groups CALLGRIND_ANNOTATE_OUTPUT N
        Sums the exclusive instructions of the functions in callgrind_annotate's output
        into the groups docs/performance.md tabulates, per invoke.
"""

from __future__ import annotations

import argparse
import configparser
import json
import re
import subprocess
import sys
import time
from pathlib import Path

REGION = "us-east-1"
ROLE = "arn:aws:iam::000000000000:role/hearth"
FUNCTION = "profile-echo"
EVENT = {"hello": "world"}
PAYLOAD = json.dumps(EVENT).encode()
WARMUPS = 20

# The first pattern a function's name matches names its group (order matters: the
# allocator and memcpy are named before the crates that call them).
GROUPS = [
    ("allocator", r"\b(malloc|free|realloc|calloc|cfree|_int_malloc|_int_free|_int_realloc|"
     r"malloc_consolidate|tcache_\w+|unlink_chunk|__libc_malloc|__libc_free|"
     r"__libc_calloc|__libc_realloc|alloc::alloc)\b"),
    ("memcpy/memset", r"__mem(cpy|move|set|cmp)|\bmem(cpy|move|set|cmp)\b|__strlen|bcmp"),
    ("SigV4", r"hearth_auth|sha2::|hmac::|aws_sigv4|aws_smithy|digest::|percent_encoding"),
    ("SQLite", r"sqlite3|rusqlite|hearth_store"),
    ("hyper/http", r"hyper::|hyper_util|httparse|http::|h2::|axum|tower"),
    ("executor", r"tokio::|mio::|parking_lot|futures_util|futures_core|std::sync|"
     r"crossbeam|__lll_lock|pthread_mutex|futex|pthread_cond|__pthread"),
    ("serde/json", r"serde_json|serde::|base64"),
    ("runtime API", r"hearth_runtime_api"),
    ("engine", r"hearth_engine|hearth_sandbox|hearth_model"),
    ("API layer", r"hearth_api|hearth_cli|hearth_iam|hearth_observe|hearth_metrics"),
    ("tracing/logging", r"tracing|chrono|time::"),
]


def credentials(data_dir: Path) -> tuple[str, str]:
    ini = configparser.ConfigParser()
    ini.read(data_dir / "admin-credentials")
    return ini["default"]["aws_access_key_id"], ini["default"]["aws_secret_access_key"]


def drive(args: argparse.Namespace) -> None:
    import boto3
    from botocore.config import Config

    creds = args.data_dir / "admin-credentials"
    deadline = time.monotonic() + 300
    while not creds.exists():
        if time.monotonic() > deadline:
            sys.exit(f"{creds} did not appear: did the server start?")
        time.sleep(0.5)
    key, secret = credentials(args.data_dir)
    client = boto3.client(
        "lambda",
        region_name=REGION,
        endpoint_url=args.endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        # Under valgrind the server is some 50 times slower.
        config=Config(read_timeout=600, connect_timeout=60, retries={"max_attempts": 0}),
    )
    while True:
        try:
            client.list_functions()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    client.create_function(
        FunctionName=FUNCTION,
        Runtime="provided.al2023",
        Handler="bootstrap",
        Role=ROLE,
        MemorySize=128,
        Timeout=30,
        Code={"ZipFile": args.zip.read_bytes()},
    )
    while client.get_function_configuration(FunctionName=FUNCTION)["State"] != "Active":
        time.sleep(0.2)

    def invoke() -> None:
        r = client.invoke(FunctionName=FUNCTION, Payload=PAYLOAD)
        body = r["Payload"].read()
        # The echo answers {"rust": true, "event": <payload>, "context": ...}.
        if r["StatusCode"] != 200 or "FunctionError" in r or json.loads(body)["event"] != EVENT:
            sys.exit(f"a bad answer: {r['StatusCode']} {r.get('FunctionError')} {body[:200]!r}")

    for _ in range(WARMUPS):
        invoke()
    subprocess.run(args.before, shell=True, check=True)
    started = time.monotonic()
    for _ in range(args.n):
        invoke()
    elapsed = time.monotonic() - started
    subprocess.run(args.after, shell=True, check=True)
    print(f"{args.n} warm invokes in {elapsed:.2f} s (client included)", file=sys.stderr)


def groups(args: argparse.Namespace) -> None:
    # callgrind_annotate lines: "  1,234 (12.3%)  file:function [object]" or "1,234  file:function".
    line_re = re.compile(r"^\s*([\d,]+)\s+(?:\([\d.]+%\)\s+)?(\S.*)$")
    compiled = [(name, re.compile(p)) for name, p in GROUPS]
    sums: dict[str, int] = {name: 0 for name, _ in GROUPS}
    sums["other"] = 0
    total = None
    for line in args.annotate.read_text(errors="replace").splitlines():
        m = line_re.match(line)
        if not m:
            continue
        ir, what = int(m.group(1).replace(",", "")), m.group(2)
        if "PROGRAM TOTALS" in what:
            total = ir
            continue
        # Only the function part: file names (tokio's, say) would mislead.
        func = what.split(":", 1)[1] if ":" in what else what
        for name, pattern in compiled:
            if pattern.search(func):
                sums[name] += ir
                break
        else:
            sums["other"] += ir
    if total is None:
        sys.exit("no PROGRAM TOTALS line: is this callgrind_annotate's output?")
    listed = sum(sums.values())
    sums["other"] += max(total - listed, 0)  # functions under the annotate threshold
    print(f"{'group':<18} {'Ir/invoke':>10} {'share':>7}")
    for name, ir in sorted(sums.items(), key=lambda kv: -kv[1]):
        print(f"{name:<18} {ir // args.n:>10,} {100 * ir / total:>6.1f}%")
    print(f"{'total':<18} {total // args.n:>10,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("drive")
    d.add_argument("endpoint")
    d.add_argument("data_dir", type=Path)
    d.add_argument("zip", type=Path)
    d.add_argument("n", type=int)
    d.add_argument("--before", default="true")
    d.add_argument("--after", default="true")
    g = sub.add_parser("groups")
    g.add_argument("annotate", type=Path)
    g.add_argument("n", type=int)
    args = parser.parse_args()
    {"drive": drive, "groups": groups}[args.cmd](args)


if __name__ == "__main__":
    main()
