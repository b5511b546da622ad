"""``%js_stream find SUBJECT``: every stream that captures a subject or wildcard, with its count there.

A stream stores a subject when one of these overlaps it (wildcards on both sides):

* its own ``subjects``;
* a source's messages as they land: the source's subject transform destinations, else
  what its origin stores cut by the source's filter (the origin's own subjects, sources
  and mirror, followed through every origin, each once);
* a mirror's: its origin's, cut by the mirror's filter or turned by its transforms.

Two subject patterns overlap when some subject matches both; :func:`intersect` gives that
common pattern.  The count per stream is the server's own (``STREAM.INFO`` with
``subjects_filter``, paged); the streams come from ``STREAM.LIST``, every page (256 a page).
Key-Value (``KV_``) and object-store (``OBJ_``) streams are left out unless asked.
"""

from __future__ import annotations

import asyncio

import pandas as pd

from ..core.context import JSContext
from ..core.errors import InputError
from ..core.registry import connected
from .streams import subjects as subject_counts

COLUMNS = ["stream", "messages", "via", "stream_messages", "subjects"]
HIDDEN = ("KV_", "OBJ_")
COUNTS_IN_FLIGHT = 8


def intersect(a: str, b: str) -> str | None:
    """The pattern of the subjects that match both ``a`` and ``b``, or None when none does."""
    x, y = a.split("."), b.split(".")
    out: list[str] = []
    for i, (p, q) in enumerate(zip(x, y)):
        if p == ">":
            return ".".join(out + y[i:])
        if q == ">":
            return ".".join(out + x[i:])
        if p == "*":
            out.append(q)
        elif q == "*" or p == q:
            out.append(p)
        else:
            return None
    return ".".join(out) if len(x) == len(y) else None


def _transformed(dest: str) -> str:
    """A transform destination as a pattern (``{{wildcard(1)}}``, ``$1``… stand for one token)."""
    tokens = dest.split(".")
    return ".".join("*" if "{{" in t or t.startswith("$") else t for t in tokens)


class _Stored:
    """What each stream stores, as subject patterns with how each got there."""

    def __init__(self, configs: dict[str, dict]):
        self.configs = configs
        self.memo: dict[str, list[tuple[str, str]]] = {}

    def of(self, name: str, seen: frozenset = frozenset()) -> list[tuple[str, str]]:
        """``[(pattern, via)]`` for stream ``name`` (an origin outside the listing or in a loop adds nothing)."""
        if name in self.memo:
            return self.memo[name]
        cfg = self.configs.get(name)
        if cfg is None or name in seen:
            return []
        seen = seen | {name}
        out = [(s, "subjects") for s in cfg.get("subjects") or []]
        upstream = [("mirror", cfg["mirror"])] if cfg.get("mirror") else []
        upstream += [("source", s) for s in cfg.get("sources") or []]
        for kind, src in upstream:
            origin = src.get("name", "")
            label = f"{kind} {origin}" if kind == "source" else f"mirror of {origin}"
            transforms = src.get("subject_transforms") or []
            if transforms:
                for t in transforms:
                    out.append((_transformed(t.get("dest") or t.get("src") or ">"),
                                f"{label} ({t.get('src') or '>'} → {t.get('dest')})"))
                continue
            filt = src.get("filter_subject") or ">"
            for pattern, _ in self.of(origin, seen):
                common = intersect(pattern, filt)
                if common is not None:
                    out.append((common, label + (f" (filter {filt})" if filt != ">" else "")))
        self.memo[name] = out
        return out


async def find(subject: str, include_hidden: bool = False, *, ctx: JSContext | None = None) -> pd.DataFrame:
    """Every stream that stores ``subject`` (a wildcard too), with how and its message count for it.

    Columns: ``stream``, ``messages`` (the server's count for ``subject`` in that stream),
    ``via`` (own subjects, a source with its filter or transform, a mirror), ``stream_messages``
    (all of the stream's) and ``subjects`` (its configured subjects).  ``attrs["notes"]`` names
    streams the server could not list.
    """
    _check(subject)
    ctx = await connected(ctx)
    listing = await ctx.api.listing("STREAM.LIST", "streams")
    infos = {i["config"]["name"]: i for i in listing.items}
    stored = _Stored({n: i["config"] for n, i in infos.items()})
    hits: list[tuple[str, str]] = []
    for name in sorted(infos):
        if name.startswith(HIDDEN) and not include_hidden:
            continue
        vias = [via for pattern, via in stored.of(name) if intersect(pattern, subject) is not None]
        if vias:
            hits.append((name, "; ".join(dict.fromkeys(vias))))
    gate = asyncio.Semaphore(COUNTS_IN_FLIGHT)

    async def count(name: str) -> int:
        async with gate:
            return int((await subject_counts(name, subject, ctx=ctx))["messages"].sum())

    counts = await asyncio.gather(*(count(n) for n, _ in hits))
    df = pd.DataFrame({
        "stream": [n for n, _ in hits],
        "messages": pd.array(counts, dtype="int64"),
        "via": [v for _, v in hits],
        "stream_messages": pd.array([infos[n]["state"].get("messages", 0) for n, _ in hits], dtype="int64"),
        "subjects": [", ".join(infos[n]["config"].get("subjects") or []) for n, _ in hits],
    }, columns=COLUMNS)
    return listing.mark(df, "stream")


def _check(subject: str) -> None:
    tokens = subject.split(".")
    if not subject or any(not t or " " in t for t in tokens) or (">" in tokens[:-1]):
        raise InputError(f"bad subject {subject!r}", hint="a subject or wildcard like orders.eu.> or orders.*.new")
