"""What a server says of itself: its INFO greeting, and a name a person can read."""

from __future__ import annotations

from typing import Any


async def greeting(nc: Any, timeout: float) -> dict[str, Any]:
    """The INFO the connected server greets with (read on a side socket: nats-py keeps its copy private)."""
    from ..connecting.connection import read_info

    url = nc.connected_url
    if url is None:
        return {}
    return await read_info(f"{url.scheme}://{url.hostname}:{url.port}", timeout) or {}


def server_label(info: dict, url: str | None = None) -> str:
    """What to call a server: its ``server_name`` if one was set, else the host:port connected to.

    A plain nats-server without a name reports its 56-character id as its name: no one can read that.
    """
    name = info.get("server_name") or ""
    if name and name != info.get("server_id"):
        return name
    if url:
        from urllib.parse import urlsplit

        parts = urlsplit(url if "://" in url else f"nats://{url}")
        if parts.hostname:
            return f"{parts.hostname}:{parts.port or 4222}"
    return name[:12] + "…" if len(name) > 12 else name or "?"
