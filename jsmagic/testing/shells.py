"""IPython shells with jsmagic loaded (in-process, no kernel) for tests and for projects using jsmagic."""

from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """Text without terminal colour codes (jsmagic's one-line errors are red)."""
    return _ANSI.sub("", text)


@contextlib.contextmanager
def connected_shell(url: str, **traits: Any) -> Iterator[Any]:
    """A :func:`testing_shell` connected to ``url``; the extension is unloaded afterwards."""
    shell = testing_shell(**{"probe_local": False, **traits})
    shell.run_line_magic("js_connect", url)
    try:
        yield shell
    finally:
        shell.run_line_magic("unload_ext", "jsmagic")


def testing_shell(**traits: Any):
    """A fresh IPython ``InteractiveShell`` with jsmagic loaded.

    ``traits`` preset ``JSMagic`` settings as a profile's config would
    (``testing_shell(probe_local=False)``).
    """
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    for name, value in traits.items():
        setattr(shell.config.JSMagic, name, value)
    shell.run_line_magic("load_ext", "jsmagic")
    return shell
