"""--check FILE: payloads validated against a JSON Schema, and against the AsyncAPI document real FastStream generates.

FastStream (``faststream[nats]``) declares two NATS subscribers with typed payloads, writes
its AsyncAPI document (2.6.0 and 3.0.0) and publishes the messages itself; a few messages
that break the contract go in beside them.  Which messages violate is decided independently
in the test with pydantic's strict validation of the same models, never by jsmagic.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

pytest.importorskip("faststream.nats")
pytest.importorskip("jsonschema")

from faststream.nats import NatsBroker  # noqa: E402
from faststream.specification import AsyncAPI  # noqa: E402
from pydantic import BaseModel, ValidationError  # noqa: E402

from . import drifting as d  # noqa: E402


class Order(BaseModel):
    id: int
    amount: float
    status: str


class Paid(BaseModel):
    id: int
    when: str


def _broker(url: str, name: str) -> NatsBroker:
    broker = NatsBroker(url)

    @broker.subscriber(f"{name}.orders.new")
    async def handle(order: Order) -> None:  # noqa: ARG001 - only its signature matters: the document
        return None

    @broker.subscriber(f"{name}.orders.*.paid")
    async def paid(payment: Paid) -> None:  # noqa: ARG001
        return None

    return broker


@pytest.fixture
def contract(server, nc, tmp_path):
    """A stream written by FastStream's own publisher (and some rule-breakers); the AsyncAPI files."""
    _client, js, run = nc
    name = "CHK" + uuid.uuid4().hex[:8].upper()
    run(js.add_stream(name=name, subjects=[f"{name}.>"]))
    broker = _broker(server.url, name)
    files = {}
    for version in ("2.6.0", "3.0.0"):
        path = tmp_path / f"asyncapi-{version}.json"
        path.write_text(AsyncAPI(broker, schema_version=version).to_specification().to_json())
        files[version] = path
    schema = tmp_path / "order.schema.json"
    schema.write_text(json.dumps(Order.model_json_schema()))
    files["jsonschema"] = schema

    async def publish():
        async with broker:
            for i in range(1, 21):
                await broker.publish(Order(id=i, amount=i * 1.5, status="new"), f"{name}.orders.new")
            await broker.publish({"id": 21, "amount": "a lot", "status": "new"}, f"{name}.orders.new")  # wrong type
            await broker.publish({"id": 22, "amount": 3.0}, f"{name}.orders.new")  # status missing
            for i in range(1, 6):
                await broker.publish(Paid(id=i, when="2026-12-07T10:00:00Z"), f"{name}.orders.eu.paid")
            await broker.publish({"id": "six", "when": "today"}, f"{name}.orders.us.paid")  # id not an int
            await broker.publish({"note": "nobody listens here"}, f"{name}.audit")  # no channel for it
            await broker.publish(b"\x00\xffbinary", f"{name}.orders.new")  # not JSON

    asyncio.run(publish())
    return name, files


def violating(run, js, name: str, subject_filter=None) -> set[int]:
    """Sequences whose payload the models refuse (strict pydantic), or with no model for their subject."""
    out = set()
    for seq, subject, data in d.read_plain(run, js, name):
        if subject_filter and subject != subject_filter:
            continue
        model = Order if subject.endswith(".orders.new") else Paid if subject.endswith(".paid") else None
        try:
            if model is None:
                raise ValueError("no channel")
            model.model_validate_json(data, strict=True)
        except (ValidationError, ValueError):
            out.add(seq)
    return out


@pytest.mark.parametrize("version", ["2.6.0", "3.0.0"])
def test_asyncapi_of_faststream(shell, nc, contract, version):
    _client, js, run = nc
    name, files = contract
    s = shell.run_line_magic("js_stream", f"schema {name} --check {files[version]}")
    expected = violating(run, js, name)
    assert len(expected) == 5
    assert set(s.violations["seq"].astype(int)) == expected
    assert s.violating == 5 and s.checked == s.messages == 20 + 2 + 5 + 1 + 1 + 1
    reasons = dict(zip(s.violations["seq"].astype(int), s.violations["reason"]))
    by_subject = dict(zip(s.violations["seq"].astype(int), s.violations["subject"]))
    assert any("amount" in r and "a lot" in r for r in reasons.values())
    assert any("status" in r and "required" in r for r in reasons.values())
    assert any(r.startswith("no channel") for q, r in reasons.items() if by_subject[q] == f"{name}.audit")
    assert "violate" in s.summary


def test_json_schema(shell, nc, contract):
    _client, js, run = nc
    name, files = contract
    s = shell.run_line_magic("js_stream", f"schema {name} -s {name}.orders.new --check {files['jsonschema']}")
    expected = violating(run, js, name, f"{name}.orders.new")
    assert set(s.violations["seq"].astype(int)) == expected and len(expected) == 3  # two broken, one binary


def test_bad_schema_file_is_one_line(shell, contract, tmp_path):
    from jsmagic.core.errors import InputError

    name, _files = contract
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"type": "no-such-type"}))
    with pytest.raises(InputError, match="not a valid JSON Schema"):
        shell.run_line_magic("js_stream", f"schema {name} --check {bad}")
    bad.write_text("{not json: [")
    with pytest.raises(InputError, match="neither JSON nor YAML|not JSON"):
        shell.run_line_magic("js_stream", f"schema {name} --check {bad}")
