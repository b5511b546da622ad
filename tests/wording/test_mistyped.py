"""A mistyped magic name gets a did-you-mean, in a real kernel (issue 23, item 17)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.kernel


def test_a_mistyped_magic_gets_did_you_mean(kernel):
    kernel.run("%load_ext jsmagic")
    res = kernel.run("%js_consum ORDERS", allow_error=True)
    assert res.status == "error"
    assert "`%js_consum` not found" in res.stderr and "did you mean %js_consume?" in res.stderr, res.all_text
    res = kernel.run("%%js_publis orders.x\n{}", allow_error=True)
    assert res.status == "error" and "did you mean %%js_publish?" in res.stderr, res.all_text
    res = kernel.run("%notamagic_x", allow_error=True)  # not ours: IPython's words, unchanged
    assert res.status == "error" and "did you mean" not in res.stderr and "not found" in res.stderr
    res = kernel.run("%js_consume --nosuchflag", allow_error=True)  # jsmagic's own usage errors unchanged
    assert res.status == "error" and "UsageError" in res.stderr + res.error_text
    kernel.run("%unload_ext jsmagic")
    res = kernel.run("%js_consum ORDERS", allow_error=True)
    assert "did you mean" not in res.stderr  # the hook goes with the extension
