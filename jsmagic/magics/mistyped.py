"""A mistyped magic name (``%js_consum``) gets "did you mean %js_consume?", not IPython's bare "not found".

IPython raises a ``UsageError`` for an unknown magic.  Its public hook for exceptions,
``shell.set_custom_exc``, lets us add the suggestion: every other ``UsageError`` is shown
exactly as IPython shows it.  The hook is installed only when no one else has set one,
and removed when the extension is unloaded.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from IPython.core.error import UsageError

_NOT_FOUND = re.compile(r"[Mm]agic (?:function )?`(%%?)(\w+)` not found")


def suggestion(shell: Any, text: str) -> str | None:
    """``did you mean %js_consume?`` for a "magic function not found" message about a js_ name, else None."""
    m = _NOT_FOUND.search(text)
    if m is None or not m.group(2).startswith("js"):
        return None
    percent, name = m.group(1), m.group(2)
    names = [n for n in shell.magics_manager.magics.get("cell" if percent == "%%" else "line", {}) if n.startswith("js_")]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if not close:
        return f"jsmagic's magics are {', '.join(percent + n for n in sorted(names))}" if names else None
    return f"did you mean {percent}{close[0]}?"


def _handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> None:
    text = str(value)
    hint = suggestion(shell, text)
    shell.show_usage_error(UsageError(f"{text} — {hint}" if hint else text))


def install(shell: Any) -> None:
    """Add the suggestion to IPython's "not found" (only when no other custom exception handler is set)."""
    if not shell.custom_exceptions:
        shell.set_custom_exc((UsageError,), _handler)


def uninstall(shell: Any) -> None:
    if shell.custom_exceptions == (UsageError,):
        shell.set_custom_exc((), None)
