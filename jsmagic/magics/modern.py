"""natscli's flags for the server 2.11-2.14 stream features, shared by ``%js_stream add`` and ``edit``.

Kept apart from :mod:`jsmagic.magics.streams` so that the per-message TTL, counter, atomic
and fast batch, schedule and persist-mode switches read as one group (``%js_stream add?``
lists them together). Their values reach :func:`jsmagic.services.streams.add` as keywords of the same names.
"""

from __future__ import annotations

from typing import Any

from IPython.core.magic_arguments import MagicArgumentParser

from ..core.units import plural
from ..services import streams
from ..ui.display import result_frame
from .base import run


def add_feature_flags(parser: MagicArgumentParser) -> None:
    """``--allow-msg-ttl --allow-counter --allow-batch --allow-fast --allow-schedules --subject-del-markers-ttl D
    --persist-mode M``."""
    group = parser.add_argument_group("server 2.11-2.14 features")
    group.add_argument("--allow-msg-ttl", action="store_true", default=None, help="allow per-message TTL (Nats-TTL)")
    group.add_argument("--allow-counter", action="store_true", default=None,
                       help="a counter stream (Nats-Incr); set at creation only")
    group.add_argument("--allow-batch", action="store_true", default=None, help="allow atomic batch publish")
    group.add_argument("--allow-fast", action="store_true", default=None,
                       help="allow fast batch publish, any size in order (server 2.14+)")
    group.add_argument("--allow-schedules", action="store_true", default=None, help="allow message schedules")
    group.add_argument("--subject-del-markers-ttl", metavar="DURATION",
                       help="leave a delete marker living DURATION when max age removes a subject's last message")
    group.add_argument("--persist-mode", metavar="MODE", help="default|async: async acks before the disk write "
                       "(server 2.12+, R1 file streams; set at creation, the server refuses a change)")


def add_schedules_verb(verbs: Any) -> None:
    """``%js_stream schedules STREAM [SUBJECT]``: the schedules still to fire."""
    p = verbs.add("schedules", "DataFrame of the message schedules still to fire (server 2.12+)")
    p.add_argument("name", help="stream name")
    p.add_argument("subject", nargs="?", help="only schedules on this subject filter")


def schedules_verb(a: Any) -> Any:
    df = run(streams.schedules(a.name, a.subject))
    return result_frame(df, f"{plural(len(df), 'pending schedule')} in {a.name}")
