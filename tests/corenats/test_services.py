"""``%js_svc`` against services written with nats-py's ``nats.micro``, compared with the services' own counts."""

from __future__ import annotations

import json
import uuid

import pytest
from nats import micro

from jsmagic.core.errors import NotFoundError

from .peers import Peer


@pytest.fixture
def calc(server):
    """Two instances of a calc service (endpoints add, fail) and one echo service, on a peer's loop."""
    peer = Peer(server.url)
    name = f"calc_{uuid.uuid4().hex[:6]}"
    other = f"echo_{uuid.uuid4().hex[:6]}"

    async def add(req):
        a = json.loads(req.data)
        await req.respond(json.dumps(a["a"] + a["b"]).encode())

    async def fail(req):
        raise micro.request.ServiceError("503", "always fails")  # counted as an error, answered with its code

    async def echo(req):
        await req.respond(req.data)

    async def start():
        out = []
        for _ in range(2):
            svc = await micro.add_service(peer.nc, name=name, version="1.2.3", description="adds numbers",
                                          metadata={"team": "ops"})
            await svc.add_endpoint(name="add", subject=f"{name}.add", handler=add, metadata={"unit": "int"})
            await svc.add_endpoint(name="fail", subject=f"{name}.fail", handler=fail)
            out.append(svc)
        e = await micro.add_service(peer.nc, name=other, version="0.1.0")
        await e.add_endpoint(name="echo", subject=f"{other}.echo", handler=echo)
        await peer.nc.flush()
        return out + [e]

    services = peer.call(start)
    yield name, other, services, peer

    async def stop():
        for s in services:
            await s.stop()

    peer.call(stop)
    peer.close()


def test_ls_ping_info_stats(shell, calc):
    name, other, services, peer = calc
    ls = shell.run_line_magic("js_svc", "ls --timeout 3s")
    mine = ls[ls.name.isin([name, other])].sort_values(["name", "id"])
    assert sorted(mine.id) == sorted(s.id for s in services)
    row = mine[mine.name == name].iloc[0]
    assert (row.version, row.description, row.endpoints, row.metadata) == ("1.2.3", "adds numbers", 2, {"team": "ops"})
    ping = shell.run_line_magic("js_svc", f"ping {name} --timeout 3s")
    assert sorted(ping.id) == sorted(s.id for s in services[:2]) and (ping.rtt_ms > 0).all()
    info = shell.run_line_magic("js_svc", f"info {name} --timeout 3s")
    assert len(info) == 4 and set(info.subject) == {f"{name}.add", f"{name}.fail"}
    assert set(info.queue_group) == {"q"}  # nats.micro's default queue group
    assert info[info.endpoint == "add"].metadata.tolist() == [{"unit": "int"}] * 2
    # traffic through %js_req, then the stats agree with what the services count themselves
    for _ in range(5):
        df = shell.run_line_magic("js_req", f"""{name}.add '{{"a": 2, "b": 3}}'""")
        assert df.data[0] == 5
    for _ in range(2):
        df = shell.run_line_magic("js_req", f"{name}.fail x")
        assert df.headers[0]["Nats-Service-Error-Code"] == "503"
    stats = shell.run_line_magic("js_svc", f"stats {name} --timeout 3s")
    own = {(s.id, e.name): e for s in services[:2] for e in s.stats().endpoints}
    assert len(stats) == 4
    for r in stats.itertuples():
        e = own[(r.id, r.endpoint)]
        assert (r.num_requests, r.num_errors) == (e.num_requests, e.num_errors)
    assert stats.groupby("endpoint").num_requests.sum().to_dict() == {"add": 5, "fail": 2}
    assert stats[stats.endpoint == "fail"].num_errors.sum() == 2
    assert all("always fails" in e for e in stats[stats.num_errors > 0].last_error)


def test_unknown_service_is_a_clear_error(shell, calc):
    with pytest.raises(NotFoundError, match="no service 'nosuch' answered"):
        shell.run_line_magic("js_svc", "info nosuch --timeout 0.5s")
