"""Back up and restore a stream exactly, in natscli's format (``nats stream backup/restore``).

A backup is a directory with two files, as natscli writes them:

- ``backup.json``: ``{"config": ..., "state": ...}``, the stream's configuration and state
  (JSON as the server reports it);
- ``stream.arc.s2`` (server 2.15+) or ``stream.tar.s2`` (older servers): the server's own
  snapshot of the stream, S2-compressed, of its message blocks and, unless
  ``consumers=False``, its durable consumers' state.  A 2.15 server sends its new archive
  format (it starts with ``NATSARC``) where older ones sent a tar; natscli (jsm.go) names the
  file by what the data is, and so does :func:`backup`.  :func:`restore` takes either name
  (the server reads both formats; the bytes are sent back as they are).

The server writes and reads the snapshot (``STREAM.SNAPSHOT`` / ``STREAM.RESTORE``), so a
restore is exact: the same sequences (gaps from deleted messages included), subjects,
headers, timestamps, ``first_seq``/``last_seq`` and consumers with their ack floors.
Chunks are acknowledged one by one (the server's flow control); both directions report
bytes to ``progress(done, total)`` and stop cleanly on an interrupt: a half-written backup
is removed, a half-sent restore is abandoned (the server creates the stream only at the end).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable

import nats.errors

from ..core.context import JSContext
from ..core.errors import InputError, JSMagicError
from ..core.registry import connected
from ..core.runner import check_cancelled
from .streams import stream_names
from .topology import raw_info

META, DATA, LEGACY_DATA = "backup.json", "stream.arc.s2", "stream.tar.s2"
ARCHIVE_MAGIC = b"NATSARC"  # how the 2.15 snapshot archive starts (uncompressed), where a tar starts with a file name
CHUNK = 128 * 1024
Progress = Callable[[float, float | None], None] | None


@dataclasses.dataclass
class Backup:
    """What a backup or restore moved: the stream, its directory, message count, last sequence, bytes."""

    stream: str
    directory: str
    messages: int
    last_seq: int
    bytes: int
    consumers: int
    data_file: str = DATA  # stream.arc.s2 (the 2.15 archive) or stream.tar.s2 (a tar, older servers)

    @property
    def format(self) -> str:
        """What the snapshot file holds: the server's 2.15+ snapshot archive, or a tar from an older server."""
        return "snapshot archive, server 2.15+" if self.data_file == DATA else "tar snapshot, servers before 2.15"

    @property
    def snapshot(self) -> str:
        """The snapshot file and its format: ``…/stream.arc.s2 (snapshot archive, server 2.15+)``."""
        return f"{Path(self.directory) / self.data_file} ({self.format})"

    def __repr__(self) -> str:
        fields = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self))
        return f"Backup({fields}, format={self.format!r})"


async def backup(stream: str, directory: str, consumers: bool = True, progress: Progress = None,
                 *, ctx: JSContext | None = None) -> Backup:
    """``%js_stream backup STREAM DIR``: the server's snapshot and the config, in natscli's layout."""
    ctx = await connected(ctx)
    await raw_info(stream, ctx=ctx)  # a "did you mean" for a typo, before any file is made
    target = Path(directory).expanduser()
    if any((target / f).exists() for f in (META, DATA, LEGACY_DATA)):
        raise InputError(f"{target} already holds a backup", hint="give an empty or new directory")
    target.mkdir(parents=True, exist_ok=True)
    inbox = ctx.nc.new_inbox()
    sub = await ctx.nc.subscribe(inbox, pending_msgs_limit=-1, pending_bytes_limit=-1)
    part = target / "stream.s2.part"
    got, first = 0, b""
    try:
        meta = await ctx.api.request(f"STREAM.SNAPSHOT.{stream}", {
            "deliver_subject": inbox, "no_consumers": not consumers, "chunk_size": CHUNK, "jsck": False})
        total = meta.get("state", {}).get("bytes")
        with part.open("wb") as out:
            while True:
                check_cancelled()
                try:
                    msg = await sub.next_msg(timeout=max(ctx.api.timeout, 10))
                except nats.errors.TimeoutError:
                    raise JSMagicError(f"the server stopped sending the snapshot of {stream} "
                                       f"after {got:,} bytes", hint="try again; nothing was kept") from None
                if not msg.data:
                    _check_status(msg, stream)
                    break
                out.write(msg.data)
                first = first or msg.data
                got += len(msg.data)
                if msg.reply:
                    await ctx.nc.publish(msg.reply, b"")
                if progress is not None:
                    progress(got, total)
        name = DATA if is_archive(first) else LEGACY_DATA
        part.replace(target / name)
        (target / META).write_text(json.dumps({"config": meta["config"], "state": meta["state"]}, indent=2))
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        await sub.unsubscribe()
    return dataclasses.replace(_summary(meta, str(target)), data_file=name)


def is_archive(head: bytes) -> bool:
    """Whether an S2 stream's first bytes hold the 2.15 snapshot archive (``NATSARC…``), not a tar.

    The first chunk after the stream identifier is either stored (type 1) or compressed
    (type 0); a compressed block can only start with a literal (nothing precedes it to copy
    from), so the archive's first bytes are readable without an S2 decoder.
    """
    if not head.startswith(b"\xff\x06\x00\x00S2sTwO") or len(head) < 18:
        return False
    kind, body = head[10], head[18:]  # chunk type, 3-byte length, 4-byte CRC
    if kind == 0x01:
        return body.startswith(ARCHIVE_MAGIC)
    if kind != 0x00:
        return False
    pos = 0
    while pos < len(body) and body[pos] & 0x80:  # the block's uncompressed length (a varint)
        pos += 1
    pos += 1
    if pos >= len(body) or body[pos] & 0x03:  # not a literal
        return False
    size, pos = body[pos] >> 2, pos + 1
    if size >= 60:  # the literal's length follows in size-59 bytes
        extra = size - 59
        size, pos = int.from_bytes(body[pos:pos + extra], "little"), pos + extra
    return body[pos:pos + size + 1].startswith(ARCHIVE_MAGIC)


def _check_status(msg: Any, stream: str) -> None:
    """The empty end-of-snapshot message: a status other than 204 is the server's error."""
    headers = msg.headers or {}
    status = headers.get("Status")
    if status and status != "204":
        raise JSMagicError(f"the server failed the snapshot of {stream}: {headers.get('Description', status)}")


def _summary(meta: dict[str, Any], directory: str) -> Backup:
    state, cfg = meta.get("state") or {}, meta.get("config") or {}
    return Backup(cfg.get("name", ""), directory, state.get("messages", 0), state.get("last_seq", 0),
                  state.get("bytes", 0), state.get("consumer_count", 0))


def data_path(directory: str) -> Path:
    """A backup directory's snapshot file, under either name; a one-line error for none or both."""
    target = Path(directory).expanduser()
    found = [target / f for f in (DATA, LEGACY_DATA) if (target / f).is_file()]
    if not (target / META).is_file() or not found:
        raise InputError(f"{target} is not a stream backup (no {META} and {DATA} or {LEGACY_DATA})",
                         hint="give a directory written by %js_stream backup or nats stream backup")
    if len(found) == 2:
        raise InputError(f"{target} holds both {DATA} and {LEGACY_DATA}: which one is the backup is unclear",
                         hint="move the one that is not this backup's out of the directory")
    return found[0]


def read_backup(directory: str) -> dict[str, Any]:
    """A backup directory's ``backup.json``; a one-line error when it is no backup."""
    data_path(directory)
    return json.loads((Path(directory).expanduser() / META).read_text())


async def restore(directory: str, name: str | None = None, progress: Progress = None, subjects: list[str] | None = None,
                  *, ctx: JSContext | None = None) -> Backup:
    """``%js_stream restore DIR``: recreate the stream exactly (refused while a stream of that name exists).

    ``name``/``subjects`` restore a second copy beside the original (its subjects must not overlap).
    """
    ctx = await connected(ctx)
    meta = read_backup(directory)
    config = dict(meta["config"])
    if name:
        config["name"] = name
    if subjects:
        config["subjects"] = [x for part in subjects for x in part.replace(",", " ").split()]
    stream = config["name"]
    if stream in await stream_names(ctx=ctx):
        raise InputError(f"stream {stream} exists; a restore creates it",
                         hint=f"remove it first (%js_stream rm {stream} --force) or restore under --name NEW")
    data = data_path(directory)
    total = data.stat().st_size
    answer = await ctx.api.request(f"STREAM.RESTORE.{stream}", {"config": config, "state": meta["state"]})
    deliver = answer["deliver_subject"]
    sent = 0
    with data.open("rb") as src:
        while chunk := src.read(CHUNK):
            check_cancelled()
            reply = await ctx.nc.request(deliver, chunk, timeout=max(ctx.api.timeout, 10))
            _check_reply(reply.data, stream)
            sent += len(chunk)
            if progress is not None:
                progress(sent, total)
    final = await ctx.nc.request(deliver, b"", timeout=600)  # the server now unpacks and checks
    _check_reply(final.data, stream)
    created = json.loads(final.data)
    done = _summary({"config": created.get("config", config), "state": created.get("state", {})}, str(directory))
    return dataclasses.replace(done, data_file=data.name)


def _check_reply(data: bytes, stream: str) -> None:
    if not data:
        return
    try:
        answer = json.loads(data)
    except ValueError:
        return
    if isinstance(answer, dict) and answer.get("error"):
        err = answer["error"]
        raise JSMagicError(f"the server refused the restore of {stream}: {err.get('description', err)}")
