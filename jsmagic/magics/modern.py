"""natscli's flags for the server 2.11/2.12 stream features, shared by ``%js_stream add`` and ``edit``.

Kept apart from :mod:`jsmagic.magics.streams` so that the per-message TTL, counter, atomic
batch and schedule switches read as one group (``%js_stream add?`` lists them together).
"""

from __future__ import annotations

from typing import Any

from IPython.core.magic_arguments import MagicArgumentParser

from ..admin.streamconfig import feature_params


def add_feature_flags(parser: MagicArgumentParser) -> None:
    """``--allow-msg-ttl --allow-counter --allow-batch --allow-schedules --subject-del-markers-ttl D``."""
    group = parser.add_argument_group("server 2.11/2.12 features")
    group.add_argument("--allow-msg-ttl", action="store_true", default=None, help="allow per-message TTL (Nats-TTL)")
    group.add_argument("--allow-counter", action="store_true", default=None,
                       help="a counter stream (Nats-Incr); set at creation only")
    group.add_argument("--allow-batch", action="store_true", default=None, help="allow atomic batch publish")
    group.add_argument("--allow-schedules", action="store_true", default=None, help="allow message schedules")
    group.add_argument("--subject-del-markers-ttl", metavar="DURATION",
                       help="leave a delete marker living DURATION when max age removes a subject's last message")


def feature_flags(args: Any) -> dict[str, Any]:
    """The given feature flags as StreamConfig fields (an empty dict when none was given)."""
    names = ("allow_msg_ttl", "allow_counter", "allow_batch", "allow_schedules", "subject_del_markers_ttl")
    return feature_params(**{n: getattr(args, n, None) for n in names})
