"""The decoder registry: stored payload bytes → Python values, the same way on every path.

Replay (``.df``, ``--where``, ``--to``), ``--follow``, ``%js_consumer next``, ``%js_kv
get/history/view/watch``, ``%js_stream get``, dead letters, schedules and counters all decode
through here, and ``--decode`` takes the same names everywhere:

* ``auto`` (default): as the message's ``Content-Type`` says (``application/json``,
  ``text/*``, ``application/msgpack``, ``application/octet-stream``, as FastStream sets
  them), else JSON, else UTF-8 text, else the bytes;
* ``json`` (strict: a payload that is not JSON fails the read), ``text`` (strict UTF-8),
  ``bytes`` (the stored bytes, untouched);
* ``msgpack``, ``protobuf:module.Message`` (a dict, field names as in the .proto);
* ``gzip``: decompress every payload, then ``auto``;
* a function ``(data: bytes, headers: dict) -> value`` (``--decode NAME``: one defined in
  the notebook), given the stored bytes and headers.

All modes but ``bytes`` and a function first decompress a payload whose ``Content-Encoding``
says gzip.  A payload that cannot be decoded is kept as stored (text if UTF-8, else bytes)
beside its error and never fails the read, except under the strict ``json`` and ``text``.
:meth:`Decoder.one` decodes one payload, :func:`decode_chunk` a replay's chunk at once (one
``orjson`` call for a chunk of JSON); :func:`encode_value` is the way back (``%js_pub``).
"""

from __future__ import annotations

import gzip
import importlib
import logging
import os
import zlib
from typing import Any, Callable

import numpy as np
import orjson
import pandas as pd

from .errors import InputError
from .extras import require

log = logging.getLogger("jsmagic.decode")

MODES = ("auto", "json", "text", "bytes", "msgpack", "gzip")
NAMES = f"{', '.join(MODES)}, protobuf:module.Message or the name of a function (data, headers) -> value"
HELP = f"how payloads are decoded: {NAMES} (default auto: as Content-Type and Content-Encoding say, else JSON/text/bytes)"
Decoded = tuple[list[Any], list[str | None]]  # a chunk's values, and each one's error (None: decoded)
DecodeFn = Callable[[bytes, dict], Any]
NO_HEADERS: dict = {}  # what a decoder gets for a message without headers (never changed)

# Between two payloads in a replay chunk's buffer: a JSON string item, random per process and
# never shown, so that the buffer is one JSON array as it stands (see json_chunk).
NONCE = "x" + os.urandom(8).hex()
SEP = b',"' + NONCE.encode() + b'",'


class NotDecodable(ValueError):
    """A payload that is not what its decoder reads (the message says what it is not)."""


# What a built-in decoder raises on a payload it cannot read (JSON, UTF-8: ValueError; gzip; a missing library)
GZIP_ERRORS = (OSError, EOFError, zlib.error)
BUILTIN_ERRORS = (ValueError, *GZIP_ERRORS, InputError)


def unknown(mode: Any) -> InputError:
    """The one error for a ``--decode`` that names nothing (the same in every magic)."""
    return InputError(f"unknown --decode {mode!r}", hint=f"use one of {NAMES}")


class Decoder:
    """One ``--decode`` mode, resolved: :meth:`one` for a payload, :meth:`many` for a list."""

    def __init__(self, kind: str, fn: DecodeFn, strict: bool = False, errors: tuple = BUILTIN_ERRORS,
                 name: str | None = None) -> None:
        self.kind, self.fn, self.strict, self.errors = kind, fn, strict, errors
        self.name = name or kind  # as the user named it (a function by its own name)

    def one(self, data: bytes | None, headers: dict | None = None, seq: int | None = None) -> tuple[Any, str | None]:
        """``(value, None)``, or ``(the payload as stored, why)`` when it cannot be decoded.

        A strict mode raises :class:`InputError` instead (naming ``seq`` when given)."""
        if data is None:
            return None, None
        try:
            return self.fn(data, headers or NO_HEADERS), None
        except self.errors as e:
            return self._failed(data, e, seq)

    def _failed(self, data: bytes, e: Exception, seq: Any) -> tuple[Any, str]:
        if self.strict:
            where = f"message seq {int(seq)}" if seq is not None else "payload"
            hint = "use --decode bytes or --decode auto" if self.kind == "text" else "use --decode auto, text or bytes"
            raise InputError(f"{where} is {why(e)}", hint=hint) from None
        return raw(data), why(e)

    def value(self, data: bytes | None, headers: dict | None = None) -> Any:
        """The decoded value of one payload (as stored when it cannot be decoded)."""
        return self.one(data, headers)[0]

    def many(self, payloads: list, headers: list, seqs: Any = None) -> Decoded:
        """Every payload of a list, message by message (:meth:`one`, inlined: a replay's slow path)."""
        fn, meant = self.fn, self.errors
        values: list[Any] = []
        errors: list[str | None] = []
        for i, data in enumerate(payloads):
            if data is None:
                v = e = None
            else:
                try:
                    v, e = fn(data, headers[i] or NO_HEADERS), None
                except meant as exc:
                    v, e = self._failed(data, exc, seqs[i] if seqs is not None else None)
            values.append(v)
            errors.append(e)
        return values, errors

    def __repr__(self) -> str:
        return f"<Decoder {self.name}>"


def decoder(mode: Any = "auto") -> Decoder:
    """The decoder of a mode (a name of :data:`MODES`, ``protobuf:module.Message`` or a function).

    Raises :class:`InputError` for an unknown mode, a protobuf class that cannot be imported or
    a missing optional library (msgpack, protobuf): before reading anything."""
    if callable(mode):
        # the user's own code: whatever it raises is kept beside the payload (the decode_error column)
        # (it gets its own copy of the headers: the frame's headers column stays as stored)
        return Decoder("function", lambda data, h: mode(data, dict(h)), errors=(Exception,),
                       name=getattr(mode, "__name__", repr(mode)))
    if not isinstance(mode, str):
        raise unknown(mode)
    if mode == "auto":
        return Decoder(mode, _auto)
    if mode == "json":
        return Decoder(mode, lambda data, h: orjson.loads(_gunzip(data, h)), strict=True)
    if mode == "text":
        return Decoder(mode, lambda data, h: _text(_gunzip(data, h)), strict=True)
    if mode == "bytes":
        return Decoder(mode, lambda data, h: bytes(data))
    if mode == "gzip":
        return Decoder(mode, lambda data, h: _by_type(gzip.decompress(data), h))
    if mode == "msgpack":
        unpack = _msgpack()
        return Decoder(mode, lambda data, h: unpack(_gunzip(data, h)))
    if mode.startswith("protobuf:"):
        parse = _protobuf(mode.split(":", 1)[1])
        return Decoder("protobuf", lambda data, h: parse(_gunzip(data, h)), name=mode)
    raise unknown(mode)


def check_mode(mode: Any) -> None:
    """Refuse an unknown mode, or one whose optional library is missing, before reading."""
    decoder(mode)


def named(name: str, namespace: dict | None = None) -> Any:
    """``--decode NAME`` as a mode: a built-in name, ``protobuf:…``, or the notebook's function ``NAME``."""
    if name in MODES or name.startswith("protobuf:"):
        check_mode(name)
        return name
    fn = (namespace or {}).get(name)
    if callable(fn):
        return fn
    raise unknown(name)


def decode_value(data: bytes | None, mode: Any = "auto", headers: dict | None = None) -> Any:
    """One payload's value under ``mode`` (``auto``: per its headers, else JSON, else text, else bytes)."""
    return decoder(mode).value(data, headers)


# ---- one payload ----------------------------------------------------------------------------
def _auto(data: bytes, headers: dict) -> Any:
    return _by_type(_gunzip(data, headers), headers) if headers else _auto_value(data)


def _by_type(data: bytes, headers: dict) -> Any:
    """``auto`` for a payload already decompressed: as its Content-Type says, else JSON/text/bytes."""
    ct = content_type(headers)
    if ct is None or ct.endswith("json"):
        return _auto_value(data)
    if ct.startswith("text/"):
        return _text(data)
    if ct.endswith("msgpack"):
        return _msgpack()(data)
    if ct == "application/octet-stream":
        return bytes(data)
    return _auto_value(data)


def _auto_value(data: bytes) -> Any:
    """JSON, else text, else bytes; a payload that starts like a JSON object or array but is not one is an error."""
    first = data[:1]
    if first in (b"{", b"["):
        return orjson.loads(data)
    if first and (first in b'"-0123456789tfn' or first.isspace()):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    try:
        return _text(data)
    except UnicodeDecodeError:
        return bytes(data)


def _text(data: bytes) -> str:
    return bytes(data).decode("utf-8")


def _gunzip(data: bytes, headers: dict) -> bytes:
    """The payload decompressed when its ``Content-Encoding`` says gzip."""
    return gzip.decompress(data) if gzipped(headers) else data


def _msgpack() -> Callable[[bytes], Any]:
    msgpack = require("msgpack", "msgpack", "--decode msgpack")

    def unpack(data: bytes) -> Any:
        try:
            return msgpack.unpackb(data, raw=False, strict_map_key=False)
        except (msgpack.UnpackException, ValueError, TypeError) as e:  # TypeError: a map key Python cannot hash
            raise NotDecodable(f"not msgpack ({type(e).__name__}{f': {e}' if str(e) else ''})") from None

    return unpack


def _protobuf(path: str) -> Callable[[bytes], Any]:
    """``protobuf:pkg.mod.Message`` → parse with that class, then a dict (field names as in the .proto)."""
    json_format = require("google.protobuf.json_format", "protobuf", "--decode protobuf:")
    message = require("google.protobuf.message", "protobuf", "--decode protobuf:")
    mod_name, _, cls_name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(mod_name), cls_name)
    except (ImportError, AttributeError, ValueError):
        raise InputError(f"cannot import protobuf message class {path!r}",
                         hint="give module.Message, importable in this kernel (e.g. protobuf:orders_pb2.Order)") from None

    def parse(data: bytes) -> Any:
        try:
            return json_format.MessageToDict(cls.FromString(data), preserving_proto_field_name=True)
        except message.DecodeError as e:
            raise NotDecodable(f"not a protobuf {path} ({e})") from None

    return parse


def why(e: BaseException) -> str:
    """Why a payload could not be decoded, in one short line."""
    if isinstance(e, orjson.JSONDecodeError):
        text = f"not JSON ({e})"
    elif isinstance(e, UnicodeDecodeError):
        text = f"not UTF-8 text ({e.reason} at byte {e.start})"
    elif isinstance(e, NotDecodable):
        text = str(e)
    elif isinstance(e, GZIP_ERRORS):
        text = f"not gzip ({type(e).__name__}: {e})"
    else:
        text = f"{type(e).__name__}: {e}"
    return text[:300]


def raw(data: bytes) -> Any:
    """A payload that failed to decode, as readable as it can be without changing it."""
    try:
        return _text(data)
    except UnicodeDecodeError:
        return bytes(data)


def content_type(headers: dict | None) -> str | None:
    """The ``Content-Type`` header's media type, lower case (any header case, as FastStream sends it)."""
    if not headers:
        return None
    for k, v in headers.items():
        if k.lower() == "content-type" and v:
            return str(v).split(";", 1)[0].strip().lower()
    return None


def gzipped(headers: dict | None) -> bool:
    """Whether ``Content-Encoding`` says the payload is gzip-compressed."""
    return bool(headers) and any(k.lower() == "content-encoding" and "gzip" in str(v).lower() for k, v in headers.items())


def any_gzipped(headers: list[dict | None]) -> bool:
    """Whether any message of a list is gzip-compressed (``Content-Encoding``)."""
    return headers.count(None) != len(headers) and any(gzipped(h) for h in headers if h)


def needs_headers(headers: list[dict | None]) -> bool:
    """Whether any message says how it is encoded (then ``auto`` decodes message by message)."""
    if headers.count(None) == len(headers):
        return False
    return any(h and (content_type(h) not in (None, "application/json") or gzipped(h)) for h in headers)


# ---- a replay chunk at once -----------------------------------------------------------------
def decode_chunk(chunk: Any, mode: Any) -> Decoded:
    """Values (and errors) of a replay chunk's payloads under ``mode``: one call for a chunk of JSON.

    ``chunk``: ``len()``, ``.seq``, ``.headers``, ``.payloads()``, ``.payload(i)``, ``.buf`` (see
    :class:`jsmagic.reading.frames.Chunk`)."""
    dec = decoder(mode)
    n = len(chunk)
    if dec.kind == "bytes":
        return chunk.payloads(), [None] * n
    if dec.kind == "json" and not any_gzipped(chunk.headers):
        return json_chunk(chunk, strict=True), [None] * n
    if dec.kind == "text" and not any_gzipped(chunk.headers):
        payloads = chunk.payloads()
        try:
            return [p.decode("utf-8") for p in payloads], [None] * n
        except UnicodeDecodeError:
            return dec.many(payloads, chunk.headers, chunk.seq)  # raises, naming the message
    if dec.kind == "auto" and not needs_headers(chunk.headers):
        values = json_chunk(chunk, strict=False)
        if values is not None:
            return values, [None] * n
    return dec.many(chunk.payloads(), chunk.headers, chunk.seq)


def view_values(chunk: Any, mode: Any, start: int = 0) -> list[Any]:
    """The payloads of ``chunk[start:]`` decoded for a live view (the ``--follow`` table), as ``.df`` decodes them.

    A payload a strict mode refuses is shown as stored (reading ``.df`` raises the error)."""
    dec = decoder(mode)
    out = []
    for i in range(start, len(chunk)):
        data = chunk.payload(i)
        try:
            out.append(dec.one(data, chunk.headers[i], chunk.seq[i])[0])
        except InputError as e:
            log.info("live view: %s; shown as stored", e)
            out.append(raw(data))
    return out


def json_chunk(chunk: Any, strict: bool) -> list[Any] | None:
    """All payloads of a chunk as JSON values in one orjson call; None (``strict``: an error) if one is not JSON.

    The buffer holds a random string between payloads (:data:`SEP`): ``[`` + buffer + ``]`` is
    one document, ``[p1,"nonce",p2,...]``.  Without it neighbours could merge or split (``1,2``
    beside an empty payload, an unterminated ``"a``).  The nonce occurs only at the n-1
    separators, so 2n-1 items with the nonce at every odd place prove that each payload parsed
    as exactly one JSON value (an empty payload is a parse error), with C-level checks only.
    """
    n = len(chunk)
    if not n:
        return []
    if chunk.buf.count(SEP) == n - 1:  # no payload contains the separator itself
        try:
            wrapped = orjson.loads(b"[" + chunk.buf + b"]")
        except orjson.JSONDecodeError:
            wrapped = None
        if wrapped is not None and len(wrapped) == 2 * n - 1 and wrapped[1::2].count(NONCE) == n - 1:
            return wrapped[::2]
    out, i = [], 0
    try:  # some payload is not JSON (or holds the separator): one at a time, up to the first that is not
        for i in range(n):
            out.append(orjson.loads(chunk.payload(i)))
    except orjson.JSONDecodeError:
        if strict:  # the strict json error, naming that message
            decoder("json").one(chunk.payload(i), None, chunk.seq[i])
        return None
    return out


# ---- the way back, and a column of values ---------------------------------------------------
def encode_value(value: Any) -> bytes:
    """A Python value as a payload: bytes as is, str as UTF-8, anything else as JSON."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    try:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    except TypeError as e:
        raise InputError(f"cannot encode {type(value).__name__} as JSON: {e}") from None


def with_errors(df: pd.DataFrame, errors: list[str | None]) -> pd.DataFrame:
    """``df`` with a ``decode_error`` column when a payload could not be decoded (as a replay shows it)."""
    if errors.count(None) != len(errors):
        df["decode_error"] = pd.Series(errors, index=df.index, dtype=object)
    return df


def value_column(values: list) -> pd.Series:
    """Decoded values as one column, each value kept as decoded.

    Dicts and lists stay whole (numpy would try to broadcast them), and a JSON ``null``
    stays ``None``: pandas 3 infers a "str" column for text mixed with None and would
    show that null as NaN, so such a column is kept as objects.
    """
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return pd.Series(out, dtype=object if any(v is None for v in values) else None)
