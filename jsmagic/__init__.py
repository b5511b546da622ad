"""jsmagic: IPython/Jupyter magics for NATS JetStream.

``%load_ext jsmagic`` registers the magics.  The core (context, replay, publish, admin)
is plain Python and works without IPython; :mod:`jsmagic.api` is its documented async
face for scripts and cells, grouped as ``nats`` groups its verbs (the service layer,
:mod:`jsmagic.services`, that the magics call too)::

    import jsmagic
    ctx = await jsmagic.connect(embedded=True)
    await jsmagic.streams.add("ORDERS", subjects="orders.>")
    df = await jsmagic.replay("ORDERS", since="2h")

``import jsmagic`` is light: nats-py and pandas load on first use.
"""

from __future__ import annotations

from .core.errors import JSMagicError
from .core.lastresult import last_result

_API = ("connect", "close", "use", "status", "run", "streams", "consumers", "kv", "obj", "counters", "publish", "replay",
        "export", "follow", "selection", "nats", "micro", "trace", "events", "check", "kv_put", "kv_get", "kv_view",
        "ReadWarning")
_REGISTRY = ("context", "contexts")  # they need the context, which needs nats-py and pandas

__all__ = ["JSContext", "JSMagicError", "context", "contexts", "last_result", *_API, "load_ipython_extension",
           "unload_ipython_extension"]
__version__ = "0.2.0"  # the one place the version lives (pyproject.toml reads it)


def __getattr__(name: str):
    """The async API (:mod:`jsmagic.api`), the contexts and ``JSContext`` on first use.

    ``import jsmagic`` stays light (no nats-py, no pandas: ``tests/test_package.py`` checks it),
    so a kernel that only loads the extension pays for them when a magic first runs.
    """
    if name in _API:
        from . import api

        return getattr(api, name)
    if name in _REGISTRY:
        from .core import registry

        return getattr(registry, name)
    if name == "JSContext":
        from .core.context import JSContext

        return JSContext
    raise AttributeError(f"module 'jsmagic' has no attribute {name!r}")


def load_ipython_extension(ipython) -> None:
    """Register jsmagic's magics, its ``JSMagic`` configurable and Tab completion with the shell."""
    from IPython.core.async_helpers import get_asyncio_loop

    from .core import runner
    from .core.config import JSMagic, use_settings
    from .magics import MAGICS, mistyped
    from .ui import completion

    runner.set_loop_provider(get_asyncio_loop)
    cfg = JSMagic(parent=ipython)
    use_settings(cfg)
    if not any(isinstance(c, JSMagic) for c in ipython.configurables):
        ipython.configurables.append(cfg)
    else:  # reload: keep one registered object
        ipython.configurables[:] = [c for c in ipython.configurables if not isinstance(c, JSMagic)] + [cfg]
    for magics in MAGICS:
        ipython.register_magics(magics)
        if getattr(magics, "verbs", None) is not None:
            completion.register_verbs(magics.verbs.magic, list(magics.verbs.parsers))
    completion.install(ipython)
    mistyped.install(ipython)  # %js_consum: "did you mean %js_consume?"


def unload_ipython_extension(ipython) -> None:
    """Undo everything: every context closed (tasks, watches, connection, server), magics and completion removed."""
    from .core import registry, runner
    from .core.config import JSMagic
    from .magics import MAGICS, mistyped
    from .ui import completion

    for ctx in registry.active():
        ctx.run(ctx.close())
    registry.reset()
    runner.set_loop_provider(None)
    completion.uninstall(ipython)
    mistyped.uninstall(ipython)
    for magics in MAGICS:
        for kind, names in magics.magics.items():
            for name in names:
                ipython.magics_manager.magics[kind].pop(name, None)
    ipython.configurables[:] = [c for c in ipython.configurables if not isinstance(c, JSMagic)]
