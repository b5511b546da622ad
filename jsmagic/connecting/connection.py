"""Open one nats-py connection from :class:`~jsmagic.connecting.options.ConnectOptions`, failing clearly.

nats-py's defaults do not suit a notebook: the initial connect can retry for a long
time, and its default error callback prints a traceback per attempt into the cell.
Here the first connect tries each server twice, quickly; every error is recorded
quietly and turned into one jsmagic error (no server / auth / TLS / timeout).  Once
connected, reconnects are unlimited, because a kernel lives for hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
from typing import Any, Callable, Iterator
from urllib.parse import unquote, urlsplit, urlunsplit

import nats
import nats.errors

from ..core import secrets
from ..core.errors import AuthError, ConnectError, JSMagicError, TLSError
from .options import ConnectOptions, check_files, check_servers
from .permissions import Refusals, track

log = logging.getLogger(__name__)

LOCAL_URL = "nats://127.0.0.1:4222"


def local_server_answers(host: str = "127.0.0.1", port: int = 4222, timeout: float = 0.3) -> bool:
    """True if a NATS server greets us on ``host:port`` (the CLI's default address)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            return s.recv(4) == b"INFO"
    except OSError as e:
        log.debug("no NATS server answers at %s:%s: %r", host, port, e)
        return False


def tls_context(opts: ConnectOptions) -> ssl.SSLContext | None:
    """An SSL context from the CA/cert/key options, or None when TLS is not asked for."""
    if not opts.uses_tls():
        return None
    try:
        ctx = ssl.create_default_context(cafile=opts.tls_ca) if opts.tls_ca else ssl.create_default_context()
        if opts.tls_cert:
            ctx.load_cert_chain(opts.tls_cert, opts.tls_key)
    except (ssl.SSLError, OSError) as e:
        raise TLSError(f"cannot load TLS files: {e}") from None
    return ctx


def _quoted_url_credentials(servers: list[str]) -> tuple[list[str], dict[str, str]]:
    """Take %-quoted credentials out of server URLs and return them unquoted.

    nats-py sends URL credentials as written, so a password with ``@`` or ``:`` (which
    must be quoted in a URL) would never match.  URLs without quoting are left as they
    are.
    """
    found: dict[str, str] = {}
    out = []
    for url in servers:
        parts = urlsplit(url)
        userinfo, at, host = parts.netloc.rpartition("@")
        if not at or "%" not in userinfo:
            out.append(url)
            continue
        user, colon, password = userinfo.partition(":")
        if not found:
            found = {"user": unquote(user), "password": unquote(password)} if colon else {"token": unquote(user)}
            secrets.register(*found.values())
        out.append(urlunsplit(parts._replace(netloc=host)))
    return out, found


def connect_kwargs(opts: ConnectOptions, timeout: float) -> dict[str, Any]:
    """The keyword arguments for ``nats.connect`` (without callbacks)."""
    servers, url_auth = _quoted_url_credentials(opts.servers)
    kwargs: dict[str, Any] = dict(
        servers=servers,
        name=opts.name or "jsmagic",
        connect_timeout=max(1, int(round(timeout))),
        # a kernel lives for hours: once in, keep reconnecting through server restarts.  The first
        # connect is bounded by open_connection itself (nats-py's options are never changed after)
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        allow_reconnect=True,
    )
    if opts.user:
        kwargs["user"] = opts.user
        kwargs["password"] = opts.password or ""
    elif not opts.token:
        kwargs.update(url_auth)
    if opts.token:
        kwargs["token"] = opts.token
    if opts.creds:
        kwargs["user_credentials"] = opts.creds
    elif opts.nkey:
        kwargs["nkeys_seed"] = opts.nkey
    tls = tls_context(opts)
    if tls is not None:
        kwargs["tls"] = tls
        kwargs["tls_handshake_first"] = bool(opts.tls_first)
    if opts.inbox_prefix:
        kwargs["inbox_prefix"] = opts.inbox_prefix
    return kwargs


def _tls_reason(e: BaseException) -> str:
    """The short reason of a TLS failure (``CERTIFICATE_VERIFY_FAILED: unable to get ...``)."""
    reason = getattr(e, "reason", None) or type(e).__name__
    detail = getattr(e, "verify_message", None)
    return f"{reason}: {detail}" if detail else str(reason)


def _tls_error(e: BaseException, where: str, opts: ConnectOptions) -> TLSError:
    """Say which TLS option is wrong: the CA, the client certificate, or TLS itself."""
    if isinstance(e, nats.errors.SecureConnRequiredError):
        return TLSError(f"server at {where} requires TLS", hint="connect with --tls-ca (and --tls-cert/--tls-key)")
    if isinstance(e, nats.errors.SecureConnWantedError):
        return TLSError(f"server at {where} does not offer TLS", hint="drop the TLS options")
    reason = _tls_reason(e)
    upper = reason.upper()
    if "CERTIFICATE_REQUIRED" in upper:
        return TLSError(
            f"server at {where} requires a client certificate ({reason})", hint="give --tls-cert and --tls-key"
        )
    if "HOSTNAME" in upper or "IP ADDRESS MISMATCH" in upper:
        return TLSError(f"the server certificate does not match {where} ({reason})", hint="connect with the name in its certificate")
    if "CERTIFICATE_VERIFY_FAILED" in upper:
        if opts.tls_ca:
            return TLSError(
                f"TLS handshake with {where} failed: the server certificate is not signed by the --tls-ca CA ({reason})",
                hint="check --tls-ca",
            )
        return TLSError(
            f"TLS handshake with {where} failed: the server certificate is not trusted by this machine ({reason})",
            hint="give the server's CA with --tls-ca",
        )
    if "UNKNOWN_CA" in upper or "BAD_CERTIFICATE" in upper or "CERTIFICATE_UNKNOWN" in upper:
        return TLSError(f"server at {where} rejected our client certificate ({reason})", hint="check --tls-cert and --tls-key")
    return TLSError(f"TLS handshake with {where} failed: {reason}")


def _is_tls_failure(e: BaseException) -> bool:
    return isinstance(e, ssl.SSLError) or isinstance(
        e, (nats.errors.SecureConnFailedError, nats.errors.SecureConnRequiredError, nats.errors.SecureConnWantedError)
    )


def classify(errors: list[BaseException], final: BaseException, opts: ConnectOptions) -> JSMagicError:
    """Turn what nats-py reported while connecting into one clear jsmagic error."""
    where = ", ".join(secrets.mask_url(s) for s in opts.servers)
    seen = [*errors, final]
    text = " ".join(f"{type(e).__name__} {e}" for e in seen).lower()
    if any(isinstance(e, nats.errors.AuthorizationError) for e in seen) or "authorization" in text:
        return AuthError(f"authorization violation at {where}")
    for e in seen:
        if _is_tls_failure(e):
            return _tls_error(e, where, opts)
    if "certificate" in text or "ssl" in text:
        return TLSError(f"TLS handshake with {where} failed")
    cut = (BrokenPipeError, ConnectionResetError)
    if (opts.tls_ca or opts.tls_first) and not opts.tls_cert and any(isinstance(e, cut) for e in seen):
        # TLS 1.3: the client's side of the handshake ends before the server checks for a client
        # certificate; the server's refusal then reaches us as a cut connection (seen under load)
        return TLSError(f"server at {where} closed the connection during TLS set-up, most likely because it requires a client "
                        f"certificate ({type(next(e for e in seen if isinstance(e, cut))).__name__})",
                        hint="give --tls-cert and --tls-key")
    if any(isinstance(e, socket.gaierror) for e in seen):
        return ConnectError(f"unknown host in {where} (the name does not resolve)", hint="check the host name in the URL")
    if any(isinstance(e, ConnectionRefusedError) for e in seen) or "refused" in text:
        return ConnectError(f"no NATS server at {where} (connection refused)")
    if any(isinstance(e, (asyncio.TimeoutError, TimeoutError)) for e in seen):
        return ConnectError(f"no answer from {where} (timed out)")
    last = errors[-1] if errors else final
    return ConnectError(f"cannot connect to {where}: {type(last).__name__} {last}".strip())


class _QuietTLSClose(logging.Filter):
    """Drop asyncio's "returning true from eof_received()" warning.

    nats-py's protocol returns True from ``eof_received`` on TLS connections; asyncio
    then logs a harmless warning when the connection closes, which would land in the
    cell's stderr of ``%js_close``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "eof_received()" not in record.getMessage()


_quiet_filter = _QuietTLSClose()
_quiet_users = 0


@contextlib.contextmanager
def quiet_tls_close() -> Iterator[None]:
    """:class:`_QuietTLSClose` on asyncio's logger while a connection closes, removed after.

    Scoped to the close (counted, for closes that overlap): the rest of the time, and in
    any other library's use of asyncio, the ``asyncio`` logger is as its owner set it.
    """
    global _quiet_users
    log = logging.getLogger("asyncio")
    if _quiet_users == 0:
        log.addFilter(_quiet_filter)
    _quiet_users += 1
    try:
        yield
    finally:
        _quiet_users -= 1
        if _quiet_users == 0:
            log.removeFilter(_quiet_filter)


async def read_info(url: str, timeout: float) -> dict[str, Any] | None:
    """The INFO a server greets with (None when it cannot be read: nats-py will say why)."""
    parts = urlsplit(url)
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(parts.hostname, parts.port or 4222), timeout
        )
    except (OSError, asyncio.TimeoutError, ValueError) as e:
        log.debug("cannot read the INFO of %s: %r", secrets.mask_url(url), e)
        return None
    try:
        line = await asyncio.wait_for(reader.readline(), timeout)
        if not line.startswith(b"INFO "):
            return None
        return json.loads(line[5:])
    except (OSError, asyncio.TimeoutError, ValueError) as e:
        log.debug("cannot read the INFO of %s: %r", secrets.mask_url(url), e)
        return None
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (OSError, asyncio.TimeoutError) as e:  # the side socket is gone either way
            log.debug("closing the INFO socket: %r", e)


async def _refuse_plaintext(opts: ConnectOptions, timeout: float) -> None:
    """TLS was asked for: fail before any credential is sent to a server without TLS.

    nats-py upgrades to TLS only when the server *requires* it; against a server that
    does not, it would quietly connect in plain text and send the password.
    """
    for url in opts.servers:
        info = await read_info(url, timeout)
        if info is not None and not info.get("tls_required"):
            where = secrets.mask_url(url)
            offered = "offers TLS only as an option" if info.get("tls_available") else "does not offer TLS"
            raise TLSError(
                f"server at {where} {offered}; not connecting in plain text although TLS was asked for",
                hint="drop the TLS options, or enable TLS on the server",
            )


async def open_connection(
    opts: ConnectOptions,
    timeout: float,
    on_error: Callable[[BaseException], None],
    on_disconnect: Callable[[], None],
    on_reconnect: Callable[[], None],
    on_close: Callable[[], None],
) -> nats.NATS:
    """Connect with ``opts``; raise a jsmagic error naming the cause when that fails."""
    check_files(opts)
    check_servers(opts)
    kwargs = connect_kwargs(opts, timeout)
    if kwargs.get("tls") is not None and not opts.tls_first:
        await _refuse_plaintext(opts, timeout)
    attempt_errors: list[BaseException] = []
    connected = False
    refusals = Refusals()
    # nats-py reconnects forever (the options it keeps for the whole session), so the first
    # connect stops here: after each server failed twice, at once when nobody listens
    # (refused) and on a TLS failure (nats-py hangs in its close after a failed handshake, and
    # a wrong CA or a refused client certificate will not fix itself on a retry)
    give_up = asyncio.Event()

    async def error_cb(e: BaseException) -> None:
        if connected:
            refusals.note(e)
            on_error(e)
            return
        attempt_errors.append(e)
        log.debug("connect attempt %d to %s failed: %r", len(attempt_errors),
                  ", ".join(secrets.mask_url(s) for s in opts.servers), e)
        refused = all(isinstance(x, ConnectionRefusedError) for x in attempt_errors)
        if _is_tls_failure(e) or len(attempt_errors) >= (1 if refused else 2) * len(opts.servers):
            give_up.set()

    async def disconnected_cb() -> None:
        if connected:
            on_disconnect()

    async def reconnected_cb() -> None:
        on_reconnect()

    async def closed_cb() -> None:
        if connected:
            on_close()

    task = asyncio.ensure_future(
        nats.connect(
            error_cb=error_cb,
            disconnected_cb=disconnected_cb,
            reconnected_cb=reconnected_cb,
            closed_cb=closed_cb,
            **kwargs,
        )
    )
    try:
        nc = await _first_of(task, give_up, timeout * 2 + 2 * len(opts.servers))
    except JSMagicError:
        raise
    except Exception as e:  # nats-py raises many kinds; we classify them all
        raise classify(attempt_errors, e, opts) from None
    connected = True
    track(nc, refusals)
    return nc


async def _first_of(task: "asyncio.Future[nats.NATS]", failed: asyncio.Event, timeout: float) -> nats.NATS:
    """The connected client, or the reason it cannot be: the attempts gave up (``failed``) or a timeout.

    The connect task is cancelled (never left running) when we give up on it, also when
    the cell itself is interrupted.
    """
    waiter = asyncio.ensure_future(failed.wait())
    try:
        done, _ = await asyncio.wait({task, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
            # the connect task's own end (cancelled, or failed meanwhile); a cancel of *this* task still propagates
            for outcome in await asyncio.gather(task, return_exceptions=True):
                log.debug("abandoned connect attempt ended with %r", outcome)
    if task in done and not task.cancelled():
        return task.result()
    if failed.is_set():
        raise nats.errors.NoServersError()  # the attempts' own errors (in error_cb) say why
    raise asyncio.TimeoutError()
