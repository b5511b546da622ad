"""``%%js_publish``: the cell (or a Python object) is the payload, the line says where."""

from __future__ import annotations

import builtins
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.utils.process import arg_split

from ..publish import pipeline as core
from ..core.registry import context
from ..core.errors import InputError, PublishError
from ..publish.templates import Template, cell_messages, expand_variables, scan_cell
from ..ui.progress import Progress
from ..publish.sources import object_messages
from .base import friendly, run, user_namespace


@magics_class
class PublishMagics(Magics):
    """Publish to JetStream from a cell, a DataFrame or any Python object; every ack is checked."""

    @no_var_expand
    @magic_arguments()
    @argument("subject", nargs="?", help="subject to publish to (templates and {=var} allowed)")
    @argument("body", nargs="?", help="line magic only: one message body")
    @argument("--cell", action="store_true", help="the whole cell is one message (default: one per non-empty line)")
    @argument("--json", action="store_true", help="every message must be valid JSON; otherwise nothing is published")
    @argument("-H", "--header", action="append", default=[], metavar="KEY:VALUE", help="a header (repeatable)")
    @argument("--msg-id", help="Nats-Msg-Id template per message, e.g. order-{{Count}}: re-runs store no duplicates")
    @argument("--count", type=int, default=1, help="publish the messages N times ({{Count}} advances)")
    @argument("--stream", help="the stream that must capture the subject (checked before publishing)")
    @argument("--expect-stream", help="the server refuses the message unless it lands in this stream")
    @argument("--expect-last-seq", type=int, help="refuse unless the stream's last sequence is N")
    @argument("--expect-last-subject-seq", type=int, help="refuse unless the subject's last sequence is N")
    @argument("--from", dest="source", metavar="VAR", help="publish a notebook value: DataFrame, list of dicts, str, bytes")
    @argument("--data-col", help="with --from: the column holding each payload")
    @argument("--subject-col", help="with --from: the column holding each subject")
    @argument("--header-cols", help="with --from: columns sent as headers, e.g. A,B")
    @argument("--raw", action="store_true", help="publish the text exactly as written: no {{templates}}, no {=vars}")
    @argument("-o", "--output", metavar="NAME", help="store the acks in this notebook variable")
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

        The result lists every message: line (or row), subject, stream, seq, duplicate (and
        error when some failed, which also fails the cell).  A subject no stream captures is
        refused before anything is sent.  Interrupting keeps what was acknowledged.

        ``--expect-last-seq N`` / ``--expect-last-subject-seq N`` with several messages: the
        first is sent alone and checked against N (a mismatch publishes nothing); each later
        one expects the sequence of the message before it.
        """
        args = self._parse(line)
        self._check_usage(args, cell)
        ns = user_namespace(self)
        expand = (lambda text, where: text) if args.raw else (lambda text, where: expand_variables(text, ns, where))
        headers = self._headers(args, expand)
        expect = {k: v for k, v in (("stream", args.expect_stream), ("last_seq", args.expect_last_seq),
                                    ("last_subject_seq", args.expect_last_subject_seq)) if v is not None}
        subject = Template(expand(args.subject, "the subject"), "the subject") if args.subject else None
        if subject is not None and args.raw:
            subject = Template.literal(args.subject)
        bar = Progress("acknowledged", unit="messages")
        progress = lambda acked, sent, total: bar(acked, total)  # noqa: E731
        if args.source:
            coro = self._from_object(args, subject, headers, expect, progress, ns)
        else:
            text = args.body if cell is None else cell
            coro = self._from_text(args, expand(text, "the cell" if cell is not None else "the body"), subject, headers, expect, progress)
        result = run(coro)
        frame = result.frame()
        bar.close(frame.summary)
        if args.output:
            ns[args.output] = frame
        if result.interrupted:
            print(f"Interrupted — {frame.summary}")
            return frame
        if result.errors:
            self._fail(result, frame, args.output)
        return frame

    def _parse(self, line: str) -> Any:
        """Parse the line shell-style (quotes removed: ``-H 'X-Who: me'``, ``'{"id": 3}'``)."""
        try:
            argv = arg_split(line, posix=True, strict=True)
        except ValueError as e:
            raise UsageError(f"cannot parse the line: {e}") from None
        return self.js_publish.parser.parse_args(argv)

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

    def _headers(self, args: Any, expand) -> dict[str, Template]:
        """``-H Key:Value`` and ``--msg-id`` as per-message templates."""
        out: dict[str, Template] = {}
        for item in args.header:
            key, sep, value = item.partition(":")
            if not sep or not key.strip():
                raise UsageError(f"bad header {item!r}: use -H Key:Value")
            where = f"header {key.strip()}"
            out[key.strip()] = Template.literal(value.strip()) if args.raw else Template(expand(value.strip(), where), where)
        if args.msg_id:
            out["Nats-Msg-Id"] = Template.literal(args.msg_id) if args.raw else Template(expand(args.msg_id, "--msg-id"), "--msg-id")
        return out

    async def _from_text(self, args, text, subject, headers, expect, progress):
        """Scan the whole cell first (JSON, sizes, templates), then publish it streamed."""
        ctx = context()
        await ctx.jetstream()
        templates = not args.raw
        per_pass = scan_cell(text, whole=args.cell, json_mode=args.json, max_payload=ctx.nc.max_payload, templates=templates)
        if per_pass == 0:
            raise InputError("the cell is empty: nothing to publish")
        messages = cell_messages(text, subject, headers, whole=args.cell, count=args.count, templates=templates)
        known = [subject.text] if subject.static else [subject.render(1)]
        return await core.publish_prepared(
            messages, known, stream=args.stream, expect=expect, total=per_pass * args.count, ref_name="line", progress=progress
        )

    async def _from_object(self, args, subject, headers, expect, progress, ns):
        """Build every message of ``--from VAR`` up front, check them all, then publish."""
        obj = self._lookup(args.source, ns)
        cols = tuple(c.strip() for c in (args.header_cols or "").split(",") if c.strip())
        messages = object_messages(
            obj, subject, headers, data_col=args.data_col, subject_col=args.subject_col, header_cols=cols, count=args.count
        )
        if not messages:
            raise InputError(f"{args.source} is empty: nothing to publish")
        subjects = dict.fromkeys(m[1] for m in messages)
        return await core.publish_prepared(
            messages, subjects, stream=args.stream, expect=expect, total=len(messages), ref_name="row", progress=progress
        )

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
    def _fail(result: core.PublishResult, frame: Any, output: str | None) -> None:
        """Some messages were refused: fail the cell with the reasons (the frame keeps every ack)."""
        failed = sum(len(r) for r in result.failures().values())
        reasons = "; ".join(f"{why} ({result.ref_name}s {core.ranges(refs)})" for why, refs in result.failures().items())
        unsent = (result.total or result.sent) - result.sent
        reasons += f"; {unsent:,} not sent (the publish stopped)" if unsent > 0 else ""
        err = PublishError(
            f"{failed:,} of {result.total or result.sent:,} messages failed: {reasons}",
            hint=f"every ack is in {output}" if output else "add -o NAME to keep every ack in a variable",
        )
        err.result = frame
        raise err
