"""Bench: ``%js_consume --to x.parquet`` against the in-memory replay, in one run, at 1M and 2M messages.

    PYTHONPATH=. .venv/bin/python bench/export.py [--messages 1000000 2000000]

For each N: a fresh embedded server, filled with N orders of ~120 B JSON by another
process (:mod:`jsmagic.testing.filler`); then each reader runs in a process of its own
(an IPython shell with jsmagic, warmed up by a 10-message replay), which reports its
seconds and its peak RSS growth (``ru_maxrss`` after, minus RSS before):

* export  : ``%js_consume BENCH --to bench.parquet``
* memory  : ``df = %js_consume BENCH`` (pandas, the default)
* arrow   : ``t = %js_consume BENCH --as arrow``

Prints rates, the export/in-memory rate ratio and the peak growth of each; checks the
goals: export rate >= 0.6x in-memory, export growth <= 300 MB and the same at 2M as at
1M (within 64 MB), arrow peak <= half the pandas peak.
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
t = time.perf_counter()
out = sh.run_line_magic("js_consume", line)
dt = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
rows = getattr(out, "rows", None) or len(out)
print(json.dumps({"rows": rows, "seconds": dt, "growth_mb": (peak - base) / 2**20}))
"""


def measure(url: str, line: str, cwd: str) -> dict:
    out = subprocess.run([sys.executable, "-c", READER, url, line], capture_output=True, text=True, cwd=cwd)
    if out.returncode:
        raise SystemExit(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench(n: int) -> dict:
    from jsmagic.testing import nats_server

    with nats_server() as server, tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "jsmagic.testing.filler", server.url, "BENCH", str(n)], check=True)
        export = measure(server.url, f"BENCH --to {tmp}/bench.parquet", tmp)
        memory = measure(server.url, "BENCH", tmp)
        arrow = measure(server.url, "BENCH --as arrow", tmp)
        size = os.path.getsize(f"{tmp}/bench.parquet")
    for name, r in (("export", export), ("memory", memory), ("arrow", arrow)):
        assert r["rows"] == n, (name, r)
    return {"n": n, "export": export, "memory": memory, "arrow": arrow, "parquet_mb": size / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, nargs="+", default=[1_000_000, 2_000_000])
    args = parser.parse_args()
    results = [bench(n) for n in args.messages]
    for r in results:
        e, m, a = r["export"], r["memory"], r["arrow"]
        re, rm = e["rows"] / e["seconds"], m["rows"] / m["seconds"]
        print(f"N={r['n']:,}: export {re:,.0f} msg/s ({e['seconds']:.1f}s, peak growth {e['growth_mb']:.0f} MB, "
              f"file {r['parquet_mb']:.0f} MB) | in-memory {rm:,.0f} msg/s ({m['seconds']:.1f}s, peak growth "
              f"{m['growth_mb']:.0f} MB) | --as arrow {a['seconds']:.1f}s, peak growth {a['growth_mb']:.0f} MB")
        print(f"  export/in-memory rate {re / rm:.2f}x  (goal >= 0.6: {'met' if re >= 0.6 * rm else 'MISSED'}); "
              f"export growth <= 300 MB: {'met' if e['growth_mb'] <= 300 else 'MISSED'}; "
              f"arrow <= half pandas: {'met' if a['growth_mb'] <= m['growth_mb'] / 2 else 'MISSED'} "
              f"({a['growth_mb'] / m['growth_mb']:.2f}x)")
    if len(results) > 1:
        g = [r["export"]["growth_mb"] for r in results]
        print(f"export growth at {results[-1]['n']:,} vs {results[0]['n']:,}: {g[-1]:.0f} vs {g[0]:.0f} MB "
              f"(goal: same within 64 MB: {'met' if abs(g[-1] - g[0]) <= 64 else 'MISSED'})")
    print(f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
