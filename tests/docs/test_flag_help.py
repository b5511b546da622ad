"""Every flag and positional of every magic says what it is for.

The docs' magic pages and ``%magic?`` are made from the same argparse parsers; an argument without
``help=`` is an empty "meaning" cell in the reference and a bare name in ``%magic?``.
"""

from __future__ import annotations

import argparse
import sys

from jsmagic.magics import MAGICS
from jsmagic.magics.verbs import Verbs


def arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The parser's arguments in ``--help`` order (:func:`jsmagic.magics.verbs.help_arguments`)."""
    from jsmagic.magics.verbs import help_arguments

    return help_arguments(parser)


def parsers() -> dict[str, argparse.ArgumentParser]:
    """``"%magic verb"`` (or ``"%magic"``) → its parser, for every magic and every verb."""
    out: dict[str, argparse.ArgumentParser] = {}
    for cls in MAGICS:
        module = vars(sys.modules[cls.__module__])
        verbs = {v.magic: v for v in module.values() if isinstance(v, Verbs)}
        for names in cls.magics.values():
            for name, method in names.items():
                if name in verbs:
                    for verb, parser in verbs[name].parsers.items():
                        out[f"%{name} {verb}"] = parser
                elif getattr(getattr(cls, method), "parser", None) is not None:
                    out[f"%{name}"] = getattr(cls, method).parser
    return out


def test_every_flag_and_positional_of_every_magic_has_a_help():
    found = parsers()
    assert len(found) > 60 and "%js_stream add" in found and "%js_consume" in found  # the walk reaches them all
    missing = [f"{where}: {'/'.join(a.option_strings) or a.dest}"
               for where, parser in found.items() for a in arguments(parser) if not (a.help or "").strip()]
    assert not missing, f"{len(missing)} arguments have no help:\n" + "\n".join(missing)
