"""Which stream captures a subject: checked before anything is published.

A publish to a subject that no stream captures gets no ack; a wrong ``--stream`` would
only be noticed message by message.  One paged stream listing per publish (not per
message) answers both, and the errors name the ``%js_stream`` command that fixes it.
"""

from __future__ import annotations

import asyncio
import re
import time
from types import SimpleNamespace
from typing import Any, Callable

import nats.errors
import nats.js.errors

from ..connecting.permissions import refused
from ..core.errors import InputError, JSMagicError, NotFoundError, did_you_mean

_BAD_SUBJECT = re.compile(r"[\s\x00]")


def validate_subject(subject: str) -> None:
    """A publish subject: non-empty tokens, no whitespace, no wildcards (the server would drop it)."""
    tokens = subject.split(".") if subject else [""]
    if _BAD_SUBJECT.search(subject) or any(t == "" or t in ("*", ">") for t in tokens) or "*" in subject or ">" in subject:
        raise InputError(f"invalid subject {subject!r}", hint="use dot-separated tokens without spaces or wildcards, e.g. orders.new")


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, a trailing ``>`` one or more."""
    ptoks, stoks = pattern.split("."), subject.split(".")
    for i, p in enumerate(ptoks):
        if p == ">":
            return len(stoks) > i
        if i >= len(stoks) or (p != "*" and p != stoks[i]):
            return False
    return len(ptoks) == len(stoks)


def suggest_subjects(subject: str) -> str:
    """The ``--subjects`` a new stream would need: ``orders.new`` → ``orders.>``."""
    head = subject.split(".")[0]
    return f"{head}.>" if "." in subject else subject


def suggest_stream(subject: str) -> str:
    """A stream name for a subject: ``orders.new`` → ``ORDERS``."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", subject.split(".")[0].lstrip("$")).upper()
    return name or "STREAM"


class StreamIndex:
    """The account's streams and their subjects, listed ONCE per publish so checks stay cheap."""

    def __init__(self, subjects: dict[str, list[str]], configs: dict[str, Any] | None = None):
        self.subjects = subjects
        self.configs = configs or {}  # name -> StreamConfig: the feature switches a publish may need
        self._cache: dict[str, list[str]] = {}

    @classmethod
    async def load(cls, ctx: Any) -> "StreamIndex | None":
        """List every stream (paged) on the context's API; None when the checks cannot be made safely.

        None when this user may not list streams (the server refused it: the checks are
        skipped), and when the list is incomplete: a cluster leaves out (``missing``) a
        stream that has no leader at the moment, and refusing its subjects would be a false
        "no stream".  Any other failure is said in one line: a publish whose checks were
        silently skipped would go out unchecked.
        """
        api = ctx.api
        since = time.monotonic()
        try:
            listing = await api.listing("STREAM.LIST", "streams")  # pages by what the server covered
            if not listing.complete:
                return None
            found = {i["config"]["name"]: list(i["config"].get("subjects") or []) for i in listing.items}
            return cls(found, {i["config"]["name"]: _switches(i["config"]) for i in listing.items})
        except (nats.errors.TimeoutError, asyncio.TimeoutError) as e:
            if refused(api.nc, api.subject("STREAM.LIST"), since=since) is not None:
                return None
            raise _unlisted(e) from None
        except nats.js.errors.APIError as e:
            if e.code == 403 or "permission" in str(e).lower():
                return None
            raise _unlisted(e) from None
        except nats.errors.Error as e:
            raise _unlisted(e) from None

    def capturing(self, subject: str) -> list[str]:
        """Names of the streams whose subjects match ``subject`` (cached per subject)."""
        hit = self._cache.get(subject)
        if hit is None:
            hit = [n for n, subs in self.subjects.items() if any(subject_matches(p, subject) for p in subs)]
            self._cache[subject] = hit
        return hit


def _unlisted(e: BaseException) -> JSMagicError:
    """The one line for a stream listing that failed: nothing was published."""
    why = str(e).strip() or type(e).__name__
    if isinstance(e, nats.errors.NoRespondersError):
        why = "no JetStream answers (check --domain / --api-prefix)"
    return JSMagicError(f"could not list the streams to check where the subjects go: {why}",
                        hint="nothing was published; check the connection and retry")


def subject_checker(index: StreamIndex | None, stream: str | None = None, expect_stream: str | None = None) -> Callable[[str], None]:
    """A function that refuses, before sending, a subject that no (or the wrong) stream captures."""
    checked: set[str] = set()

    def check(subject: str) -> None:
        if subject in checked:
            return
        validate_subject(subject)
        if index is not None:
            owners = index.capturing(subject)
            wanted = stream or expect_stream
            fix = suggest_subjects(subject)
            for name in (stream, expect_stream):
                if name and name not in index.subjects:
                    raise NotFoundError(
                        f"unknown stream {name!r} ({did_you_mean(name, index.subjects)})",
                        hint=f"create it: %js_stream add {name} --subjects '{fix}'",
                    )
            if wanted and wanted not in owners:
                subs = ", ".join(index.subjects[wanted]) or "none"
                other = f"; it goes to {owners[0]}" if owners else ""
                raise NotFoundError(
                    f"stream {wanted} does not capture subject {subject!r} (its subjects: {subs}){other}",
                    hint=f"add the subject: %js_stream edit {wanted} --subjects '{','.join(index.subjects[wanted] + [fix])}'",
                )
            if not owners:
                raise NotFoundError(
                    f"no stream captures subject {subject!r} (a publish there gets no ack)",
                    hint=f"create one: %js_stream add {suggest_stream(subject)} --subjects '{fix}'",
                )
        checked.add(subject)

    return check


def _switches(config: dict[str, Any]) -> SimpleNamespace:
    """A stream's config as attributes (the feature switches a publish checks), marker TTL in seconds."""
    return SimpleNamespace(**{**config, "subject_delete_marker_ttl": (config.get("subject_delete_marker_ttl") or 0) / 1e9})
