"""Real multi-server topologies for tests: a hub and a leaf node in two JetStream domains,
and one server whose JetStream lives in another account, imported under an API prefix.

* :func:`hub_and_leaf` — a hub server (JetStream domain ``hub``, accepting leafnodes) and
  a leaf server (JetStream domain ``leaf``) whose leafnode remote connects to the hub.
  A client on the leaf reaches the hub's JetStream with ``--domain hub``.
* :func:`imported_jetstream` — accounts ``JS`` (JetStream enabled, exports its API, acks,
  KV and object subjects) and ``APP`` (no JetStream of its own, imports them: the API
  under ``JS.API``, KV writes as ``JS.API.$KV.…``, ``$O.…`` as is).  ``topo.app_url``
  connects as APP; ``--api-prefix JS.API --inbox-prefix _INBOX_APP`` then reaches JS's
  JetStream, as with any cross-account import (push deliveries come back on the
  exported inbox prefix).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from typing import Iterator

from ..connecting.server import EmbeddedServer, free_port
from .servers import jetstream_answers


@dataclasses.dataclass
class HubLeaf:
    hub: EmbeddedServer
    leaf: EmbeddedServer


def _wait_leafnode(hub: EmbeddedServer, leaf: EmbeddedServer, timeout: float = 15.0) -> None:
    """Wait until the leaf's JetStream can reach the hub's domain (the leafnode is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if jetstream_answers(leaf.url, f"$JS.{hub.domain}.API.INFO"):
            return
        time.sleep(0.2)
    raise TimeoutError(f"leafnode {leaf.url} -> {hub.url} not up in {timeout}s: {leaf.log_tail()}")


@contextlib.contextmanager
def hub_and_leaf(hub_domain: str = "hub", leaf_domain: str = "leaf") -> Iterator[HubLeaf]:
    """A hub (domain ``hub_domain``) and a leaf (domain ``leaf_domain``) joined by a leafnode."""
    leaf_port = free_port()
    hub = EmbeddedServer(domain=hub_domain, config=f'leafnodes {{\n  listen: "127.0.0.1:{leaf_port}"\n}}\n')
    leaf = EmbeddedServer(domain=leaf_domain,
                          config=f'leafnodes {{\n  remotes: [ {{ url: "nats-leaf://127.0.0.1:{leaf_port}" }} ]\n}}\n')
    try:
        hub.start()
        leaf.start()
        _wait_leafnode(hub, leaf)
        yield HubLeaf(hub, leaf)
    finally:
        leaf.cleanup()
        hub.cleanup()


ACCOUNTS = """
accounts {
  JS: {
    jetstream: enabled
    users: [ { user: js, password: jspass } ]
    exports: [
      { service: "$JS.API.>", response_type: stream }
      { service: "$JS.ACK.>" }
      { service: "$KV.>" }
      { service: "$O.>" }
      { stream: "_INBOX_APP.>" }
    ]
  }
  APP: {
    users: [ { user: app, password: apppass } ]
    imports: [
      { service: { account: JS, subject: "$JS.API.>" }, to: "JS.API.>" }
      { service: { account: JS, subject: "$JS.ACK.>" } }
      { service: { account: JS, subject: "$KV.>" }, to: "JS.API.$KV.>" }
      { service: { account: JS, subject: "$O.>" } }
      { stream: { account: JS, subject: "_INBOX_APP.>" } }
    ]
  }
}
"""


@dataclasses.dataclass
class Imported:
    server: EmbeddedServer
    prefix: str = "JS.API"

    @property
    def js_url(self) -> str:
        """A connection to the account that owns the JetStream (to set up streams and check)."""
        return f"nats://js:jspass@{self.server.host}:{self.server.port}"

    @property
    def app_url(self) -> str:
        """A connection to the importing account (no JetStream of its own)."""
        return f"nats://app:apppass@{self.server.host}:{self.server.port}"


@contextlib.contextmanager
def imported_jetstream() -> Iterator[Imported]:
    """One server, two accounts: APP uses JS's JetStream through the ``JS.API`` prefix."""
    server = EmbeddedServer(config=ACCOUNTS)
    try:
        server.start()
        yield Imported(server)
    finally:
        server.cleanup()
