"""The fields of decoded payloads, aggregated message by message in bounded memory.

:class:`Aggregator` takes decoded payloads in stream order (a replay's chunks, or sampled
messages) and keeps, per field (dotted for nested objects: ``customer.id``), the JSON types
seen with their counts, nulls, a few example values, the first and last sequence and time
where it appears, and the points where it drifts: where it appears (after messages without
it), where it disappears (messages without it follow its last one) and where its type
changes (``int`` → ``str``; a null is a value, not a type change).  With ``by_subject`` each
subject is its own scope.  A timeline of fixed bins over the sequence range records which
fields (and types) each stretch of the stream holds, for the plot.

Memory does not grow with the stream: what is kept is per field (at most :data:`MAX_FIELDS`
per scope), per bin and per type, plus at most :data:`MAX_CHANGES` type changes per field
(the rest are counted).
Payloads that are not objects are counted by kind (``text``, ``bytes``, ``array``,
``scalar``, ``empty``, ``undecodable``): see :data:`KINDS`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

EXAMPLES = 3  # distinct example values kept per field
EXAMPLE_CHARS = 40  # an example longer than this is cut
MAX_CHANGES = 100  # type changes kept per field (further ones are counted in ``more_changes``)
BINS = 100  # timeline bins over the read's sequence range
MAX_FIELDS = 5_000  # fields tracked per scope (payloads keyed by ids add one per message: the rest are counted)
KINDS = ("object", "array", "scalar", "text", "bytes", "empty", "undecodable")
NON_JSON = ("text", "bytes", "undecodable")  # kinds that are not JSON values

_TYPES = {bool: "bool", int: "int", float: "float", str: "str", dict: "object", list: "array",
          type(None): "null", bytes: "bytes", bytearray: "bytes"}


def type_name(value: Any) -> str:
    """The JSON type of a decoded value: null, bool, int, float, str, object, array (bytes for msgpack)."""
    return _TYPES.get(type(value)) or type(value).__name__


def example(value: Any) -> str:
    """A short readable example of a value."""
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


@dataclasses.dataclass
class FieldStat:
    """What is known about one field in one scope (the whole read, or a subject)."""

    types: dict[str, int] = dataclasses.field(default_factory=dict)
    present: int = 0
    nulls: int = 0
    examples: list[str] = dataclasses.field(default_factory=list)
    first_seq: int = 0
    last_seq: int = 0
    first_ns: int = 0
    last_ns: int = 0
    current: str | None = None  # the last non-null type seen (a change from it is a drift point)
    changes: list[tuple] = dataclasses.field(default_factory=list)  # (seq, ns, old, new)
    more_changes: int = 0
    gone: tuple[int, int] | None = None  # (seq, ns) of the first message without it after one with it


@dataclasses.dataclass
class Scope:
    """One scope's messages: counts, the first and last object message, and the fields."""

    fields: dict[str, FieldStat] = dataclasses.field(default_factory=dict)
    objects: int = 0
    first: tuple[int, int] | None = None  # (seq, ns) of its first object payload
    last: tuple[int, int] | None = None
    previous: frozenset = frozenset()  # the fields of its previous object payload
    untracked: set = dataclasses.field(default_factory=set)  # names beyond MAX_FIELDS (up to MAX_FIELDS of them)
    untracked_seen: int = 0  # occurrences of fields beyond MAX_FIELDS
    untracked_more: bool = False  # more untracked names than the set holds


class Aggregator:
    """Per-field statistics of payloads seen in stream order (:meth:`add`), in bounded memory.

    ``by_subject``: each subject is a scope of its own; ``end_seq``: the last sequence the read
    can reach (the timeline's bins span the first sequence seen to it).
    """

    def __init__(self, by_subject: bool = False, end_seq: int | None = None, bins: int = BINS) -> None:
        self.by_subject = by_subject
        self.scopes: dict[str | None, Scope] = {}
        self.kinds: dict[str, int] = {}
        self.messages = 0
        self.first_seq: int | None = None
        self.last_seq: int | None = None
        self.end_seq, self.bins = end_seq, bins
        self.lo, self.width = 0, 1
        self.bin_messages: dict[int, int] = {}
        self.bin_times: dict[int, list[int]] = {}  # bin -> [first ns, last ns]
        self.timeline: dict[tuple[int, str, str], int] = {}  # (bin, field, type) -> messages

    def add(self, seq: int, ns: int, subject: str, value: Any, error: str | None = None, size: int = -1) -> None:
        """One message: its sequence, time (ns), subject, decoded payload and decode error."""
        self.messages += 1
        if self.first_seq is None:
            self.first_seq = self.lo = seq
            span = max((self.end_seq or seq) - seq + 1, 1)
            self.width = -(-span // self.bins)
        self.last_seq = seq
        kind = self._kind(value, error, size)
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        b = (seq - self.lo) // self.width
        self.bin_messages[b] = self.bin_messages.get(b, 0) + 1
        times = self.bin_times.get(b)
        if times is None:
            self.bin_times[b] = [ns, ns]
        else:
            times[1] = ns
        if kind != "object":
            return
        scope = self.scopes.get(subject if self.by_subject else None)
        if scope is None:
            scope = self.scopes[subject if self.by_subject else None] = Scope()
        scope.objects += 1
        if scope.first is None:
            scope.first = (seq, ns)
        scope.last = (seq, ns)
        seen: list[str] = []
        self._walk(scope, value, "", seq, ns, b, seen)
        now = frozenset(seen)
        for name in scope.previous - now:  # present in the previous message, absent here
            scope.fields[name].gone = (seq, ns)
        scope.previous = now

    @staticmethod
    def _kind(value: Any, error: str | None, size: int) -> str:
        if error is not None:
            return "undecodable"
        if size == 0:
            return "empty"
        t = type_name(value)
        if t == "object":
            return "object"
        if t == "array":
            return "array"
        if t == "str":
            return "text"
        if t == "bytes":
            return "bytes"
        return "scalar"

    def _walk(self, scope: Scope, obj: dict, prefix: str, seq: int, ns: int, b: int, seen: list[str]) -> None:
        for key, value in obj.items():
            name = f"{prefix}{key}"
            f = scope.fields.get(name)
            if f is None:
                if len(scope.fields) >= MAX_FIELDS:
                    scope.untracked_seen += 1
                    if len(scope.untracked) < MAX_FIELDS:
                        scope.untracked.add(name)
                    elif name not in scope.untracked:
                        scope.untracked_more = True
                    continue
                f = scope.fields[name] = FieldStat(first_seq=seq, first_ns=ns)
            seen.append(name)
            t = type_name(value)
            f.present += 1
            f.types[t] = f.types.get(t, 0) + 1
            f.last_seq, f.last_ns = seq, ns
            if t == "null":
                f.nulls += 1
            else:
                if f.current is not None and t != f.current:
                    if len(f.changes) < MAX_CHANGES:
                        f.changes.append((seq, ns, f.current, t))
                    else:
                        f.more_changes += 1
                f.current = t
                if t != "object" and len(f.examples) < EXAMPLES:
                    shown = example(value)
                    if shown not in f.examples:
                        f.examples.append(shown)
            key3 = (b, name, t)
            self.timeline[key3] = self.timeline.get(key3, 0) + 1
            if t == "object":
                self._walk(scope, value, name + ".", seq, ns, b, seen)
