"""Flags defined once, for every front-end: the magics' parsers and the ``jsmagic`` command.

Each :class:`Flag` is the names and ``argparse`` keywords of one option.  ``%js_consume``
and ``%js_connect`` declare them through :func:`jsmagic.magics.flagset.arguments` (IPython's
``@argument``); ``jsmagic export``/``jsmagic replay`` add them to an ``argparse`` parser with
:func:`add_to`.  Help, defaults and choices are the same words in ``%js_consume?`` and in
``jsmagic export --help``.  :func:`words` turns parsed flags into the words of
:func:`jsmagic.services.messages.selection`, the one translation into a read's selection.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable

from .decode import HELP
from .errors import InputError


@dataclasses.dataclass(frozen=True)
class Flag:
    """One option: ``Flag("-n", "--count", type=int, help=...)``."""

    names: tuple[str, ...]
    kwargs: dict[str, Any]

    def __init__(self, *names: str, **kwargs: Any):
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "kwargs", kwargs)


# ---- which messages: what %js_consume, jsmagic export and jsmagic replay all select ------------
SELECT = (
    Flag("-s", "--subject", action="append", default=[], help="subject filter (NATS wildcards); repeatable"),
    Flag("--all", dest="policy", action="store_const", const="all", help="every message (default)"),
    Flag("--new", dest="policy", action="store_const", const="new", help="only messages published from now on"),
    Flag("--last", dest="policy", action="store_const", const="last", help="the last message"),
    Flag("--last-per-subject", dest="policy", action="store_const", const="last_per_subject",
         help="the last message of each subject"),
    Flag("--start-seq", type=int, help="start at this stream sequence"),
    Flag("--since", help="start at this time: ISO/RFC 3339, or a duration meaning ago (90s, 2h, 1d3h)"),
    Flag("--until", help="stop after this time (same forms as --since)"),
    Flag("--end-seq", type=int, help="stop after this stream sequence"),
    Flag("-n", "--count", type=int, help="at most this many messages"),
    Flag("--headers-only", action="store_true", help="headers and sizes, no payloads"),
    Flag("--decode", default="auto", help=HELP),
    Flag("--flatten", action="store_true", help="nested JSON objects become dotted columns (a.b)"),
    Flag("--timeout", help="stop after this long without a message (default JSMagic.timeout)"),
    Flag("--batch", type=int, help="messages per pull request (default JSMagic.fetch_batch)"),
    Flag("--where", metavar="EXPR", help="keep rows matching this pandas query (payload columns, seq, subject, time)"),
    Flag("--grep", metavar="REGEX", help="keep messages whose raw payload matches this regex (before decoding)"),
    Flag("--header", action="append", default=[], metavar="K=V", help="keep messages with this header value; repeatable"),
    Flag("--subject-cols", metavar="TEMPLATE", help="subject tokens as columns: 'orders.{region}.{kind}'"),
    Flag("--header-cols", metavar="A,B", help="header values as columns"),
)

# ---- where a replay is written ----------------------------------------------------------------
EXPORT = (
    Flag("--to", metavar="PATH", help="stream the replay to this Parquet file, chunk by chunk (a summary, not the data)"),
    Flag("--partition-by", metavar="COL", help="with --to DIR: a hive-layout Parquet dataset partitioned by COL"),
)

# ---- how to connect: %js_connect's options (natscli's names) ----------------------------------
CONNECT = (
    Flag("--context", help="a nats CLI context name (~/.config/nats/context/NAME.json)"),
    Flag("--creds", help="a .creds file (JWT + nkey seed)"),
    Flag("--nkey", help="a file holding an nkey seed"),
    Flag("--user", help="user name"),
    Flag("--password", help="password (a notebook prompts for it when --user is given alone)"),
    Flag("--token", help="auth token"),
    Flag("--tls-ca", help="CA certificate file to verify the server"),
    Flag("--tls-cert", help="client certificate file"),
    Flag("--tls-key", help="client key file"),
    Flag("--tls-first", action="store_true", help="TLS handshake before the server's INFO"),
    Flag("--domain", help="JetStream domain"),
    Flag("--api-prefix", help="JetStream API prefix (for imported JetStream)"),
    Flag("--inbox-prefix", help="custom inbox prefix"),
    Flag("--name", help="connection name shown by the server"),
)


def dest(flag: Flag) -> str:
    """The attribute a parsed flag lands in (``--start-seq`` → ``start_seq``)."""
    if "dest" in flag.kwargs:
        return flag.kwargs["dest"]
    longest = max(flag.names, key=len)
    return longest.lstrip("-").replace("-", "_")


def add_to(parser: Any, flags: Iterable[Flag]) -> None:
    """Add ``flags`` to an ``argparse`` parser (or argument group), in order."""
    for flag in flags:
        parser.add_argument(*flag.names, **flag.kwargs)


def connect_fields(args: Any) -> dict[str, Any]:
    """The connection options among parsed flags, as :func:`jsmagic.connecting.options.resolve` takes them."""
    return {dest(f): getattr(args, dest(f), None) for f in CONNECT}


def words(args: Any, error: type[Exception] = InputError) -> dict[str, Any]:
    """Parsed ``SELECT`` flags as the words of :func:`jsmagic.services.messages.selection` (its keyword arguments).

    The flags' own contradictions are said in flag words and raise ``error`` (one line);
    what the words mean (times, durations, decoders) is the service's one translation.
    Flags a front-end does not offer (``--durable`` and its acks are the magic's) read as unset.
    """
    get = lambda name, default=None: getattr(args, name, default)  # noqa: E731 - a front-end may lack a flag
    chosen = [p for p in (get("policy"), "start_seq" if get("start_seq") is not None else None,
                          "since" if get("since") else None) if p]
    if len(chosen) > 1:
        raise error(f"choose one of --all/--new/--last/--last-per-subject/--start-seq/--since (got {', '.join(chosen)})")
    if get("follow") and get("durable"):
        raise error("--follow reads without acking: it does not combine with --durable")
    if get("delay") and get("action") != "nak":
        raise error("--delay goes with --nak")
    return dict(
        subjects=list(get("subject", [])), deliver=get("policy"), start_seq=get("start_seq"),
        since=get("since") or None, until=get("until") or None, end_seq=get("end_seq"), count=get("count"),
        headers_only=bool(get("headers_only")), decode=get("decode", "auto"), flatten=bool(get("flatten")),
        timeout=get("timeout") or None, batch=get("batch"), where=get("where"), grep=get("grep"),
        header=list(get("header", [])), subject_cols=get("subject_cols"), header_cols=get("header_cols") or (),
        durable=get("durable"), action=get("action"), delay=get("delay") or None, ack_wait=get("ack_wait") or None,
        max_deliver=get("max_deliver"),
    )
