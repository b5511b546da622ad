"""The durable path's own rules: bind only to a durable that reads what the line asks, give back what is not kept.

* An existing durable keeps its filter, deliver policy and start options: the server
  ignores the ones on a later line.  :func:`bind_durable` refuses in one line when they
  differ ("durable d1 on L filters l.a, not l.b: …") instead of returning the durable's
  rows (or none) as if they were the ones asked for.  Options left at their default
  (no ``-s``, no deliver flag) bind to the durable as it is.
* A bound (``--end-seq``, ``--until``, ``-n``) is checked on the client: rows delivered
  past it are cut from the frame.  :func:`give_back` naks them, so they are redelivered
  at once instead of waiting out the ack wait as "ack pending".
"""

from __future__ import annotations

from typing import Any

import nats.js.errors
from nats.js.api import ConsumerConfig, DeliverPolicy

from ..core.errors import InputError
from .selection import ACTIONS, Selection, consumer_config


def _filters(cfg: ConsumerConfig) -> list[str]:
    if cfg.filter_subjects:
        return sorted(cfg.filter_subjects)
    return [cfg.filter_subject] if cfg.filter_subject and cfg.filter_subject != ">" else []


def _policy(cfg: ConsumerConfig) -> str:
    p = cfg.deliver_policy
    words = {DeliverPolicy.ALL: "all", DeliverPolicy.NEW: "new", DeliverPolicy.LAST: "last",
             DeliverPolicy.LAST_PER_SUBJECT: "last_per_subject", DeliverPolicy.BY_START_SEQUENCE: "start_seq",
             DeliverPolicy.BY_START_TIME: "since"}
    return words.get(p, str(getattr(p, "value", p) or "all"))


def differences(existing: ConsumerConfig, wanted: ConsumerConfig, sel: Selection) -> list[str]:
    """What the line asks that the existing durable does not do (only options the line sets)."""
    out = []
    if sel.subjects and _filters(existing) != _filters(wanted):
        have = ", ".join(_filters(existing)) or "no filter (every subject)"
        out.append(f"filters {have}, not {', '.join(_filters(wanted))}")
    if sel.deliver != "all" and _policy(existing) != _policy(wanted):
        out.append(f"delivers {_policy(existing).replace('_', '-')}, not {sel.deliver.replace('_', '-')}")
    elif sel.deliver == "start_seq" and existing.opt_start_seq != wanted.opt_start_seq:
        out.append(f"starts at sequence {existing.opt_start_seq}, not {wanted.opt_start_seq}")
    elif sel.deliver == "since" and str(existing.opt_start_time or "")[:19] != str(wanted.opt_start_time or "")[:19]:
        out.append(f"starts at {existing.opt_start_time}, not {wanted.opt_start_time}")
    if sel.headers_only and not existing.headers_only:
        out.append("delivers whole messages, not headers only")
    return out


async def bind_durable(js: Any, sel: Selection, info: Any) -> Any:
    """The durable's info: created from the selection, or an existing one that reads what the line asks."""
    wanted = consumer_config(sel, info)
    try:
        ci = await js.consumer_info(sel.stream, sel.durable)
    except nats.js.errors.NotFoundError:
        return await js.add_consumer(sel.stream, wanted)
    diff = differences(ci.config, wanted, sel)
    if diff:
        raise InputError(
            f"durable {sel.durable} on {sel.stream} already exists and {'; '.join(diff)}",
            hint=f"use another --durable name, or delete it first: %js_consumer rm {sel.stream} {sel.durable} --force",
        )
    return ci


async def give_back(nc: Any, replies: list[str], timeout: float) -> int:
    """Nak ``replies`` (rows delivered but not kept); the last as a request, so all are applied on return."""
    if not replies:
        return 0
    for reply in replies[:-1]:
        await nc.publish(reply, ACTIONS["nak"])
    await nc.request(replies[-1], ACTIONS["nak"], timeout=timeout)
    return len(replies)
