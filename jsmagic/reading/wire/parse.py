"""MSG/HMSG frames read out of a receive buffer, a whole buffer per call.

:func:`parse` walks the protocol ops in ``data`` and returns how many bytes it used
(an op cut at the end of the buffer waits for the next call) and a :class:`Frames`:
the data messages of our subscription as parallel lists (subject, reply subject,
header block, payload span), plus what else came: PINGs to answer, ``-ERR`` lines and
status messages (``100`` heartbeat, ``404``/``408``/``409`` ends of pull requests,
``503`` no responders).  Payloads are not copied here: :meth:`Frames.joined` joins their
spans into one buffer in a single C-level pass.  :func:`ack_numbers` turns all the
``$JS.ACK`` reply subjects of a batch into an int64 array with one ``np.fromstring``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ...core.errors import JSMagicError
from ..frames import SEP


class ProtocolError(Exception):
    """The server sent something that is not the NATS protocol."""


@dataclasses.dataclass
class Status:
    """A status message (no reply subject): code, description and headers."""

    code: str
    description: str
    headers: dict


@dataclasses.dataclass
class Frames:
    """What one :func:`parse` call found, in arrival order per kind."""

    subjects: list = dataclasses.field(default_factory=list)
    replies: list = dataclasses.field(default_factory=list)
    headers: list = dataclasses.field(default_factory=list)  # raw header block or None
    starts: list = dataclasses.field(default_factory=list)
    ends: list = dataclasses.field(default_factory=list)
    statuses: list = dataclasses.field(default_factory=list)
    errors: list = dataclasses.field(default_factory=list)
    pings: int = 0

    def __len__(self) -> int:
        return len(self.starts)

    def joined(self, data: bytes) -> bytes:
        """Every payload, joined with :data:`frames.SEP` (the layout of a Chunk's buffer)."""
        mv = memoryview(data)
        return SEP.join(map(mv.__getitem__, map(slice, self.starts, self.ends)))

    def sizes(self) -> np.ndarray:
        return np.subtract(self.ends, self.starts, dtype=np.int64) if self.starts else np.zeros(0, np.int64)


def parse(data: bytes, sid: bytes) -> tuple[int, Frames]:
    """Parse the complete ops at the start of ``data``; messages of other sids are skipped."""
    fr = Frames()
    subjects, replies, headers, starts, ends = fr.subjects, fr.replies, fr.headers, fr.starts, fr.ends
    find, size = data.find, len(data)
    p = 0
    while p < size:
        e = find(b"\r\n", p)
        if e < 0:
            break
        op = data[p]
        if op == 77 and data[p + 1] == 83:  # MSG <subject> <sid> [reply] <size>
            parts = data[p + 4 : e].split(b" ")
            end = e + 2 + int(parts[-1])
            if end + 2 > size:
                break
            if parts[1] == sid and len(parts) == 4:
                subjects.append(parts[0])
                replies.append(parts[2])
                headers.append(None)
                starts.append(e + 2)
                ends.append(end)
            p = end + 2
        elif op == 72:  # HMSG <subject> <sid> [reply] <header size> <total size>
            parts = data[p + 5 : e].split(b" ")
            hsize = int(parts[-2])
            end = e + 2 + int(parts[-1])
            if end + 2 > size:
                break
            if parts[1] == sid:
                if len(parts) == 5:
                    subjects.append(parts[0])
                    replies.append(parts[2])
                    headers.append(data[e + 2 : e + 2 + hsize])
                    starts.append(e + 2 + hsize)
                    ends.append(end)
                else:
                    fr.statuses.append(status(data[e + 2 : e + 2 + hsize]))
            p = end + 2
        else:
            line = data[p:e]
            if line == b"PING":
                fr.pings += 1
            elif line.startswith(b"-ERR"):
                fr.errors.append(line[4:].strip().strip(b"'").decode(errors="replace"))
            elif not (line == b"PONG" or line.startswith(b"INFO") or line == b"+OK"):
                raise ProtocolError(f"unexpected protocol line {line[:40]!r}")
            p = e + 2
    return p, fr


def status(block: bytes) -> Status:
    """``NATS/1.0 408 Request Timeout\\r\\nNats-Pending-Messages: 5\\r\\n\\r\\n`` → Status."""
    first, _, rest = block.partition(b"\r\n")
    code, _, desc = first[len(b"NATS/1.0") :].strip().partition(b" ")
    return Status(code.decode(errors="replace"), desc.strip().decode(errors="replace"), header_lines(rest))


def header_lines(raw: bytes) -> dict[str, str]:
    """``Name: Value`` lines → dict, the way nats-py reads them (last value of a name wins)."""
    out: dict[str, str] = {}
    for line in raw.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        try:
            key = name.strip().decode("ascii")
        except UnicodeDecodeError:
            continue
        if not key or any(c.isspace() for c in key):
            continue
        out[key] = value.strip().decode("utf-8", "replace")
    return out


def message_headers(block: bytes | None) -> dict[str, str] | None:
    """A data message's header block as nats-py would give it (None when empty)."""
    if block is None:
        return None
    _, _, rest = block.partition(b"\r\n")
    return header_lines(rest) or None


class AckFormat:
    """The constant head of a consumer's ``$JS.ACK`` subjects, learned from the first one."""

    def __init__(self, first: bytes) -> None:
        tokens = first.split(b".")
        self.v2 = len(tokens) >= 12  # $JS.ACK.<domain>.<account>.<stream>.<consumer>.<5 numbers>.<token>
        self.head = b".".join(tokens[: 6 if self.v2 else 4]) + b"."

    def numbers(self, replies: list[bytes]) -> np.ndarray:
        """Rows of ``delivered, stream seq, consumer seq, timestamp ns, pending`` (int64)."""
        n = len(replies)
        if not n:
            return np.zeros((0, 5), np.int64)
        if self.v2:
            cut = len(self.head)
            text = b".".join(r[cut : r.rindex(b".")] for r in replies)
        else:
            text = b" ".join(replies).replace(self.head, b"").replace(b" ", b".")
        nums = np.fromstring(text, dtype=np.int64, sep=".")
        if len(nums) != 5 * n:
            raise JSMagicError("unexpected ack subject format from the server")
        return nums.reshape(-1, 5)


class Names(dict):
    """Subject bytes → one shared str per distinct subject (``map(names.__getitem__, ...)``)."""

    def __missing__(self, key: bytes) -> str:
        if len(self) > 100_000:
            self.clear()
        value = self[key] = key.decode("utf-8", "surrogateescape")
        return value


def headers_column(blocks: list[Any]) -> list[dict | None]:
    """Header blocks → dicts (None where a message has none)."""
    if not any(blocks):
        return [None] * len(blocks)
    return [message_headers(b) for b in blocks]
