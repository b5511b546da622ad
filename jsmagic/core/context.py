"""A JetStream context: one connection that every cell (and every magic) shares.

A :class:`JSContext` holds the nats-py client (``ctx.nc``), the JetStream context
(``ctx.js``), the prefix-aware API layer (``ctx.api``, :mod:`jsmagic.jsapi`), the
embedded server if one was started, and everything it started in the background:
tasks, live watches, and the small clean-up tasks it owns (:meth:`JSContext.own`).
``close()`` ends them all.  It lives on the kernel's running asyncio loop:
``await ctx.js.account_info()`` in a cell uses the same connection as the magics.

Several contexts can live side by side under names (:mod:`jsmagic.core.registry`);
core functions take ``ctx=None``, meaning the current one.
"""

from __future__ import annotations

import asyncio
import logging
import dataclasses
import inspect
import time
from typing import Any, Awaitable, Callable, TypeVar

import nats
import nats.errors
import nats.js.errors

from . import runner, secrets
from ..jsapi import JSApi
from .config import settings
from .errorlog import ErrorLog
from .serverinfo import greeting, server_label
from ..connecting.connection import LOCAL_URL, local_server_answers, open_connection
from .errors import JetStreamDisabledError, NotConnectedError
from ..connecting.options import ConnectOptions, resolve
from ..connecting.server import EmbeddedServer

log = logging.getLogger("jsmagic.core.context")

T = TypeVar("T")


async def _off_loop(fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking ``fn`` in a worker thread; the loop (and every live watch on it) keeps running.

    An interrupt stops the wait, not the work: ``fn`` finishes in its thread, and an
    embedded server it started meanwhile is stopped again (nobody would ever stop it).
    """
    loop = asyncio.get_running_loop()
    fut = loop.run_in_executor(None, fn, *args)
    try:
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        def undo(f: asyncio.Future) -> None:
            result = None if f.cancelled() or f.exception() else f.result()
            if isinstance(result, tuple) and isinstance(result[-1], EmbeddedServer):
                loop.run_in_executor(None, result[-1].cleanup)

        fut.add_done_callback(undo)
        raise


@dataclasses.dataclass
class Background:
    """A task or live watch registered on the context (listed by ``%js_status``)."""

    name: str
    kind: str
    started: float
    task: asyncio.Task | None = None
    stop: Callable[[], Any] | None = None
    describe: Callable[[], str] | None = None

    def running(self) -> bool:
        return self.task is None or not self.task.done()


class JSContext:
    """One connection to NATS JetStream, shared by every magic and cell of a kernel."""

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        self.nc: nats.NATS | None = None
        self.js: Any = None
        self.api: JSApi | None = None
        self.info: dict[str, Any] = {}
        self.server: EmbeddedServer | None = None
        self.options: ConnectOptions | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.state = "disconnected"
        self.jetstream_enabled: bool | None = None
        self.errors = ErrorLog(alias)  # the last few errors with their times (%js_status)
        self.connected_at: float | None = None  # the last (re)connect: errors before it are not current
        self.background: dict[str, Background] = {}
        self._listeners: list[Callable[[str], None]] = []
        self.state_since = time.time()  # when ``state`` last changed (live views show it)
        self.connection_events: list[tuple[float, str]] = []  # (time, state), the newest 50
        self._counter = 0
        self._owned: set[asyncio.Future] = set()

    # ---- running coroutines from synchronous code ------------------------------------
    def run(self, coro: Awaitable[T]) -> T:
        """Run ``coro`` on the context's loop from synchronous code (a magic) and return its result."""
        if self.loop is None or self.loop.is_closed():
            self.loop = runner.current_loop()
        return runner.run(coro, self.loop)

    # ---- connecting ------------------------------------------------------------------
    @property
    def in_use(self) -> bool:
        """Whether closing would end anything: a connection, a task or watch, a clean-up, a server."""
        return self.nc is not None or bool(self.background) or bool(self._owned) or self.server is not None

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    async def connect(self, options: ConnectOptions | None = None) -> "JSContext":
        """Connect (replacing any current connection only once the new one works).

        ``options`` default to :func:`jsmagic.connecting.options.resolve` with no line arguments;
        with no URL anywhere we try ``127.0.0.1:4222``, then start an embedded server.
        """
        opts = options if options is not None else resolve()
        timeout = opts.timeout or settings().timeout
        server = None
        if opts.embedded or not opts.servers:
            opts, server = await _off_loop(self._pick_fallback, opts)  # a probe, a server start: not on the loop
        try:
            nc = await open_connection(
                opts, timeout, self._on_error, self._on_disconnect, self._on_reconnect, self._on_close
            )
        except BaseException:
            if server is not None:
                await _off_loop(server.cleanup)
            raise
        await self._close_current()
        self.loop = asyncio.get_running_loop()
        self.nc, self.server, self.options = nc, server, opts
        self.js = nc.jetstream(
            timeout=timeout,
            domain=opts.domain or None,
            **({"prefix": opts.api_prefix} if opts.api_prefix else {}),
        )
        self.api = JSApi(nc, domain=opts.domain or None, prefix=opts.api_prefix or None, timeout=timeout)
        self.info = await greeting(nc, timeout) if not opts.tls_first else {}
        self._set_state("connected")
        self.jetstream_enabled = await self._probe_jetstream()
        return self

    def _pick_fallback(self, opts: ConnectOptions) -> tuple[ConnectOptions, EmbeddedServer | None]:
        """No URL given: the local default server if it answers, else an embedded one."""
        cfg = settings()
        if not opts.embedded and cfg.probe_local and local_server_answers():
            return dataclasses.replace(opts, servers=[LOCAL_URL], source="local"), None
        if not (opts.embedded or cfg.autostart_embedded):
            raise NotConnectedError("no NATS server configured and embedded autostart is off")
        store = opts.store or cfg.embedded_store or None
        server = EmbeddedServer(store_dir=store).start()
        return dataclasses.replace(opts, servers=[server.url], source="embedded", embedded=True), server

    async def _probe_jetstream(self) -> bool:
        """Whether this account has JetStream (a cheap account-info request)."""
        try:
            await self.js.account_info()
            return True
        except (nats.js.errors.ServiceUnavailableError, nats.errors.NoRespondersError, nats.errors.TimeoutError,
                nats.js.errors.APIError) as e:
            log.debug("[%s] no JetStream for this account: %r", self.alias, e)
            return False

    async def ensure(self) -> "JSContext":
        """Connect on first use the way ``%js_connect`` with no arguments would."""
        if self.nc is None or self.nc.is_closed:
            await self.connect()
        return self

    async def jetstream(self) -> Any:
        """The JetStream context, connecting first if needed; clear error when JetStream is off."""
        await self.ensure()
        if self.jetstream_enabled is False:
            self.jetstream_enabled = await self._probe_jetstream()
            if not self.jetstream_enabled:
                raise JetStreamDisabledError(f"JetStream is not enabled on {self.url}")
        return self.js

    # ---- connection state ------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        self.state, self.state_since = state, time.time()
        self.connection_events = [*self.connection_events[-49:], (self.state_since, state)]
        if state == "connected":
            self.connected_at = self.state_since
        for listener in list(self._listeners):
            try:
                listener(state)
            except Exception:  # noqa: BLE001 -- one listener's bug must not stop the others (logged)
                log.exception("connection state listener %r failed", listener)

    def on_state(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call ``listener(state)`` on connected/reconnecting/closed; returns an unsubscribe.

        The time of the change is ``ctx.state_since`` (``time.time()``); the last 50 changes
        are ``ctx.connection_events``.  This is how live views learn of an outage: the core
        reports, ``ui/`` renders (see :mod:`jsmagic.ui.watchview`).
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _on_error(self, e: BaseException) -> None:
        self.note_error(f"{type(e).__name__}: {e}")

    def note_error(self, text: str) -> None:
        """Keep an error that nobody raised (a callback's, a background task's): :class:`ErrorLog`."""
        self.errors.note(text)

    def recent_errors(self) -> list[dict[str, Any]]:
        """The last few errors, oldest first, each saying whether a (re)connect came after it."""
        return self.errors.recent(self.connected_at)

    @property
    def last_error(self) -> str | None:
        """The newest error kept (:meth:`recent_errors`: the last few, with times)."""
        return self.errors.last

    def _on_disconnect(self) -> None:
        if self.state != "closed":
            self._set_state("reconnecting")

    def _on_reconnect(self) -> None:
        self._set_state("connected")

    def _on_close(self) -> None:
        self._set_state("closed")

    def unreachable(self, what: str = "") -> NotConnectedError | None:
        """The error for a request that failed while the connection is down (None while it is up).

        A request made during an outage times out; "raise --timeout" would be the wrong advice.
        """
        if self.nc is None or self.nc.is_connected or self.state not in ("reconnecting", "closed"):
            return None
        since = time.strftime("%H:%M:%S", time.localtime(self.state_since))
        doing = "reconnecting" if self.state == "reconnecting" else "closed"
        return NotConnectedError(f"{what + ': ' if what else ''}the server at {self.url} is unreachable "
                                 f"(connection lost at {since}, {doing})",
                                 hint="run the cell again once it is back; %js_status shows the connection")

    @property
    def url(self) -> str:
        """The server URL we are connected to, credentials masked."""
        if self.nc is not None and self.nc.connected_url is not None:
            u = self.nc.connected_url
            return f"{u.scheme}://{u.hostname}:{u.port}"
        if self.options and self.options.servers:
            return secrets.mask_url(self.options.servers[0])
        return "(not connected)"

    @property
    def server_info(self) -> dict[str, Any]:
        """The server's INFO greeting as read at connect time (name, version, TLS, domain...)."""
        if self.nc is None:
            return {}
        info = dict(self.info)
        info.setdefault("version", str(self.nc.connected_server_version))
        return info

    def connection_line(self) -> str:
        """``Connected to nats://… (server X v2.15.1, JetStream on) — embedded, store /tmp/…``."""
        if self.nc is None:
            return "Not connected"
        info = self.server_info
        js = "on" if self.jetstream_enabled else "off"
        domain = self.options.domain if self.options and self.options.domain else info.get("domain")
        if domain:  # the domain the magics use (--domain hub on a leaf is the hub's), not the server's own
            js += f", domain {domain}"
        if self.options and self.options.api_prefix:
            js += f", API prefix {self.options.api_prefix}"
        # the first words say the state: a connection that went away is not "Connected to" (%js_status)
        verb = {"reconnecting": "Reconnecting to", "closed": "Disconnected from"}.get(self.state, "Connected to")
        line = f"{verb} {self.url} (server {server_label(info, self.url)} v{info.get('version', '?')}, JetStream {js})"
        if self.server is not None:
            line += f" — embedded nats-server, store {self.server.store_dir}"
        elif self.options and self.options.source not in ("", "line"):
            line += f" — from {self.options.source}"
        return secrets.redact(line)

    # ---- background tasks and watches ------------------------------------------------
    def spawn(self, coro: Awaitable[Any], name: str, kind: str = "task", describe: Callable[[], str] | None = None) -> Background:
        """Run ``coro`` in the background on the context's loop, registered until it ends."""
        if self.loop is None:
            self.loop = runner.current_loop()
        self._counter += 1
        key = f"{name}#{self._counter}"
        task = self.loop.create_task(coro, name=f"jsmagic:{key}")
        entry = Background(name=key, kind=kind, started=time.time(), task=task, describe=describe)
        self.background[key] = entry
        task.add_done_callback(lambda t, k=key: self._task_done(k, t))
        return entry

    def _task_done(self, key: str, task: asyncio.Task) -> None:
        self.background.pop(key, None)
        if not task.cancelled() and task.exception() is not None:
            self.note_error(f"{key}: {task.exception()}")

    def register(self, name: str, kind: str, stop: Callable[[], Any], describe: Callable[[], str] | None = None) -> Background:
        """Register a live object (a watch widget) that ``%js_close`` must stop."""
        self._counter += 1
        key = f"{name}#{self._counter}"
        entry = Background(name=key, kind=kind, started=time.time(), stop=stop, describe=describe)
        self.background[key] = entry
        return entry

    def own(self, coro: Awaitable[Any], name: str = "cleanup") -> asyncio.Future:
        """Run a short task (a consumer delete, an ack) that ``close()`` waits for, with a bound."""
        if self.loop is None:
            self.loop = runner.current_loop()
        task = asyncio.ensure_future(coro, loop=self.loop)
        self._owned.add(task)
        task.add_done_callback(self._owned_done)
        return task

    def _owned_done(self, task: asyncio.Future) -> None:
        self._owned.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.note_error(f"background clean-up: {task.exception()}")

    async def wait_owned(self, timeout: float = 5.0) -> int:
        """Wait (at most ``timeout`` s) for the owned tasks; cancel what is left; returns how many were left."""
        pending = set(self._owned)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=timeout)
            for task in pending:
                task.cancel()
        return len(pending)

    def unregister(self, entry: Background) -> None:
        """Forget a registered object (it stopped by itself)."""
        self.background.pop(entry.name, None)

    async def stop_background(self, kind: str | None = None) -> int:
        """Stop every registered task/watch (of ``kind``); returns how many were stopped."""
        entries = [e for e in list(self.background.values()) if kind is None or e.kind == kind]
        for entry in entries:
            if entry.stop is not None:
                result = entry.stop()
                if inspect.isawaitable(result):
                    await result
            if entry.task is not None and not entry.task.done():
                entry.task.cancel()
        tasks = [e.task for e in entries if e.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for entry in entries:
            self.background.pop(entry.name, None)
        return len(entries)

    # ---- closing ---------------------------------------------------------------------
    async def _close_current(self) -> None:
        """Stop background work, finish owned clean-ups, drain the connection, stop the embedded server."""
        await self.stop_background()
        await self.wait_owned()
        nc, server = self.nc, self.server
        self.nc = self.js = self.api = self.server = None
        self.info = {}
        if nc is not None and not nc.is_closed:
            from ..connecting.connection import quiet_tls_close

            with quiet_tls_close():  # asyncio's eof_received() warning about a TLS close, only now
                try:
                    await asyncio.wait_for(nc.drain(), timeout=5)
                except (nats.errors.Error, asyncio.TimeoutError, OSError) as e:  # closing anyway
                    log.debug("drain on close failed: %r", e)
                if not nc.is_closed:
                    try:
                        await nc.close()
                    except (nats.errors.Error, asyncio.TimeoutError, OSError) as e:
                        log.debug("close failed: %r", e)
        if server is not None:
            await _off_loop(server.cleanup)  # SIGTERM and up to 10 s of proc.wait: not on the loop
        self.jetstream_enabled = None

    async def close(self) -> None:
        """Close everything: tasks cancelled, connection drained, embedded server stopped."""
        await self._close_current()
        self._set_state("closed" if self.options else "disconnected")

    def __repr__(self) -> str:
        where = self.url if self.nc else "not connected"
        extra = f", embedded pid {self.server.pid}" if self.server else ""
        name = "" if self.alias == "default" else f" {self.alias!r}"
        return secrets.redact(f"<JSContext{name} {self.state} {where}{extra}, {len(self.background)} background>")
