"""jsmagic: IPython/Jupyter magics for NATS JetStream.

``%load_ext jsmagic`` registers the magics; the core (context, publish, consume, kv,
streams...) is plain Python and works without IPython::

    import jsmagic
    ctx = jsmagic.context()
"""

from __future__ import annotations

from .context import JSContext, context
from .errors import JSMagicError

__all__ = ["JSContext", "JSMagicError", "context", "load_ipython_extension", "unload_ipython_extension"]
__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:
    """Register jsmagic's magics and its ``JSMagic`` configurable with the shell."""
    from .config import JSMagic, use_settings
    from .magics import MAGICS

    cfg = JSMagic(parent=ipython)
    use_settings(cfg)
    if not any(isinstance(c, JSMagic) for c in ipython.configurables):
        ipython.configurables.append(cfg)
    else:  # reload: keep one registered object
        ipython.configurables[:] = [c for c in ipython.configurables if not isinstance(c, JSMagic)] + [cfg]
    for magics in MAGICS:
        ipython.register_magics(magics)


def unload_ipython_extension(ipython) -> None:
    """Close everything jsmagic opened: tasks, watches, connection, embedded server."""
    from .context import _context, reset_context

    if _context is not None and (_context.nc is not None or _context.background or _context.server):
        _context.run(_context.close())
    reset_context()
