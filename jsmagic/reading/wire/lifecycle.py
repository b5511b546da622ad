"""The bulk reader's ephemeral consumer: created and deleted through ``ctx.api`` on the main connection.

The consumer is pulled on the bulk connection but lives on the main one's API (domain-
and prefix-aware, :mod:`jsmagic.jsapi`).  Its name is chosen up front, so an interrupt
during the create can still delete it (a task owned by the context); the delete itself
is shielded and retried while a cluster elects a leader.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import nats.errors
import nats.js.errors

from ...core.context import JSContext
from ..selection import RESUME_WAIT, Selection, consumer_config

_RETRY = (nats.js.errors.ServiceUnavailableError, nats.errors.TimeoutError, nats.errors.NoRespondersError,
          nats.js.errors.APIError, asyncio.TimeoutError, nats.errors.ConnectionClosedError)


async def create(ctx: JSContext, sel: Selection, info: Any, retrying: bool = False) -> tuple[str, dict]:
    """Create the selection's ephemeral consumer; ``(name, consumer info dict)``.

    ``retrying`` (a resume after a fault): the config is sent again until the stream answers
    (a reconnect and a leader election take seconds) or RESUME_WAIT has passed; after a try
    nobody answered, under a new name (the old one is deleted in the background).
    """
    cfg = consumer_config(sel, info)
    deadline = time.monotonic() + max(3 * sel.api_timeout, RESUME_WAIT)
    while True:
        body = {"stream_name": sel.stream, "config": cfg.as_dict()}
        suffix = f"CONSUMER.CREATE.{sel.stream}.{cfg.name}"
        try:
            return cfg.name, await ctx.api.request(suffix, body, timeout=sel.api_timeout)
        except _RETRY as e:
            # the server's "temporarily unavailable" (a cluster electing) is waited out on a first create too
            waiting = retrying or isinstance(e, nats.js.errors.ServiceUnavailableError)
            if not waiting or time.monotonic() > deadline:
                delete_later(ctx, sel.stream, cfg.name)
                raise
            if isinstance(e, (nats.errors.TimeoutError, asyncio.TimeoutError)):
                # unanswered: the meta leader may have placed this name on the member that died,
                # and every create of the same name then waits for it; the next try is a new name
                delete_later(ctx, sel.stream, cfg.name)
                cfg = consumer_config(sel, info)
        except BaseException:  # interrupted mid-create: the server may still make it
            delete_later(ctx, sel.stream, cfg.name)
            raise
        try:
            await asyncio.sleep(0.5)
        except asyncio.CancelledError:
            delete_later(ctx, sel.stream, cfg.name)
            raise


def delete_later(ctx: JSContext, stream: str, name: str) -> None:
    """Delete in the background (owned by the context: closing it waits for this)."""
    ctx.own(delete(ctx, stream, name), name=f"delete consumer {stream}/{name}")


async def delete(ctx: JSContext, stream: str, name: str, attempts: int = 3) -> None:
    """Delete our consumer, shielded from an interrupt; retried on timeouts (not after an interrupt)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        attempts = 1
    for _ in range(attempts):
        try:
            await asyncio.shield(ctx.api.request(f"CONSUMER.DELETE.{stream}.{name}"))
            return
        except nats.js.errors.NotFoundError:
            return
        except asyncio.CancelledError:  # interrupted while the server is slow: the context finishes it
            delete_later(ctx, stream, name)
            raise
        except (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError, asyncio.TimeoutError,
                nats.errors.NoRespondersError):
            continue
        except nats.errors.Error:  # refused or the connection is gone: the inactive threshold removes it
            return
