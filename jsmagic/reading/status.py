"""The one status rule: is a frame the server's own status, or a stored message?

The server ends a pull request or a batched direct get with a status message (``Status``
404, 408, 409, 503, 204 or a 100 heartbeat, with a ``Description``), but a stored message may
carry a header named ``Status`` too: an HTTP response kept in a stream, say.  The header
alone never decides.  The frame does:

* a consumer delivers a stored message with an ack subject as its reply (``$JS.ACK…``);
  its own statuses have none (flow control has a reply, but not an ack subject);
* a direct get answers a stored message with ``Nats-Stream`` and ``Nats-Sequence``
  headers; its statuses (404, 204 end of batch, 408) carry neither.

Every reader asks :func:`server_status` (the wire reader, the nats-py puller, direct gets,
the ordered push reader, scans and priority-group pulls).
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

from .acks import ACK_HEAD, ACK_HEAD_BYTES

STORED = ("Nats-Stream", "Nats-Sequence")  # the headers a direct get adds to a stored message


@dataclasses.dataclass
class Status:
    """A status the server itself sent: code (``"408"``), description and all its headers."""

    code: str
    description: str
    headers: dict


def server_status(reply: str | bytes | None, headers: Mapping[str, str] | None) -> Status | None:
    """The server's own status carried by this frame, or None when it is a stored message.

    ``reply`` is the frame's reply subject, ``headers`` its headers as nats-py gives them (a
    status line ``NATS/1.0 404 No Messages`` as ``Status``/``Description``).
    """
    if reply and reply.startswith(ACK_HEAD if type(reply) is str else ACK_HEAD_BYTES):  # is_ack, inlined: per message
        return None
    h = headers or {}
    if all(k in h for k in STORED):
        return None
    return Status(h.get("Status", ""), h.get("Description", ""), dict(h))
