"""``%js_stream`` consumer-limit flags and the verbs for peers and sourcing (servers 2.10–2.15).

``add_limit_flags`` gives ``add`` (and, through it, ``edit``/``copy``) natscli's
``--max-consumers``, ``--limit-consumer-inactive`` and ``--limit-consumer-max-pending``;
:func:`register` adds ``peers``, ``peer-remove``, ``peer-evacuate``, ``cancel-move`` and
``sourcing``.  Cores: :mod:`jsmagic.admin.consumerlimits`, :mod:`jsmagic.admin.peers`,
:mod:`jsmagic.admin.sourcing`, called through :mod:`jsmagic.services.streamcluster`.
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from ..services import streamcluster as services
from ..core.units import plural
from ..ui.display import noted, result_frame
from .base import run
from .verbs import Verbs


def add_limit_flags(parser: Any) -> None:
    """natscli's consumer-limit flags (``add``; ``edit`` copies them)."""
    group = parser.add_argument_group("consumer limits")
    group.add_argument("--max-consumers", metavar="N",
                       help="most consumers the stream takes (-1: the account's limit, else the server's 1,000)")
    group.add_argument("--limit-consumer-inactive", metavar="DURATION",
                       help="longest inactive threshold a consumer may have, and its default (1h)")
    group.add_argument("--limit-consumer-max-pending", metavar="N",
                       help="highest max ack pending a consumer may have, and its default")


def register(verbs: Verbs) -> tuple[dict[str, Callable], dict[str, Callable]]:
    """Add the peer and sourcing verbs to ``verbs``; returns (handlers, confirming handlers)."""
    p = verbs.add("peers", "DataFrame of a clustered stream's peers: leader, followers, lag; a move in progress")
    p.add_argument("name", help="stream name")
    for verb, what in (("peer-remove", "Drop a peer now; a replacement is placed and catches up (needs --force)"),
                       ("peer-evacuate", "Move the stream off a peer, its replacement caught up first (server 2.15; needs --force)")):
        p = verbs.add(verb, what)
        p.add_argument("name", help="stream name")
        p.add_argument("peer", help="the peer's server name (as %%js_stream peers shows it)")
        p.add_argument("--force", action="store_true", help="do it (without --force: says what it would do, changes nothing)")
    p = verbs.add("cancel-move", "Roll back a placement change (edit --cluster/--tag) still in progress (server 2.15)")
    p.add_argument("name", help="stream name")
    p = verbs.add("sourcing", "DataFrame of the consumers through which other streams source or mirror this one (2.14+)")
    p.add_argument("name", help="stream name")
    confirmed = {"peer-remove": _peer_remove, "peer-evacuate": _peer_evacuate, "cancel-move": _cancel_move}
    return {"peers": _peers, "sourcing": _sourcing}, confirmed


def _peers(a: Any) -> pd.DataFrame:
    df = run(services.peers(a.name))
    line = f"stream {a.name}: R{df.attrs['replicas']}, {plural(len(df), 'peer')}"
    if df.attrs.get("moving"):
        line += f"; moving to {', '.join(df.attrs['desired'])}: {df.attrs['moving']}"
    return result_frame(df, line)


def _sourcing(a: Any) -> pd.DataFrame:
    df = run(services.sourcing(a.name))
    line = f"{plural(len(df), 'sourcing consumer')} on {a.name} ({df.attrs.get('retention')})"
    if not len(df) and df.attrs.get("retention") == "limits":
        line += ": a Limits stream is read through ephemeral consumers, not listed"
    return result_frame(df, noted(df, line))


def _peer_remove(a: Any) -> tuple[Any, str]:
    change = run(services.peer_remove(a.name, a.peer, force=a.force))
    return change, change.sentence()


def _peer_evacuate(a: Any) -> tuple[Any, str]:
    change = run(services.peer_evacuate(a.name, a.peer, force=a.force))
    return change, change.sentence()


def _cancel_move(a: Any) -> tuple[Any, str]:
    change = run(services.cancel_move(a.name))
    return change, change.sentence()
