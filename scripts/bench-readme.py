#!/usr/bin/env python3
"""Regenerates the README's benchmark table from `hearth-bench --json` runs.

    python3 scripts/bench-readme.py AFTER.json [BEFORE.json] [--write]

Prints a Markdown table of the figures issue 20 (performance, second rung) sets targets for,
each with its target and verdict, and the BEFORE run's value beside it when given; with
`--write` it replaces the README's table between the `bench-table` markers. The figures are
the runs' own (never edited by hand); the machine and date come from the AFTER run's facts
and the clock.
"""

from __future__ import annotations

import datetime
import json
import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"


def env_ratio(run: dict) -> float | None:
    """The bench's own ratio; computed the same way for runs older than it."""
    if (ratio := run.get("cpu_per_invoke_c32_environments_over_floor")) is not None:
        return ratio
    env, floor = run.get("cpu_per_invoke_c32_environments_us"), run.get("floor_cpu_per_invoke_us")
    return env / floor if env is not None and floor else None


# label, how to read the figure, unit, target (op, value) or None
ROWS = [
    ("server CPU per warm invoke, c32", "cpu_per_invoke_c32_server_us", "µs", ("<=", 50)),
    ("relay floor's server CPU per invoke, c32 (same protocol and HTTP stack, nothing else)",
     "relay_floor_cpu_per_invoke_c32_server_us", "µs", None),
    ("environment CPU per invoke over the floor runtime's, c32", env_ratio, "×", ("<=", 1.15)),
    ("the relay floor's runtimes' CPU per invoke over the floor runtime's, c32 (no environment)",
     "relay_floor_cpu_per_invoke_c32_runtimes_over_floor", "×", None),
    ("warm invokes/s, c32", "throughput_c32_rps", "/s", (">=", 12_000)),
    ("relay floor's invokes/s, c32", "relay_floor_c32_rps", "/s", None),
    ("warm overhead p50 (Rust)", "warm_overhead_p50_us", "µs", ("<=", 80)),
    ("warm overhead p99 (Rust)", "warm_overhead_p99_us", "µs", ("<=", 300)),
    ("relay floor's overhead p50 (Rust; same client, protocol and HTTP stack, nothing else)",
     "relay_floor_warm_overhead_p50_us", "µs", None),
    ("relay floor's overhead p99 (Rust)", "relay_floor_warm_overhead_p99_us", "µs", None),
    ("warm overhead p50 (Python)", "python_warm_overhead_p50_us", "µs", ("<=", 100)),
    ("relay floor's overhead p50 (Python)", "python_relay_floor_warm_overhead_p50_us", "µs", None),
    ("cold start p50 (Rust)", "cold_start_p50_ms", "ms", None),
    ("cold start p50 over the exec floor (Rust)", "cold_start_ratio", "×", ("<=", 1.5)),
    ("sandboxes created per second, c8", "sandboxes_per_s", "/s", (">=", 400)),
    ("idle environment beyond its runtime", "idle_env_kib", "KiB", ("<=", 512)),
    ("durable async accepts/s, c32", "async_accept_c32_rps", "/s", (">=", 10_000)),
    ("async events accepted and delivered, end to end, c32", "async_end_to_end_rps", "/s", None),
    ("async accepts/s, c32, none delivered (the accept path alone)", "async_accept_undelivered_c32_rps", "/s", None),
    ("fresh environment per invoke p50 (Rust)", "fresh_env_p50_ms", "ms", None),
    ("fresh environment over a cold start", "fresh_env_cold_ratio", "×", ("<=", 1.5)),
    ("fresh environment invokes/s, c8", "fresh_env_rps_c8", "/s", None),
]


def value(run: dict | None, how) -> float | None:
    if run is None:
        return None
    return how(run) if callable(how) else run.get(how)


def number(v: float | None, unit: str) -> str:
    if v is None:
        return "–"
    text = f"{v:,.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"
    return f"{text} {unit}"


def verdict(v: float | None, target) -> str:
    if v is None or target is None:
        return ""
    op, t = target
    return "OK" if (v <= t if op == "<=" else v >= t) else "MISS"


def table(after: dict, before: dict | None) -> str:
    facts = after.get("facts", {})
    head = ["figure", "target", "measured", "verdict"]
    if before is not None:
        head.insert(2, "before")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, how, unit, target in ROWS:
        v = value(after, how)
        cells = [label, f"{target[0].replace('<=', '≤').replace('>=', '≥')} {target[1]:,} {unit}"
                 if target else "reported", number(v, unit), verdict(v, target)]
        if before is not None:
            cells.insert(2, number(value(before, how), unit))
        lines.append("| " + " | ".join(cells) + " |")
    cpus = facts.get("cpus", "?")
    sandbox = facts.get("sandbox", "?")
    day = datetime.date.today().isoformat()
    lines.append("")
    lines.append(f"Measured {day} by `sudo target/release/hearth-bench --json FILE` (release build, "
                 f"{sandbox} sandbox, {cpus} CPUs), then `python3 scripts/bench-readme.py FILE "
                 "[BEFORE] --write`; methods and every other figure in [Benchmark](docs/benchmark.md).")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    write = "--write" in argv
    files = [a for a in argv if a != "--write"]
    if not 1 <= len(files) <= 2:
        print(__doc__, file=sys.stderr)
        return 2
    runs = [json.loads(Path(f).read_text()) for f in files]
    text = table(runs[0], runs[1] if len(runs) == 2 else None)
    if not write:
        print(text)
        return 0
    readme = README.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(readme):
        print(f"no {START} ... {END} markers in {README}", file=sys.stderr)
        return 1
    README.write_text(pattern.sub(lambda _: f"{START}\n{text}\n{END}", readme))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
