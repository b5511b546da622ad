"""Shared fixtures: real nats-servers from the wheel, an IPython shell, a real kernel."""

from __future__ import annotations

import asyncio
import os

import pytest

from jsmagic.testing import KernelSession, close_shell, nats_server, testing_shell


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory, monkeypatch):
    """No user's nats contexts, NATS_* variables or local server leak into a test."""
    cfg = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(cfg))
    for var in list(os.environ):
        if var.startswith("NATS_"):
            monkeypatch.delenv(var)
    from jsmagic.core.config import JSMagic, use_settings

    use_settings(JSMagic(probe_local=False))  # a server on the developer's 127.0.0.1:4222 must not matter
    yield


@pytest.fixture(scope="session")
def server():
    """One JetStream server for the whole session (tests use their own stream names)."""
    with nats_server() as s:
        yield s


@pytest.fixture
def fresh_server():
    """A JetStream server of this test's own, for tests where server state matters."""
    with nats_server() as s:
        yield s


@pytest.fixture
def shell(server):
    """An IPython shell with jsmagic loaded and connected to the session server.

    Torn down by closing it (:func:`jsmagic.testing.close_shell`): the extension unloaded,
    which closes the context, and the shell released now instead of at the process's exit.
    """
    sh = testing_shell(probe_local=False)
    sh.run_line_magic("js_connect", server.url)
    yield sh
    close_shell(sh)


@pytest.fixture
def bare_shell():
    """An IPython shell with jsmagic loaded and not connected."""
    sh = testing_shell(probe_local=False)
    yield sh
    close_shell(sh)


@pytest.fixture
def kernel(tmp_path):
    """A real Jupyter kernel (isolated config dir); ``kernel.run(code)`` returns a CellResult."""
    with KernelSession.isolated(tmp_path) as k:
        yield k


@pytest.fixture
def nc(server):
    """A plain nats-py connection to the session server, as an independent client.

    Returns ``(nc, js, run)`` where ``run(coro)`` executes on the client's loop.
    """
    import nats

    loop = asyncio.new_event_loop()
    client = loop.run_until_complete(nats.connect(server.url))
    js = client.jetstream()
    yield client, js, loop.run_until_complete
    loop.run_until_complete(client.close())
    loop.close()


def open_second(url: str, alias: str = "second"):
    """A named connection to ``url`` beside the current one (not made current)."""
    from jsmagic.connecting.options import resolve
    from jsmagic.core import registry

    ctx = registry.create(alias)
    ctx.run(ctx.connect(resolve({"servers": [url]})))
    assert registry.context() is not ctx
    return ctx


def close_second(ctx) -> None:
    """Close a connection made by :func:`open_second` and forget its name."""
    from jsmagic.core import registry

    ctx.run(ctx.close())
    registry.forget(ctx.alias)


@pytest.fixture
def second(shell, fresh_server):
    """A second named connection, to a server of its own, beside the shell's current one (not made current)."""
    ctx = open_second(fresh_server.url)
    yield ctx
    close_second(ctx)
