"""Where a clustered stream's replicas live, and moving them: ``peers``, ``peer-remove``, ``peer-evacuate``, ``cancel-move``.

* ``peer-remove`` (``$JS.API.STREAM.PEER.REMOVE``, server 2.2; natscli ``nats stream cluster
  peer-remove``) drops a peer at once; the server places a replacement, which then catches up.
  Removing the leader leaves the stream leaderless for a few seconds.
* ``peer-evacuate`` (``$JS.API.STREAM.PEER.EVACUATE``, server 2.15) adds the replacement first
  and drops the peer once it has caught up: the stream keeps its replica count and leader.
  Both refuse when no other server can take the replica.
* ``cancel-move`` (``$JS.API.STREAM.CANCEL_MOVE``, server 2.15) rolls back a placement change
  still in progress (``edit --cluster/--tag``): the old placement and peers come back.  On
  2.15.1 an evacuation or a scale-up is no such reconfiguration: the server answers "not in
  progress".

While a move runs, STREAM.INFO's ``cluster.desired`` names the target peers and a status
("waiting for desired peers to catch up"); :func:`peers` shows both.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import nats.js.errors
import pandas as pd

from ..core.context import JSContext
from ..core.errors import ForceRequiredError, InputError
from ..core.registry import connected
from .streams import raw_info

PEER_COLUMNS = ["peer", "role", "current", "lag", "active", "offline"]
NANOS = 1_000_000_000
NOT_CLUSTERED, NOT_A_MEMBER, NO_REPLACEMENT, NOT_MOVING = 10010, 10040, 10075, 10129


@dataclasses.dataclass
class PeerChange:
    """What a peer verb asked the server for: ``action`` on ``stream`` (``peer``), the peers ``before`` it."""

    stream: str
    action: str  # "remove", "evacuate", "cancel-move"
    peer: str | None
    before: list[str]

    def sentence(self) -> str:
        was = ", ".join(self.before)
        if self.action == "cancel-move":
            return f"Cancelled the move of stream {self.stream}: its placement and peers roll back (peers now: {was})."
        verb = "Removed" if self.action == "remove" else "Evacuating"
        how = ("a replacement is placed and catches up" if self.action == "remove"
               else "it leaves once a replacement has caught up")
        return f"{verb} peer {self.peer} of stream {self.stream} (peers were {was}): {how}; watch with %js_stream peers {self.stream}"


def peer_frame(raw: dict[str, Any]) -> pd.DataFrame:
    """One row per peer of a STREAM.INFO answer: leader first; ``attrs``: desired peers and move status."""
    cluster = raw.get("cluster") or {}
    rows = []
    if cluster.get("leader"):
        rows.append({"peer": cluster["leader"], "role": "leader", "current": True, "lag": 0, "active": 0.0, "offline": False})
    for r in cluster.get("replicas") or []:
        active = r.get("active")
        rows.append({"peer": r.get("name"), "role": "follower", "current": bool(r.get("current")),
                     "lag": int(r.get("lag") or 0), "active": active / NANOS if isinstance(active, int) else None,
                     "offline": bool(r.get("offline"))})
    df = pd.DataFrame(rows, columns=PEER_COLUMNS)
    desired = cluster.get("desired") or {}
    df.attrs["cluster"] = cluster.get("name")
    df.attrs["replicas"] = (raw.get("config") or {}).get("num_replicas", 1)
    df.attrs["desired"] = [r.get("name") for r in desired.get("replicas") or []]
    df.attrs["moving"] = ((desired.get("status") or {}).get("description") or "in progress") if desired else None
    return df


def _names(raw: dict[str, Any]) -> list[str]:
    cluster = raw.get("cluster") or {}
    return [n for n in [cluster.get("leader")] + [r.get("name") for r in cluster.get("replicas") or []] if n]


async def peers(stream: str, *, ctx: JSContext | None = None) -> pd.DataFrame:
    """``%js_stream peers``: the stream's leader and followers (current, lag, seconds since active, offline)."""
    return peer_frame(await raw_info(stream, ctx=ctx))


async def _ask(ctx: JSContext, suffix: str, body: dict | None, stream: str, raw: dict[str, Any]) -> dict:
    try:
        return await ctx.api.request(suffix, body)
    except nats.js.errors.APIError as e:
        code, names = getattr(e, "err_code", None), ", ".join(_names(raw)) or "none"
        if code == NOT_A_MEMBER:
            raise InputError(f"{body and body.get('peer')!r} is not a peer of stream {stream}",
                             hint=f"its peers: {names} (server names, as %js_stream peers shows)") from None
        if code == NOT_MOVING:
            raise InputError(f"stream {stream} has no placement change in progress",
                             hint="cancel-move rolls back an edit of --cluster/--tag that is still running") from None
        if code == NO_REPLACEMENT:
            raise InputError(f"no other server can take stream {stream}'s replica on {body and body.get('peer')}",
                             hint="add a server (or lower --replicas); nothing was changed") from None
        if code == NOT_CLUSTERED:
            raise InputError(f"stream {stream} is not clustered", hint="peer verbs need a JetStream cluster") from None
        raise


async def _move_peer(stream: str, peer: str, action: str, force: bool, ctx: JSContext | None) -> PeerChange:
    ctx = await connected(ctx)
    raw = await raw_info(stream, ctx=ctx)
    before = _names(raw)
    if not raw.get("cluster") or not before:
        raise InputError(f"stream {stream} is not clustered", hint="peer verbs need a JetStream cluster")
    if peer not in before:
        raise InputError(f"{peer!r} is not a peer of stream {stream}", hint=f"its peers: {', '.join(before)}")
    if not force:
        what = ("drop peer {p} of stream {s} now (a replacement is placed, then catches up"
                + ("; the stream has no leader until it elects one)" if peer == before[0] else ")")
                if action == "remove" else "move stream {s} off peer {p} (a replacement catches up first)")
        raise ForceRequiredError("would " + what.format(p=peer, s=stream))
    api = "PEER.REMOVE" if action == "remove" else "PEER.EVACUATE"
    await _ask(ctx, f"STREAM.{api}.{stream}", {"peer": peer}, stream, raw)
    return PeerChange(stream, action, peer, before)


async def peer_remove(stream: str, peer: str, force: bool = False, *, ctx: JSContext | None = None) -> PeerChange:
    """``%js_stream peer-remove``: drop ``peer`` (a server name) from the stream now (refuses without force)."""
    return await _move_peer(stream, peer, "remove", force, ctx)


async def peer_evacuate(stream: str, peer: str, force: bool = False, *, ctx: JSContext | None = None) -> PeerChange:
    """``%js_stream peer-evacuate``: move the stream off ``peer``, its replacement caught up first (refuses without force)."""
    return await _move_peer(stream, peer, "evacuate", force, ctx)


async def cancel_move(stream: str, *, ctx: JSContext | None = None) -> PeerChange:
    """``%js_stream cancel-move``: roll back a placement change still in progress."""
    ctx = await connected(ctx)
    raw = await raw_info(stream, ctx=ctx)
    if not raw.get("cluster"):
        raise InputError(f"stream {stream} is not clustered", hint="cancel-move needs a JetStream cluster")
    answer = await _ask(ctx, f"STREAM.CANCEL_MOVE.{stream}", None, stream, raw)
    return PeerChange(stream, "cancel-move", None, _names(answer) or _names(raw))
