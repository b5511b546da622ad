"""Every course notebook, executed top to bottom in a real kernel against a fresh server.

Each notebook runs as a user would run it (``jsmagic.notebook.execute``: nbclient, a real
python3 kernel), in a scratch directory, with ``NATS_URL`` pointing at a JetStream server of
its own.  We then read what the user would read: the outputs of the cells tagged
``check-...``.  Cells tagged ``raises-exception`` show a refusal on purpose; we check that
they failed with the expected one-line jsmagic error and nothing else failed.

A notebook added to ``notebooks/`` without checks here fails ``test_every_notebook_is_checked``.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest

from jsmagic.notebook import execute

pytestmark = pytest.mark.kernel

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


# ---- reading an executed notebook --------------------------------------------------------
def cell(nb, tag: str):
    """The one code cell carrying ``tag`` (a missing tag is a broken notebook, not a skip)."""
    found = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(found) == 1, f"expected one cell tagged {tag!r}, found {len(found)}"
    return found[0]


def text(nb, tag: str) -> str:
    """What the cell showed: printed text, the text/plain result, an error's one line."""
    parts = []
    for out in cell(nb, tag).outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.data.get("text/plain", ""))
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
    return "\n".join(parts)


def error(nb, tag: str) -> tuple[str, str] | None:
    """``(ename, evalue)`` of the cell's error, or None."""
    for out in cell(nb, tag).outputs:
        if out.output_type == "error":
            return out.ename, out.evalue
    return None


def errors_outside_expected(nb) -> list[str]:
    """Errors in cells that are not tagged ``raises-exception`` (nbclient stops on those anyway)."""
    bad = []
    for c in nb.cells:
        if c.cell_type != "code" or "raises-exception" in c.get("metadata", {}).get("tags", []):
            continue
        bad += [f"{o.ename}: {o.evalue}" for o in c.outputs if o.output_type == "error"]
    return bad


def row(pattern: str, txt: str) -> bool:
    """Whether a table row matching ``pattern`` (whitespace-separated cells) is shown."""
    return re.search(pattern.replace(" ", r"\s+"), txt) is not None


# ---- the checks a reader of each notebook makes ------------------------------------------
def check_tour(nb):
    assert "3 messages → stream ORDERS, seq 1–3" in text(nb, "check-tour-publish")
    replay = text(nb, "check-tour-replay")
    assert "ORDERS: 3 rows; seq 1–3" in replay and "ephemeral consumer (deleted)" in replay
    groupby = text(nb, "check-tour-groupby")
    assert row(r"book 3", groupby) and row(r"pen 10", groupby)
    watch = text(nb, "check-tour-watch")
    assert row(r"book 12\.5 1 PUT", watch) and row(r"pen 1\.2 2 PUT", watch)


def check_streams(nb):
    subjects = text(nb, "check-streams-subjects")  # 5 published per subject, 3 kept
    assert row("sensors.garage 3", subjects) and row("sensors.kitchen 3", subjects)
    assert "6 message(s) in SENSORS" in subjects
    last = text(nb, "check-streams-last")
    assert row(r"seq 5\b", last) and "'reading': 5" in last
    assert error(nb, "check-streams-refused")[0] == "ForceRequiredError"
    assert "nothing was changed; add --force" in text(nb, "check-streams-refused")
    after = text(nb, "check-streams-after-purge")
    assert "sensors.garage" not in after and "3 message(s) in SENSORS" in after


def check_publishing(nb):
    dup = text(nb, "check-publish-dup")
    assert row(r"1 shop\.orders SHOP 1 True", dup) and row(r"2 shop\.orders SHOP 2 True", dup)
    assert "2 duplicates (already stored, not stored again)" in dup
    assert "2 message(s) in SHOP" in text(nb, "check-publish-count")
    ename, evalue = error(nb, "check-publish-expect")
    assert ename == "PublishError" and "wrong last sequence: 3" in evalue and "nothing published" in evalue
    frame = text(nb, "check-publish-frame")
    assert "SHOP: 3 rows; seq 4–6" in frame and "1 subject: shop.refunds (3)" in frame


def check_consumers(nb):
    assert "2 message(s) from JOBS > workers, acked" in text(nb, "check-consumer-first")
    assert "nak'd (to be redelivered)" in text(nb, "check-consumer-nak")
    rest = text(nb, "check-consumer-rest")
    assert "4 message(s) from JOBS > workers, acked" in rest
    assert row(r"0 3 jobs\.resize \S+ \S+ 2", rest), "the nak'd job 3 comes back as its 2nd delivery"
    info = text(nb, "check-wq-empty")
    assert row(r"messages: 0", info) and row(r"last sequence: 6", info)


def check_key_value(nb):
    assert text(nb, "check-kv-update").strip().endswith("4")
    ename, evalue = error(nb, "check-kv-conflict")
    assert ename == "ConflictError" and "at revision 4, not 3" in evalue
    assert "LiveTable 'KV settings' live" in text(nb, "check-kv-watch")
    assert "application/vnd.jupyter.widget-view+json" in cell(nb, "check-kv-watch").outputs[0].data
    df = text(nb, "check-kv-df")  # the watch saw the put and the delete made after it started
    assert row(r"feature\.beta on 6 PUT", df) and row(r"feature\.dark_mode None 7 DEL", df)
    assert row(r"db\.host pg3\.local 4 PUT", df)
    assert text(nb, "check-kv-keys").strip().endswith("['db.host', 'db.port']")


def check_object_store(nb):
    ls = text(nb, "check-obj-ls")
    assert row(r"blob\.bin 300000 3", ls) and "2 object(s) in files" in ls
    assert text(nb, "check-obj-roundtrip").strip() == "True"
    assert text(nb, "check-obj-file").strip() == "True"
    assert row(r"blob\.bin 0 0 .* True", text(nb, "check-obj-deleted").replace("\n", " "))


def check_replay(nb):
    assert "user.country" in text(nb, "check-replay-all")
    assert text(nb, "check-replay-window").strip() == "100"
    assert text(nb, "check-replay-subject").strip() == "120"  # home is every 2nd of 240
    since = text(nb, "check-replay-since")
    assert row(r"0 241 clicks\.home 99", since), since  # only the event after the pause
    assert text(nb, "check-replay-load1").strip() == "241"
    assert text(nb, "check-replay-load2").strip() == "2"  # only what arrived since load 1
    assert row(r"messages: 243", text(nb, "check-replay-kept"))  # acks removed nothing


CHECKS = {
    "00-tour.ipynb": check_tour,
    "01-streams.ipynb": check_streams,
    "02-publishing.ipynb": check_publishing,
    "03-consumers-and-work-queues.ipynb": check_consumers,
    "04-key-value.ipynb": check_key_value,
    "05-object-store.ipynb": check_object_store,
    "06-replay-for-data-teams.ipynb": check_replay,
}
# notebooks that delete every stream/bucket they create before %js_close
CLEANS_UP = {"01-streams.ipynb", "02-publishing.ipynb", "03-consumers-and-work-queues.ipynb",
             "05-object-store.ipynb", "06-replay-for-data-teams.ipynb"}


def test_every_notebook_is_checked():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(CHECKS)


def test_notebooks_are_committed_without_outputs():
    import nbformat

    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        dirty = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "code" and (c.outputs or c.execution_count)]
        assert not dirty, f"{path.name} has outputs in: {dirty}"


def streams_on(url: str) -> list[str]:
    """Stream names on the server, asked by an independent nats-py client."""
    import nats

    async def go():
        nc = await nats.connect(url)
        try:
            return [s.config.name for s in await nc.jetstream().streams_info()]
        finally:
            await nc.close()

    return asyncio.run(go())


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_notebook_runs_and_shows_what_it_teaches(name, fresh_server, tmp_path, monkeypatch):
    monkeypatch.setenv("NATS_URL", fresh_server.url)  # the kernel inherits it
    src = tmp_path / name
    shutil.copy(NOTEBOOKS / name, src)
    nb = execute(src, tmp_path / "executed" / name, timeout=120, cwd=tmp_path)

    assert errors_outside_expected(nb) == []
    first = next(c for c in nb.cells if c.cell_type == "code" and "js_connect" in c.source)
    port = fresh_server.url.rsplit(":", 1)[1]
    assert f"Connected to nats://127.0.0.1:{port}" in "".join(o.get("text", "") for o in first.outputs)
    CHECKS[name](nb)
    if name in CLEANS_UP:
        assert streams_on(fresh_server.url) == []
    assert {p.name for p in tmp_path.iterdir()} == {name, "executed"}, "the notebook left files behind"
