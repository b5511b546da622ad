"""Read WorkQueue and Interest streams without a consumer: by direct get or STREAM.MSG.GET.

On these streams a consumer can remove messages (an ack, or just its interest ending),
so a default replay never creates one.  Messages are fetched by sequence instead:
batched direct gets when the stream has ``allow_direct``, else pipelined
``STREAM.MSG.GET`` requests.  The stream's message count stays exactly the same.  Both
subjects come from the context's :class:`~jsmagic.jsapi.JSApi` (a domain or an imported
API prefix changes them), which is what the readers here are handed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import orjson
import pandas as pd

from ..core.config import settings
from ..core.context import JSContext
from ..core.errors import JSMagicError
from ..core.registry import current
from ..core.runner import check_cancelled
from ..jsapi import JSApi
from .frames import Bounds, Collector, Rows, make_chunk
from .selection import ProgressFn, Selection

_META_HEADERS = frozenset(
    ("Nats-Stream", "Nats-Subject", "Nats-Sequence", "Nats-Time-Stamp", "Nats-Num-Pending", "Nats-Last-Sequence")
)
GET_WINDOW = 64  # STREAM.MSG.GET requests in flight


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


async def read_by_get(info: Any, sel: Selection, rows: Rows, bounds: Bounds, progress: ProgressFn | None = None,
                      *, ctx: JSContext | None = None) -> bool:
    """Read each filter's messages by sequence into ``rows`` (merged and cut by the reader's ``finish``)."""
    api = current(ctx).api

    def reader(filt: str):
        return _read_filter(api, info, sel, filt, Collector(rows, dataclasses.replace(bounds)), progress)

    if sel.live:  # each filter polls forever: run them side by side
        await asyncio.gather(*(reader(f) for f in sel.subjects or [">"]))
    else:
        for filt in sel.subjects or [">"]:
            await reader(filt)
    return False


async def _read_filter(api: JSApi, info: Any, sel: Selection, filt: str, collector: Collector,
                       progress: ProgressFn | None) -> None:
    """One filter's messages from the selection's start, by direct or stream msg get."""
    stream, idle = info.config.name, sel.api_timeout
    if sel.deliver == "last":
        last = await _msg_get(api, stream, {"last_by_subj": filt}, idle)
        if last is None:
            return
        start, collector.bounds.end_seq = last["seq"], last["seq"]
    elif sel.deliver == "since":
        first = await _msg_get(api, stream, {"start_time": sel.since.isoformat().replace("+00:00", "Z")}, idle)
        if first is None:
            return
        start = first["seq"]
    elif sel.deliver == "new":
        start = info.state.last_seq + 1
    else:
        start = sel.start_seq if sel.deliver == "start_seq" else max(info.state.first_seq, 1)
    reader = _direct_batches if info.config.allow_direct else _msg_get_window
    await _poll(reader, api, stream, filt, start, collector, sel, progress)


async def _poll(reader, api: JSApi, stream: str, filt: str, cursor: int, collector: Collector, sel: Selection,
                progress: ProgressFn | None) -> None:
    """Call ``reader`` from ``cursor`` on; with --new keep polling until idle for the timeout."""
    last_data = time.monotonic()
    batch = sel.batch or settings().fetch_batch
    while not collector.done:
        cols = await reader(api, stream, filt, cursor, batch, sel.api_timeout)
        check_cancelled()
        if cols[0]:
            last_data = time.monotonic()
            cursor = cols[0][-1] + 1
            times = pd.to_datetime(cols[1], utc=True, format="ISO8601").as_unit("ns").asi8 if isinstance(cols[1][0], str) else cols[1]
            collector.add(make_chunk(cols[0], times, cols[2], cols[3], cols[4], None, False))
            if collector.bounds.end_seq is not None and cursor > collector.bounds.end_seq:
                break
            if progress is not None:
                progress(len(collector.rows), None)
        elif not (sel.deliver == "new" or sel.live) or (
            sel.idle_timeout is not None and time.monotonic() - last_data > sel.idle_timeout
        ):
            break
        else:
            await asyncio.sleep(0.2)


async def _direct_batches(api: JSApi, stream: str, filt: str, cursor: int, batch: int, timeout: float):
    """One batched direct get (``{"seq", "batch", "next_by_subj"}``), ended by the server's 204 EOB."""
    nc = api.nc
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox, pending_msgs_limit=batch + 10)
    cols: tuple[list, ...] = ([], [], [], [], [])
    try:
        req = {"seq": cursor, "batch": batch, "next_by_subj": filt}
        await nc.publish(api.direct_get(stream), orjson.dumps(req), reply=inbox)
        while True:
            msg = await sub.next_msg(timeout=timeout)
            h = msg.headers or {}
            status = h.get("Status")
            if status in ("204", "404"):
                return cols
            if status:
                raise JSMagicError(f"direct get: {status} {h.get('Description', '')}".strip())
            cols[0].append(int(h["Nats-Sequence"]))
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
    for seq in sorted(by_seq):
        m = by_seq[seq]
        cols[0].append(seq)
        cols[1].append(m["time"])
        cols[2].append(m["subject"])
        cols[3].append(_parse_headers(base64.b64decode(m["hdrs"])) if m.get("hdrs") else None)
        cols[4].append(base64.b64decode(m.get("data", "")))
    return cols


def _parse_headers(raw: bytes) -> dict | None:
    """``NATS/1.0\r\nk: v\r\n\r\n`` → ``{"k": "v"}``."""
    out = {}
    for line in raw.decode("utf-8", "replace").split("\r\n")[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out or None
