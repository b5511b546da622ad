"""What ``jsmagic export``/``jsmagic replay`` do once parsed: connect, read, write, say how it went.

The exit code is what a scheduler checks, so a read that could not return everything it
was asked for never exits 0: interrupted, stopped on the idle timeout while messages were
still expected, or short by the read's own notes (``SHORT …``).  What did arrive is still
written (a valid file, or the rows on stdout) and the error line says so.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Any

from ..core.errors import JSMagicError
from ..core.units import format_size

log = logging.getLogger(__name__)

OK, ERROR, USAGE, SHORT, INTERRUPTED = 0, 1, 2, 3, 130
EXIT_CODES = {
    OK: "the whole selection was read and written",
    ERROR: "nothing usable (cannot connect, no such stream, bad input), one line on stderr",
    USAGE: "bad command line",
    SHORT: "the read is short (stopped on --timeout, or the server lost messages): what arrived was written",
    INTERRUPTED: "interrupted (Ctrl-C): what arrived was written",
}
FORMATS = ("csv", "jsonl", "parquet")
PROGRESS_AFTER = 0.25  # seconds before the progress line shows on a terminal
DEFAULT_SERVER = "nats://127.0.0.1:4222"
SHORT_NOTE = "SHORT"  # a note starting so says rows are missing (jsmagic.reading.replicas, reading/counted.py)  # natscli's default; a scheduled job never starts an embedded server


def say(text: str) -> None:
    """One line for the person or the log reading stderr."""
    sys.stderr.write(f"jsmagic: {text}\n")
    sys.stderr.flush()


def _error_line(e: BaseException) -> str:
    """A jsmagic error as one line; a hint that names a magic is left to notebooks."""
    if isinstance(e, JSMagicError):
        message = " ".join(str(e.args[0] if e.args else e).split())
        hint = e.hint if e.hint and "%" not in e.hint else ""
        return f"{message} — {hint}" if hint else message
    return " ".join(f"{type(e).__name__}: {e}".split())


def short_reason(result: Any) -> str | None:
    """Why ``result`` (a finished replay) is not the whole selection, or None when it is."""
    if result.timed_out:
        return "no message arrived within the timeout while more were expected"
    short = [n for n in result.notes if n.startswith(SHORT_NOTE)]
    return "; ".join(short) if short else None


def _format(args: Any) -> str:
    if args.format:
        return args.format
    ext = os.path.splitext(args.output or "")[1].lstrip(".").lower()
    return {"csv": "csv", "jsonl": "jsonl", "json": "jsonl", "ndjson": "jsonl", "parquet": "parquet"}.get(ext, "jsonl")


def _progress(label: str) -> Any:
    """A progress line on stderr when a person watches it (a terminal); none in a log or a pipe."""
    if not sys.stderr.isatty():
        return None
    from ..core.config import settings
    from ..ui.progress import Progress

    cfg = settings()  # this process is the command's own: someone waits at the terminal, show it soon
    cfg.progress_after = min(cfg.progress_after, PROGRESS_AFTER)
    return Progress(label, unit="messages")


async def _connect(args: Any) -> Any:
    from ..connecting.options import resolve
    from ..core import flags
    from ..core.context import JSContext

    fields = flags.connect_fields(args)
    fields["servers"] = list(args.server)
    fields["timeout"] = args.connect_timeout
    opts = resolve(fields)
    if not opts.servers:
        opts.servers, opts.source = [DEFAULT_SERVER], "default"
    if opts.user and opts.password is None:
        from ..core.errors import InputError

        raise InputError(f"--user {opts.user} needs --password (or NATS_PASSWORD): nothing is prompted for here")
    ctx = JSContext("jsmagic-command")
    await ctx.connect(opts)
    return ctx


async def _work(args: Any, sel: Any, fmt: str, progress: Any) -> Any:
    """The read, as ``%js_consume`` reads (the same services); a purge mid-read makes its first note SHORT (reading.counted)."""
    from ..services import reading

    ctx = await _connect(args)
    try:
        await reading.check_stream(sel.stream, ctx=ctx)  # an unknown stream: one line naming the known ones
        if args.command == "export" or fmt == "parquet":
            path = args.to if args.command == "export" else args.output
            result = await reading.read_to(sel, path, partition_by=getattr(args, "partition_by", None),
                                           progress=progress, ctx=ctx)
        else:
            result = await reading.read(sel, progress=progress, ctx=ctx)
        return result
    finally:
        await ctx.close()


def _write(frame: Any, fmt: str, output: str | None) -> None:
    """A replayed frame as CSV or JSON lines, to ``output`` or stdout."""
    target = output or sys.stdout
    if fmt == "csv":
        frame.to_csv(target, index=False)
    else:  # times as RFC 3339 with the server's nanoseconds (to_json's own ISO dates stop at microseconds)
        frame = frame.copy()
        for col in frame.columns[[str(t).startswith("datetime64") for t in frame.dtypes]]:
            text = frame[col].astype(str).str.replace(" ", "T", n=1)
            frame[col] = text.where(frame[col].notna(), None)
        frame.to_json(target, orient="records", lines=True, default_handler=str)


def _report(args: Any, result: Any, fmt: str) -> str:
    """``1,000 messages of ORDERS (seq 1–1,000) written to orders.parquet, 52 KiB in 0.4s``."""
    if result.export is not None:
        e = result.export
        seqs = f" (seq {e.first_seq:,}–{e.last_seq:,})" if e.rows else ""
        return f"{e.rows:,} messages of {result.stream}{seqs} written to {e.path}, {format_size(e.bytes)} in {e.seconds:.1f}s"
    where = args.output or "stdout"
    return f"{len(result.frame):,} messages of {result.stream} written to {where} as {fmt}"


def run_command(args: Any) -> int:
    """Run a parsed ``export``/``replay``; returns the exit code."""
    from ..core import flags, runner
    from ..core.errors import InputError
    from ..services import messages

    fmt = "parquet" if args.command == "export" else _format(args)
    try:
        if args.command == "replay" and fmt == "parquet" and not args.output:
            raise InputError("--format parquet writes a file: give -o FILE (or use jsmagic export --to FILE)")
        sel = messages.selection(args.stream, **flags.words(args))
        progress = _progress(f"{args.command}ing {args.stream}")
        loop, ended = asyncio.new_event_loop(), "failed"
        try:
            result = runner.run(_work(args, sel, fmt, progress), loop)
            ended = "interrupted" if result.interrupted else "done"
        finally:
            loop.close()
            if progress is not None:  # its last line is the truth: how it ended
                progress.close(ended=ended)
        if result.export is None:
            _write(result.frame, fmt, args.output)
    except (runner.Interrupted, KeyboardInterrupt):
        say("interrupted before anything was written")
        return INTERRUPTED
    except JSMagicError as e:
        say(f"error: {_error_line(e)}")
        return ERROR
    except (OSError, ValueError) as e:  # a path that cannot be written, a frame that cannot be (bytes in CSV…)
        log.debug("command failed", exc_info=True)
        say(f"error: {_error_line(e)}")
        return ERROR
    for note in result.notes:
        if not note.startswith("SHORT"):  # a short read's notes are its error line
            say(f"note: {note}")
    report = _report(args, result, fmt)
    if result.interrupted:
        say(f"interrupted: {report}; a valid file, but not the whole selection")
        return INTERRUPTED
    reason = short_reason(result)
    if reason:
        say(f"error: short read ({reason}): {report}; read it again")
        return SHORT
    say(report)
    return OK
