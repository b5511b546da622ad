"""``%js_consumer pause|resume|unpin``, ``add --pause/--pinned-groups/...``, ``next --group`` (server 2.11).

Kept apart from :mod:`jsmagic.magics.consumers` (service: :mod:`jsmagic.services.consumers`):
one function adds the flags and verbs to ``%js_consumer``'s parsers, one dict holds
their handlers.
"""

from __future__ import annotations

from typing import Any, Callable

from ..core.units import format_duration
from ..services import consumers as service
from ..ui.report import Report, consumer_report
from .base import run


def add_consumer_flags(verbs: Any) -> None:
    """Flags on ``add`` and ``next``, and the ``pause``/``resume``/``unpin`` verbs (natscli's names)."""
    g = verbs.parsers["add"].add_argument_group("server 2.11 features")
    g.add_argument("--pause", metavar="UNTIL", help="created paused until UNTIL (a duration like 1h, or a time)")
    g.add_argument("--pinned-groups", nargs="+", metavar="GROUP", help="priority groups with one pinned client each")
    g.add_argument("--pinned-ttl", metavar="DURATION", help="silence after which a pinned client loses its pin")
    g.add_argument("--overflow-groups", nargs="+", metavar="GROUP", help="priority groups served by --min-pending pulls")
    g.add_argument("--prioritized-groups", nargs="+", metavar="GROUP", help="priority groups served by pull priority")
    verbs.parsers["next"].add_argument("--group", help="pull within this priority group (the pin is kept for later pulls)")
    verbs.parsers["next"].add_argument("--min-pending", type=int, metavar="N",
                                       help="with --group on an overflow consumer: only if N or more messages wait")
    p = verbs.add("pause", "Deliver nothing until UNTIL (a duration like 10m, or a time); returns the pause",
                  positional=("stream", "name"))
    p.add_argument("until", help="a duration (10m) or a time (ISO/RFC 3339)")
    p = verbs.add("resume", "Deliver again now (ends a pause)", positional=("stream", "name"))
    p = verbs.add("unpin", "Take the pin from a priority group's pinned client; the next pull gets it",
                  positional=("stream", "name"))
    p.add_argument("group", help="the priority group to unpin")


def add_options(a: Any) -> dict[str, Any]:
    """The 2.11 flags, as :func:`jsmagic.services.consumers.add`'s keywords."""
    return {"pause": a.pause, "pinned_groups": a.pinned_groups, "pinned_ttl": a.pinned_ttl,
            "overflow_groups": a.overflow_groups, "prioritized_groups": a.prioritized_groups}


def _sentence(stream: str, name: str, state: dict) -> str:
    if not state["paused"]:
        return f"Consumer {stream} > {name} is delivering (not paused)."
    return (f"Consumer {stream} > {name} is paused until {state['pause_until']:%Y-%m-%d %H:%M:%S} UTC "
            f"({format_duration(state['pause_remaining'])} from now).")


def _info(a: Any) -> Report:
    """``info`` with the pause and the priority groups (their pinned clients) when set."""
    ci = run(service.info(a.stream, a.name))
    st = run(service.priority(a.stream, a.name))
    extra: dict[str, dict[str, Any]] = {}
    if st["paused"]:
        extra["Pause"] = {"paused until": f"{st['pause_until']:%Y-%m-%d %H:%M:%S} UTC",
                          "remaining": format_duration(st["pause_remaining"])}
    if st["priority_policy"]:
        groups = {f"group {g}": f"pinned to {pin}" if pin else "no pinned client" for g, pin in st["groups"].items()}
        ttl = {"pinned ttl": format_duration(st["pinned_ttl"])} if st["pinned_ttl"] else {}
        extra["Priority groups"] = {"policy": st["priority_policy"], **ttl, **groups}
    report = consumer_report(ci)
    report.update(extra)
    report.raw = ci
    report.state = st
    return report


def group_note(attrs: dict) -> str:
    """``; group jobs, pinned (pin id …)`` or why a group pull got nothing."""
    if "group" not in attrs:
        return ""
    if attrs.get("pin_id"):
        return f"; group {attrs['group']}, pinned to this notebook (pin id {attrs['pin_id']})"
    return f"; group {attrs['group']}: {attrs.get('why') or 'nothing'}"


HANDLERS: dict[str, Callable[[Any], Any]] = {
    "pause": lambda a: _sentence(a.stream, a.name, run(service.pause(a.stream, a.name, a.until))),
    "resume": lambda a: _sentence(a.stream, a.name, run(service.resume(a.stream, a.name))),
    "unpin": lambda a: run(service.unpin(a.stream, a.name, a.group)),
    "info": _info,
}
