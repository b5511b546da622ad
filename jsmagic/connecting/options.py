"""Where to connect, and with what: the line, the environment, a ``nats`` CLI context.

:func:`resolve` layers, first that sets a field wins:

1. arguments on the ``%js_connect`` line;
2. ``NATS_URL``, ``NATS_CREDS``, ``NATS_NKEY``, ``NATS_USER``, ``NATS_PASSWORD``,
   ``NATS_TOKEN``, ``NATS_CA``/``NATS_CERT``/``NATS_KEY``;
3. a ``nats`` CLI context: ``--context NAME``, else ``NATS_CONTEXT``, else the one
   selected in ``$XDG_CONFIG_HOME/nats/context.txt`` (fallback ``~/.config``).

With no URL from any layer the connection falls back to ``nats://127.0.0.1:4222`` if
something answers there, then to an embedded server (see :mod:`jsmagic.core.context`).
"""

from __future__ import annotations

import dataclasses
import logging
import json
import os
import re
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from ..core import secrets
from ..core.errors import ConfigError
from ..core.extras import require

log = logging.getLogger(__name__)


#: context-file field → our field (the natscli JSON names)
_CONTEXT_FIELDS = {
    "url": "servers",
    "user": "user",
    "password": "password",
    "token": "token",
    "creds": "creds",
    "nkey": "nkey",
    "cert": "tls_cert",
    "key": "tls_key",
    "ca": "tls_ca",
    "tls_first": "tls_first",
    "jetstream_domain": "domain",
    "jetstream_api_prefix": "api_prefix",
    "inbox_prefix": "inbox_prefix",
}

_ENV_FIELDS = {
    "NATS_URL": "servers",
    "NATS_CREDS": "creds",
    "NATS_NKEY": "nkey",
    "NATS_USER": "user",
    "NATS_PASSWORD": "password",
    "NATS_TOKEN": "token",
    "NATS_CA": "tls_ca",
    "NATS_CERT": "tls_cert",
    "NATS_KEY": "tls_key",
}

_PATH_FIELDS = ("creds", "nkey", "tls_ca", "tls_cert", "tls_key")


@dataclasses.dataclass
class ConnectOptions:
    """Everything needed to open one connection.  Its repr never shows a secret."""

    servers: list[str] = dataclasses.field(default_factory=list)
    name: str | None = None
    user: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    token: str | None = dataclasses.field(default=None, repr=False)
    creds: str | None = None
    nkey: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_first: bool = False
    domain: str | None = None
    api_prefix: str | None = None
    inbox_prefix: str | None = None
    timeout: float | None = None
    embedded: bool = False
    store: str | None = None
    #: where the servers came from: "line", "env", "context NAME", "local", "embedded"
    source: str = ""
    context_name: str | None = None

    def __post_init__(self) -> None:
        secrets.register(self.password, self.token)

    def __repr__(self) -> str:
        """The dataclass repr with URL credentials masked (passwords and tokens are already hidden)."""
        shown = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self) if f.repr
        )
        return secrets.redact(f"ConnectOptions({shown})")

    def uses_tls(self) -> bool:
        """True when any TLS option is set or a URL asks for ``tls://``."""
        return bool(self.tls_ca or self.tls_cert or self.tls_first) or any(
            s.startswith("tls://") for s in self.servers
        )

    def described(self) -> str:
        """A one-line, secret-free description: URLs masked, auth method named."""
        urls = ", ".join(secrets.mask_url(s) for s in self.servers) or "(none)"
        return f"{urls} [{self.auth_method()}]"

    def auth_method(self) -> str:
        """Which kind of credentials this connection uses (never their values)."""
        if self.creds:
            return "creds"
        if self.nkey:
            return "nkey"
        if self.token:
            return "token"
        if self.user:
            return f"user {self.user}"
        return "no auth"


def split_servers(values: Any) -> list[str]:
    """``"a,b"``, ``["a", "b,c"]`` → ``["nats://a", ...]`` (a bare host:port gets ``nats://``)."""
    if not values:
        return []
    if isinstance(values, str):
        values = [values]
    out = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if part:
                out.append(part if "://" in part else f"nats://{part}")
    return out


def expand_path(value: str | None) -> str | None:
    """Expand ``~`` and ``$VAR`` the way the nats CLI does for context-file paths."""
    if not value:
        return value
    return os.path.expanduser(os.path.expandvars(value))


def config_home(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME`` or ``~/.config``: where the nats CLI keeps contexts."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "nats"


def selected_context(env: Mapping[str, str] | None = None) -> str | None:
    """The context the nats CLI has selected (``context.txt``), if any."""
    path = config_home(env) / "context.txt"
    try:
        name = path.read_text().strip()
    except OSError as e:  # no nats CLI context selected (the usual case)
        log.debug("no nats context selected: %r", e)
        return None
    return name or None


def load_context(name: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read ``nats/context/NAME.json`` into our field names (paths expanded, secrets registered)."""
    path = config_home(env) / "context" / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.json")) if path.parent.is_dir() else []
        from ..core.errors import did_you_mean

        raise ConfigError(f"no nats context {name!r} in {path.parent}", hint=did_you_mean(name, known))
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read nats context {name!r}: {e}") from None
    secrets.register(raw.get("password"), raw.get("token"))
    out: dict[str, Any] = {}
    for key, field in _CONTEXT_FIELDS.items():
        value = raw.get(key)
        if value in (None, "", False):
            continue
        out[field] = split_servers(value) if field == "servers" else value
    for field in _PATH_FIELDS:
        if field in out:
            out[field] = expand_path(out[field])
    return out


def from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The ``NATS_*`` variables that are set, in our field names."""
    out: dict[str, Any] = {}
    for var, field in _ENV_FIELDS.items():
        value = env.get(var)
        if value:
            out[field] = split_servers(value) if field == "servers" else value
    secrets.register(out.get("password"), out.get("token"))
    for field in _PATH_FIELDS:
        if field in out:
            out[field] = expand_path(out[field])
    return out


def resolve(line: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> ConnectOptions:
    """Merge line arguments, environment and nats context into :class:`ConnectOptions`.

    ``line`` holds the ``%js_connect`` arguments that were given (``None`` = not given).
    ``source`` records where the server URLs came from, for the connection line.
    """
    env = os.environ if env is None else env
    line = {k: v for k, v in (line or {}).items() if v not in (None, [], "", False)}
    if "servers" in line:
        line["servers"] = split_servers(line["servers"])
    secrets.register(line.get("password"), line.get("token"))
    for field in _PATH_FIELDS:
        if field in line:
            line[field] = expand_path(line[field])

    env_layer = from_env(env)
    context_name = line.pop("context", None) or env.get("NATS_CONTEXT") or selected_context(env)
    context_layer = load_context(context_name, env) if context_name else {}

    merged: dict[str, Any] = {}
    sources = {}
    for label, layer in (("line", line), ("env", env_layer), (f"context {context_name}", context_layer)):
        for key, value in layer.items():
            if key not in merged:
                merged[key] = value
                sources[key] = label
    fields = {f.name for f in dataclasses.fields(ConnectOptions)}
    unknown = set(merged) - fields
    if unknown:
        raise ConfigError(f"unknown connection options: {', '.join(sorted(unknown))}")
    register_url_secrets(merged.get("servers") or [])
    opts = ConnectOptions(**merged)
    opts.context_name = context_name
    opts.source = sources.get("servers", "")
    return opts


# ---- checks before connecting ------------------------------------------------------------

_SEED_TEXT = re.compile(r"^\s*S[UOANCX][A-Z2-7]{50,}\s*$", re.MULTILINE)


def check_files(opts: ConnectOptions) -> None:
    """Name a missing or malformed creds/nkey/TLS file before trying to connect.

    nats-py reports a bad seed file as a connect failure with an unrelated message;
    here the user learns which flag is wrong.  Messages never quote file contents.
    """
    if opts.nkey and _SEED_TEXT.fullmatch(opts.nkey):
        raise ConfigError("--nkey wants the path of a file holding the seed, not the seed itself")
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
    if opts.creds:
        text = _read(opts.creds, "--creds")
        if "BEGIN NATS USER JWT" not in text or not _SEED_TEXT.search(text):
            raise ConfigError(f"--creds file {opts.creds} is not a NATS creds file (no user JWT and seed)")
    elif opts.nkey:
        if not _SEED_TEXT.search(_read(opts.nkey, "--nkey")):
            raise ConfigError(f"--nkey file {opts.nkey} holds no nkey seed (a line starting with SU...)")


def _read(path: str, flag: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError as e:
        raise ConfigError(f"cannot read {flag} file {path}: {e.strerror}") from None


def check_servers(opts: ConnectOptions) -> None:
    """Every server URL parses (a password with ``@`` or ``:`` must be %-quoted in a URL).

    Checked here because nats-py's own error quotes a fragment of the URL, which may be
    a piece of the password.
    """
    for url in opts.servers:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
            ok = bool(parts.hostname)
        except ValueError:
            ok = False
        if not ok:
            shown = url.rsplit("@", 1)[-1] if "@" in url else url
            scheme = url.split("://", 1)[0] + "://" if "://" in url else ""
            shown = f"{scheme}***@{shown}" if "@" in url else shown
            raise ConfigError(
                f"cannot read the server URL {secrets.redact(shown)}",
                hint="write nats://host:port; quote special characters of a password in a URL (@ as %40, : as %3A)",
            )
        if url.split("://", 1)[0].lower() in ("ws", "wss"):
            require("aiohttp", "websocket", "a ws:// or wss:// server URL")  # nats-py's websocket transport


def register_url_secrets(servers: list[str]) -> None:
    """Register the passwords written inside server URLs, so that they are masked everywhere."""
    for url in servers:
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        if password:
            from urllib.parse import unquote

            secrets.register(password, unquote(password))
