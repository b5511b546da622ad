"""Bench: ``jsmagic.dask.read_stream`` on a LocalCluster against the single-kernel replay, in one run.

    PYTHONPATH=. .venv/bin/python bench/dask.py [--messages 500000] [--workers 2] [--partitions 8]

Fills a fresh embedded server with N orders (~120 B JSON, from another process), then
times (a) ``%js_consume BENCH`` in an IPython shell and (b) ``read_stream("BENCH",
partitions=P).compute()`` on a LocalCluster of W worker processes (cluster start-up not
timed), plus a group-by (``amount`` summed per region) both ways.  Checks that both give
the same sequences.  Prints msg/s of each and the ratio (on this 2-core machine the
workers share the cores with the server, so the ratio says what a partitioned replay
costs here, not what a cluster of machines would give).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=8)
    args = parser.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))  # this file is bench/dask.py: not the dask package
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    from dask.distributed import Client, LocalCluster

    import jsmagic.dask as jd
    from jsmagic.testing import nats_server, testing_shell

    with nats_server() as server:
        subprocess.run([sys.executable, "-m", "jsmagic.testing.filler", server.url, "BENCH", str(args.messages)], check=True)
        sh = testing_shell(probe_local=False, progress_after=3600.0)  # no progress line in the output
        sh.run_line_magic("js_connect", server.url)
        t = time.perf_counter()
        single = sh.run_line_magic("js_consume", "BENCH")
        t_single = time.perf_counter() - t
        by_region = single.groupby("region").amount.sum()
        sh.run_line_magic("unload_ext", "jsmagic")
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None) as lc, Client(lc):
            t = time.perf_counter()
            ddf = jd.read_stream("BENCH", servers=server.url, partitions=args.partitions)
            parted = ddf.compute()
            t_parted = time.perf_counter() - t
            t = time.perf_counter()
            agg = ddf.groupby("region").amount.sum().compute()
            t_agg = time.perf_counter() - t
    assert parted["seq"].tolist() == single["seq"].tolist(), "the partitioned replay differs"
    assert (agg.sort_index() - by_region.sort_index()).abs().max() < 1e-6
    n = len(single)
    print(f"single kernel replay   : {n:,} rows in {t_single:.2f}s = {n / t_single:,.0f} msg/s")
    print(f"dask, {args.partitions} partitions, {args.workers} workers: {n:,} rows in {t_parted:.2f}s = {n / t_parted:,.0f} msg/s "
          f"(compute to the client); group-by on the workers {t_agg:.2f}s")
    print(f"ratio partitioned/single: {t_single / t_parted:.2f}x; load average now {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
