"""Read WorkQueue and Interest streams without a consumer: by direct get or STREAM.MSG.GET.

On these streams a consumer can remove messages (an ack, or just its interest ending),
so a default replay never creates one.  Messages are fetched by sequence instead:
batched direct gets when the stream has ``allow_direct``, else pipelined
``STREAM.MSG.GET`` requests.  The stream's message count stays exactly the same.  Both
subjects come from the context's :class:`~jsmagic.jsapi.JSApi` (a domain or an imported
API prefix changes them), which is what the readers here are handed.  A stored message
that carries its own ``Status`` header is a row: only the server's own answers (no
``Nats-Stream``/``Nats-Sequence``, :func:`jsmagic.reading.status.server_status`) end a batch.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import nats.errors
import orjson
import pandas as pd
from nats.js.api import RawStreamMsg

from ..core.config import settings
from ..core.context import JSContext
from ..core.errors import JSMagicError
from ..core.registry import current
from ..core.runner import check_cancelled
from ..core.units import rfc3339
from ..jsapi import DEFAULT_PREFIX, JSApi
from .frames import Bounds, Collector, Rows, make_chunk
from .selection import ProgressFn, Selection
from .status import server_status

_META_HEADERS = frozenset(
    ("Nats-Stream", "Nats-Subject", "Nats-Sequence", "Nats-Time-Stamp", "Nats-Num-Pending", "Nats-Last-Sequence")
)
GET_WINDOW = 64  # STREAM.MSG.GET requests in flight
MAX_BATCH_BYTES = 16 << 20  # a batched direct get asks the server for at most this many bytes
SUB_PENDING_BYTES = 4 * MAX_BATCH_BYTES  # what its reply subscription holds before nats-py drops messages
MAX_GAP_RETRIES = 5  # batches in a row that lost their first message before the read gives up


def get_method(info: Any) -> str:
    """How a consumer-less replay of this stream reads (``Replay.method``)."""
    how = "direct get" if info.config.allow_direct else "stream msg get"
    kind = getattr(info.config.retention, "value", info.config.retention)
    return f"{how} ({kind} stream: no consumer created)"


async def _msg_get(api: JSApi, stream: str, req: dict, timeout: float) -> dict | None:
    """One ``STREAM.MSG.GET``: the stored message as a dict, or None (404: no such message)."""
    resp = orjson.loads((await api.nc.request(api.msg_get(stream), orjson.dumps(req), timeout=timeout)).data)
    if "error" in resp:
        if resp["error"].get("code") == 404:
            return None
        raise JSMagicError(f"stream msg get: {resp['error'].get('description', resp['error'])}")
    return resp["message"]


async def direct_get(api: JSApi, stream: str, req: dict, timeout: float) -> RawStreamMsg | None:
    """One direct get (``{"seq": n}`` or ``{"last_by_subj": s}``): the stored message, or None (404).

    nats-py's own ``get_msg(direct=True)`` takes a stored message with an empty payload and
    its own ``Status: 404`` header for "no message"; here the status rule decides.
    """
    msg = await api.nc.request(api.direct_get(stream), orjson.dumps(req), timeout=timeout)
    h = msg.headers or {}
    st = server_status(msg.reply, h)
    if st is not None:
        if st.code == "404":
            return None
        raise JSMagicError(f"direct get on {stream}: {st.code} {st.description}".strip())
    return RawStreamMsg(subject=h["Nats-Subject"], seq=int(h["Nats-Sequence"]), data=msg.data, headers=h, stream=stream)


async def get_one(api: JSApi, stream: str, req: dict, timeout: float, direct: bool = False) -> tuple | None:
    """One stored message (``{"seq": n, "next_by_subj": f}``, ``{"start_time": t}``…) without a consumer, or None (404).

    ``direct``: by direct get (the stream has ``allow_direct``), else by ``STREAM.MSG.GET``.
    Returns ``(seq, time_ns, subject, headers or None, data)`` (what a sampled read or a browser page keeps).
    """
    if direct:
        m = await direct_get(api, stream, req, timeout)
        if m is None:
            return None
        h = m.headers or {}
        when = pd.Timestamp(h["Nats-Time-Stamp"]).as_unit("ns").value
        return m.seq, when, m.subject, {k: v for k, v in h.items() if k not in _META_HEADERS} or None, m.data
    import base64

    d = await _msg_get(api, stream, req, timeout)
    if d is None:
        return None
    headers = _parse_headers(base64.b64decode(d["hdrs"])) if d.get("hdrs") else None
    return d["seq"], pd.Timestamp(d["time"]).as_unit("ns").value, d["subject"], headers, base64.b64decode(d.get("data", ""))


async def read_by_get(info: Any, sel: Selection, rows: Rows, bounds: Bounds, progress: ProgressFn | None = None,
                      *, ctx: JSContext | None = None) -> bool:
    """Read each filter's messages by sequence into ``rows`` (merged and cut by the reader's ``finish``)."""
    ctx = current(ctx)
    api = ctx.api
    # under a domain or an imported API another server answers: its version is found out by asking
    version = None if api.prefix != DEFAULT_PREFIX else ctx.server_info.get("version")

    def reader(filt: str):
        return _read_filter(api, info, sel, filt, Collector(rows, dataclasses.replace(bounds)), progress, version)

    if sel.live:  # each filter polls forever: run them side by side
        await asyncio.gather(*(reader(f) for f in sel.subjects or [">"]))
    else:
        for filt in sel.subjects or [">"]:
            await reader(filt)
    return False


async def _read_filter(api: JSApi, info: Any, sel: Selection, filt: str, collector: Collector,
                       progress: ProgressFn | None, version: str | None = None) -> None:
    """One filter's messages from the selection's start, by direct or stream msg get."""
    stream, idle = info.config.name, sel.api_timeout
    if sel.deliver == "last":
        last = await _msg_get(api, stream, {"last_by_subj": filt}, idle)
        if last is None:
            return
        start, collector.bounds.end_seq = last["seq"], last["seq"]
    elif sel.deliver == "since":
        first = await _msg_get(api, stream, {"start_time": rfc3339(sel.since)}, idle)
        if first is None:
            return
        start = first["seq"]
    elif sel.deliver == "new":
        start = info.state.last_seq + 1
    else:
        start = sel.start_seq if sel.deliver == "start_seq" else max(info.state.first_seq, 1)
    batched = info.config.allow_direct and batched_direct_get(version)
    reader = _direct_batches if batched else _msg_get_window
    await _poll(reader, api, stream, filt, start, collector, sel, progress)


async def _poll(reader, api: JSApi, stream: str, filt: str, cursor: int, collector: Collector, sel: Selection,
                progress: ProgressFn | None) -> None:
    """Call ``reader`` from ``cursor`` on; with --new keep polling until idle for the timeout.

    A batch that lost a message on the way (a gap) is kept up to the gap and read again
    from there, with smaller batches; a server without batched direct get (before 2.11)
    is read by ``STREAM.MSG.GET`` instead.
    """
    last_data = time.monotonic()
    batch = sel.batch or settings().fetch_batch
    fruitless = 0
    while not collector.done:
        try:
            cols, gap = await reader(api, stream, filt, cursor, batch, sel.api_timeout)
        except NotBatched:
            reader = _msg_get_window
            continue
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError, nats.errors.ConnectionReconnectingError,
                asyncio.TimeoutError):
            if not sel.live:
                raise
            await asyncio.sleep(0.5)  # a tail outlives a server restart or a leader election: ask again
            continue
        check_cancelled()
        if gap:
            batch = max(1, batch // 2)
            fruitless = 0 if cols[0] else fruitless + 1
            if fruitless >= MAX_GAP_RETRIES:
                raise JSMagicError(f"direct get on {stream}: messages from sequence {cursor} keep getting lost "
                                   "on the way", hint="retry; if it persists, check the client's slow-consumer errors")
        if cols[0]:
            last_data = time.monotonic()
            cursor = cols[0][-1] + 1
            times = pd.to_datetime(cols[1], utc=True, format="ISO8601").as_unit("ns").asi8 if isinstance(cols[1][0], str) else cols[1]
            collector.add(make_chunk(cols[0], times, cols[2], cols[3], cols[4], None, False))
            if collector.bounds.end_seq is not None and cursor > collector.bounds.end_seq:
                break
            if progress is not None:
                progress(len(collector.rows), None)
        elif gap:
            continue
        elif not (sel.deliver == "new" or sel.live) or (
            sel.idle_timeout is not None and time.monotonic() - last_data > sel.idle_timeout
        ):
            break
        else:
            await asyncio.sleep(0.2)


class NotBatched(Exception):
    """The server answered a batched direct get as a single one (no ``Nats-Num-Pending``: before 2.11)."""


def batched_direct_get(version: str | None) -> bool:
    """Whether a server of ``version`` answers batched direct gets (2.11+); unknown versions are tried."""
    try:
        major, minor = (int(x) for x in str(version).lstrip("v").split(".")[:2])
    except ValueError:
        return True
    return (major, minor) >= (2, 11)


async def _direct_batches(api: JSApi, stream: str, filt: str, cursor: int, batch: int, timeout: float):
    """One batched direct get, ended by the server's 204 EOB: ``(columns, gap)``.

    The request asks for at most ``MAX_BATCH_BYTES`` (the server ends the batch early) and
    the reply subscription holds ``SUB_PENDING_BYTES``, so nats-py has no reason to drop
    one as a slow consumer.  Should one be lost all the same, each message's
    ``Nats-Last-Sequence`` (the one sent before it) shows the gap: the batch is kept up to
    it and ``gap`` is True, so the caller reads again from there instead of skipping it.
    """
    nc = api.nc
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox, pending_msgs_limit=batch + 10, pending_bytes_limit=SUB_PENDING_BYTES)
    cols: tuple[list, ...] = ([], [], [], [], [])
    prev = 0
    try:
        req = {"seq": cursor, "batch": batch, "next_by_subj": filt, "max_bytes": MAX_BATCH_BYTES}
        await nc.publish(api.direct_get(stream), orjson.dumps(req), reply=inbox)
        while True:
            try:
                msg = await sub.next_msg(timeout=timeout)
            except nats.errors.TimeoutError:
                if cols[0] or prev:
                    return cols, True  # the end of the batch was lost: read on from the last one kept
                raise
            h = msg.headers or {}
            st = server_status(msg.reply, h)  # a stored message's own Status header is not the server's
            if st is not None:
                if st.code in ("204", "404"):
                    return cols, st.code == "204" and int(h.get("Nats-Last-Sequence", prev) or 0) != prev
                raise JSMagicError(f"direct get: {st.code} {st.description}".strip())
            if "Nats-Num-Pending" not in h:
                raise NotBatched()
            if int(h.get("Nats-Last-Sequence", 0) or 0) != prev:
                return cols, True  # a message before this one never reached us
            prev = int(h["Nats-Sequence"])
            cols[0].append(prev)
            cols[1].append(h["Nats-Time-Stamp"])
            cols[2].append(h["Nats-Subject"])
            cols[3].append({k: v for k, v in h.items() if k not in _META_HEADERS} or None)
            cols[4].append(msg.data)
    finally:
        await asyncio.shield(sub.unsubscribe())


async def _msg_get_window(api: JSApi, stream: str, filt: str, cursor: int, batch: int, timeout: float):
    """GET_WINDOW pipelined ``STREAM.MSG.GET {seq: j, next_by_subj}`` for j in a window.

    Every match inside the window is found (asking at its own sequence returns it), and
    the answers beyond it are the next matches in order, so no message is skipped.
    """
    import base64

    reqs = [{"seq": j, "next_by_subj": filt} for j in range(cursor, cursor + GET_WINDOW)]
    found = await asyncio.gather(*(_msg_get(api, stream, r, timeout) for r in reqs))
    by_seq = {m["seq"]: m for m in found if m is not None}
    cols: tuple[list, ...] = ([], [], [], [], [])
    for seq in sorted(by_seq):  # (columns, no gap): every answer is a request's own
        m = by_seq[seq]
        cols[0].append(seq)
        cols[1].append(m["time"])
        cols[2].append(m["subject"])
        cols[3].append(_parse_headers(base64.b64decode(m["hdrs"])) if m.get("hdrs") else None)
        cols[4].append(base64.b64decode(m.get("data", "")))
    return cols, False


def _parse_headers(raw: bytes) -> dict | None:
    """``NATS/1.0\r\nk: v\r\n\r\n`` → ``{"k": "v"}``."""
    out = {}
    for line in raw.decode("utf-8", "replace").split("\r\n")[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out or None
