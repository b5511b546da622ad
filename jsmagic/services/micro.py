"""NATS micro services, as `nats micro` has them: `jsmagic.micro.ls`, `info`, `stats`, `ping` (`%js_svc`).

Every service instance answers a discovery request on `$SRV.<VERB>[.NAME[.ID]]`; a
discovery gathers what answers within `timeout` (nobody can know how many instances
exist), and `df.attrs["notes"]` says how many answered in that time.
"""

from __future__ import annotations

import pandas as pd

from ..core.context import JSContext
from ..core.units import parse_duration
from ..corenats import services as _svc

__all__ = ["ls", "info", "stats", "ping"]

Ctx = JSContext | str | None


async def ls(name: str | None = None, *, timeout: str | float = "1s", ctx: Ctx = None) -> pd.DataFrame:
    """The services that answer, one row per instance (`%js_svc ls`, `nats micro ls`).

    Parameters
    ----------
    name : str, optional
        Only this service.
    timeout : str or float
        How long to gather answers.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `name`, `id`, `version`, `description`, `endpoints`, `metadata`.

    Examples
    --------
    >>> await jsmagic.micro.ls()   # doctest: +SKIP
    """
    return await _svc.ls(name, timeout=parse_duration(timeout), ctx=ctx)


async def info(name: str, *, timeout: str | float = "1s", ctx: Ctx = None) -> pd.DataFrame:
    """A service's endpoints, for every instance (`%js_svc info NAME`, `nats micro info`).

    Parameters
    ----------
    name : str
        The service.
    timeout : str or float
        How long to gather answers.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `name`, `id`, `version`, `endpoint`, `subject`, `queue_group`, `metadata`; a service
        nobody answers for is a `NotFoundError`.

    Examples
    --------
    >>> await jsmagic.micro.info("calc")   # doctest: +SKIP
    """
    return await _svc.info(name, timeout=parse_duration(timeout), ctx=ctx)


async def stats(name: str, *, timeout: str | float = "1s", ctx: Ctx = None) -> pd.DataFrame:
    """A service's endpoint statistics, for every instance (`%js_svc stats NAME`, `nats micro stats`).

    Parameters
    ----------
    name : str
        The service.
    timeout : str or float
        How long to gather answers.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `name`, `id`, `endpoint`, `subject`, `num_requests`, `num_errors`, `last_error`,
        `processing_ms`, `average_processing_ms`, `started`.

    Examples
    --------
    >>> (await jsmagic.micro.stats("calc"))["num_requests"].sum()   # doctest: +SKIP
    """
    return await _svc.stats(name, timeout=parse_duration(timeout), ctx=ctx)


async def ping(name: str | None = None, *, timeout: str | float = "1s", ctx: Ctx = None) -> pd.DataFrame:
    """Ping the services (or one), each instance with its round-trip time (`%js_svc ping`, `nats micro ping`).

    Parameters
    ----------
    name : str, optional
        Only this service.
    timeout : str or float
        How long to gather answers.
    ctx : JSContext or str, optional
        A context or alias.

    Returns
    -------
    pandas.DataFrame
        `name`, `id`, `version`, `rtt_ms`.

    Examples
    --------
    >>> await jsmagic.micro.ping("calc")   # doctest: +SKIP
    """
    return await _svc.ping(name, timeout=parse_duration(timeout), ctx=ctx)
