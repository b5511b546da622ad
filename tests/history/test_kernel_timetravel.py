"""Time travel in a real Jupyter kernel: the cells a notebook user runs, checked against a plain nats-py replay."""

from __future__ import annotations

import time

import pytest

from .independent import kv_state, replay_all

pytestmark = pytest.mark.kernel


def test_view_at_and_diff_in_a_kernel(kernel, server, nc):
    client, js, on_loop = nc
    bucket = f"ktt{time.monotonic_ns() % 10**9}"
    r = kernel.run(f"%load_ext jsmagic\n%js_connect {server.url}\n%js_kv add {bucket} --history 10\n"
                   f"%js_kv put {bucket} db.host pg1\n%js_kv put {bucket} flag off\n"
                   f"before = %js_kv view {bucket}\nnoon = before['time'].max()\n"
                   f"%js_kv put {bucket} db.host pg2\n%js_kv del {bucket} flag\n%js_kv put {bucket} cache on")
    assert not r.error, r.error
    r = kernel.run(f"then = get_ipython().run_line_magic('js_kv', f'view {bucket} --at {{noon.isoformat()}}')\n"
                   "print(sorted(zip(then['key'], then['revision'])))\nthen")
    assert not r.error, r.error
    records = on_loop(replay_all(client, js, f"KV_{bucket}", f"$KV.{bucket}.>"))
    noon_ns = records[1][2]  # the second write is the last one before "noon"
    want = sorted((k, rev) for k, (rev, _) in kv_state(records, f"$KV.{bucket}.", upto_ns=noon_ns).items())
    assert r.stdout.strip() == str(want)
    assert "as of revision 2" in r.result  # the summary under the table
    r = kernel.run(f"d = get_ipython().run_line_magic('js_kv', f'diff {bucket} {{noon.isoformat()}}')\n"
                   "print(dict(zip(d['key'], d['change'])))")
    assert r.stdout.strip() == str({"cache": "added", "db.host": "changed", "flag": "deleted"})
    on_loop(js.delete_key_value(bucket))
