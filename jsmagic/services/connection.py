"""Connections: `connect`, `close`, `use`, `status` and `run` (the sync form of any service).

The same options and the same order as `%js_connect`: keywords given here, then the
`NATS_*` variables, then the nats CLI's context; with no server anywhere, 127.0.0.1:4222,
then an embedded `nats-server` (`embedded=True` asks for one outright).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Awaitable, TypeVar

from ..connecting.options import resolve
from ..core import registry
from ..core.context import JSContext

T = TypeVar("T")

__all__ = ["connect", "close", "use", "status", "run", "Status"]


async def connect(*servers: str, alias: str | None = None, embedded: bool = False, **options: Any) -> JSContext:
    """Open a connection, make it current and return its context (`%js_connect`).

    A connection belongs to the loop it is opened on: opened in a thread other than the
    main one (the kernel's), it is current in that thread only, and the kernel's current
    connection stays what it was (docs/event-loop.md).

    Parameters
    ----------
    *servers : str
        Server URLs (`"nats://host:4222"`); none means the `NATS_*` variables, the nats
        CLI's selected context, 127.0.0.1:4222, then an embedded server.
    alias : str, optional
        A name for this connection (`%js_connect --alias`); services take it as `ctx="prod"`.
    embedded : bool
        Start a private `nats-server` with JetStream (deleted on `close`).
    **options
        `%js_connect`'s options as keywords: `context="prod"` (a nats CLI context),
        `creds`, `nkey`, `user`/`password`, `token`, `tls_ca`/`tls_cert`/`tls_key`,
        `domain`, `api_prefix`, `store` (the embedded server's directory), `timeout`, `name`.

    Returns
    -------
    JSContext
        The connected context (`ctx.nc` is the nats-py client, `ctx.js` its JetStream context).

    Examples
    --------
    >>> ctx = await jsmagic.connect(embedded=True)                 # doctest: +SKIP
    >>> prod = await jsmagic.connect(context="prod", alias="prod")  # doctest: +SKIP
    >>> await jsmagic.streams.ls(ctx="prod")                        # doctest: +SKIP
    """
    if embedded:
        options["embedded"] = True
    return await registry.connect(alias or registry.DEFAULT, resolve({"servers": list(servers), **options}))


async def close(*, ctx: JSContext | str | None = None, all: bool = False) -> int:  # noqa: A002 - natscli's word
    """Close a connection with everything it started: watches, follows, an embedded server.

    Parameters
    ----------
    ctx : JSContext or str, optional
        The context or alias to close; the current one when omitted.
    all : bool
        Close every connection instead.

    Returns
    -------
    int
        How many connections were closed.

    Examples
    --------
    >>> await jsmagic.close(all=True)   # doctest: +SKIP
    1
    """
    targets = list(registry.contexts().values()) if all else [registry.current(ctx)]
    for c in targets:
        await registry.close(c)
    return len(targets)


def use(alias: str) -> JSContext:
    """Make the connection named `alias` the current one (`%js_use`) and return it.

    Parameters
    ----------
    alias : str
        A name given to `connect` (`"default"` is the unnamed one).

    Returns
    -------
    JSContext
        The context that is now current.

    Examples
    --------
    >>> jsmagic.use("prod")   # doctest: +SKIP
    <JSContext prod ...>
    """
    return registry.use(alias)


@dataclasses.dataclass
class Status:
    """One connection as `%js_status` describes it (no secret is ever in here)."""

    alias: str
    connected: bool
    url: str
    state: str
    line: str
    server_name: str | None = None
    version: str | None = None
    jetstream: bool | None = None
    domain: str | None = None
    embedded_store: str | None = None
    streams: int | None = None
    consumers: int | None = None
    memory: int | None = None
    storage: int | None = None
    background: list[str] = dataclasses.field(default_factory=list)
    last_error: str | None = None


async def status(*, ctx: JSContext | str | None = None) -> Status:
    """The connection, its server, its account's JetStream usage and its background work.

    Parameters
    ----------
    ctx : JSContext or str, optional
        The context or alias; the current one when omitted.

    Returns
    -------
    Status
        Connection line, server name and version, JetStream account usage (streams,
        consumers, bytes in memory and on disk) and one line per live watch or follow.

    Examples
    --------
    >>> s = await jsmagic.status()   # doctest: +SKIP
    >>> s.connected, s.streams
    (True, 2)
    """
    ctx = registry.current(ctx)
    info = ctx.server_info
    out = Status(alias=ctx.alias, connected=ctx.connected, url=ctx.url, state=ctx.state, line=ctx.connection_line(),
                 server_name=info.get("server_name"), version=info.get("version"), jetstream=ctx.jetstream_enabled,
                 domain=(ctx.options.domain if ctx.options else None) or info.get("domain"),
                 embedded_store=str(ctx.server.store_dir) if ctx.server is not None else None,
                 background=[(e.describe() if e.describe else e.name) for e in ctx.background.values()],
                 last_error=ctx.last_error)
    if ctx.connected and ctx.jetstream_enabled:
        usage = await ctx.js.account_info()
        out.streams, out.consumers, out.memory, out.storage = usage.streams, usage.consumers, usage.memory, usage.storage
    return out


def run(awaitable: Awaitable[T], *, ctx: JSContext | str | None = None) -> T:
    """Run a service from synchronous code (a script without `asyncio`) and return its result.

    Every call runs on the loop the context lives on (the one its connection was made on),
    through `jsmagic.core.runner.run`; Ctrl-C cancels the service cleanly.

    Parameters
    ----------
    awaitable : Awaitable
        A service call, e.g. `jsmagic.streams.ls()`.
    ctx : JSContext or str, optional
        Whose loop to run on; the current context's when omitted.

    Returns
    -------
    Any
        What the service returns.

    Examples
    --------
    >>> import jsmagic
    >>> jsmagic.run(jsmagic.connect(embedded=True))        # doctest: +SKIP
    >>> df = jsmagic.run(jsmagic.replay("ORDERS", since="2h"))   # doctest: +SKIP
    """
    return registry.current(ctx).run(awaitable)
