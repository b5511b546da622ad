"""Bench: ``%js_consume --to x.parquet`` (and ``--as arrow``, ``--where``) against the in-memory replay, in one run.

    PYTHONPATH=. .venv/bin/python bench/export.py [--messages 1000000 2000000] [--rounds 3]

For each N: a fresh embedded server, filled with N orders of ~120 B JSON by another
process (:mod:`jsmagic.testing.filler`); then each reader runs in a process of its own
(an IPython shell with jsmagic, warmed up by a 10-message replay), which reports its
seconds, its CPU seconds and its peak RSS growth (``ru_maxrss`` after, minus RSS before):

* memory  : ``df = %js_consume BENCH`` (pandas, the default: the reference)
* export  : ``%js_consume BENCH --to bench.parquet``
* arrow   : ``t = %js_consume BENCH --as arrow``
* where   : ``df = %js_consume BENCH --where "qty > 8"`` (about half the rows kept)

The readers run in turn ``--rounds`` times (a shared machine's load moves between
rounds); every round is printed, and each reader is taken at its best round.  Prints
rates and the ratio of each to the in-memory replay, best-of and per round (and the
ratio of CPU seconds per message, which a busy machine moves less); checks the
goals of issue 21: export rate >= 0.8x in-memory, export growth <= 300 MB, and (with
several N) the same growth at the last N as at the first (within 64 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

READER = r"""
import json, os, resource, sys, time
from jsmagic.testing import testing_shell
url, line = sys.argv[1], sys.argv[2]
sh = testing_shell(progress_after=3600.0)
sh.run_line_magic("js_connect", url)
sh.run_line_magic("js_consume", line.replace("BENCH", "BENCH -n 10", 1))  # imports and first use, not measured
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
base = rss()
ru0 = resource.getrusage(resource.RUSAGE_SELF)
t = time.perf_counter()
out = sh.run_line_magic("js_consume", line)
dt = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
peak = ru.ru_maxrss * 1024
rows = getattr(out, "rows", None) or len(out)
cpu = ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime
print(json.dumps({"rows": rows, "seconds": dt, "cpu": cpu, "growth_mb": (peak - base) / 2**20}))
"""

READERS = {  # name → the line after %js_consume
    "memory": "BENCH",
    "export": "BENCH --to {tmp}/bench.parquet",
    "arrow": "BENCH --as arrow",
    "where": 'BENCH --where "qty > 8"',
}


def measure(url: str, line: str, cwd: str) -> dict:
    out = subprocess.run([sys.executable, "-c", READER, url, line], capture_output=True, text=True, cwd=cwd)
    if out.returncode:
        raise SystemExit(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench(n: int, rounds: int) -> dict:
    from jsmagic.testing import nats_server

    with nats_server() as server, tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "jsmagic.testing.filler", server.url, "BENCH", str(n)], check=True)
        runs = [{name: measure(server.url, line.format(tmp=tmp), tmp) for name, line in READERS.items()}
                for _ in range(rounds)]
        size = os.path.getsize(f"{tmp}/bench.parquet")
    kept = sum(1 for i in range(n) if i % 17 > 8)  # the filler's qty is i % 17
    for r in runs:
        for name, m in r.items():
            assert m["rows"] == (kept if name == "where" else n), (name, m)
            m["read"] = n
    return {"n": n, "runs": runs, "parquet_mb": size / 2**20}


def rate(m: dict) -> float:
    """Messages read per second (``--where`` reads them all and keeps about half)."""
    return m["read"] / m["seconds"]


def cpu(m: dict, ref: dict) -> float:
    """The reader's CPU seconds per message against ``ref``'s, as a rate ratio (what the load moves least)."""
    return (ref["cpu"] / ref["read"]) / (m["cpu"] / m["read"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, nargs="+", default=[1_000_000, 2_000_000])
    parser.add_argument("--rounds", type=int, default=3, help="each reader this many times, in turn; best of each")
    args = parser.parse_args()
    results = [bench(n, args.rounds) for n in args.messages]
    growth = []
    for r in results:
        n, runs = r["n"], r["runs"]
        print(f"N={n:,} (parquet file {r['parquet_mb']:.0f} MB), rate vs the in-memory replay of the same round:")
        for k, run in enumerate(runs, 1):
            m = run["memory"]
            print(f"  round {k}: in-memory {rate(m):,.0f} msg/s ({m['seconds']:.1f}s, CPU {m['cpu']:.1f}s, peak growth "
                  f"{m['growth_mb']:.0f} MB); " + "; ".join(
                      f"{name} {rate(x) / rate(m):.2f}x ({x['seconds']:.1f}s; CPU {x['cpu']:.1f}s = {cpu(x, m):.2f}x; "
                      f"{x['growth_mb']:.0f} MB)"
                      for name, x in run.items() if name != "memory"))
        best = {name: min((run[name] for run in runs), key=lambda x: x["seconds"]) for name in READERS}
        peak = {name: max(run[name]["growth_mb"] for run in runs) for name in READERS}  # the budget holds every run
        m = best["memory"]
        print(f"  best of {len(runs)}: in-memory {rate(m):,.0f} msg/s ({m['seconds']:.1f}s); " + "; ".join(
            f"{name} {rate(best[name]):,.0f} msg/s = {rate(best[name]) / rate(m):.2f}x ({best[name]['seconds']:.1f}s, "
            f"peak growth up to {peak[name]:.0f} MB)" for name in READERS if name != "memory")
              + f"; in-memory peak growth up to {peak['memory']:.0f} MB")
        least = {name: min((run[name] for run in runs), key=lambda x: x["cpu"]) for name in READERS}
        print(f"  CPU per message, best of {len(runs)}, as a rate against the in-memory replay's: " + ", ".join(
            f"{name} {cpu(least[name], least['memory']):.2f}x" for name in READERS if name != "memory"))
        ratio = rate(best["export"]) / rate(m)
        print(f"  goal export >= 0.8x in-memory: {'met' if ratio >= 0.8 else 'MISSED'} ({ratio:.2f}x); "
              f"export growth <= 300 MB: {'met' if peak['export'] <= 300 else 'MISSED'} ({peak['export']:.0f} MB); "
              f"--as arrow {rate(best['arrow']) / rate(m):.2f}x, --where {rate(best['where']) / rate(m):.2f}x")
        growth.append(peak["export"])
    if len(results) > 1:
        print(f"export growth at {results[-1]['n']:,} vs {results[0]['n']:,}: {growth[-1]:.0f} vs {growth[0]:.0f} MB "
              f"(goal: same within 64 MB: {'met' if abs(growth[-1] - growth[0]) <= 64 else 'MISSED'})")
    print(f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
