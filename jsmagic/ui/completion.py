"""Tab completion of live names in ``%js_stream``, ``%js_consumer`` and ``%js_obj`` lines.

An IPython (API v2) matcher: it finds the jsmagic magic in the line before the cursor
(also after ``df = ``), works out which word is being typed (verb, stream, consumer,
bucket, object) and offers the names the core keeps (:mod:`jsmagic.core.namecache`).  It
never talks to the server and never runs the loop: a completion request comes on every
Tab and must never make typing wait; it answers nothing rather than raise.
"""

from __future__ import annotations

import re
from typing import Any

from ..core import namecache

_LINE = re.compile(r"%(js_stream|js_consumer|js_obj)\s+(.*)$")

_verbs: dict[str, list[str]] = {}


def register_verbs(magic: str, verbs: list[str]) -> None:
    """The verbs a magic accepts (the extension registers them when it loads)."""
    _verbs[magic] = list(verbs)


def names(kind: str, *args: str) -> list[str]:
    """Live names of ``kind`` (stream, consumer, bucket, object) from the core's cache (:mod:`jsmagic.core.namecache`)."""
    return namecache.cached(kind, *args)


def candidates(magic: str, words: list[str]) -> list[str]:
    """What the next word can be, given the words already typed after the magic."""
    if any(w.startswith("-") for w in words):
        return []  # flags come after the names: nothing live to offer
    if not words:
        return _verbs.get(magic, [])
    verb, pos = words[0], len(words)
    if magic == "js_stream" and pos == 1 and verb not in ("ls", "add", "report", "restore"):
        return names("stream")
    if magic == "js_consumer":
        if pos == 1:
            return names("stream")
        if pos == 2 and verb in ("info", "next", "rm", "edit", "copy", "reset", "dead", "watch"):
            return names("consumer", words[1])
    if magic == "js_obj" and verb != "add":
        if pos == 1:
            return names("bucket")
        if pos == 2 and verb in ("get", "rm", "info"):
            return names("object", words[1])
    return []


def complete(line_before_cursor: str, token: str) -> list[str]:
    """Completions replacing ``token`` (the completer's current fragment) for this line."""
    match = _LINE.search(line_before_cursor)
    if not match:
        return []
    rest = match.group(2)
    words = rest.split()
    current = "" if not rest or rest[-1].isspace() else words.pop()
    found = [n for n in candidates(match.group(1), words) if n.startswith(current)]
    # IPython's token may stop at '/' or '.', while our word (an object name) does not
    cut = len(current) - len(token) if current.endswith(token) else 0
    return [n[cut:] for n in found]


def matcher(context: Any) -> dict:
    """The IPython matcher (API v2)."""
    from IPython.core.completer import SimpleCompletion

    found = complete(context.text_until_cursor, context.token)
    return {"completions": [SimpleCompletion(n, type="jsmagic") for n in found], "suppress": bool(found),
            "matched_fragment": context.token}


matcher.matcher_api_version = 2  # type: ignore[attr-defined]
matcher.matcher_identifier = "jsmagic.ui.completion.matcher"  # type: ignore[attr-defined]
matcher.matcher_priority = 10  # type: ignore[attr-defined] - before file and Python name completion


def install(shell: Any) -> None:
    """Add the matcher to the shell's completer (once, however often the extension loads)."""
    completer = getattr(shell, "Completer", None)
    if completer is not None and matcher not in completer.custom_matchers:
        completer.custom_matchers.append(matcher)


def uninstall(shell: Any) -> None:
    """Remove the matcher again (unloading the extension)."""
    completer = getattr(shell, "Completer", None)
    if completer is not None and matcher in completer.custom_matchers:
        completer.custom_matchers.remove(matcher)
    namecache.clear()
    _verbs.clear()


def clear_cache() -> None:
    """Forget cached names (tests)."""
    namecache.clear()
