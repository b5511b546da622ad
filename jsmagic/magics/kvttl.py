"""``%js_kv`` flags and verbs for server 2.11 buckets: ``--marker-ttl``, ``create/purge --ttl``, ``revert``, ``compact``, ``edit``.

Kept apart from :mod:`jsmagic.magics.kv` (service: :mod:`jsmagic.services.kv`): one function
adds them to ``%js_kv``'s parsers, :data:`HANDLERS` and :data:`CONFIRMED` hold what runs
``revert``, ``edit`` and ``compact`` (``create --ttl`` and ``purge --ttl`` run with the plain verbs).
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from ..core.units import plural
from ..services import kv
from ..ui.display import result_frame
from ..ui.report import shown
from .base import run


def add_kv_flags(verbs: Any) -> None:
    """Add natscli's 2.11 KV flags to ``add``/``create``/``purge`` and the ``revert``/``compact``/``edit`` verbs."""
    verbs.parsers["add"].add_argument("--marker-ttl", metavar="DURATION",
                                      help="server 2.11+: per-key TTL and delete markers living DURATION")
    verbs.parsers["create"].add_argument("--ttl", metavar="DURATION", help="server 2.11+: the key expires after DURATION")
    verbs.parsers["purge"].add_argument("--ttl", metavar="DURATION", help="the purge marker itself goes after DURATION")
    p = verbs.add("revert", "Store the value KEY had at REVISION again, as its newest revision")
    p.add_argument("bucket", help="bucket name")
    p.add_argument("key", help="key (tokens separated by '.')")
    p.add_argument("revision", type=int, help="the past revision whose value to store again")
    p = verbs.add("compact", "Reclaim what deleted and purged keys still hold (shows what first; needs --force)")
    p.add_argument("bucket", help="bucket name")
    p.add_argument("--force", action="store_true", help="really do it (it cannot be undone)")
    p = verbs.add("edit", "Change a bucket's settings; returns what changed")
    p.add_argument("bucket", help="bucket name")
    p.add_argument("--history", type=int, help="revisions kept per key (1-64)")
    p.add_argument("--ttl", help="how long values live (0 for ever)")
    p.add_argument("--max-value-size", help="largest value, e.g. 1MB")
    p.add_argument("--max-bucket-size", help="largest bucket, e.g. 1GB")
    p.add_argument("--description", help="a description of the bucket")
    p.add_argument("--marker-ttl", metavar="DURATION", help="per-key TTL and delete markers living DURATION")


def _edit(a: Any) -> pd.DataFrame:
    df = run(kv.edit(a.bucket, history=a.history, ttl=a.ttl, max_value_size=a.max_value_size or None,
                     max_bucket_size=a.max_bucket_size or None, description=a.description, marker_ttl=a.marker_ttl))
    for column in ("old", "new"):
        df[column] = [shown(k, v) for k, v in zip(df["setting"], df[column])]
    return result_frame(df, f"bucket {a.bucket}: {plural(len(df), 'setting')} changed")


HANDLERS: dict[str, Callable[[Any], Any]] = {
    "revert": lambda a: run(kv.revert(a.bucket, a.key, a.revision)),
    "edit": _edit,
}


def _compact(a: Any) -> tuple[Any, str]:
    plan = run(kv.compact(a.bucket, force=a.force))
    return plan, f"compacted: removed {plan.what}"


CONFIRMED: dict[str, Callable[[Any], tuple[Any, str]]] = {"compact": _compact}
