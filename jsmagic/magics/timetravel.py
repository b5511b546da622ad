"""Time travel verbs and flags: ``%js_kv view|get --at``, ``%js_kv diff``, ``%js_stream diff``, ``%js_consume --at``.

Registered on the existing magics' verbs (``add_kv_verbs``, ``add_stream_verbs``); the
handlers call :mod:`jsmagic.services.kvhistory` / :mod:`~jsmagic.services.streamhistory` (what
``jsmagic.kv.view(at=…)`` and ``jsmagic.kv.diff`` are) and render their frames with a summary
that leads with what the core noted (history removed since the point).
"""

from __future__ import annotations

from typing import Any, Callable

from ..core.decode import HELP
from ..core.errors import InputError
from ..core.units import parse_when, plural
from ..services import kvhistory, reading, streamhistory
from ..ui.buckets import entry_line
from ..ui.display import noted, result_frame
from ..ui.replay import replay_summary
from .base import run, with_progress
from .verbs import Verbs

_AT = "the point in time: ISO/RFC 3339, or a duration meaning ago (2h, 1d3h); writes at or before it count"


def add_kv_verbs(verbs: Verbs) -> None:
    """``--at``/``--revision`` on ``view``, ``--at`` on ``get``, and the ``diff`` verb."""
    verbs.parsers["view"].add_argument("--at", metavar="TIME", help="the bucket as it was then: " + _AT)
    verbs.parsers["view"].add_argument("--revision", type=int, help="the bucket as of this revision (stream sequence)")
    verbs.parsers["get"].add_argument("--at", metavar="TIME", help="the value as it was then: " + _AT)
    p = verbs.add("diff", "What changed between two times: added, changed (old → new), deleted keys", positional=("bucket",))
    p.add_argument("since", metavar="T1", help="the first point: " + _AT)
    p.add_argument("until", metavar="T2", nargs="?", help="the second point (default: now)")
    p.add_argument("--keys", default=">", metavar="PATTERN", help="only keys matching this NATS wildcard")
    p.add_argument("--decode", default="auto", help=HELP)


def add_stream_verbs(verbs: Verbs) -> None:
    """``%js_stream diff STREAM T1 [T2] [-s FILTER]``."""
    p = verbs.add("diff", "Per subject: its last message at T1 and at T2 (default now), where they differ",
                  positional=("name",))
    p.add_argument("since", metavar="T1", help="the first point: " + _AT)
    p.add_argument("until", metavar="T2", nargs="?", help="the second point (default: now)")
    p.add_argument("-s", "--subject", action="append", default=[], help="subject filter (NATS wildcards); repeatable")
    p.add_argument("--decode", default="auto", help=HELP)


def _when(text: str | None) -> Any:
    return parse_when(text) if text else None


def _reading(label: str, work: Callable[[Any], Any]) -> Any:
    """Read with a progress line; the service's notes are said on the summary line (``noted``), not warned again."""
    return with_progress(label, work, unit="messages", noted=True)


def kv_handlers(handlers: dict[str, Callable[[Any], Any]]) -> dict[str, Callable[[Any], Any]]:
    """``view``/``get`` that travel when given ``--at``/``--revision`` (else ``handlers``' own), and ``diff``."""
    plain_view, plain_get = handlers["view"], handlers["get"]

    def view(a: Any) -> Any:
        if a.at is None and a.revision is None:
            return plain_view(a)
        df = _reading(f"reading {a.bucket}", lambda p: kvhistory.view(a.bucket, a.pattern, at=_when(a.at),
                                                                          revision=a.revision, decode=a.decode,
                                                                          progress=p))
        return result_frame(df, noted(df, f"{plural(len(df), 'key')} in {a.bucket} {_point(df)}; {df.attrs['method']}"))

    def get(a: Any) -> Any:
        if a.at is None:
            return plain_get(a)
        if a.revision is not None:
            raise InputError("give --at or --revision, not both")
        entry = run(kvhistory.get(a.bucket, a.key, at=_when(a.at), decode=a.decode))
        print(entry_line(entry) + f" (as of {a.at})")
        return entry.value

    def diff(a: Any) -> Any:
        df = _reading(f"reading {a.bucket}", lambda p: kvhistory.diff(a.bucket, _when(a.since), _when(a.until),
                                                                       keys=a.keys, decode=a.decode, progress=p))
        return result_frame(df, noted(df, _diff_summary(df, a.bucket, "key")))

    return {"view": view, "get": get, "diff": diff}


def stream_handlers() -> dict[str, Callable[[Any], Any]]:
    def diff(a: Any) -> Any:
        df = _reading(f"reading {a.name}", lambda p: streamhistory.diff(a.name, _when(a.since), _when(a.until),
                                                                         subjects=a.subject, decode=a.decode,
                                                                         progress=p))
        return result_frame(df, noted(df, _diff_summary(df, a.name, "subject")))

    return {"diff": diff}


def consume_at(sel: Any, at: str | None, up_to_seq: int | None) -> Any:
    """``%js_consume STREAM --last-per-subject --at TIME|--up-to-seq N``: the frame with a replay's summary."""
    result = _reading(f"reading {sel.stream}", lambda p: reading.read_at(sel, at=_when(at), up_to_seq=up_to_seq,
                                                                          progress=p))
    return result_frame(result.frame, replay_summary(result))


def _point(df: Any) -> str:
    at = df.attrs.get("at")
    return f"as of revision {df.attrs['revision']:,}" + (f" ({at.isoformat()})" if at is not None else "")


def _diff_summary(df: Any, name: str, noun: str) -> str:
    counts = df["change"].value_counts() if len(df) else {}
    parts = ", ".join(f"{counts.get(c, 0):,} {c}" for c in ("added", "changed", "deleted"))
    a = df.attrs
    first = a.get("since_revision", a.get("since_seq"))
    second = a.get("revision", a.get("until_seq"))
    return f"{name}: {parts} {noun}(s) between seq {first:,} and seq {second:,}; {a.get('method', '')}"
