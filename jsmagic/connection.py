"""Open one nats-py connection from :class:`~jsmagic.options.ConnectOptions`, failing clearly.

nats-py's defaults do not suit a notebook: the initial connect can retry for a long
time, and its default error callback prints a traceback per attempt into the cell.
Here the first connect tries each server twice, quickly; every error is recorded
quietly and turned into one jsmagic error (no server / auth / TLS / timeout).  Once
connected, reconnects are unlimited, because a kernel lives for hours.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from typing import Any, Callable

import nats
import nats.errors

from . import secrets
from .errors import AuthError, ConfigError, ConnectError, JSMagicError, TLSError
from .options import ConnectOptions

LOCAL_URL = "nats://127.0.0.1:4222"


def local_server_answers(host: str = "127.0.0.1", port: int = 4222, timeout: float = 0.3) -> bool:
    """True if a NATS server greets us on ``host:port`` (the CLI's default address)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            return s.recv(4) == b"INFO"
    except OSError:
        return False


def _check_files(opts: ConnectOptions) -> None:
    """Name a missing creds/nkey/TLS file before trying to connect."""
    for flag, path in (
        ("--creds", opts.creds),
        ("--nkey", opts.nkey),
        ("--tls-ca", opts.tls_ca),
        ("--tls-cert", opts.tls_cert),
        ("--tls-key", opts.tls_key),
    ):
        if path and not os.path.isfile(path):
            raise ConfigError(f"{flag} file not found: {path}")
    if bool(opts.tls_cert) != bool(opts.tls_key):
        raise ConfigError("--tls-cert and --tls-key go together")


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


def connect_kwargs(opts: ConnectOptions, timeout: float) -> dict[str, Any]:
    """The keyword arguments for ``nats.connect`` (without callbacks)."""
    kwargs: dict[str, Any] = dict(
        servers=opts.servers,
        name=opts.name or "jsmagic",
        connect_timeout=max(1, int(round(timeout))),
        max_reconnect_attempts=1,  # first connect: each server twice (widened after)
        reconnect_time_wait=0.2,
        allow_reconnect=True,
    )
    if opts.user:
        kwargs["user"] = opts.user
        kwargs["password"] = opts.password or ""
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


def classify(errors: list[BaseException], final: BaseException, opts: ConnectOptions) -> JSMagicError:
    """Turn what nats-py reported while connecting into one clear jsmagic error."""
    where = ", ".join(secrets.mask_url(s) for s in opts.servers)
    seen = [*errors, final]
    text = " ".join(f"{type(e).__name__} {e}" for e in seen).lower()
    if any(isinstance(e, nats.errors.AuthorizationError) for e in seen) or "authorization" in text:
        return AuthError(f"authorization violation at {where}")
    for e in seen:
        if isinstance(e, ssl.SSLError) or isinstance(
            e, (nats.errors.SecureConnFailedError, nats.errors.SecureConnRequiredError, nats.errors.SecureConnWantedError)
        ):
            reason = getattr(e, "reason", None) or type(e).__name__
            if isinstance(e, nats.errors.SecureConnRequiredError):
                return TLSError(f"server at {where} requires TLS", hint="connect with --tls-ca (and --tls-cert/--tls-key)")
            if isinstance(e, nats.errors.SecureConnWantedError):
                return TLSError(f"server at {where} does not offer TLS", hint="drop the TLS options")
            return TLSError(f"TLS handshake with {where} failed: {reason}")
    if "certificate" in text or "ssl" in text:
        return TLSError(f"TLS handshake with {where} failed")
    if any(isinstance(e, ConnectionRefusedError) for e in seen) or "refused" in text:
        return ConnectError(f"no NATS server at {where} (connection refused)")
    if any(isinstance(e, (asyncio.TimeoutError, TimeoutError)) for e in seen):
        return ConnectError(f"no answer from {where} (timed out)")
    last = errors[-1] if errors else final
    return ConnectError(f"cannot connect to {where}: {type(last).__name__} {last}".strip())


async def open_connection(
    opts: ConnectOptions,
    timeout: float,
    on_error: Callable[[BaseException], None],
    on_disconnect: Callable[[], None],
    on_reconnect: Callable[[], None],
    on_close: Callable[[], None],
) -> nats.NATS:
    """Connect with ``opts``; raise a jsmagic error naming the cause when that fails."""
    _check_files(opts)
    kwargs = connect_kwargs(opts, timeout)
    attempt_errors: list[BaseException] = []
    connected = False

    async def error_cb(e: BaseException) -> None:
        if connected:
            on_error(e)
        else:
            attempt_errors.append(e)

    async def disconnected_cb() -> None:
        if connected:
            on_disconnect()

    async def reconnected_cb() -> None:
        on_reconnect()

    async def closed_cb() -> None:
        if connected:
            on_close()

    try:
        nc = await asyncio.wait_for(
            nats.connect(
                error_cb=error_cb,
                disconnected_cb=disconnected_cb,
                reconnected_cb=reconnected_cb,
                closed_cb=closed_cb,
                **kwargs,
            ),
            timeout=timeout * 2 + 2 * len(opts.servers),
        )
    except JSMagicError:
        raise
    except Exception as e:  # nats-py raises many kinds; we classify them all
        raise classify(attempt_errors, e, opts) from None
    connected = True
    # a kernel lives for hours: once in, keep reconnecting through server restarts
    nc.options["max_reconnect_attempts"] = -1
    nc.options["reconnect_time_wait"] = 1
    return nc
