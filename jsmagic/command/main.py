"""``jsmagic``: the command a scheduler runs (``jsmagic export``, ``jsmagic replay``).

The flags are :mod:`jsmagic.core.flags`' definitions, the very ones ``%js_consume`` and
``%js_connect`` parse, so ``jsmagic export --help`` and ``%js_consume?`` say the same words.
The connection is resolved as ``%js_connect`` resolves it (``--server``/``--context``/creds,
then ``NATS_*`` variables, then the nats CLI's selected context, then nats://127.0.0.1:4222;
never an embedded server).  What happens then is :mod:`jsmagic.command.work`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .. import __version__
from ..core import flags
from .work import EXIT_CODES, FORMATS, run_command

DESCRIPTION = "Replay and export NATS JetStream streams, non-destructively (the stream is left unchanged)."
EPILOG = "exit codes: " + "; ".join(f"{code} {what}" for code, what in EXIT_CODES.items())


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line that says where the help is (exit code 2)."""

    def error(self, message: str):  # noqa: D401 - argparse's hook
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _connection(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection (as %js_connect; else NATS_* variables, the nats CLI context, "
                                      "nats://127.0.0.1:4222)")
    group.add_argument("--server", action="append", default=[], metavar="URL",
                       help="server URLs (nats://host:4222), a comma list or repeated")
    flags.add_to(group, flags.CONNECT)
    group.add_argument("--connect-timeout", type=float, metavar="SECONDS",
                       help="seconds to wait for the server (default JSMagic.timeout)")


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stream", help="stream name")
    flags.add_to(parser.add_argument_group("which messages (as %js_consume)"), flags.SELECT)


def parser() -> argparse.ArgumentParser:
    """The whole command line: ``jsmagic {export,replay} STREAM …``."""
    top = Parser(prog="jsmagic", description=DESCRIPTION, epilog=EPILOG)
    top.add_argument("--version", action="version", version=f"jsmagic {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="{export,replay}", parser_class=Parser)

    export = sub.add_parser("export", help="stream a replay to Parquet (a file, or a dataset with --partition-by)",
                            description="Stream a replay to Parquet, chunk by chunk (memory stays flat), "
                                        "as %js_consume --to does.", epilog=EPILOG)
    _selection(export)
    out = export.add_argument_group("where to (as %js_consume)")
    for flag in flags.EXPORT:  # --to is required here
        out.add_argument(*flag.names, **flag.kwargs, **({"required": True} if "--to" in flag.names else {}))
    _connection(export)

    replay = sub.add_parser("replay", help="a replay written as CSV, JSON lines or Parquet (to a file or stdout)",
                            description="Replay a stream as %js_consume does and write the frame.", epilog=EPILOG)
    _selection(replay)
    out = replay.add_argument_group("where to")
    out.add_argument("--format", choices=FORMATS, help="default: from -o's extension, else jsonl")
    out.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout; parquet needs a file)")
    _connection(replay)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see ``EPILOG``)."""
    args = parser().parse_args(argv)
    return run_command(args)


def entry() -> None:
    """The console script (and ``python -m jsmagic``)."""
    sys.exit(main())
