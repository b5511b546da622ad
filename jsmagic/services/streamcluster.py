"""A stream's peers, consumer room and sourcing consumers: `peers`, `peer_remove`, `peer_evacuate`,
`cancel_move`, `consumer_room`, `sourcing` (re-exported by `jsmagic.services.streams`)."""

from __future__ import annotations

import pandas as pd

from ..admin import consumerlimits as _limits
from ..admin import peers as _peers
from ..admin import sourcing as _sourcing
from ..core.context import JSContext
from .common import warn_notes

__all__ = ["peers", "peer_remove", "peer_evacuate", "cancel_move", "consumer_room", "sourcing"]

Ctx = JSContext | str | None


async def peers(name: str, *, ctx: Ctx = None) -> pd.DataFrame:
    """The peers of a clustered stream: its leader and followers (`%js_stream peers`).

    Parameters
    ----------
    name : str
        The stream.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `peer`, `role` (leader/follower), `current`, `lag`, `active` (seconds ago),
        `offline`; `attrs["desired"]` and `attrs["moving"]` while a move runs.

    Examples
    --------
    >>> await jsmagic.streams.peers("ORDERS")   # doctest: +SKIP
    """
    return await _peers.peers(name, ctx=ctx)


async def peer_remove(name: str, peer: str, *, force: bool = False, ctx: Ctx = None) -> _peers.PeerChange:
    """Drop a peer of a clustered stream now; a replacement is placed and catches up (`%js_stream peer-remove`).

    Parameters
    ----------
    name : str
        The stream.
    peer : str
        The server name of the peer (as `peers` shows it).
    force : bool
        Required: without it nothing changes and the error says what would.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    PeerChange
        `stream`, `action`, `peer` and the peers `before`.

    Examples
    --------
    >>> await jsmagic.streams.peer_remove("ORDERS", "n2", force=True)   # doctest: +SKIP
    """
    return await _peers.peer_remove(name, peer, force, ctx=ctx)


async def peer_evacuate(name: str, peer: str, *, force: bool = False, ctx: Ctx = None) -> _peers.PeerChange:
    """Move a stream off a peer, its replacement caught up first (`%js_stream peer-evacuate`, server 2.15).

    Parameters
    ----------
    name : str
        The stream.
    peer : str
        The server name of the peer to leave.
    force : bool
        Required: without it nothing changes and the error says what would.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    PeerChange
        `stream`, `action`, `peer` and the peers `before`.

    Examples
    --------
    >>> await jsmagic.streams.peer_evacuate("ORDERS", "n2", force=True)   # doctest: +SKIP
    """
    return await _peers.peer_evacuate(name, peer, force, ctx=ctx)


async def cancel_move(name: str, *, ctx: Ctx = None) -> _peers.PeerChange:
    """Roll back a placement change still in progress (`%js_stream cancel-move`, server 2.15).

    Parameters
    ----------
    name : str
        The stream.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    PeerChange
        `stream`, `action` ("cancel-move") and its peers.

    Examples
    --------
    >>> await jsmagic.streams.cancel_move("ORDERS")   # doctest: +SKIP
    """
    return await _peers.cancel_move(name, ctx=ctx)


async def consumer_room(name: str, *, ctx: Ctx = None) -> _limits.ConsumerRoom:
    """How many consumers a stream allows, where that limit comes from, and how many are in use.

    Parameters
    ----------
    name : str
        The stream.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    ConsumerRoom
        `limit`, `source` (stream max_consumers, account limit or server default of 1,000),
        `in_use`, `free`, and the stream's consumer_limits (`inactive_threshold`, `max_ack_pending`).

    Examples
    --------
    >>> (await jsmagic.streams.consumer_room("ORDERS")).free   # doctest: +SKIP
    998
    """
    return await _limits.consumer_room(name, ctx=ctx)


async def sourcing(name: str, *, ctx: Ctx = None) -> pd.DataFrame:
    """The durable consumers through which other streams source or mirror this one (`%js_stream sourcing`).

    Parameters
    ----------
    name : str
        The origin stream (a WorkQueue or Interest stream, server 2.14+).
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `consumer`, `kind` (source/mirror), `for_stream`, `account`, `domain`, `ack_policy`,
        `pending`, `ack_pending`, `delivered_seq`, `ack_floor_seq`.

    Examples
    --------
    >>> await jsmagic.streams.sourcing("JOBS")   # doctest: +SKIP
    """
    return warn_notes(await _sourcing.sourcing(name, ctx=ctx))
