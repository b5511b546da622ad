"""A minimal NATS client connection for bulk reading: handshake, then raw frames.

:func:`open_wire` opens a second connection to the server the context is connected to,
with the same options (:mod:`jsmagic.connecting.options`): user/password, token, nkey
(the server's nonce signed), creds (JWT + signed nonce), TLS including ``--tls-first``,
credentials inside the URL.  After ``CONNECT``/``PING`` it only moves bytes: the
receive side is a :class:`asyncio.BufferedProtocol` that appends into one bytearray,
and :mod:`jsmagic.reading.wire.parse` reads frames out of it in bulk.  PING, INFO and
``-ERR`` that arrive later are handled by the parser's caller.

What this connection cannot serve (a websocket URL) raises :class:`Unsupported`; the
replay then falls back to the nats-py path and says so.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets as pysecrets
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from ...connecting.connection import connect_kwargs
from ...connecting.options import ConnectOptions
from ...core import secrets
from ...core.errors import ConnectError

CRLF = b"\r\n"


class Unsupported(Exception):
    """An option the bulk connection does not implement (the caller falls back)."""


class WireError(Exception):
    """The bulk connection failed or was closed (the caller resumes or reports)."""


class _Receiver(asyncio.BufferedProtocol):
    """Appends everything received into one growing bytearray; wakes the reader."""

    def __init__(self) -> None:
        self.buf = bytearray(1 << 22)
        self.start = self.end = 0
        self.total = self.seen = 0  # bytes received in all, and as of the last take()
        self.closed: BaseException | None = None
        self.arrived = asyncio.Event()
        self.transport: Any = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def get_buffer(self, sizehint: int):
        if len(self.buf) - self.end < 1 << 16:
            pending = self.end - self.start
            if pending + (1 << 17) > len(self.buf) // 2:  # mostly full: grow (a new array, no resize)
                new = bytearray(max(2 * len(self.buf), pending + (1 << 20)))
                new[:pending] = self.buf[self.start:self.end]
                self.buf = new
            else:
                self.buf[:pending] = self.buf[self.start:self.end]
            self.start, self.end = 0, pending
        return memoryview(self.buf)[self.end:]

    def buffer_updated(self, nbytes: int) -> None:
        self.end += nbytes
        self.total += nbytes
        self.arrived.set()

    def eof_received(self):
        self.closed = self.closed or WireError("the server closed the bulk connection")
        self.arrived.set()
        return False

    def connection_lost(self, exc) -> None:
        self.closed = self.closed or WireError(f"bulk connection lost: {exc}" if exc else "bulk connection closed")
        self.arrived.set()

    def take(self, limit: int | None = None) -> bytes:
        """A copy of what was received and not consumed yet (its first ``limit`` bytes at most)."""
        end = self.end if limit is None else min(self.end, self.start + limit)
        self.seen = self.total - (self.end - end)  # bytes left beyond the limit still count as new
        return bytes(self.buf[self.start:end])

    @property
    def untaken(self) -> int:
        """Bytes received that no :meth:`take` returned yet."""
        return self.total - self.seen

    def consume(self, n: int) -> None:
        self.start += n


class Wire:
    """An open bulk connection: ``write`` protocol, ``wait`` for bytes, ``take``/``consume`` them."""

    def __init__(self, rx: _Receiver, info: dict, inbox_prefix: str) -> None:
        self.rx, self.info = rx, info
        self.inbox_prefix = inbox_prefix
        self._sid = 0

    @property
    def transport(self):
        return self.rx.transport

    def new_inbox(self) -> str:
        return f"{self.inbox_prefix}.{pysecrets.token_hex(11)}"

    def subscribe(self, subject: str) -> int:
        self._sid += 1
        self.write(b"SUB %s %d\r\n" % (subject.encode(), self._sid))
        return self._sid

    def unsubscribe(self, sid: int) -> None:
        self.write(b"UNSUB %d\r\n" % sid)

    def publish(self, subject: str, payload: bytes, reply: str = "") -> None:
        head = f"PUB {subject} {reply} {len(payload)}\r\n" if reply else f"PUB {subject} {len(payload)}\r\n"
        self.write(head.encode() + payload + CRLF)

    def write(self, data: bytes) -> None:
        if self.rx.closed is None and (self.transport is None or self.transport.is_closing()):
            # a reset (a slow consumer cut) closes the transport before connection_lost runs
            self.rx.closed = WireError("bulk connection closed")
        if self.rx.closed is not None:
            raise self.rx.closed
        self.transport.write(data)

    async def wait(self, timeout: float | None) -> bool:
        """Wait for new bytes (or the close); False on timeout."""
        self.rx.arrived.clear()
        if self.rx.total > self.rx.seen or self.rx.closed is not None:
            return True
        try:
            async with asyncio.timeout(timeout):
                await self.rx.arrived.wait()
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        """Close the socket and drop the receive buffer now (a replay runs with the garbage collector off,
        and the protocol/transport cycle would keep megabytes alive while the frame is built)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
        self.rx.buf = bytearray()
        self.rx.start = self.rx.end = 0


def _target(url: Any) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL string or nats-py's parsed URL."""
    parts = urlsplit(url) if isinstance(url, str) else url
    scheme = (parts.scheme or "nats").lower()
    if scheme in ("ws", "wss"):
        raise Unsupported("connected over websocket, which it does not speak")
    return scheme, parts.hostname or "127.0.0.1", parts.port or 4222


def _url_auth(servers: list[str]) -> dict[str, str]:
    """Credentials written inside a server URL (``nats://user:pw@host`` or ``nats://token@host``)."""
    for url in servers:
        parts = urlsplit(url)
        if parts.username:
            if parts.password is not None:
                return {"user": unquote(parts.username), "pass": unquote(parts.password)}
            return {"auth_token": unquote(parts.username)}
    return {}


_JWT = re.compile(rb"-----BEGIN NATS USER JWT-----\s*\n(.+?)\n\s*-+END NATS USER JWT-+", re.S)
_SEED = re.compile(rb"(S[UOANCX][A-Z2-7]{50,})")


def _sign(seed: bytes, nonce: str) -> str:
    import nkeys

    kp = nkeys.from_seed(bytearray(seed))
    try:
        return base64.urlsafe_b64encode(kp.sign(nonce.encode())).rstrip(b"=").decode()
    finally:
        kp.wipe()


def connect_fields(opts: ConnectOptions, kw: dict[str, Any], info: dict) -> dict[str, Any]:
    """The auth part of CONNECT, from the same resolved options nats-py was given."""
    out: dict[str, Any] = {}
    if kw.get("user"):
        out.update(user=kw["user"], **{"pass": kw.get("password", "")})
    elif kw.get("token"):
        out["auth_token"] = kw["token"]
    else:
        out.update(_url_auth(kw["servers"]))
    nonce = info.get("nonce", "")
    if kw.get("user_credentials"):
        with open(kw["user_credentials"], "rb") as f:
            text = f.read()
        jwt, seed = _JWT.search(text), _SEED.search(text)
        if jwt is None or seed is None:
            raise ConnectError(f"--creds file {kw['user_credentials']} is not a NATS creds file")
        out["jwt"] = jwt.group(1).strip().decode()
        if nonce:
            out["sig"] = _sign(seed.group(1), nonce)
    elif kw.get("nkeys_seed"):
        import nkeys

        with open(kw["nkeys_seed"], "rb") as f:
            seed = _SEED.search(f.read())
        if seed is None:
            raise ConnectError(f"--nkey file {kw['nkeys_seed']} holds no nkey seed")
        kp = nkeys.from_seed(bytearray(seed.group(1)))
        out["nkey"] = kp.public_key.decode()
        kp.wipe()
        if nonce:
            out["sig"] = _sign(seed.group(1), nonce)
    return out


async def _line(rx: _Receiver, timeout: float) -> bytes:
    """One protocol line during the handshake."""
    async with asyncio.timeout(timeout):
        while True:
            i = rx.buf.find(CRLF, rx.start, rx.end)
            if i >= 0:
                line = bytes(rx.buf[rx.start:i])
                rx.consume(i + 2 - rx.start)
                return line
            if rx.closed is not None:
                raise rx.closed
            rx.arrived.clear()
            await rx.arrived.wait()


async def open_wire(opts: ConnectOptions, url: Any, timeout: float, name: str = "jsmagic bulk") -> Wire:
    """Connect to ``url`` (the server the context is on) with ``opts``; raise WireError/Unsupported."""
    scheme, host, port = _target(url)
    kw = connect_kwargs(opts, timeout)
    tls = kw.get("tls")
    if scheme == "tls" and tls is None:
        import ssl

        tls = ssl.create_default_context()
    loop = asyncio.get_running_loop()
    rx = _Receiver()
    first = tls is not None and bool(opts.tls_first)
    try:
        async with asyncio.timeout(timeout):
            transport, _ = await loop.create_connection(
                lambda: rx, host, port, **({"ssl": tls, "server_hostname": host} if first else {}))
        line = await _line(rx, timeout)
        if not line.startswith(b"INFO "):
            raise WireError("the server did not greet with INFO")
        info = orjson.loads(line[5:])
        if not first and (info.get("tls_required") or tls is not None):
            if tls is None:
                import ssl

                tls = ssl.create_default_context()
            async with asyncio.timeout(timeout):
                rx.transport = await loop.start_tls(transport, rx, tls, server_hostname=host)
        connect = {"verbose": False, "pedantic": False, "tls_required": tls is not None, "name": name,
                   "lang": "python3", "version": "jsmagic", "protocol": 1, "headers": True, "no_responders": True,
                   **connect_fields(opts, kw, info)}
        rx.transport.write(b"CONNECT " + orjson.dumps(connect) + b"\r\nPING\r\n")
        while True:
            line = await _line(rx, timeout)
            if line == b"PONG":
                break
            if line.startswith(b"-ERR"):
                raise WireError(secrets.redact(f"the server refused the bulk connection: {line[5:].decode(errors='replace')}"))
    except BaseException as e:
        if rx.transport is not None:
            rx.transport.close()
        if isinstance(e, (OSError, TimeoutError)):
            raise WireError(f"cannot open the bulk connection: {type(e).__name__}") from None
        raise
    return Wire(rx, info, kw.get("inbox_prefix") or "_INBOX")
