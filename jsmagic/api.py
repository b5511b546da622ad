"""The Python API: every magic's work from a script or a cell, without IPython.

Everything here is re-exported on the package (`jsmagic.replay`, `jsmagic.kv.put`…) and
lives in the service layer, `jsmagic.services`, which the magics call too.  Each
service is a coroutine taking a keyword-only `ctx=None` (a context or an alias name) and
returning data.  Grouped as `nats` groups its verbs:

- `jsmagic.connect` / `close` / `use` / `status` / `run` (the sync form);
- `jsmagic.streams.*`, `jsmagic.consumers.*`, `jsmagic.kv.*`, `jsmagic.obj.*`, `jsmagic.counters.*`;
- `jsmagic.publish`, `jsmagic.replay`, `jsmagic.export`, `jsmagic.follow`, `jsmagic.selection`;
- time travel: `jsmagic.kv.view(bucket, at="2h")`, `kv.get(..., at=)`, `kv.diff`,
  `jsmagic.streams.last_per_subject(stream, at=)`, `streams.diff`;
- exploring and finding: `jsmagic.streams.schema`, `streams.browse`, `streams.find`, `streams.dry_run`,
  `jsmagic.consumers.reset(..., since=, dry_run=True)`;
- core NATS: `jsmagic.nats.publish` / `request` / `subscribe` / `collect`, NATS micro services
  `jsmagic.micro.ls` / `info` / `stats` / `ping`;
- operating: `jsmagic.trace`, `jsmagic.events` (live), `jsmagic.check.stream` / `consumer` / `kv` /
  `server` / `connection`.

A script:

```python
import asyncio, jsmagic

async def main():
    await jsmagic.connect(embedded=True)
    await jsmagic.streams.add("ORDERS", subjects="orders.>")
    await jsmagic.publish("orders.new", [{"id": 1}, {"id": 2}], msg_id="order-{{Count}}")
    df = await jsmagic.replay("ORDERS", since="2h")            # non-destructive
    await jsmagic.kv.add("config")
    await jsmagic.kv.put("config", "db.host", "postgres.local")
    print(await jsmagic.kv.view("config"))
    await jsmagic.close()

asyncio.run(main())
```

In a notebook the same calls work with top-level `await` and share the magics' connection.
`kv_put`, `kv_get` and `kv_view` are the earlier names of `kv.put`, `kv.get` and `kv.view`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .core.context import JSContext
from .services import check, consumerreset, consumers as _consumers, corenats as nats, counters, explore, finding
from .services import kv as _kv, kvhistory, micro, obj, streamhistory, streams as _streams
from .services.common import ReadWarning
from .services.connection import close, connect, run, status, use
from .services.groups import group
from .services.messages import export, follow, publish, replay, selection
from .services.operate import events, trace
from .services.results import SHORT, checked  # noqa: F401 - importable from jsmagic.api, as before

kv = group("kv", _kv, kvhistory)
streams = group("streams", _streams, streamhistory, explore, finding)
consumers = group("consumers", _consumers, consumerreset)

__all__ = ["connect", "close", "use", "status", "run", "streams", "consumers", "kv", "obj", "counters", "publish",
           "replay", "export", "follow", "selection", "nats", "micro", "trace", "events", "check",
           "kv_put", "kv_get", "kv_view", "ReadWarning"]


async def kv_put(bucket: str, key: str, value: Any, *, ctx: JSContext | str | None = None) -> int:
    """Store a value; the earlier name of `jsmagic.services.kv.put` (returns the new revision).

    Examples
    --------
    >>> await jsmagic.kv_put("config", "db.host", "pg")   # doctest: +SKIP
    1
    """
    return await kv.put(bucket, key, value, ctx=ctx)


async def kv_get(bucket: str, key: str, revision: int | None = None, *, ctx: JSContext | str | None = None) -> Any:
    """A key's entry; the earlier name of `jsmagic.services.kv.get` (`.value`, `.revision`, `.time`).

    Examples
    --------
    >>> (await jsmagic.kv_get("config", "db.host")).value   # doctest: +SKIP
    'pg'
    """
    return await kv.get(bucket, key, revision=revision, ctx=ctx)


async def kv_view(bucket: str, pattern: str = ">", *, ctx: JSContext | str | None = None) -> pd.DataFrame:
    """Every current key with its value; the earlier name of `jsmagic.services.kv.view`.

    Examples
    --------
    >>> await jsmagic.kv_view("config")   # doctest: +SKIP
    """
    return await kv.view(bucket, pattern, ctx=ctx)
