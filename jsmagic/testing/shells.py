"""IPython shells with jsmagic loaded (in-process, no kernel) for tests and for projects using jsmagic.

A process holds one ``InteractiveShell`` at a time (a singleton), and each registers its
own ``atexit`` handler, which clears its namespace with one full garbage collection.  A
shell that is never closed keeps its test's objects alive until the process ends, and a
test run that made hundreds of them sat minutes in those handlers after its last test.
So every shell made here is closed after use: :func:`shell_session` and
:func:`connected_shell` close theirs, a fixture calls :func:`close_shell`, and
:func:`testing_shell` closes the shell it replaces.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import re
import sys
import weakref
from typing import Any, Iterator

log = logging.getLogger("jsmagic.testing")

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_MAIN_BEFORE: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()  # shell -> sys.modules["__main__"] before it


def strip_ansi(text: str) -> str:
    """Text without terminal colour codes (jsmagic's one-line errors are red)."""
    return _ANSI.sub("", text)


@contextlib.contextmanager
def connected_shell(url: str, **traits: Any) -> Iterator[Any]:
    """A :func:`testing_shell` connected to ``url``; closed afterwards (:func:`close_shell`)."""
    with shell_session(**{"probe_local": False, **traits}) as shell:
        shell.run_line_magic("js_connect", url)
        yield shell


@contextlib.contextmanager
def shell_session(**traits: Any) -> Iterator[Any]:
    """A :func:`testing_shell` for a ``with`` block, closed when it ends (:func:`close_shell`)."""
    shell = testing_shell(**traits)
    try:
        yield shell
    finally:
        close_shell(shell)


def testing_shell(**traits: Any):
    """A fresh IPython ``InteractiveShell`` with jsmagic loaded; close it with :func:`close_shell`.

    ``traits`` preset ``JSMagic`` settings as a profile's config would
    (``testing_shell(probe_local=False)``).  Its input history is kept in memory.  A
    shell still open from before is released first (its IPython side: namespace,
    history, exit handler; its jsmagic connections are left to whoever opened them).
    """
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    if InteractiveShell.initialized():
        _release(InteractiveShell.instance())
    config = Config()
    config.HistoryManager.hist_file = ":memory:"  # as IPython's own test shell: no writes to the user's history
    main = sys.modules.get("__main__")
    shell = InteractiveShell.instance(config=config)
    if main is not None:
        _MAIN_BEFORE[shell] = main
    for name, value in traits.items():
        setattr(shell.config.JSMagic, name, value)
    shell.run_line_magic("load_ext", "jsmagic")
    return shell


def close_shell(shell: Any) -> None:
    """Close a :func:`testing_shell`: jsmagic unloaded (its connections closed), then the shell itself.

    What IPython would do at the end of the process happens now, minus the full garbage
    collection its exit handler runs per shell: the ``atexit`` handler is taken back, the
    history session ended and its saving thread stopped, the namespace emptied (the test's
    objects are freed), IPython's event loop closed (jsmagic's connections on it are closed
    by the unload), ``sys.modules["__main__"]`` put back as before the shell, and it stops being the current
    instance.  Nothing then holds the shell.  Closing twice is harmless.
    """
    from IPython.core.async_helpers import get_asyncio_loop

    if shell.extension_manager.unload_extension("jsmagic") == "not loaded":
        log.debug("close_shell: jsmagic was not loaded on this shell")
    loop = get_asyncio_loop()  # the loop IPython ran the cells on (the next shell gets a new one)
    if not loop.is_running():
        loop.close()
    _release(shell)


def _release(shell: Any) -> None:
    """The IPython side of closing ``shell`` (public InteractiveShell and HistoryManager API only)."""
    from IPython.core.interactiveshell import InteractiveShell

    from ..core.config import JSMagic, settings, use_settings

    atexit.unregister(shell.atexit_operations)
    history = shell.history_manager
    if history is not None:  # None once closed (here, or by IPython's own exit work)
        history.end_session()
        if hasattr(history, "close"):  # IPython 9: stops the saving thread and closes the database
            history.close()
        elif history.save_thread is not None:
            history.save_thread.stop()
        shell.history_manager = None
        shell.user_ns.clear()
        # not shell.cleanup(): it restores sys.stdout/stderr as they were when the shell was made, and a
        # shell released by the next testing_shell() would put back an earlier test's captured stdout
        main = _MAIN_BEFORE.pop(shell, None)
        if main is not None and sys.modules.get("__main__") is shell.user_module:
            sys.modules["__main__"] = main
    current = settings()
    if current.parent is shell:  # jsmagic's settings outlive the shell: keep the values, not the shell
        use_settings(JSMagic(**{k: getattr(current, k) for k in current.trait_names(config=True)}))
    if InteractiveShell.initialized() and InteractiveShell.instance() is shell:
        InteractiveShell.clear_instance()
