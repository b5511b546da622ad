"""Named contexts side by side: `staging` and `prod`, or two accounts, in one notebook.

`%js_connect URL --alias prod` opens a context under a name and makes it current;
`%js_use prod` switches; `jsmagic.context("prod")` returns one by name.  Without
an alias everything happens on the context named `default`, as before.  Core
functions take `ctx=None` and call `current` to mean "the current one".

A context belongs to the loop it was opened on, so the names and the current one are the
main thread's (the kernel's): another thread that connects gets a scope of its own, with
its own `default` and its own current context (docs/event-loop.md).  Its connections never
replace the kernel's current one; an alias it names that it does not have is looked up
among the main thread's (a connection named explicitly).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from .context import JSContext
from .errors import InputError, not_found

DEFAULT = "default"
_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")



class _Scope:
    """Named contexts and the current one's name: the main thread's, or another thread's own."""

    def __init__(self) -> None:
        self.contexts: dict[str, JSContext] = {}
        self.current = DEFAULT


_main = _Scope()
_threads = threading.local()


def _scope() -> _Scope:
    """The calling thread's scope: the main thread's (the kernel's), else one made for this thread."""
    if threading.current_thread() is threading.main_thread():
        return _main
    scope = getattr(_threads, "scope", None)
    if scope is None:
        scope = _threads.scope = _Scope()
    return scope


def check_alias(alias: str) -> str:
    """A usable alias (a short word), or a one-line error."""
    if not _ALIAS.match(alias or ""):
        raise InputError(f"bad alias {alias!r}", hint="use a short word: letters, digits, '_', '-', '.'")
    return alias


def context(alias: str | None = None) -> JSContext:
    """The current context, or the one named `alias` ("did you mean" for an unknown name).

    The `default` context is created (unconnected) on first use.  In a thread other than
    the main one, the thread's own contexts come first, then the main thread's named ones.
    """
    scope = _scope()
    if alias is None:
        alias = scope.current
    if alias in scope.contexts:
        return scope.contexts[alias]
    if alias != DEFAULT and scope is not _main and alias in _main.contexts:
        return _main.contexts[alias]
    if alias != DEFAULT:
        raise not_found("connection", alias, list(scope.contexts) + list(_main.contexts))
    scope.contexts[alias] = JSContext(alias)
    return scope.contexts[alias]


def current(ctx: JSContext | str | None = None) -> JSContext:
    """`ctx` itself, the context named `ctx` (an alias: `ctx="prod"`), or the current one when None.

    Every core function's keyword-only `ctx=None` goes through here, so each takes a
    context or an alias name alike.
    """
    if ctx is None:
        return context()
    return context(ctx) if isinstance(ctx, str) else ctx


def create(alias: str) -> JSContext:
    """The context named `alias`, created if new (`%js_connect --alias`); it is not made current yet."""
    check_alias(alias)
    scope = _scope()
    if alias not in scope.contexts:
        scope.contexts[alias] = JSContext(alias)
    return scope.contexts[alias]


def use(alias: str) -> JSContext:
    """Make `alias` the current context (`%js_use`): kernel-wide in the main thread, else for this thread."""
    ctx = context(alias)
    _scope().current = alias
    return ctx


def current_alias() -> str:
    return _scope().current


def contexts() -> dict[str, JSContext]:
    """Every named context (of this thread, outside the main one), in the order they were made."""
    return dict(_scope().contexts)


def forget(alias: str, scope: _Scope | None = None) -> None:
    """Drop a closed context's name; the current one falls back to `default`."""
    scope = scope or _scope()
    scope.contexts.pop(alias, None)
    if scope.current == alias:
        scope.current = DEFAULT


def active() -> list[JSContext]:
    """The contexts that hold anything to close (a connection, a task, a server)."""
    return [c for c in _scope().contexts.values() if c.in_use]


def reset() -> None:
    """Forget every context of this thread's scope (tests, and unloading the extension); close them first."""
    scope = _scope()
    scope.contexts.clear()
    scope.current = DEFAULT


async def connect(alias: str, options: Any) -> JSContext:
    """Connect the context named `alias` with `options` and make it current.

    A failed first connect of a new name leaves no empty name behind; the current
    context stays what it was.
    """
    ctx = create(alias)
    try:
        await ctx.connect(options)
    except BaseException:
        if ctx.nc is None and alias != DEFAULT:
            forget(alias)
        raise
    use(alias)
    return ctx


async def close(ctx: JSContext) -> JSContext | None:
    """Close `ctx`; a named one is forgotten (`default` becomes current again).

    When the current connection is closed while another is still open, that one becomes
    current (the last opened): returned, so the caller can say so.  Never does the next
    magic silently start an embedded server in its place.
    """
    was_current = ctx.alias == _scope().current
    await ctx.close()
    if ctx.alias != DEFAULT:
        for scope in (_scope(), _main):  # a thread may close a main-thread connection it named
            if scope.contexts.get(ctx.alias) is ctx:
                forget(ctx.alias, scope)
    if was_current and context().nc is None:
        open_ = [c for c in _scope().contexts.values() if c.nc is not None and c is not ctx]
        if open_:
            return use(open_[-1].alias)
    return None


async def connected(ctx: JSContext | str | None = None) -> JSContext:
    """`ctx` (or the current context), connected on first use: its `ctx.api` is ready for requests."""
    ctx = current(ctx)
    await ctx.jetstream()
    return ctx


async def jetstream(ctx: JSContext | str | None = None) -> Any:
    """The JetStream context of `ctx` (or the current one), connecting on first use."""
    return await current(ctx).jetstream()
