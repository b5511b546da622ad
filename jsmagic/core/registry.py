"""Named contexts side by side: `staging` and `prod`, or two accounts, in one notebook.

`%js_connect URL --alias prod` opens a context under a name and makes it current;
`%js_use prod` switches; `jsmagic.context("prod")` returns one by name.  Without
an alias everything happens on the context named `default`, as before.  Core
functions take `ctx=None` and call `current` to mean "the current one".
"""

from __future__ import annotations

import re
from typing import Any

from .context import JSContext
from .errors import InputError, not_found

DEFAULT = "default"
_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")

_contexts: dict[str, JSContext] = {}
_current = DEFAULT


def check_alias(alias: str) -> str:
    """A usable alias (a short word), or a one-line error."""
    if not _ALIAS.match(alias or ""):
        raise InputError(f"bad alias {alias!r}", hint="use a short word: letters, digits, '_', '-', '.'")
    return alias


def context(alias: str | None = None) -> JSContext:
    """The current context, or the one named `alias` ("did you mean" for an unknown name).

    The `default` context is created (unconnected) on first use.
    """
    if alias is None:
        alias = _current
    if alias not in _contexts:
        if alias != DEFAULT:
            raise not_found("connection", alias, list(_contexts))
        _contexts[alias] = JSContext(alias)
    return _contexts[alias]


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
    if alias not in _contexts:
        _contexts[alias] = JSContext(alias)
    return _contexts[alias]


def use(alias: str) -> JSContext:
    """Make `alias` the current context (`%js_use`)."""
    global _current
    ctx = context(alias)
    _current = alias
    return ctx


def current_alias() -> str:
    return _current


def contexts() -> dict[str, JSContext]:
    """Every named context, in the order they were made."""
    return dict(_contexts)


def forget(alias: str) -> None:
    """Drop a closed context's name; the current one falls back to `default`."""
    global _current
    _contexts.pop(alias, None)
    if _current == alias:
        _current = DEFAULT


def active() -> list[JSContext]:
    """The contexts that hold anything to close (a connection, a task, a server)."""
    return [c for c in _contexts.values() if c.in_use]


def reset() -> None:
    """Forget every context (tests, and unloading the extension); close them first."""
    global _current
    _contexts.clear()
    _current = DEFAULT


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
    was_current = ctx.alias == _current
    await ctx.close()
    if ctx.alias != DEFAULT:
        forget(ctx.alias)
    if was_current and context().nc is None:
        open_ = [c for c in _contexts.values() if c.nc is not None and c is not ctx]
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
