"""``--decode``: how the payloads of a chunk become Python values, one decoder per mode.

* ``auto`` (default): JSON, else UTF-8 text, else bytes, honouring a ``Content-Type``
  header as FastStream sets it (``application/json``, ``text/plain``, ``application/msgpack``,
  ``application/octet-stream``) and a ``Content-Encoding: gzip``;
* ``json`` (strict: a payload that is not JSON fails the replay), ``text``, ``bytes``;
* ``msgpack``, ``gzip`` (decompress, then ``auto``), ``protobuf:module.Message``;
* a function ``(data: bytes, headers: dict) -> dict | value`` (the magic passes the
  notebook function named by ``--decode NAME``).

A decoder returns, for a chunk, the values and the error of each payload that could not
be decoded (``None`` where it could): the frame keeps such a payload as it came, beside
its error, and never fails the replay — except under the strict ``json`` mode.
"""

from __future__ import annotations

import gzip
import importlib
from typing import Any, Callable

import orjson

from ..core.decode import decode_value
from ..core.errors import InputError
from ..core.extras import require

BUILTIN = ("auto", "json", "text", "bytes", "msgpack", "gzip")
DecodeFn = Callable[[bytes, dict], Any]
Decoded = tuple[list[Any], list[str | None]]


def describe(mode: Any) -> str:
    """The mode as the user named it (a function by its name)."""
    return mode if isinstance(mode, str) else getattr(mode, "__name__", repr(mode))


def check_mode(mode: Any) -> None:
    """Refuse an unknown mode, or a mode whose optional library is missing, before reading."""
    per_message(mode)


def per_message(mode: Any) -> DecodeFn | None:
    """The one-payload decoder of ``mode`` (None for the built-in JSON/text/bytes modes)."""
    if callable(mode):
        return mode
    if not isinstance(mode, str):
        raise InputError(f"unknown decode mode {mode!r}", hint=f"use one of {', '.join(BUILTIN)}, protobuf:module.Message or a function")
    if mode in ("auto", "json", "text", "bytes"):
        return None
    if mode == "msgpack":
        msgpack = require("msgpack", "msgpack", "--decode msgpack")
        return lambda data, headers: msgpack.unpackb(data, raw=False, strict_map_key=False)
    if mode == "gzip":
        return lambda data, headers: by_content_type(gzip.decompress(data), headers)
    if mode.startswith("protobuf:"):
        return _protobuf(mode.split(":", 1)[1])
    raise InputError(f"unknown decode mode {mode!r}",
                     hint=f"use one of {', '.join(BUILTIN)}, protobuf:module.Message or the name of a function")


def _protobuf(path: str) -> DecodeFn:
    """``protobuf:pkg.mod.Message`` → parse with that class, then a dict (field names as in the .proto)."""
    json_format = require("google.protobuf.json_format", "protobuf", "--decode protobuf:")
    mod_name, _, cls_name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(mod_name), cls_name)
    except (ImportError, AttributeError, ValueError):
        raise InputError(f"cannot import protobuf message class {path!r}",
                         hint="give module.Message, importable in this kernel (e.g. protobuf:orders_pb2.Order)") from None

    def decode(data: bytes, headers: dict) -> Any:
        return json_format.MessageToDict(cls.FromString(data), preserving_proto_field_name=True)

    return decode


def content_type(headers: dict | None) -> str | None:
    """The ``Content-Type`` header's media type, lower case (any header case, as FastStream sends it)."""
    if not headers:
        return None
    for k, v in headers.items():
        if k.lower() == "content-type" and v:
            return str(v).split(";", 1)[0].strip().lower()
    return None


def _gzipped(headers: dict | None) -> bool:
    return bool(headers) and any(k.lower() == "content-encoding" and "gzip" in str(v).lower() for k, v in headers.items())


def by_content_type(data: bytes, headers: dict | None) -> Any:
    """``auto`` for one payload: as its Content-Type (and Content-Encoding) say, else JSON/text/bytes."""
    if _gzipped(headers):
        data = gzip.decompress(data)
    ct = content_type(headers)
    if ct is None or ct.endswith("json"):
        return auto_value(data)
    if ct.startswith("text/"):
        return data.decode("utf-8", "replace")
    if ct.endswith("msgpack"):
        return per_message("msgpack")(data, headers or {})
    if ct == "application/octet-stream":
        return bytes(data)
    return auto_value(data)


def auto_value(data: bytes) -> Any:
    """JSON, else text, else bytes; a payload that starts like a JSON object or array but is not one is an error."""
    if data[:1] in (b"{", b"["):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as e:
            raise ValueError(f"not JSON: {e}") from None
    return decode_value(data, "auto")


def needs_headers(headers: list[dict | None]) -> bool:
    """Whether any message says how it is encoded (then ``auto`` decodes message by message)."""
    for h in headers:
        if h and (content_type(h) not in (None, "application/json") or _gzipped(h)):
            return True
    return False


def decode_each(payloads: list[bytes], headers: list[dict | None], fn: DecodeFn) -> Decoded:
    """Run a one-payload decoder over a chunk; a failure keeps the raw payload and its error."""
    values: list[Any] = []
    errors: list[str | None] = []
    for data, h in zip(payloads, headers):
        try:
            values.append(fn(data, h or {}))
            errors.append(None)
        except Exception as e:  # noqa: BLE001 -- any decoder's failure is kept beside its payload
            values.append(_raw(data))
            errors.append(f"{type(e).__name__}: {e}"[:300])
    return values, errors


def _raw(data: bytes) -> Any:
    """A payload that failed to decode, as readable as it can be without changing it."""
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return bytes(data)
