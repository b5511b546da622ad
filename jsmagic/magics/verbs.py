"""``%magic VERB [args]`` parsing, shared by ``%js_stream``, ``%js_consumer`` and ``%js_obj``.

One IPython ``MagicArgumentParser`` per verb (bad flags raise ``UsageError``, never
exit), the line split like a shell so ``'orders.*'`` stays one word, ``-o NAME`` on
every verb, and the magic's help (``%js_stream?``) generated from all verbs.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from IPython.core.error import UsageError
from IPython.core.magic import Magics
from IPython.core.magic_arguments import MagicArgumentParser
from IPython.utils.process import arg_split

from ..ui import completion
from ..core.errors import did_you_mean
from .base import user_namespace


class Verbs:
    """Parsers for ``%magic VERB [args]``; :meth:`doc` renders them all for ``%magic?``."""

    def __init__(self, magic: str):
        self.magic = magic
        self.parsers: dict[str, MagicArgumentParser] = {}

    def add(self, verb: str, help: str, output: bool = True) -> MagicArgumentParser:
        """A parser for one verb (with ``-o NAME`` to store the result in a variable)."""
        parser = MagicArgumentParser(prog=f"{self.magic} {verb}", description=help, add_help=False)
        if output:
            parser.add_argument("-o", "--output", metavar="NAME", help="also store the result in variable NAME")
        self.parsers[verb] = parser
        return parser

    def parse(self, line: str) -> tuple[str, Any]:
        """``(verb, args)`` for a magic line; UsageError for an unknown verb or bad flags."""
        try:
            words = arg_split(line, posix=True, strict=True)
        except ValueError as e:
            raise UsageError(f"%{self.magic}: {e}") from None
        known = ", ".join(self.parsers)
        if not words:
            raise UsageError(f"%{self.magic} needs a verb: {known}")
        verb = words[0]
        if verb not in self.parsers:
            raise UsageError(f"%{self.magic}: unknown verb {verb!r} — {did_you_mean(verb, self.parsers)} (verbs: {known})")
        return verb, self.parsers[verb].parse_args(words[1:])

    def doc(self, intro: str) -> str:
        """``intro`` plus every verb's usage, for the magic's docstring."""
        parts = [inspect.cleandoc(intro), ""]
        for parser in self.parsers.values():
            parts.append(parser.format_help().rstrip())
            parts.append("")
        return "\n".join(parts)


def dispatch(magics: Magics, verbs: Verbs, line: str, handlers: dict[str, Callable[[Any], Any]]) -> Any:
    """Parse ``line``, run its verb's handler; strings are printed (messages), other results returned."""
    verb, args = verbs.parse(line)
    try:
        result = handlers[verb](args)
    finally:
        completion.clear_cache()  # names may have changed: the next Tab asks the server again
    if isinstance(result, str):
        print(result)
        return None
    if getattr(args, "output", None):
        user_namespace(magics)[args.output] = result
    if getattr(result, "attrs", {}).get("interrupted"):
        print(f"%{verbs.magic} {verb}: interrupted — returning what arrived")
    return result
