"""``%js_consume``: replay a stream into a DataFrame (or ``--follow`` it live)."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

import pandas as pd

from ..core.config import settings
from ..core.errors import JSMagicError
from ..core.extras import require
from ..core.flags import EXPORT, SELECT, words
from ..core.units import plural
from ..services import messages, reading
from ..ui.display import result_frame, said
from ..ui.replay import Exported, replay_summary
from . import finding, timetravel
from .flagset import arguments
from .base import (friendly, keep_result, parse_line, present, run, show_note, store_output, user_namespace,
                   with_progress)

_POLICIES = ("all", "new", "last", "last_per_subject")


@magics_class
class ConsumeMagics(Magics):
    """Read stream history into pandas, non-destructively by default."""

    @no_var_expand
    @magic_arguments()
    @argument("stream", help="stream name")
    @arguments(SELECT)
    @argument("--at", metavar="TIME", help="with --last-per-subject: each subject's last message as of then (time travel)")
    @argument("--up-to-seq", type=int, metavar="N", help="with --last-per-subject: each subject's last message up to seq N")
    @argument("--dry-run", action="store_true", help="how many messages and bytes, which reader, how long: reads nothing, creates no consumer")
    @argument("--durable", help="use (or create) this durable consumer, with explicit acks: DESTRUCTIVE on WorkQueue streams")
    @argument("--ack", dest="action", action="store_const", const="ack",
              help="durable: ack every row as it is read (rows a filter drops are acked too: seen, not wanted)")
    @argument("--nak", dest="action", action="store_const", const="nak",
              help="durable: nak every row (redelivered), and the rows a filter drops")
    @argument("--delay", help="durable --nak: redeliver after this long")
    @argument("--term", dest="action", action="store_const", const="term",
              help="durable: term every row as it is read (never redelivered; rows a filter drops are acked)")
    @argument("--in-progress", dest="action", action="store_const", const="in_progress", help="durable: extend the ack wait")
    @argument("--ack-wait", help="durable, on creation: redeliver unacked messages after this long")
    @argument("--max-deliver", type=int, help="durable, on creation: give up after this many deliveries")
    @argument("--follow", action="store_true", help="keep a live table of new messages (returns a handle)")
    @arguments(EXPORT)
    @argument("--as", dest="result_as", choices=["pandas", "arrow", "polars"],
              help="result type (default JSMagic.result_type)")
    @argument("-o", "--output", metavar="NAME", help="store the frame (or the --follow handle) in this variable")
    @line_magic
    @friendly("consume")
    def js_consume(self, line: str = ""):
        """Replay a stream's messages into a DataFrame; the stream is left unchanged.

        Examples::

            df = %js_consume ORDERS
            df = %js_consume ORDERS -s 'orders.eu.>' --since 2h
            df = %js_consume ORDERS --start-seq 1000 --end-seq 2000
            df = %js_consume ORDERS --last-per-subject
            df = %js_consume ORDERS --last-per-subject --at 2h   # each subject's last message 2 hours ago
            %js_consume ORDERS -s 'orders.eu.>' --since 1d --dry-run   # how much, which reader, how long
            %js_consume ORDERS --new --follow -o tail
            df = %js_consume JOBS --durable worker --ack      # work-queue processing (removes messages)
            %js_consume ORDERS --to orders.parquet             # streamed to Parquet; returns a summary
            %js_consume ORDERS --to orders_by_region --partition-by region   # a new folder: a hive-layout dataset
            df = %js_consume ORDERS --where "amount > 100" --grep 'eu' --header trace-id=abc -n 10
            df = %js_consume ORDERS --subject-cols 'orders.{region}.{kind}' --header-cols trace-id
            t = %js_consume ORDERS --as arrow                  # or polars; %config JSMagic.result_type

        Without a bound the replay stops at the stream's last sequence as of the call.

        ``--durable`` settles every row it is handed.  ``--ack``/``--term`` are sent as rows
        arrive, window by window, so ``-n 500`` goes past a max_ack_pending of 100; a read
        without them leaves its rows pending and returns one window (the summary says how many
        more wait).  Rows that ``--where``/``--grep``/``--header`` drop are acked by an
        ``--ack``/``--term`` read (seen, not wanted: a WorkQueue stream removes them; filter
        with ``-s`` to keep them) and nak'ed back by any other read; rows past a bound are
        nak'ed back.  The summary counts each.
        """
        args = parse_line(self.js_consume, line)
        sel = selection_from_args(args, user_namespace(self))
        if args.dry_run:
            return finding.consume_dry_run(self, args, sel)
        if args.at or args.up_to_seq is not None:
            return present(self, args, timetravel.consume_at(sel, args.at, args.up_to_seq))
        if args.to or (args.result_as or settings().result_type) != "pandas" or settings().arrow_dtypes:
            return self._sink(args, sel)
        if args.follow:
            from ..ui.tail import Follow

            handle = Follow(sel)  # its reader is the one jsmagic.follow iterates (services.messages.follower)
            run(messages.start_follow(handle.live))  # unknown stream: an error in this cell, not in the widget
            handle.attach().display()
            store_output(self, args, handle)
            return said(handle)  # its live table is the cell's output: no <Follow …> line that never updates
        result = with_progress(f"replaying {sel.stream}", lambda p: reading.read(sel, progress=p), unit="messages",
                               count=lambda r: len(r.frame))
        frame = result_frame(result.frame, replay_summary(result))
        _fail_keeping(self, args, frame, result)
        left = (f"not acked: durable {sel.durable} redelivers them after its ack wait" if sel.durable
                else "nothing is left on the server")
        if sel.durable and result.interrupted and result.acknowledged:  # --ack/--term act as rows arrive
            left = (f"{result.acknowledged:,} of them {result.action}ed as they arrived; the rest "
                    f"not acked: durable {sel.durable} redelivers them after its ack wait")
        keep_result(self, args, frame, result.interrupted, f"{len(frame):,} messages read from {sel.stream}", left)
        return present(self, args, frame)

    def _sink(self, args, sel):
        """--to (a Parquet summary) or --as arrow/polars (or Arrow-backed pandas)."""
        if args.follow:
            raise UsageError("--follow keeps a live pandas table: it does not combine with --to or --as")
        if args.partition_by and not args.to:
            raise UsageError("--partition-by goes with --to DIR")
        polars = not args.to and (args.result_as or settings().result_type) == "polars"
        require(("pyarrow", "polars") if polars else "pyarrow", "polars" if polars else "parquet" if args.to else "arrow",
                "--to" if args.to else "--as polars" if polars else "an Arrow result")
        if args.to:
            result = with_progress(f"exporting {sel.stream}",
                                   lambda p: reading.read_to(sel, args.to, partition_by=args.partition_by, progress=p),
                                   unit="messages", count=lambda r: r.export.rows if r.export else 0)  # what the file holds
            out = Exported(result)
            kept = f"{out.rows:,} messages written to {out.path}, a valid file"
        else:
            result, out = with_progress(f"replaying {sel.stream}",
                                        lambda p: reading.read_as(sel, args.result_as, progress=p), unit="messages")
            meta = ["seq", "subject", "time"]
            cols = None if not len(out.columns) else out[meta] if isinstance(out, pd.DataFrame) else out.select(meta)
            summary = replay_summary(result, _summary_frame(cols))
            if isinstance(out, pd.DataFrame):
                out = result_frame(out, summary)
            else:
                _note_after(self.shell, summary)  # under the result, as a frame's footer
            kept = f"{len(out):,} messages read from {sel.stream}"
        _fail_keeping(self, args, out, result)
        keep_result(self, args, out, result.interrupted, kept)
        return present(self, args, out)


def _fail_keeping(magics, args, value, result) -> None:
    """A durable read that failed after acking rows: keep what it read where the user finds it, then fail the cell."""
    if not result.failed:
        return
    keep_result(magics, args, value)
    where = f"in {args.output}" if getattr(args, "output", None) else "in jsmagic.last_result()"
    raise JSMagicError(f"{result.stream}: the read failed ({result.failed}) after {plural(result.acknowledged, 'message')} "
                       f"were {result.action}ed as they arrived; every one of them is kept {where}")


def _summary_frame(cols) -> pd.DataFrame:
    """seq/subject/time of an Arrow table, a Polars or a pandas frame, as pandas (for the summary line)."""
    if cols is None:
        return pd.DataFrame({"seq": [], "subject": [], "time": []})
    if isinstance(cols, pd.DataFrame):
        return cols
    return cols.to_pandas()


def selection_from_args(args, namespace: dict | None = None):
    """The selection for parsed magic arguments, as ``jsmagic.selection`` builds it (flag conflicts are UsageErrors)."""
    return messages.selection(args.stream, **words(args, error=UsageError), namespace=namespace)


def _note_after(shell, text: str) -> None:
    """``text`` under the cell's result once the cell has run (a Polars or Arrow result has no footer of its own)."""
    count = shell.execution_count

    def after(*_a) -> None:
        shell.events.unregister("post_execute", after)
        if shell.execution_count == count:  # the cell that made it, not a later one
            show_note(shell, text)

    shell.events.register("post_execute", after)
