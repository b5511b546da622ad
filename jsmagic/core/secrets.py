"""Keep secrets out of everything a notebook shows.

Every password, token, nkey seed and creds file content that jsmagic handles is
registered here the moment it is read, and every message jsmagic renders passes
through :func:`redact`.  Registering at the source means that an error raised
deep inside nats-py (which may quote a URL with credentials) is still masked.
"""

from __future__ import annotations

import re
import threading

MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()

# user:password@ in any URL-like text (nats://, tls://, ws://...)
# userinfo runs to the LAST "@" of the URL: a password may hold "@", ":" and "/" (a mis-typed URL still masks)
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^\s'\"<>]+)@(?=[^\s'\"<>@]*(?:[\s'\"<>]|$))")
# nkey seeds (S + type letter + base32) and user JWTs inside creds files
_SEED = re.compile(r"\bS[UOANCX][A-Z2-7]{50,}\b")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def register(*values: str | bytes | None) -> None:
    """Remember secret values so that :func:`redact` masks them wherever they appear."""
    with _lock:
        for value in values:
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            if value and len(value) >= 3:
                _secrets.add(value)
                # a secret also travels URL-quoted inside URLs
                from urllib.parse import quote

                _secrets.add(quote(value, safe=""))


def redact(text: object) -> str:
    """Return ``str(text)`` with registered secrets, URL credentials, seeds and JWTs masked."""
    out = str(text)
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in out:
            out = out.replace(secret, MASK)
    out = _URL_USERINFO.sub(_mask_userinfo, out)
    out = _SEED.sub(MASK, out)
    return _JWT.sub(MASK, out)


def _mask_userinfo(match: re.Match) -> str:
    """Keep the user name of ``user:password@`` (it helps to know who), mask the rest."""
    userinfo = match.group("userinfo")
    user, sep, _ = userinfo.partition(":")
    shown = f"{user}:{MASK}" if sep else MASK
    return f"{match.group('scheme')}{shown}@"


def mask_url(url: str) -> str:
    """A URL safe to show: credentials in it are replaced by ``***`` (never raises, even on a malformed URL)."""
    scheme, sep, rest = str(url).partition("://")
    if not sep or "@" not in rest:
        return redact(str(url))
    userinfo, _, host = rest.rpartition("@")  # a password may hold "@", ":" and "/": the host follows the last "@"
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}://{f'{user}:{MASK}' if colon else MASK}@{host}"
