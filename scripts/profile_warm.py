#!/usr/bin/env python3
"""The client side of scripts/profile-warm.sh, and the reading of its callgrind dump.

    profile_warm.py drive ENDPOINT DATA_DIR ZIP N --before CMD --after CMD
        Waits for the server, deploys ZIP as a provided.al2023 function, warms it, runs
        CMD --before, then N signed Invokes one after another, then CMD --after.
    profile_warm.py groups CALLGRIND_DUMP N [--top K]
        Instructions per invoke of a callgrind dump: in all, per group (the groups
        docs/performance.md tabulates, by self cost), and the top functions by self and
        by inclusive cost.
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
    # SQLite's static functions have bare camelCase names.
    ("SQLite", r"sqlite3|rusqlite|hearth_store|^(wal|vdbe|yy_|pager|btree|unixShm|"
     r"getPage|keywordCode|resolveExpr|releaseMem|sqlite|pcache|walker|exprAnalyze|"
     r"whereLoop)"),
    ("regex", r"regex_automata|regex::"),
    ("hyper/http", r"hyper::|hyper_util|httparse|http::|h2::|axum|tower"),
    ("executor", r"tokio::|mio::|parking_lot|futures_util|futures_core|std::sync|^pthread|"
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


def read_callgrind(path: Path) -> tuple[dict[str, int], dict[str, int], int]:
    """Self and inclusive instructions per function of a callgrind dump, and the total.

    Read here rather than by callgrind_annotate, whose 3.19 counts in the self cost of
    some functions (`__rust_try`) what their callees cost in a dump made after a zeroing.
    """
    names: dict[str, dict[str, str]] = {"fn": {}, "cfn": {}}
    self_ir: dict[str, int] = {}
    incl: dict[str, int] = {}
    fn = "?"
    after_calls = False
    total = 0
    name_re = re.compile(r"^(fn|cfn)=\((\d+)\)(?: (.*))?$")
    for line in path.read_text(errors="replace").splitlines():
        if not line:
            continue
        c = line[0]
        if c.isdigit() or c in "+-*":
            parts = line.split()
            if len(parts) < 2:
                continue
            ir = int(parts[1])
            incl[fn] = incl.get(fn, 0) + ir
            if after_calls:
                after_calls = False
            else:
                self_ir[fn] = self_ir.get(fn, 0) + ir
                total += ir
            continue
        if line.startswith("calls="):
            after_calls = True
            continue
        m = name_re.match(line)
        if m:
            kind, ident, name = m.groups()
            # fn and cfn share one table of compressed names.
            table = names["fn"]
            if name is not None:
                table[ident] = name
            if kind == "fn":
                fn = table.get(ident, ident)
        elif line.startswith("fn="):
            fn = line[3:]
    return self_ir, incl, total


def groups(args: argparse.Namespace) -> None:
    self_ir, incl, total = read_callgrind(args.dump)
    n = args.n
    compiled = [(name, re.compile(p)) for name, p in GROUPS]
    sums: dict[str, int] = {name: 0 for name, _ in GROUPS}
    sums["other"] = 0
    for func, ir in self_ir.items():
        for name, pattern in compiled:
            if pattern.search(func):
                sums[name] += ir
                break
        else:
            sums["other"] += ir
    # The sum of the self costs (callgrind's `totals:`), which the groups add up to; its
    # `summary:` line came out some 10% lower in dumps made after a zeroing.
    print(f"instructions per warm invoke: {total // n:,} ({total:,} in all)")
    print(f"{'group (self cost)':<20} {'Ir/invoke':>10} {'share':>7}")
    for name, ir in sorted(sums.items(), key=lambda kv: -kv[1]):
        print(f"{name:<20} {ir // n:>10,} {100 * ir / max(total, 1):>6.1f}%")
    print(f"-- top {args.top} by self cost (Ir per invoke)")
    for func, ir in sorted(self_ir.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"{ir // n:>10,}  {func[:150]}")
    print(f"-- top {args.top} by inclusive cost (Ir per invoke)")
    for func, ir in sorted(incl.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"{ir // n:>10,}  {func[:150]}")


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
    g.add_argument("dump", type=Path)
    g.add_argument("n", type=int)
    g.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    {"drive": drive, "groups": groups}[args.cmd](args)


if __name__ == "__main__":
    main()
