"""Health checks with verdicts, as `nats server check` has them: `jsmagic.check.stream`, `consumer`, `kv`,
`jetstream`, `server`, `meta`, `message`, `connection` (`%js_check`).

Each returns the verdict table: one row per check with `status` OK/WARN/CRIT, the measured
`value`, the `threshold` it met and its `source` (a keyword, or the object's
`io.nats.monitor.*` metadata, read as natscli reads it; a keyword wins).  Thresholds use
natscli's names with `_` for `-` (`msgs_critical=0`, `last_ack_critical="5m"`).  Something
that cannot be read (a missing stream) is a CRIT row, never an exception; `fail_on="crit"`
(or `"warn"`) raises `CheckFailed` (the table in `.result`; importable from here) when a
verdict is that bad.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.context import JSContext
from ..core.errors import InputError, did_you_mean
from ..health import checks, system
from ..health.checks import CONNECTION_DEFAULTS
from ..health.verdicts import CheckFailed  # noqa: F401 -- what fail_on raises (the table in .result): %js_check catches it
from ..health.verdicts import CONSUMER_META, STREAM_META, failed  # the thresholds with natscli's words: %js_check's flags

__all__ = ["stream", "consumer", "kv", "jetstream", "server", "meta", "message", "connection"]

Ctx = JSContext | str | None
JETSTREAM = tuple(f"{n}_{lvl}" for n in ("mem", "store", "streams", "consumers") for lvl in ("warn", "critical"))
SERVER = tuple(f"{n}_{lvl}" for n in ("cpu", "mem", "conn", "subs", "uptime") for lvl in ("warn", "critical"))


def _known(what: str, given: dict[str, Any], names: Any) -> dict[str, Any]:
    """The thresholds, each a name `what` knows; an unknown one is a one-line error before anything is read."""
    for name in given:
        if name not in names:
            raise InputError(f"check {what} has no threshold {name!r}: {did_you_mean(name, names)}",
                             hint="thresholds: " + ", ".join(names))
    return given


def _verdict(df: pd.DataFrame, fail_on: str | None) -> pd.DataFrame:
    if fail_on not in (None, "crit", "warn"):
        raise InputError(f"fail_on={fail_on!r}", hint="use 'crit' or 'warn'")
    error = failed(df, fail_on)
    if error is not None:
        raise error
    return df


async def stream(name: str, *, fail_on: str | None = None, ctx: Ctx = None, **thresholds: Any) -> pd.DataFrame:
    """A stream: peers, messages, subjects, sources and mirror (`%js_check stream`, `nats server check stream`).

    Parameters
    ----------
    name : str
        The stream.
    fail_on : str, optional
        `"crit"` or `"warn"`: raise `CheckFailed` when a verdict is that bad or worse.
    ctx : JSContext or str, optional
        A context or alias.
    **thresholds
        natscli's: `msgs_warn`, `msgs_critical`, `subjects_warn`, `subjects_critical`,
        `min_sources`, `max_sources`, `peer_expect`, `peer_lag_critical`,
        `peer_seen_critical` (`"30s"`), `lag_critical`, `seen_critical`.

    Returns
    -------
    pandas.DataFrame
        `check`, `status`, `value`, `threshold`, `source`, `detail`; `attrs["status"]` is the
        worst verdict, `attrs["summary"]` one line.

    Examples
    --------
    >>> df = await jsmagic.check.stream("ORDERS", msgs_critical=0, peer_expect=3)   # doctest: +SKIP
    >>> df.attrs["status"]                                                           # doctest: +SKIP
    'OK'
    """
    flags = _known("stream", thresholds, list(STREAM_META))
    return _verdict(await checks.check_stream(name, ctx=ctx, **flags), fail_on)


async def consumer(stream: str, name: str, *, fail_on: str | None = None, ctx: Ctx = None,
                   **thresholds: Any) -> pd.DataFrame:
    """A consumer: ack pending, waiting pulls, unprocessed, redelivered, last delivery and ack (`%js_check consumer`).

    Parameters
    ----------
    stream, name : str
        The stream and the consumer.
    fail_on : str, optional
        `"crit"` or `"warn"`: raise `CheckFailed` when a verdict is that bad or worse.
    ctx : JSContext or str, optional
        A context or alias.
    **thresholds
        natscli's: `outstanding_ack_critical`, `waiting_critical`, `unprocessed_critical`,
        `last_delivery_critical` (`"5m"`), `last_ack_critical`, `redelivery_critical`.

    Returns
    -------
    pandas.DataFrame
        The verdict table (`attrs["status"]`, `attrs["summary"]`).

    Examples
    --------
    >>> await jsmagic.check.consumer("ORDERS", "billing", unprocessed_critical=1000, fail_on="crit")   # doctest: +SKIP
    """
    flags = _known("consumer", thresholds, list(CONSUMER_META))
    return _verdict(await checks.check_consumer(stream, name, ctx=ctx, **flags), fail_on)


async def kv(bucket: str, *, key: str | None = None, values_warn: Any = None, values_critical: Any = None,
             fail_on: str | None = None, ctx: Ctx = None) -> pd.DataFrame:
    """A KV bucket: it exists, `key` has a value, the number of values (`%js_check kv`).

    Parameters
    ----------
    bucket : str
        The bucket.
    key : str, optional
        This key must have a value.
    values_warn, values_critical : int, optional
        Thresholds for the number of values (a warning below the critical: fewer is worse).
    fail_on : str, optional
        `"crit"` or `"warn"`: raise `CheckFailed` when a verdict is that bad or worse.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        The verdict table (`attrs["status"]`, `attrs["summary"]`).

    Examples
    --------
    >>> await jsmagic.check.kv("config", key="db.host")   # doctest: +SKIP
    """
    df = await checks.check_kv(bucket, key=key, values_warn=values_warn, values_critical=values_critical, ctx=ctx)
    return _verdict(df, fail_on)


async def jetstream(*, fail_on: str | None = None, ctx: Ctx = None, **thresholds: Any) -> pd.DataFrame:
    """This account's JetStream: memory, storage, streams, consumers as % of the limits (`%js_check jetstream`).

    Parameters
    ----------
    fail_on : str, optional
        `"crit"` or `"warn"`: raise `CheckFailed` when a verdict is that bad or worse.
    ctx : JSContext or str, optional
        A context or alias.
    **thresholds
        Percentages: `mem_warn`, `mem_critical`, `store_warn`, `store_critical` (natscli's
        defaults 75 and 90), `streams_warn`, `streams_critical`, `consumers_warn`, `consumers_critical`.

    Returns
    -------
    pandas.DataFrame
        The verdict table (`attrs["status"]`, `attrs["summary"]`).

    Examples
    --------
    >>> await jsmagic.check.jetstream(store_warn=60)   # doctest: +SKIP
    """
    flags = _known("jetstream", thresholds, JETSTREAM)
    return _verdict(await checks.check_jetstream(ctx=ctx, **flags), fail_on)


async def server(*, name: str | None = None, auth_required: bool = False, tls_required: bool = False,
                 js_required: bool = False, fail_on: str | None = None, ctx: Ctx = None,
                 **thresholds: Any) -> pd.DataFrame:
    """A server's `/varz` through the system account: CPU, memory, connections, subscriptions, uptime (`%js_check server`).

    Parameters
    ----------
    name : str, optional
        The server to check (natscli's `--name`); default: the one this connection is on.
    auth_required, tls_required, js_required : bool
        CRIT unless the server requires authentication / TLS, or has JetStream.
    fail_on : str, optional
        `"crit"` or `"warn"`: raise `CheckFailed` when a verdict is that bad or worse.
    ctx : JSContext or str, optional
        A context or alias (its user must be in the system account; any other gets a CRIT row saying so).
    **thresholds
        `cpu_warn`/`cpu_critical` (%), `mem_warn`/`mem_critical` (bytes), `conn_*`, `subs_*`
        (below the critical: fewer is worse), `uptime_warn`/`uptime_critical` (durations: a minimum).

    Returns
    -------
    pandas.DataFrame
        The verdict table (`attrs["status"]`, `attrs["summary"]`).

    Examples
    --------
    >>> await jsmagic.check.server(conn_critical=1000, uptime_warn="10m", js_required=True)   # doctest: +SKIP
    """
    flags = _known("server", thresholds, SERVER)
    return _verdict(await system.check_server(name=name, auth_required=auth_required, tls_required=tls_required,
                                              js_required=js_required, ctx=ctx, **flags), fail_on)


async def meta(*, expect: Any = None, lag_critical: Any = None, seen_critical: Any = None,
               fail_on: str | None = None, ctx: Ctx = None) -> pd.DataFrame:
    """The JetStream meta group through the system account: leader, peers offline, not current, lagging, unseen (`%js_check meta`).

    Parameters
    ----------
    expect : int, optional
        CRIT unless there are this many peers.
    lag_critical : int, optional
        CRIT when a peer is more than this many operations behind.
    seen_critical : str or float, optional
        CRIT when a peer was last seen longer ago (`"10s"`).
    fail_on : str, optional
        `"crit"` or `"warn"`: raise `CheckFailed` when a verdict is that bad or worse.
    ctx : JSContext or str, optional
        A context or alias (a system-account user).

    Returns
    -------
    pandas.DataFrame
        The verdict table (`attrs["status"]`, `attrs["summary"]`).

    Examples
    --------
    >>> await jsmagic.check.meta(expect=3, lag_critical=100, seen_critical="10s")   # doctest: +SKIP
    """
    return _verdict(await system.check_meta(expect=expect, lag_critical=lag_critical, seen_critical=seen_critical,
                                            ctx=ctx), fail_on)


async def message(stream: str, *, subject: str = ">", age_warn: Any = None, age_critical: Any = None,
                  content: str | None = None, body_timestamp: bool = False, fail_on: str | None = None,
                  ctx: Ctx = None) -> pd.DataFrame:
    """The last message of `stream` on `subject`: found, young enough, its body matching (`%js_check message`).

    Parameters
    ----------
    stream : str
        The stream.
    subject : str
        The subject (default `>`: the stream's last message).
    age_warn, age_critical : str or float, optional
        WARN / CRIT when older than this (`"5m"`).
    content : str, optional
        CRIT unless the body matches this regular expression.
    body_timestamp : bool
        The body is a Unix time in seconds: the age is from it, not the stored time.
    fail_on : str, optional
        `"crit"` or `"warn"`: raise `CheckFailed` when a verdict is that bad or worse.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        The verdict table (`attrs["status"]`, `attrs["summary"]`).

    Examples
    --------
    >>> await jsmagic.check.message("OPS", subject="ops.heartbeat", age_critical="5m", content="ok$")   # doctest: +SKIP
    """
    return _verdict(await checks.check_message(stream, subject=subject or ">", age_warn=age_warn,
                                               age_critical=age_critical, content=content,
                                               body_timestamp=body_timestamp, ctx=ctx), fail_on)


async def connection(*, fail_on: str | None = None, ctx: Ctx = None, **thresholds: Any) -> pd.DataFrame:
    """The connection: a new connection, the round trip, a request through the server (`%js_check connection`).

    Parameters
    ----------
    fail_on : str, optional
        `"crit"` or `"warn"`: raise `CheckFailed` when a verdict is that bad or worse.
    ctx : JSContext or str, optional
        A context or alias.
    **thresholds
        Durations (`"50ms"`, or seconds): `connect_warn`, `connect_critical`, `rtt_warn`,
        `rtt_critical`, `req_warn`, `req_critical` (natscli's defaults: warn 500 ms, critical 1 s).

    Returns
    -------
    pandas.DataFrame
        The verdict table (`attrs["status"]`, `attrs["summary"]`).

    Examples
    --------
    >>> await jsmagic.check.connection(rtt_warn="50ms", fail_on="crit")   # doctest: +SKIP
    """
    flags = _known("connection", thresholds, list(CONNECTION_DEFAULTS))
    return _verdict(await checks.check_connection(ctx=ctx, **flags), fail_on)
