"""``%%js_publish``: the cell (or a Python object) is the payload, the line says where."""

from __future__ import annotations

import builtins
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ..core.errors import InputError, PublishError
from ..services import publishing
from ..ui.display import said
from ..ui.progress import Progress
from ..ui.publish import interrupted_left, publish_frame
from .base import friendly, keep_result, parse_line, run, user_namespace


@magics_class
class PublishMagics(Magics):
    """Publish to JetStream from a cell, a DataFrame or any Python object; every ack is checked."""

    @no_var_expand
    @magic_arguments()
    @argument("subject", nargs="?", help="subject to publish to (templates and {=var} allowed)")
    @argument("body", nargs="?", help="line magic only: one message body")
    @argument("--cell", action="store_true", help="the whole cell is one message (default: one per non-empty line)")
    @argument("--json", action="store_true", help="every message must be valid JSON; otherwise nothing is published")
    @argument("--text", action="store_true",
              help="the payload is plain text: a line starting with { or [ is sent even if it is not JSON")
    @argument("-H", "--header", action="append", default=[], metavar="KEY:VALUE", help="a header (repeatable)")
    @argument("--msg-id", help="Nats-Msg-Id template per message, e.g. order-{{Count}}: a re-run stores no duplicates "
                               "within the stream's duplicate window (2 min by default); after it, it stores them again")
    @argument("--count", type=int, default=1, help="publish the messages N times ({{Count}} advances)")
    @argument("--stream", help="the stream that must capture the subject (checked before publishing)")
    @argument("--expect-stream", help="the server refuses the message unless it lands in this stream")
    @argument("--expect-last-seq", type=int, help="refuse unless the stream's last sequence is N")
    @argument("--expect-last-subject-seq", type=int, help="refuse unless the subject's last sequence is N")
    @argument("--from", dest="source", metavar="VAR", help="publish a notebook value: DataFrame, list of dicts, str, bytes")
    @argument("--data-col", help="with --from: the column holding each payload")
    @argument("--subject-col", help="with --from: the column holding each subject")
    @argument("--header-cols", help="with --from: columns sent as headers, e.g. A,B")
    @argument("--raw", action="store_true", help="publish the text exactly as written: no {{templates}}, no {=vars}, no JSON check")
    @argument("-o", "--output", metavar="NAME", help="store the acks in this notebook variable")
    @argument("--ttl", help="server 2.11+: each message expires after this long (2s, 1h, never)")
    @argument("--ttl-col", metavar="COL", help="with --from: the column holding each row's TTL")
    @argument("--atomic", action="store_true", help="server 2.12+: one atomic batch, stored all or nothing")
    @argument("--split", action="store_true",
              help="with --atomic: cut a publish over the batch limit into batches (then NOT atomic as a whole)")
    @argument("--fast", action="store_true",
              help="server 2.14+: one fast batch, any size, stored in order, acked every N (flow control), not atomic")
    @argument("--schedule-after", metavar="DURATION", help="server 2.12+: fire each message once, after DURATION")
    @argument("--schedule-at", metavar="TIME", help="fire once at TIME (UTC unless it says otherwise)")
    @argument("--schedule-every", metavar="DURATION", help="fire repeatedly, every DURATION")
    @argument("--schedule-cron", metavar="CRON", help="fire on a cron schedule (6 fields, seconds first)")
    @argument("--schedule-dest", metavar="SUBJECT", help="the subject a schedule fires into (same stream)")
    @argument("--schedule-ttl", metavar="DURATION", help="TTL of the messages a schedule generates")
    @argument("--schedule-source", metavar="SUBJECT",
              help="server 2.14+: fire the last message of SUBJECT (sampling; the cell is the fallback)")
    @argument("--schedule-rollup", action="store_true",
              help="server 2.14+: each firing replaces the target's previous message (Nats-Rollup: sub)")
    @argument("--schedule-time-zone", metavar="ZONE", help="server 2.14+: read --schedule-cron in ZONE (Europe/Amsterdam)")
    @line_cell_magic
    @friendly("publish")
    def js_publish(self, line: str = "", cell: str | None = None):
        """Publish each non-empty line of the cell (or the whole cell) and return a DataFrame of acks.

        Examples::

            %%js_publish orders.new
            {"id": 1, "item": "book", "qty": 2}
            {"id": 2, "item": "pen", "qty": 10}

            %%js_publish orders.{=region} --msg-id order-{{Count}} --count 3 -o acks
            {"id": {{Count}}, "at": "{{TimeStamp}}", "qty": {=qty}}

            %js_publish --from df --subject-col subject --header-cols trace_id
            %js_publish orders.new '{"id": 3}'

        Templates (as ``nats pub``), rendered per message: ``{{Count}}`` (1-based message
        number), ``{{ID}}``, ``{{TimeStamp}}``, ``{{Unix}}``, ``{{UnixNano}}``, ``{{Random a b}}``.

        Notebook values: ``{=name}`` or ``{=expression}`` in the subject, header values,
        ``--msg-id`` and the body, evaluated once.  Strings go in as they are, ``True``/``None``
        as ``true``/``null``, dicts/lists as JSON.  An undefined name is an error.  ``{=`` never
        occurs in JSON, so bodies need no escaping; ``--raw`` turns both syntaxes off.

        A line that starts like JSON (``{`` or ``[``) must parse, or nothing is sent and the
        error names the line; ``--text`` (or ``--raw``) sends such lines as they are
        (``--json``: every line must be JSON).

        The result lists every message: line (or row), subject, stream, seq, duplicate (and
        error when some failed, which also fails the cell).  A subject no stream captures is
        refused before anything is sent.  Interrupting keeps what was acknowledged.

        ``--expect-last-seq N`` / ``--expect-last-subject-seq N`` with several messages: the
        first is sent alone and checked against N (a mismatch publishes nothing); each later
        one expects the sequence of the message before it.

        Server 2.11-2.14 features (the stream must allow each; otherwise nothing is sent)::

            %js_publish sessions.login '{"user": "ann"}' --ttl 30m   # Nats-TTL: expires on its own
            %js_publish sessions.login --from df --ttl-col ttl
            %js_publish --from order --subject-col subject --atomic   # all stored, or none
            %js_publish reminders.schedule.ann '{"to": "ann"}' --schedule-after 10m --schedule-dest reminders.due
            %js_publish reports.schedule.daily '{}' --schedule-cron '0 0 9 * * *' --schedule-dest reports.run
            %js_publish reports.at9 '{}' --schedule-cron '0 0 9 * * *' --schedule-time-zone Europe/Amsterdam --schedule-dest reports.run
            %js_publish reports.sample '{}' --schedule-every 5m --schedule-source reports.run --schedule-dest reports.last --schedule-rollup
            %js_publish --from order --subject-col subject --fast     # 2.14: any size, in order, flow-controlled acks

        ``--atomic`` refuses more messages than one batch may hold (1,000) unless ``--split``
        is given: then each batch of 1,000 is atomic, the whole publish is not.  ``--fast``
        (a stream with ``--allow-fast``) has no limit and stores in order, stopping at the first
        refused message; its ack gives the last message's seq.  ``--schedule-source`` (sampling),
        ``--schedule-rollup`` and ``--schedule-time-zone`` (of a cron line) need server 2.14.
        """
        args = parse_line(self.js_publish, line)
        self._check_usage(args, cell)
        ns = user_namespace(self)
        bar = Progress("acknowledged", unit="messages")
        words = dict(
            headers=self._headers(args), msg_id=args.msg_id, count=args.count, stream=args.stream,
            expect_stream=args.expect_stream, expect_last_seq=args.expect_last_seq,
            expect_last_subject_seq=args.expect_last_subject_seq, raw=args.raw, ttl=args.ttl, ttl_col=args.ttl_col,
            atomic=args.atomic, split=args.split, schedule_after=args.schedule_after, schedule_at=args.schedule_at,
            schedule_every=args.schedule_every, schedule_cron=args.schedule_cron, schedule_dest=args.schedule_dest,
            schedule_ttl=args.schedule_ttl, schedule_source=args.schedule_source,
            schedule_rollup=args.schedule_rollup, schedule_time_zone=args.schedule_time_zone, fast=args.fast,
            namespace=ns, progress=bar)
        if args.source:
            coro = publishing.publish_acks(args.subject, self._lookup(args.source, ns), name=args.source,
                                           data_col=args.data_col, subject_col=args.subject_col,
                                           header_cols=args.header_cols or (), **words)
        else:
            coro = publishing.publish_acks(args.subject, args.body if cell is None else cell, cell=args.cell,
                                           json=args.json, text=args.text, name="the cell" if cell is not None else "the body",
                                           **words)
        try:
            result = self._run(coro)
        except BaseException as e:
            bar.close(ended="interrupted" if isinstance(e, KeyboardInterrupt) else "failed")
            raise
        frame = publish_frame(result)
        bar.close(done=len(result.acked_positions()), ended="interrupted" if result.interrupted else "done")
        keep_result(self, args, frame, result.interrupted, frame.summary.removeprefix("interrupted: "),
                    interrupted_left(result, bool(args.msg_id)))
        if result.errors:
            self._fail(result, frame, args.output)
        return self._show(args, frame)

    def _show(self, args: Any, frame: Any) -> Any:
        """The summary (and any duplicates) shown now, so a cell of several publishes says each in order.

        The frame is still returned (``acks = %js_publish …``); the cell that made it does not show it twice.
        """
        if getattr(self, "shell", None) is None:
            return frame
        if args.output:
            frame.quiet = self.shell.execution_count  # -o NAME: the summary here, the table in later cells
        display(frame)
        return said(frame)

    @staticmethod
    def _run(coro) -> publishing.PublishResult:
        """Run the publish; an error that stopped it carries the acks as the frame a notebook shows."""
        try:
            return run(coro)
        except PublishError as e:
            if isinstance(e.result, publishing.PublishResult):
                e.result = publish_frame(e.result)
            raise

    def _check_usage(self, args: Any, cell: str | None) -> None:
        """Flag combinations that cannot work, as IPython usage errors (nothing published)."""
        if args.source and (cell is not None and cell.strip() or args.body):
            raise UsageError("--from VAR publishes a notebook value: leave the cell body empty")
        if not args.source and cell is None and args.body is None:
            raise UsageError("nothing to publish: use %%js_publish SUBJECT with a cell, a BODY, or --from VAR")
        if not args.source and not args.subject:
            raise UsageError("a subject is needed: %%js_publish SUBJECT")
        if cell is not None and args.body is not None:
            raise UsageError(f"unexpected argument {args.body!r}: in a cell magic the cell is the body")
        if not args.source and (args.data_col or args.subject_col or args.header_cols):
            raise UsageError("--data-col, --subject-col and --header-cols go with --from VAR")
        if args.count < 1:
            raise UsageError("--count must be at least 1")
        if args.json and args.text:
            raise UsageError("--json and --text contradict each other: every line JSON, or plain text")
        if args.ttl_col and not args.source:
            raise UsageError("--ttl-col goes with --from VAR")

    @staticmethod
    def _headers(args: Any) -> dict[str, str]:
        """``-H Key:Value`` as a dict (templates and ``{=vars}`` in the values are the service's)."""
        out: dict[str, str] = {}
        for item in args.header:
            key, sep, value = item.partition(":")
            if not sep or not key.strip():
                raise UsageError(f"bad header {item!r}: use -H Key:Value")
            out[key.strip()] = value.strip()
        return out

    @staticmethod
    def _lookup(name: str, ns: dict) -> Any:
        """The notebook value ``--from`` names (a name or a dotted attribute); undefined is loud."""
        head = name.split(".")[0].split("[")[0]
        if head not in ns and not hasattr(builtins, head):
            raise InputError(f"undefined name {head!r} in --from {name}", hint="define it in a cell first")
        try:
            return eval(name, ns)  # noqa: S307 - the user's own notebook namespace
        except Exception as e:
            raise InputError(f"--from {name} failed: {type(e).__name__}: {e}") from None

    @staticmethod
    def _fail(result: publishing.PublishResult, frame: Any, output: str | None) -> None:
        """Some messages were refused: fail the cell with the reasons (the frame keeps every ack)."""
        err = result.error()
        kept = f"every ack is in {output}" if output else "add -o NAME to keep every ack in a variable"
        err.hint = f"{err.hint}; {kept}" if result.unknown else kept
        err.result = frame
        raise err
