"""``%js_stream purge`` on every retention policy: the preview counts without a consumer, the purge does what it says.

On a WorkQueue stream the preview used to count matches through an AckNone consumer,
which the server refuses (error 10084): ``purge WQ --subject wq.a`` failed with and
without ``--force``.  Counts now come from the stream's subject counts and a batched
direct get; on an Interest stream a durable holds the messages (no interest, no messages).
"""

from __future__ import annotations

import uuid

import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from jsmagic.core.errors import ForceRequiredError

VARIANTS = [  # .a = seqs 1,3,4,6,8,9 ; .b = 2,5,7,10
    ("--subject {n}.a", 6, [2, 5, 7, 10]),
    ("--seq 7", 6, [7, 8, 9, 10]),
    ("--keep 3", 7, [8, 9, 10]),
    ("--subject {n}.a --keep 2", 4, [2, 5, 7, 8, 9, 10]),
    ("--subject {n}.a --seq 7", 4, [2, 5, 7, 8, 9, 10]),
]


def _fill(nc, retention: str, direct: bool = True) -> str:
    client, js, run = nc
    name = "P" + uuid.uuid4().hex[:8].upper()
    run(js.add_stream(name=name, subjects=[f"{name}.>"], retention=retention, allow_direct=direct))
    if retention == "interest":  # something must be interested, or nothing is kept
        run(js.add_consumer(name, ConsumerConfig(durable_name="keeper", ack_policy=AckPolicy.EXPLICIT)))
    for subject in "abaababaab":
        run(js.publish(f"{name}.{subject}", b"x"))
    return name


def _left(nc, name: str) -> list[int]:
    client, js, run = nc
    st = run(js.stream_info(name)).state
    seqs = []
    for seq in range(st.first_seq, st.last_seq + 1) if st.messages else []:
        try:
            seqs.append(run(js.get_msg(name, seq)).seq)
        except Exception:
            pass
    return seqs


@pytest.mark.parametrize("retention", ["limits", "workqueue", "interest"])
@pytest.mark.parametrize("flags, would, remaining", VARIANTS)
def test_purge_previews_and_purges_on_every_retention(shell, nc, retention, flags, would, remaining):
    name = _fill(nc, retention)
    flags = flags.format(n=name)
    with pytest.raises(ForceRequiredError, match=f"would purge {would} message"):
        shell.run_line_magic("js_stream", f"purge {name} {flags}")
    assert _left(nc, name) == list(range(1, 11))  # the preview changed nothing
    shell.run_line_magic("js_stream", f"purge {name} {flags} --force -o purged")
    assert shell.user_ns["purged"].purged == would
    assert _left(nc, name) == remaining
    client, js, run = nc
    assert [c.name for c in run(js.consumers_info(name))] == (["keeper"] if retention == "interest" else [])


def test_a_workqueue_without_direct_get_counts_subjects_and_says_when_it_cannot(shell, nc):
    name = _fill(nc, "workqueue", direct=False)
    with pytest.raises(ForceRequiredError, match="would purge 6 message"):
        shell.run_line_magic("js_stream", f"purge {name} --subject {name}.a")
    with pytest.raises(ForceRequiredError, match="would purge the messages below sequence 7 .*not counted"):
        shell.run_line_magic("js_stream", f"purge {name} --seq 7")
    shell.run_line_magic("js_stream", f"purge {name} --seq 7 --force -o purged")
    assert shell.user_ns["purged"].purged == 6 and _left(nc, name) == [7, 8, 9, 10]
