"""What a user publishes: a cell's text, or a Python value (DataFrame, list, str, bytes).

What can be known before sending is checked before sending, so a publish is never half
done for a reason the user could have been told up front: the cell's JSON, sizes and
templates (:func:`~.templates.scan_cell`), a value's columns (:mod:`.sources`), and which
stream captures each subject (:func:`~.pipeline.publish_prepared`).  Then the pipeline
sends and checks every ack.

These are the entry points of ``%%js_publish`` and of scripts::

    result = await publish_cell('{"id": 1}\\n{"id": 2}', "orders.new")
    result.acked, result.frame()
"""

from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from ..core.context import JSContext
from ..core.errors import InputError, did_you_mean
from ..core.registry import current, jetstream
from .features import TTL, Features, ttl_header
from .pipeline import Progress, publish_prepared
from .result import PublishResult
from .sources import object_messages
from .templates import Template, cell_messages, scan_cell


def _template(text: str | Template, where: str, templates: bool = True) -> Template:
    """A per-message template (``{{Count}}``…) from text, or the text as written; a Template passes through."""
    if isinstance(text, Template):
        return text
    return Template(text, where) if templates else Template.literal(text)


def _header_templates(headers: Mapping[str, str | Template] | None, templates: bool = True) -> dict[str, Template]:
    """Header values as templates (``-H Trace:{{ID}}``), keyed by header name."""
    return {k: _template(v, f"header {k}", templates) for k, v in (headers or {}).items()}


async def publish_cell(
    text: str, subject: str | Template, headers: Mapping[str, str | Template] | None = None, *,
    whole: bool = False, json_mode: bool = False, plain_text: bool = False, count: int = 1, templates: bool = True,
    stream: str | None = None, expect: dict[str, Any] | None = None, progress: Progress | None = None,
    features: Features | None = None, ctx: JSContext | None = None,
) -> PublishResult:
    """Publish each non-empty line of ``text`` (or all of it, ``whole``), ``count`` times over.

    The whole text is scanned first (``json_mode``: every message must be JSON; else a
    message starting with ``{`` or ``[`` must parse, unless ``plain_text``; sizes
    against the server's max_payload; templates), then published streamed.  ``subject``
    and header values may hold ``{{Count}}``-style templates unless ``templates`` is False.
    """
    subject = _template(subject, "the subject", templates)
    headers = {**_header_templates(headers, templates), **_feature_headers(features)}
    ctx = current(ctx)
    await jetstream(ctx)
    per_pass = scan_cell(text, whole=whole, json_mode=json_mode, max_payload=ctx.nc.max_payload, templates=templates,
                         plain_text=plain_text)
    if per_pass == 0:
        raise InputError("the cell is empty: nothing to publish")
    messages = cell_messages(text, subject, headers, whole=whole, count=count, templates=templates)
    known = [subject.text] if subject.static else [subject.render(1)]
    return await publish_prepared(
        messages, known, stream=stream, expect=expect, total=per_pass * count, ref_name="line", progress=progress,
        features=features, msg_id=_msg_id(headers), ctx=ctx,
    )


async def publish_object(
    obj: Any, subject: str | Template | None, headers: Mapping[str, str | Template] | None = None, *,
    name: str = "the value", data_col: str | None = None, subject_col: str | None = None,
    header_cols: tuple[str, ...] = (), count: int = 1, stream: str | None = None,
    expect: dict[str, Any] | None = None, progress: Progress | None = None, features: Features | None = None,
    ctx: JSContext | None = None,
) -> PublishResult:
    """Publish a Python value: each row of a DataFrame, item of a list, or a str/bytes, ``count`` times over.

    Every message is built (and its columns checked) before the first is sent; ``name``
    says what the value is called in errors (``--from df`` passes ``df``).
    """
    subject = _template(subject, "the subject") if subject is not None else None
    if features is not None and features.ttl_col:
        obj, header_cols = ttl_column(obj, features.ttl_col, header_cols)
    messages = object_messages(
        obj, subject, {**_header_templates(headers), **_feature_headers(features)}, data_col=data_col,
        subject_col=subject_col, header_cols=header_cols, count=count,
    )
    if not messages:
        raise InputError(f"{name} is empty: nothing to publish")
    subjects = dict.fromkeys(m[1] for m in messages)
    return await publish_prepared(
        messages, subjects, stream=stream, expect=expect, total=len(messages), ref_name="row", progress=progress,
        features=features, msg_id=_msg_id(_header_templates(headers)), ctx=ctx,
    )


def _msg_id(headers: Mapping[str, Template]) -> str | None:
    """The ``--msg-id`` template as written (a re-run is recognised by it)."""
    template = headers.get("Nats-Msg-Id")
    return template.text if template is not None else None


def _feature_headers(features: Features | None) -> dict[str, Template]:
    """``--ttl`` and schedule headers, the same on every message."""
    return {k: Template.literal(v) for k, v in (features.headers() if features else {}).items()}


def ttl_column(obj: Any, col: str, header_cols: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    """``--ttl-col COL``: each row's TTL (checked up front) sent as its ``Nats-TTL`` header, not in the body."""
    if not isinstance(obj, pd.DataFrame):
        raise InputError("--ttl-col needs a DataFrame (--from df)")
    if col not in obj.columns:
        raise InputError(f"no column {col!r}", hint=did_you_mean(col, [str(c) for c in obj.columns]))
    ttls = [ttl_header(v, f"--ttl-col {col} value") for v in obj[col]]
    return obj.drop(columns=[col]).assign(**{TTL: ttls}), (*header_cols, TTL)
