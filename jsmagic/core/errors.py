"""jsmagic's errors: each renders in a notebook as one line that says what to do next.

IPython asks an exception for `_render_traceback_()` before printing a traceback;
ours answers with a single red line (`JSMagic.short_errors`, on by default) so a
failed cell shows the cause, not a wall of nats-py and asyncio frames.  The cell
still fails: the exception propagates, so `nbclient` and pipelines see it.
"""

from __future__ import annotations

import difflib
import traceback
from typing import Any, Iterable

from .secrets import redact


class JSMagicError(Exception):
    """Base of every error a jsmagic user can see."""

    #: a short "what to do next", appended after the message
    hint: str = ""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(redact(message))
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        message = super().__str__()
        return redact(f"{message} — {self.hint}" if self.hint else message)

    def one_line(self) -> str:
        """The rendering a notebook shows: `ErrorName: message — hint` on one line."""
        return " ".join(f"{type(self).__name__}: {self}".split())

    def _render_traceback_(self) -> list[str]:
        from .config import settings

        if settings().short_errors:
            return [f"\x1b[0;31m{self.one_line()}\x1b[0m"]
        lines = traceback.format_exception(type(self), self, self.__traceback__)
        return [redact(line.rstrip("\n")) for line in "".join(lines).splitlines()]


class ConnectError(JSMagicError):
    """No NATS server could be reached."""

    hint = "check the URL and that the server runs, or use %js_connect --embedded"


class AuthError(JSMagicError):
    """The server refused our credentials (authorization violation)."""

    hint = "check --user/--password, --token, --creds or --nkey (or the NATS_* variables)"


class TLSError(JSMagicError):
    """The TLS handshake failed (wrong CA, certificate or server name)."""

    hint = "check --tls-ca, --tls-cert and --tls-key"


class JetStreamDisabledError(JSMagicError):
    """The server (or this account) has no JetStream."""

    hint = "start nats-server with -js, or use an account with JetStream enabled"


class TimeoutError(JSMagicError):  # noqa: A001 - module-scoped, always imported qualified
    """The server did not answer in time."""

    hint = "raise --timeout or %config JSMagic.timeout"


class NotFoundError(JSMagicError):
    """A named stream, consumer, bucket, key or object does not exist."""


class PermissionDeniedError(JSMagicError):
    """The server's permissions forbid this subject for our user."""

    hint = "ask for publish/subscribe permission on that subject, or use another one"


class ConfigError(JSMagicError):
    """Bad configuration: a context file, an option value, a missing file."""


class InputError(JSMagicError):
    """A magic got input it cannot use (bad JSON, bad value, undefined name...)."""


class ForceRequiredError(JSMagicError):
    """A destructive verb was asked for without `--force`; the message says what it would remove."""

    hint = "nothing was changed; add --force to do it"


class PublishError(JSMagicError):
    """The server refused or did not acknowledge some published messages (`.result` holds every ack)."""

    result = None


class IncompleteError(JSMagicError):
    """A read stopped before it had all it was asked for; `.frame` holds what arrived."""

    def __init__(self, message: str, frame: Any = None, hint: str | None = None):
        super().__init__(message, hint)
        self.frame = frame


class NotConnectedError(JSMagicError):
    """An operation needs a connection and autostart is off."""

    hint = "run %js_connect first"


class ConflictError(JSMagicError):
    """An optimistic write was refused: the key is not at the expected revision (or already exists)."""

    hint = "nothing was changed; read the current revision (%js_kv get) and retry"


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A `did you mean X?` suffix for an unknown name, or the list of what exists."""
    # the streams behind KV and object buckets, jsmagic's own short-lived consumers: not what a typo meant
    internal = ("KV_", "OBJ_", "jsmagic_")
    candidates = sorted(c for c in set(candidates) if name.startswith(internal) or not c.startswith(internal))
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.5)
    if not close:
        lowered = {c.lower(): c for c in candidates}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    if close:
        return f"did you mean {close[0]!r}?"
    if candidates:
        shown = ", ".join(candidates[:8]) + (" ..." if len(candidates) > 8 else "")
        return f"known: {shown}"
    return "none exist yet"


def not_found(kind: str, name: str, candidates: Iterable[str]) -> NotFoundError:
    """A `NotFoundError` that names what exists (`unknown stream 'ORDRS': did you mean 'ORDERS'?`)."""
    return NotFoundError(f"unknown {kind} {name!r}", hint=did_you_mean(name, candidates))


def translate(exc: BaseException, what: str = "") -> JSMagicError | None:
    """The jsmagic error for a nats-py exception (None when we have no better words for it).

    `what` names the operation (`"stream info ORDERS"`) so the line says what failed.
    """
    import asyncio

    import nats.errors
    import nats.js.errors

    prefix = f"{what}: " if what else ""
    text = str(exc)
    if isinstance(exc, JSMagicError):
        return exc
    if "permissions violation" in text.lower() or "permission" in text.lower() and "denied" in text.lower():
        return PermissionDeniedError(f"{prefix}permission denied ({text.strip()})")
    if isinstance(exc, nats.js.errors.ServiceUnavailableError):
        return JetStreamDisabledError(f"{prefix}JetStream is not available")
    if isinstance(exc, nats.js.errors.APIError):
        desc = getattr(exc, "description", None) or text
        code = getattr(exc, "err_code", None)
        hint = PERSIST_MODE_HINT if "persist mode" in desc and code == 10052 else None
        return JSMagicError(f"{prefix}{desc}" + (f" (error {code})" if code else ""), hint=hint)
    if isinstance(exc, nats.errors.NoRespondersError):
        return JetStreamDisabledError(f"{prefix}no responders (is JetStream enabled, and the name right?)")
    if isinstance(exc, (nats.errors.TimeoutError, asyncio.TimeoutError)):
        return TimeoutError(f"{prefix}timed out waiting for the server")
    if isinstance(exc, nats.errors.ConnectionClosedError):
        return NotConnectedError(f"{prefix}the connection is closed")
    if isinstance(exc, (nats.errors.BadSubjectError,)):
        return InputError(f"{prefix}invalid subject")
    if isinstance(exc, nats.errors.MaxPayloadError):
        return InputError(f"{prefix}message larger than the server's max_payload")
    if isinstance(exc, nats.errors.Error):
        return JSMagicError(f"{prefix}{type(exc).__name__}: {text}".rstrip(": "))
    if isinstance(exc, UnicodeEncodeError):  # a lone surrogate pasted into a cell or a line
        return InputError(f"{prefix}text that cannot be sent as UTF-8 ({exc.reason} at character {exc.start})")
    if isinstance(exc, ValueError) and text.startswith("nats: "):  # nats-py's client-side checks (names...)
        hint = "names may not contain '.', '*', '>' or whitespace" if "invalid" in text and "name" in text else None
        return InputError(f"{prefix}{text.removeprefix('nats: ')}", hint=hint)
    return None


PERSIST_MODE_HINT = ("the mode is set when a stream is created: create a new stream with --persist-mode and copy "
                     "the messages into it (%js_stream copy STREAM NEW --persist-mode MODE --subjects 'new.>' "
                     "--source STREAM); nothing was changed")


class InterruptedWithResult(JSMagicError):
    """The user interrupted long work: the cell fails (so Run All stops) and says where the part kept is.

    `result` is what was kept (also in the `-o` variable, or `jsmagic.last_result()`).
    """

    def __init__(self, message: str, result: Any = None):
        super().__init__(message)
        self.result = result

    def one_line(self) -> str:
        return " ".join(f"Interrupted: {self}".split())
