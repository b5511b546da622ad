"""The ONE place a throwaway consumer is created and deleted: :class:`ConsumerSession`.

Every replay (both readers), scan, count and ordered watch reads through a consumer it
creates for itself and deletes afterwards.  The rules learned the hard way live here once:

* the consumer's **name is chosen up front** (``jsmagic_<hex>``), so it can be deleted even
  when the create's answer never came;
* the create goes through ``ctx.api`` (:mod:`jsmagic.jsapi`: domain- and prefix-aware);
* the server's 503 "JetStream system temporarily unavailable" (a cluster electing) is
  retried with the same name until the wait runs out;
* a create nobody answered is retried under a **new name**, and the old name is deleted in
  the background: the meta leader may have placed that name on a member that is stuck or
  just died, and every create of the same name then waits for it (seen with a killed
  leader, and with a follower resuming from SIGSTOP: the create went unanswered for 20 s);
* a resume after a fault (``resumed=True``) also retries "no responders", a closed
  connection and the API's other answers (no stream leader yet);
* an interrupt during the create leaves a background delete, owned by the context
  (``ctx.own``: closing the context waits for it);
* the delete is shielded from an interrupt and retried while a cluster elects; a second
  interrupt hands it to the context instead of skipping it;
* the consumer's count is checked against the stream leader (:mod:`.replicas`): an R1
  consumer placed on a replica still catching up counts short, for any selection.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time
from typing import Any

import nats.errors
import nats.js.errors
import orjson
from nats.js.api import ConsumerConfig, ConsumerInfo, DeliverPolicy

from ..admin.consumerlimits import refused
from ..core.context import JSContext
from ..core.errors import InputError
from .replicas import ask, checkable, host_behind, pending_seen, seq_since
from .selection import LAST_POLICIES, RESUME_WAIT, Selection

log = logging.getLogger("jsmagic.reading.session")

_UNANSWERED = (nats.errors.TimeoutError, asyncio.TimeoutError)
_RESUME_RETRY = (nats.js.errors.ServiceUnavailableError, nats.errors.NoRespondersError, nats.js.errors.APIError,
                 nats.errors.ConnectionClosedError, *_UNANSWERED)
PAUSE = 0.5  # seconds between two create attempts


def new_name(prefix: str = "jsmagic_") -> str:
    """A fresh consumer name: ``jsmagic_<hex>`` for a read's throwaway consumer."""
    return f"{prefix}{secrets.token_hex(6)}"


class ConsumerSession:
    """A throwaway consumer on ``stream``: created with the retry rules, checked, and always deleted.

    ``async with ConsumerSession(ctx, "ORDERS", cfg, timeout=5).checking(sel, info) as s:``
    then ``s.name``, ``s.pending`` (its count, checked against the stream leader when
    :meth:`checking` was given the replay's selection and stream info) and ``s.info`` (the
    server's answer, a dict; :meth:`consumer_info` as nats-py's ``ConsumerInfo``).  Or
    :meth:`open` / :meth:`close` where a ``with`` block does not fit.

    ``wait``: seconds the create keeps retrying (default ``max(3 * timeout, RESUME_WAIT)``);
    ``resumed``: a resume after a fault, which retries more kinds of failure; ``prefix``: of
    the names chosen (a watch's long-lived consumer is told apart from a read's).
    """

    def __init__(self, ctx: JSContext, stream: str, config: ConsumerConfig, *, timeout: float,
                 wait: float | None = None, resumed: bool = False, prefix: str = "jsmagic_") -> None:
        self.ctx, self.stream, self.config, self.timeout = ctx, stream, config, timeout
        self.wait = max(3 * timeout, RESUME_WAIT) if wait is None else wait
        self.resumed, self.prefix = resumed, prefix
        self.name = config.name or new_name(prefix)
        self.info: dict = {}
        self.pending = 0
        self._check: tuple = ()

    def checking(self, sel: Selection, info: Any, notes: list[str] | None = None) -> "ConsumerSession":
        """Check the consumer against the stream leader when the ``with`` block opens it (see :meth:`open`)."""
        self._check = (sel, info, notes)
        return self

    async def __aenter__(self) -> "ConsumerSession":
        await self.open(*self._check)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def open(self, sel: Selection | None = None, info: Any = None, notes: list[str] | None = None) -> dict:
        """Create the consumer; given the replay's ``sel`` and stream ``info``, checked against the stream leader.

        The check needs a count the stream leader can give exactly (:mod:`.replicas`), so on a
        replicated stream a filtered selection's consumer is created *without* its filter
        first, checked, then given its filter (an update keeps its place on its server and its
        start, and the server counts again); ``--since`` starts at the sequence the stream
        leader places the time at (a server still behind would place it at its own end).
        """
        checked = sel is not None and info is not None and checkable(sel, info)
        filters: dict[str, Any] = {}
        if checked and sel.deliver not in LAST_POLICIES:
            sel = await self._as_counted(sel)
            if sel.subjects:
                filters = {"filter_subject": self.config.filter_subject, "filter_subjects": self.config.filter_subjects}
                self.config.filter_subject = self.config.filter_subjects = None
                sel = dataclasses.replace(sel, subjects=[])
        await self._create()
        if checked:
            try:
                await self._checked(sel, info, notes, filters)
            except BaseException:  # the check failed or was interrupted: the consumer goes, then the error
                await self.close()
                raise
        return self.info

    async def _as_counted(self, sel: Selection) -> Selection:
        """``--since`` as the start sequence the stream leader places it at (unchanged when nothing is that new)."""
        if sel.deliver != "since":
            return sel
        start = await seq_since(self.ctx, sel)
        if start is None:
            return sel
        self.config.deliver_policy, self.config.opt_start_seq, self.config.opt_start_time = (
            DeliverPolicy.BY_START_SEQUENCE, start, None)
        return dataclasses.replace(sel, deliver="start_seq", start_seq=start, since=None)

    async def _create(self) -> None:
        """Send the create with the retry rules until it is answered or the wait runs out."""
        deadline, capped = time.monotonic() + self.wait, False
        while True:
            body = self._body()
            try:
                self.info = await self.ctx.api.request(f"CONSUMER.CREATE.{self.stream}.{self.name}", body,
                                                       timeout=self.timeout)
                break
            except asyncio.CancelledError:  # interrupted mid-create: the server may still make it
                self.delete_later()
                raise
            except _RESUME_RETRY as e:
                cap = None if capped else await refused(self.ctx, self.stream, e)  # the stream's consumer limits
                if cap is not None:  # its consumer_limits cap the inactive threshold: ask for that
                    self.config.inactive_threshold, capped = min(cap, self.config.inactive_threshold or cap), True
                    continue
                if not self._retry(e) or time.monotonic() > deadline:
                    self.delete_later()
                    raise
                if isinstance(e, _UNANSWERED):  # the next try under a new name; this one goes in the background
                    self.delete_later()
                    self.name = new_name(self.prefix)
                log.debug("consumer create on %s retried after %r", self.stream, e)
            try:
                await asyncio.sleep(PAUSE)
            except asyncio.CancelledError:
                self.delete_later()
                raise
        self.pending = int(self.info.get("num_pending") or 0)

    def _body(self, action: str | None = None) -> dict:
        """The create (or update) request; a setting no server takes (beyond 64 bits) fails here, in one line."""
        self.config.name = self.name
        body = {"stream_name": self.stream, "config": self.config.as_dict(), **({"action": action} if action else {})}
        try:
            orjson.dumps(body)
        except TypeError as e:  # orjson refuses integers beyond 64 bits: say which consumer setting
            raise InputError(f"a consumer setting is out of range ({e})",
                             hint="sequences, revisions and durations go up to 2**64 - 1") from None
        return body

    def _retry(self, e: Exception) -> bool:
        """Whether a failed create is tried again (before the deadline)."""
        if self.resumed:
            return True
        return isinstance(e, (nats.js.errors.ServiceUnavailableError, *_UNANSWERED))

    async def _checked(self, sel: Selection, info: Any, notes: list[str] | None, filters: dict[str, Any]) -> None:
        """Wait until the consumer counts what the stream leader holds; then give it its filter back."""
        host = (self.info.get("cluster") or {}).get("leader")
        if sel.deliver in LAST_POLICIES:  # a lagging server's "last" set is stale: a new consumer after it caught up
            if await host_behind(self.ctx, sel, info, host, notes):
                await self.close()
                self.name = new_name(self.prefix)
                await self._create()
            return
        self.pending = await pending_seen(self.ctx, sel, info, self.name, self.pending, notes, host=host)
        if filters:
            self.config.filter_subject, self.config.filter_subjects = filters["filter_subject"], filters["filter_subjects"]
            body = self._body("update")
            self.info = await ask(self.ctx, f"CONSUMER.CREATE.{self.stream}.{self.name}", body, self.timeout)
            self.pending = int(self.info.get("num_pending") or 0)
        self.info["num_pending"] = self.pending

    def consumer_info(self) -> ConsumerInfo:
        """The create's answer as nats-py's ``ConsumerInfo`` (``num_pending`` as checked)."""
        return ConsumerInfo.from_response(dict(self.info))

    async def close(self) -> None:
        """Delete the consumer (shielded, retried); a second call deletes again (a lost first delete)."""
        await delete(self.ctx, self.stream, self.name)

    def delete_later(self) -> None:
        """Delete in the background, owned by the context (closing it waits for this)."""
        delete_later(self.ctx, self.stream, self.name)


def delete_later(ctx: JSContext, stream: str, name: str) -> None:
    """Delete ``name`` in a task the context owns, without holding up the caller."""
    ctx.own(delete(ctx, stream, name), name=f"delete consumer {stream}/{name}")


async def delete(ctx: JSContext, stream: str, name: str, attempts: int = 3) -> None:
    """Delete our consumer, shielded from an interrupt; retried on timeouts (once after an interrupt).

    An interrupt while the server is slow hands the delete to the context and propagates.
    A refusal, or a connection that is gone, ends quietly (logged): the consumer's inactive
    threshold removes it anyway.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        attempts = 1
    for _ in range(attempts):
        try:
            await asyncio.shield(ctx.api.request(f"CONSUMER.DELETE.{stream}.{name}"))
            return
        except nats.js.errors.NotFoundError:
            return
        except asyncio.CancelledError:
            delete_later(ctx, stream, name)
            raise
        except (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError, asyncio.TimeoutError,
                nats.errors.NoRespondersError) as e:
            log.debug("delete of consumer %s/%s retried after %r", stream, name, e)
            continue
        except (nats.errors.Error, nats.js.errors.Error) as e:  # refused, or the connection is gone
            log.debug("delete of consumer %s/%s: %r (its inactive threshold removes it)", stream, name, e)
            return
    log.debug("delete of consumer %s/%s unanswered %d time(s)", stream, name, attempts)
