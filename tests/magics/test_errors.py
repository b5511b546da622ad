"""Errors a user causes, as a notebook shows them (a real kernel): one line, what to do next."""

from __future__ import annotations

import socket
import time
import uuid

import pytest

pytestmark = pytest.mark.kernel


def test_rough_edges_are_gone(kernel, server):
    tag = uuid.uuid4().hex[:6]
    kernel.run(f"%load_ext jsmagic\n%js_connect {server.url}\n%js_stream add E{tag} --subjects 'e{tag}.>'")

    bad = kernel.run(f"%%js_publish e{tag}.x --json\n{{\"a\": 1}}\n{{\"a\": }}", allow_error=True)
    assert "line 2 is not valid JSON" in bad.error_text and "line 1" not in bad.error_text, bad.error_text

    flag = kernel.run(f"%js_consume E{tag} --bogus", allow_error=True)
    assert "unrecognized arguments: --bogus" in flag.all_text and "see %js_consume? for every option" in flag.all_text

    kernel.run(f"%js_kv add ord{tag}")  # its stream is KV_ord{tag}: internal, never a suggestion
    typo = kernel.run(f"%js_consume ord{tag}", allow_error=True)
    assert "unknown stream" in typo.error_text and "KV_" not in typo.error_text, typo.error_text

    host = kernel.run("%js_connect nats://no-such-host.invalid:4222 --alias nohost --timeout 2", allow_error=True)
    assert "unknown host" in host.error_text and "gaierror" not in host.all_text and "Errno" not in host.all_text


def test_a_slow_connect_says_where_and_how_long_at_once(kernel):
    kernel.run("%load_ext jsmagic")
    with socket.socket() as silent:  # accepts the TCP connection, never greets: the connect waits
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"nats://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        res = kernel.run(f"%js_connect {url} --alias far --timeout 2", allow_error=True)
    assert res.status == "error"
    assert f"connecting to {url} (timeout 2s)" in res.stdout, res.stdout
    assert time.monotonic() - started < 30
