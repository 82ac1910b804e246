#!/usr/bin/env python3
"""Cold-start latency of Hearth's sandboxes, side by side in one run.

Starts one `hearth server` per sandbox (jail and process) on fresh data directories,
deploys the same Rust (`lambda_runtime`) and Python functions on each, and forces a cold
start per invocation by changing an environment variable first (an update retires the
warm environment). For each (sandbox, runtime) it reports p50/p99 of

- init: the `Init Duration` Hearth's REPORT line gives (spawn to the runtime's first `next`),
- invoke: the client-observed latency of the cold Invoke call (boto3, loopback),
- floor: exec'ing the same runtime directly until its first `next` is not measured here;
  `hearth-bench` (the scaling issue) adds it.

Usage: python3 bench/cold_start.py [--runs 40] [--hearth target/release/hearth]
Needs the test zips (bash tests/build-functions.sh target/test-zips) and installed
runtimes (target/test-runtimes, as the e2e suite makes them). Run as root (the jail).
"""

import argparse
import base64
import configparser
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

REPO = Path(__file__).resolve().parent.parent
INIT = re.compile(r"Init Duration: ([0-9.]+) ms")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(hearth, sandbox, runtimes, data):
    port = free_port()
    env = dict(os.environ, HEARTH_SANDBOX=sandbox, RUST_LOG="warn")
    proc = subprocess.Popen(
        [hearth, "server", "--listen", f"127.0.0.1:{port}", "--data-dir", data, "--runtimes-dir", runtimes],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The server writes its administrator key to the data directory before it listens.
    creds = os.path.join(data, "admin-credentials")
    for _ in range(200):
        if os.path.exists(creds):
            break
        time.sleep(0.05)
    ini = configparser.ConfigParser()
    ini.read(creds)
    client = boto3.client(
        "lambda", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
        aws_access_key_id=ini["default"]["aws_access_key_id"],
        aws_secret_access_key=ini["default"]["aws_secret_access_key"],
        config=Config(retries={"max_attempts": 1}, read_timeout=60))
    for _ in range(200):
        try:
            client.get_account_settings()
            return proc, client
        except Exception:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"{sandbox} server did not start")


def wait(client, name):
    for _ in range(400):
        c = client.get_function_configuration(FunctionName=name)
        if c["State"] == "Active" and c["LastUpdateStatus"] == "Successful":
            return
        time.sleep(0.01)
    sys.exit(f"{name} never settled")


def pct(values, p):
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


def measure(client, name, runs):
    inits, invokes = [], []
    for i in range(runs):
        client.update_function_configuration(FunctionName=name, Environment={"Variables": {"RUN": str(i)}})
        wait(client, name)
        t = time.perf_counter()
        r = client.invoke(FunctionName=name, Payload=b'{"n":1}', LogType="Tail")
        invokes.append((time.perf_counter() - t) * 1000)
        assert "FunctionError" not in r, r["Payload"].read()
        m = INIT.search(base64.b64decode(r["LogResult"]).decode())
        assert m, "not a cold start"
        inits.append(float(m.group(1)))
    return inits, invokes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--hearth", default=str(REPO / "target/release/hearth"))
    ap.add_argument("--runtimes", default=str(REPO / "target/test-runtimes"))
    ap.add_argument("--zips", default=str(REPO / "target/test-zips"))
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    functions = {
        "rust": ("provided.al2023", "bootstrap", "rust.zip"),
        "python": ("python3.11", "app.handler", "python.zip"),
    }
    rows, out = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        servers = {s: start(args.hearth, s, args.runtimes, os.path.join(tmp, s)) for s in ("jail", "process")}
        try:
            for sandbox, (_, client) in servers.items():
                for fn, (runtime, handler, zip_name) in functions.items():
                    client.create_function(
                        FunctionName=fn, Runtime=runtime, Handler=handler,
                        Role="arn:aws:iam::000000000000:role/bench",
                        Code={"ZipFile": Path(args.zips, zip_name).read_bytes()})
                    wait(client, fn)
            # Interleave the sandboxes so machine noise affects both alike.
            results = {(s, f): ([], []) for s in servers for f in functions}
            for _ in range(args.runs // 10 or 1):
                for sandbox, (_, client) in servers.items():
                    for fn in functions:
                        i, v = measure(client, fn, min(10, args.runs))
                        results[(sandbox, fn)][0].extend(i)
                        results[(sandbox, fn)][1].extend(v)
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(timeout=10)
    print(f"{'sandbox':8} {'runtime':7} {'n':>4} {'init p50':>9} {'init p99':>9} {'invoke p50':>11} {'invoke p99':>11}  (ms)")
    for (sandbox, fn), (inits, invokes) in results.items():
        row = {
            "n": len(inits),
            "init_p50_ms": round(pct(inits, 50), 2), "init_p99_ms": round(pct(inits, 99), 2),
            "invoke_p50_ms": round(pct(invokes, 50), 2), "invoke_p99_ms": round(pct(invokes, 99), 2),
        }
        out[f"{sandbox}_{fn}"] = row
        print(f"{sandbox:8} {fn:7} {row['n']:>4} {row['init_p50_ms']:>9} {row['init_p99_ms']:>9} "
              f"{row['invoke_p50_ms']:>11} {row['invoke_p99_ms']:>11}")
    for fn in functions:
        j, p = out[f"jail_{fn}"], out[f"process_{fn}"]
        print(f"{fn}: jail/process cold invoke p50 ratio {j['invoke_p50_ms'] / p['invoke_p50_ms']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
