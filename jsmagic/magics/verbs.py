"""``%magic VERB [args]`` parsing, shared by ``%js_stream``, ``%js_consumer``, ``%js_obj`` and ``%js_kv``.

One IPython ``MagicArgumentParser`` per verb (bad flags raise ``UsageError``, never
exit), the line split like a shell (:func:`jsmagic.magics.base.split_line`) so
``'orders.*'`` stays one word and ``# …`` is a comment, ``-o NAME`` on every verb, and the magic's help
(``%js_stream?``) generated from all verbs.  A verb added with ``cell=True`` also takes
the cell body (``%%js_kv put BUCKET KEY`` with the value underneath); the handler finds
it in ``args.cell``.  A verb's ``--decode NAME`` reaches its handler resolved by the decoder
registry (:func:`jsmagic.core.decode.named`: a mode, or the notebook's function). A handler's string result is a message (printed, nothing returned),
except for verbs added with ``text=True``, whose result may be text (``%js_kv get``).
"""

from __future__ import annotations

import argparse
import inspect
from typing import Any, Callable

from IPython.core.error import UsageError
from IPython.core.magic import Magics
from IPython.core.magic_arguments import MagicArgumentParser

from ..core.decode import named
from ..core.errors import did_you_mean
from ..core import namecache
from ..core.registry import context
from .base import parse_line, split_line, store_output, user_namespace


class Verbs:
    """Parsers for ``%magic VERB [args]``; :meth:`doc` renders them all for ``%magic?``.

    ``interrupted``: what to print when a verb's result says an interrupt cut it short
    (``result.attrs["interrupted"]``); by default ``%magic verb: interrupted — …``.
    """

    def __init__(self, magic: str, interrupted: str | None = None):
        self.magic = magic
        self.parsers: dict[str, MagicArgumentParser] = {}
        self.cell_verbs: set[str] = set()
        self.text_verbs: set[str] = set()
        self.interrupted = interrupted
        self.intro = ""

    def add(self, verb: str, help: str, output: bool = True, cell: bool = False, text: bool = False,
            positional: tuple[str, ...] = ()) -> MagicArgumentParser:
        """A parser for one verb (with ``-o NAME`` to store the result in a variable).

        ``cell``: the verb takes a cell body; ``text``: its result may be a string that is data, not a message;
        ``positional``: the names of its first positional arguments (``("stream", "name")``).
        """
        parser = MagicArgumentParser(prog=f"{self.magic} {verb}", description=help, add_help=False)
        if output:
            parser.add_argument("-o", "--output", metavar="NAME", help="also store the result in variable NAME")
        for name in positional:  # "stream" → stream name; "name" → the magic's own noun (consumer name)
            noun = "stream" if name == "stream" else self.magic.removeprefix("js_") if name == "name" else name
            parser.add_argument(name, help=f"{noun} name")
        self.parsers[verb] = parser
        if cell:
            self.cell_verbs.add(verb)
        if text:
            self.text_verbs.add(verb)
        return parser

    def parse(self, line: str, cell: str | None = None) -> tuple[str, Any]:
        """``(verb, args)`` for a magic line (``args.cell``: the cell body); UsageError for an unknown verb or bad flags."""
        words = split_line(line)  # the one splitter: quotes, and a `# comment` even right after the verb
        known = ", ".join(self.parsers)
        if not words:
            raise UsageError(f"%{self.magic} needs a verb: {known}")
        verb = words[0]
        if verb not in self.parsers:
            raise UsageError(f"%{self.magic}: unknown verb {verb!r} — {did_you_mean(verb, self.parsers)} (verbs: {known})")
        args = parse_line(self.parsers[verb], words[1:])
        if cell is not None and verb not in self.cell_verbs:
            raise UsageError(f"%%{self.magic} {verb} takes no cell body; use the line magic")
        args.cell = cell
        return verb, args

    def interrupted_note(self, verb: str) -> str:
        return self.interrupted or f"%{self.magic} {verb}: interrupted — returning what arrived"

    def doc(self, intro: str) -> str:
        """``intro`` plus every verb's usage, for the magic's docstring (``intro`` is kept for the docs' magic pages)."""
        self.intro = inspect.cleandoc(intro)
        parts = [self.intro, ""]
        for parser in self.parsers.values():
            parts.append(parser.format_help().rstrip())
            parts.append("")
        return "\n".join(parts)


def dispatch(magics: Magics, verbs: Verbs, line: str, handlers: dict[str, Callable[[Any], Any]],
             cell: str | None = None) -> Any:
    """Parse ``line`` (and ``cell``), run its verb's handler; strings are printed (messages), other results returned."""
    verb, args = verbs.parse(line, cell)
    if isinstance(getattr(args, "decode", None), str):  # the same names, and the same error, in every magic
        args.decode = named(args.decode, user_namespace(magics))
    try:
        result = handlers[verb](args)
    finally:  # names may have changed: the core refreshes what Tab offers, and this line's stream/bucket
        hints = [("stream",), ("bucket",)] + [(k, v) for magic, k, attr in (("js_consumer", "consumer", "stream"),
                                                                             ("js_obj", "object", "bucket"))
                                              if verbs.magic == magic and isinstance(v := getattr(args, attr, None), str)]
        namecache.changed(context(), *hints)
    if isinstance(result, str) and verb not in verbs.text_verbs:
        print(result)
        return None
    store_output(magics, args, result)
    if getattr(result, "attrs", {}).get("interrupted"):
        print(verbs.interrupted_note(verb))
    return result


def confirming(magics: Magics, handlers: dict[str, Callable[[Any], tuple[Any, str]]]) -> dict[str, Callable]:
    """Handlers for :func:`dispatch` that print each verb's sentence and store its data under ``-o NAME``.

    A destructive verb's core function returns what it removed; the user reads a sentence
    ("Deleted …"), and ``-o NAME`` keeps the data.  Each handler returns ``(data, sentence)``.
    """

    def wrap(handler: Callable[[Any], tuple[Any, str]]) -> Callable[[Any], str]:
        def confirmed(args: Any) -> str:
            data, sentence = handler(args)
            store_output(magics, args, data)
            return sentence  # dispatch prints a string and returns None: no Out[] beside the sentence

        return confirmed

    return {verb: wrap(h) for verb, h in handlers.items()}


def help_arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """A parser's arguments in ``--help`` order, as argparse hands them to its (public) help formatter.

    The docs' flag tables and the test that every flag has a help read them from here.
    """
    found: list[argparse.Action] = []

    class Collect(argparse.HelpFormatter):
        def add_argument(self, action):
            found.append(action)
            super().add_argument(action)

    before = parser.formatter_class
    parser.formatter_class = Collect
    try:
        parser.format_help()
    finally:
        parser.formatter_class = before
    return [a for a in found if a.help is not argparse.SUPPRESS]
