"""Publishing: `publish` (`%%js_publish`, `%js_publish --from`) and `publish_acks`, the same with every ack kept.

The words are `%%js_publish`'s: `{{Count}}`-style templates (as `nats pub`) in the subject,
header values and `msg_id`, rendered per message; `{=expr}` evaluated once in a
`namespace` (the notebook's variables); `count`, `cell`, `json`, `text`, `raw`; TTLs,
schedules and atomic batches.  `publish` raises when a message is refused or the publish
was interrupted; `publish_acks` returns the core's `PublishResult` whatever happened, for
a front-end that words it (the magic's summary line and failed cell).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import pandas as pd

from ..core.context import JSContext
from ..core.errors import IncompleteError, InputError
from ..core.units import plural
from ..publishing.features import Features
from ..publishing.inputs import publish_cell, publish_object
from ..publishing.pipeline import Progress
from ..publishing.result import PublishResult
from ..publishing.templates import Template, expand_variables

__all__ = ["publish", "publish_acks"]

Ctx = JSContext | str | None


def _names(value: str | Iterable[str] | None) -> tuple[str, ...]:
    items = (value or "").split(",") if isinstance(value, str) or value is None else list(value)
    return tuple(s.strip() for s in items if s and s.strip())


async def publish(subject: str | None, data: Any, *, headers: Mapping[str, str] | None = None,
                  msg_id: str | None = None, count: int = 1, cell: bool = False, json: bool = False,
                  text: bool = False, raw: bool = False, stream: str | None = None, expect_stream: str | None = None,
                  expect_last_seq: int | None = None, expect_last_subject_seq: int | None = None,
                  data_col: str | None = None, subject_col: str | None = None, header_cols: str | Iterable[str] = (),
                  ttl: str | None = None, ttl_col: str | None = None, atomic: bool = False, split: bool = False,
                  schedule_after: str | None = None, schedule_at: str | None = None,
                  schedule_every: str | None = None, schedule_cron: str | None = None,
                  schedule_dest: str | None = None, schedule_ttl: str | None = None,
                  schedule_source: str | None = None, schedule_rollup: bool = False,
                  schedule_time_zone: str | None = None, fast: bool = False,
                  namespace: Mapping[str, Any] | None = None, name: str | None = None, progress: Progress | None = None,
                  ctx: Ctx = None) -> pd.DataFrame:
    """Publish to JetStream and check every ack (`%%js_publish`, `%js_publish --from`).

    `data` is published as the magic publishes it: text as a cell (one message per
    non-empty line, or one in all with `cell=True`; `{{Count}}`-style templates in it are
    rendered per message unless `raw=True`); a DataFrame row by row; a list item by item
    (dicts as JSON); bytes, or a dict, as one message.  A subject no stream captures is
    refused before anything is sent.

    Parameters
    ----------
    subject : str or None
        Where to publish; `nats pub` templates allowed (`orders.{{Count}}`).  None with `subject_col`.
    data : str, bytes, dict, list or DataFrame
        What to publish.
    headers : mapping, optional
        Headers; values may hold templates (`{"Trace": "{{ID}}"}`).
    msg_id : str, optional
        `Nats-Msg-Id` template per message, e.g. `"order-{{Count}}"`: a re-run stores no
        duplicates.  `{{Count}}` is the 1-based message number within this publish.
    count : int
        Publish everything this many times (`{{Count}}` runs on).
    cell, json, text, raw : bool
        Text as one message; every message must be JSON; a line starting with `{` or `[`
        is sent as it is even if it is no JSON; no templates (and no `{=expr}`) at all.
    stream : str, optional
        The stream that must capture the subject (checked before publishing).
    expect_stream, expect_last_seq, expect_last_subject_seq : optional
        Server-side expectations (`--expect-*`).
    data_col, subject_col, header_cols : optional
        For a DataFrame or list of dicts: the column holding each payload, subject, headers.
    ttl, ttl_col : str, optional
        Server 2.11+: per-message TTL (`"30m"`), or the column holding each row's.
    atomic, split : bool
        Server 2.12+: one atomic batch (stored all or nothing); `split` cuts a large one into batches.
    schedule_after, schedule_at, schedule_every, schedule_cron, schedule_dest, schedule_ttl : str, optional
        Server 2.12+: message schedules (`%%js_publish --schedule-*`).
    schedule_source, schedule_rollup, schedule_time_zone : optional
        Server 2.14+: fire the last message of a subject (sampling), roll the target up, read a cron line in a zone.
    fast : bool
        Server 2.14+: one fast batch (any size, stored in order, flow-controlled acks; not atomic).
    namespace : mapping, optional
        Where `{=expr}` in the subject, header values, `msg_id` and text is evaluated
        (once, before publishing), as `%%js_publish` does with the notebook's variables;
        without it `{=…}` is sent as written.
    name : str, optional
        What `data` is called in errors (`"df"`, `"the cell"`).
    progress : callable, optional
        `progress(acked, total)` as acks arrive.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        One row per message: `line` (or `row`), `subject`, `stream`, `seq`, `duplicate`.
        Refused messages raise `PublishError` after the rest were
        sent (its `.result` holds every ack); an interrupted publish raises
        `IncompleteError` with the acks in `.frame`.

    Examples
    --------
    >>> acks = await jsmagic.publish("orders.new", [{"id": 1}, {"id": 2}], msg_id="order-{{Count}}")   # doctest: +SKIP
    >>> await jsmagic.publish("orders.new", '{"id": {{Count}}}', count=3)                              # doctest: +SKIP
    """
    result = await _send(**locals())  # every parameter, as publish_acks takes them
    result.raise_for_errors()
    frame = result.frame()
    if result.interrupted:
        raise IncompleteError(f"publish interrupted after {plural(len(result.acked_positions()), 'acknowledged message')}",
                              frame=frame, hint="publish the rest again: msg_id= makes a re-run store no duplicates")
    return frame


async def publish_acks(subject: str | None, data: Any, *, ctx: Ctx = None, **words: Any) -> PublishResult:
    """The same publish as `publish`, returning every ack instead of raising for refused messages.

    For a front-end that words the outcome itself (`%%js_publish`'s summary line): refused,
    unanswered and unsent messages are in the result, and an interrupted publish returns
    what was acknowledged with `interrupted` set.  What can be known before sending (bad
    JSON, templates, a subject no stream captures) still raises before anything is sent.

    Parameters
    ----------
    subject : str or None
        As `publish` takes it.
    data : str, bytes, dict, list or DataFrame
        As `publish` takes it.
    ctx : JSContext or str, optional
        A context or alias.
    **words
        Every other keyword of `publish` (`msg_id`, `headers`, `count`, `namespace`, `progress`…).

    Returns
    -------
    PublishResult
        `acked`, `failed`, `interrupted`, `errors`, `frame()` (one row per message), `error()`.

    Examples
    --------
    >>> result = await publish_acks("orders.new", '{"id": {{Count}}}', count=3)   # doctest: +SKIP
    >>> result.acked, result.frame()
    """
    return await _send(subject, data, ctx=ctx, **words)


async def _send(subject: str | None, data: Any, *, headers: Mapping[str, str] | None = None, msg_id: str | None = None,
                count: int = 1, cell: bool = False, json: bool = False, text: bool = False, raw: bool = False,
                stream: str | None = None, expect_stream: str | None = None, expect_last_seq: int | None = None,
                expect_last_subject_seq: int | None = None, data_col: str | None = None, subject_col: str | None = None,
                header_cols: str | Iterable[str] = (), ttl: str | None = None, ttl_col: str | None = None,
                atomic: bool = False, split: bool = False, schedule_after: str | None = None,
                schedule_at: str | None = None, schedule_every: str | None = None, schedule_cron: str | None = None,
                schedule_dest: str | None = None, schedule_ttl: str | None = None,
                schedule_source: str | None = None, schedule_rollup: bool = False,
                schedule_time_zone: str | None = None, fast: bool = False,
                namespace: Mapping[str, Any] | None = None, name: str | None = None, progress: Progress | None = None,
                ctx: Ctx = None) -> PublishResult:
    """The publish itself: the words checked and made templates, then the core's cell or value publisher."""
    if msg_id is not None and "{i}" in msg_id and "{{" not in msg_id:
        raise InputError(f"msg_id {msg_id!r} uses {{i}}: message-id templates are %%js_publish's",
                         hint="write {{Count}} (the 1-based message number), e.g. msg_id='order-{{Count}}'")
    if count < 1:
        raise InputError("count must be at least 1")
    if json and text:
        raise InputError("json= and text= contradict each other: every message JSON, or plain text")

    def template(value: str, where: str) -> Template:
        if raw:
            return Template.literal(value)
        return Template(expand_variables(value, namespace, where) if namespace is not None else value, where)

    hdrs = {k: template(v, f"header {k}") for k, v in (headers or {}).items()}
    if msg_id is not None:
        hdrs["Nats-Msg-Id"] = template(msg_id, "the message id")
    features = Features.from_flags(ttl=ttl, ttl_col=ttl_col, schedule_after=schedule_after, schedule_at_=schedule_at,
                                   schedule_every=schedule_every, schedule_cron=schedule_cron,
                                   schedule_dest=schedule_dest, schedule_ttl=schedule_ttl,
                                   schedule_source=schedule_source, schedule_rollup=schedule_rollup,
                                   schedule_time_zone=schedule_time_zone, atomic=atomic, split=split, fast=fast)
    expect = {k: v for k, v in (("stream", expect_stream), ("last_seq", expect_last_seq),
                                ("last_subject_seq", expect_last_subject_seq)) if v is not None}
    common = dict(count=count, stream=stream, expect=expect, progress=progress,
                  features=features if features != Features() else None, ctx=ctx)
    target = template(subject, "the subject") if subject is not None else None
    if isinstance(data, str):
        if target is None:
            raise InputError("a subject is needed to publish text")
        if data_col or subject_col or header_cols or ttl_col:
            raise InputError("data_col, subject_col, header_cols and ttl_col go with a DataFrame or a list")
        where = name or "the text"
        body = expand_variables(data, namespace, where) if namespace is not None and not raw else data
        return await publish_cell(body, target, hdrs, whole=cell, json_mode=json, plain_text=text or raw,
                                  templates=not raw, **common)
    return await publish_object(data, target, hdrs, name=name or "data", data_col=data_col, subject_col=subject_col,
                                header_cols=_names(header_cols), **common)
