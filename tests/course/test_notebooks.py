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

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


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
def state(txt: str, field: str) -> str:
    """A value from the ``State:`` part of an ``info`` report (``messages``, ``last sequence``...)."""
    part = txt.rsplit("State:", 1)[-1]
    found = re.search(rf"^\s*{re.escape(field)}: (.*)$", part, re.M)
    assert found, f"no {field!r} in:\n{txt}"
    return found.group(1).strip()


def has_image(nb, tag: str) -> bool:
    """Whether the cell drew a figure (matplotlib inline output)."""
    return any("image/png" in o.get("data", {}) for o in cell(nb, tag).outputs)


def check_tour(nb):
    assert "3 messages → stream ORDERS, seq 1–3" in text(nb, "check-tour-publish")
    replay = text(nb, "check-tour-replay")
    assert "ORDERS: 3 rows; seq 1–3" in replay and "ephemeral consumer (deleted)" in replay
    groupby = text(nb, "check-tour-groupby")
    assert row(r"book 3", groupby) and row(r"pen 10", groupby)
    assert "1 message → stream ORDERS, seq 4" in text(nb, "check-tour-vars")  # a publish shows its summary;
    # {=region} became the subject: orders.us is counted below
    subjects = text(nb, "check-tour-subjects")
    assert row(r"orders\.eu 3", subjects) and row(r"orders\.us 1", subjects)
    watch = text(nb, "check-tour-watch")
    assert row(r"book 12\.5 1 PUT", watch) and row(r"pen 1\.2 2 PUT", watch)


def check_streams(nb):
    core = text(nb, "check-core-sub")  # core NATS first: what a subscriber saw, nothing kept
    assert row(r"0 greet\.joe hello", core) and row(r"1 greet\.ann \{'hi': 'ann'\}", core)
    assert error(nb, "check-core-no-responders") == ("NotFoundError", "no responders on time.now — start a service "
                                                     "that subscribes to it, or check the subject")
    subjects = text(nb, "check-streams-subjects")  # 5 published per subject, 3 kept
    assert row("sensors.garage 3", subjects) and row("sensors.kitchen 3", subjects)
    assert "6 messages in SENSORS" in subjects
    kitchen = text(nb, "check-streams-subjects-filter")
    assert row(r"sensors\.kitchen 3", kitchen) and "garage" not in kitchen
    info = text(nb, "check-streams-info")
    assert (state(info, "messages"), state(info, "first sequence"), state(info, "last sequence")) == ("6", "3", "10")
    assert state(info, "subjects") == "2"
    last = text(nb, "check-streams-last")
    assert row(r"seq 5\b", last) and "'reading': 5" in last
    old = text(nb, "check-streams-discard-old")  # 8 published, max 5, discard old
    assert (state(old, "messages"), state(old, "first sequence"), state(old, "last sequence")) == ("5", "4", "8")
    ename, evalue = error(nb, "check-streams-discard-new")
    assert ename == "PublishError" and "maximum messages exceeded" in evalue
    blobs = text(nb, "check-streams-bytes")  # ten ~240-byte messages, 1 KB kept
    assert state(blobs, "last sequence") == "10" and 0 < int(state(blobs, "messages")) < 10
    assert int(state(blobs, "bytes").split()[0]) <= 1000
    aged = text(nb, "check-streams-age")
    assert (state(aged, "messages"), state(aged, "last sequence")) == ("0", "3")
    nobody = text(nb, "check-interest-nobody")  # acked to the publisher, but no consumer: not kept
    assert (state(nobody, "messages"), state(nobody, "last sequence")) == ("0", "1")
    assert state(text(nb, "check-interest-half"), "messages") == "3"  # pager acked, audit not yet
    done = text(nb, "check-interest-done")  # both acked: gone
    assert (state(done, "messages"), state(done, "last sequence"), state(done, "consumers")) == ("0", "4", "2")
    ename, evalue = error(nb, "check-wq-second")
    assert "multiple non-filtered consumers not allowed on workqueue stream" in evalue
    assert "4 messages from JOBS > workers, acked" in text(nb, "check-wq-take")
    wq = text(nb, "check-wq-empty")
    assert (state(wq, "messages"), state(wq, "last sequence")) == ("0", "6")
    ls = text(nb, "check-streams-ls")
    assert row(r"ALERTS alerts\.> interest memory 1 0", ls) and row(r"JOBS jobs\.> workqueue memory 1 0", ls)
    assert row(r"LOG log\.> limits memory 1 5", ls)
    plot = text(nb, "check-streams-plot")
    assert has_image(nb, "check-streams-plot") and row(r"sensors\.garage 3", plot) and row(r"sensors\.kitchen 3", plot)
    assert error(nb, "check-streams-refused")[0] == "ForceRequiredError"
    assert "nothing was changed; add --force" in text(nb, "check-streams-refused")
    after = text(nb, "check-streams-after-purge")
    assert "sensors.garage" not in after and "3 messages in SENSORS" in after


def check_consumers(nb):
    assert text(nb, "check-replay-everything").strip() == "6"  # a second reader without a rule: all again
    assert "SALES: 1 row; seq 6–6" in text(nb, "check-deliver-last")
    lps = text(nb, "check-deliver-last-per-subject")
    assert "SALES: 3 rows; seq 4–6" in lps and "3 subjects" in lps
    assert "SALES: 2 rows; seq 5–6" in text(nb, "check-deliver-seq")
    assert "SALES: 0 rows" in text(nb, "check-deliver-new")
    assert "SALES: 2 rows; seq 7–8" in text(nb, "check-deliver-time")  # only those after the pause
    by_seq = text(nb, "check-deliver-durable-seq")
    assert "2 messages from SALES > from-seq-7" in by_seq and row(r"0 7 sales\.asia", by_seq)
    assert text(nb, "check-durable-first").strip() == "8"
    second = text(nb, "check-durable-second")  # only what arrived since the first load
    assert row(r"0 9 sales\.eu 9", second) and not re.search(r"^1\s", second, re.M)
    assert row(r"2 3 sales\.eu", text(nb, "check-fetch-1"))
    fetch2 = text(nb, "check-fetch-2")  # the second fetch continues after the first
    assert row(r"0 4 sales\.asia", fetch2) and row(r"2 6 sales\.eu", fetch2)
    assert "2 messages from SALES > slow, left un-acked" in text(nb, "check-pull-limits")
    ls = text(nb, "check-consumer-ls")
    assert row(r"slow True all 7 2 2", ls) and row(r"billing True all 0 0 9", ls)  # own positions, one stream
    multi = text(nb, "check-multi-filter")
    assert "SALES: 6 rows" in multi and "2 subjects: sales.eu (4), sales.us (2)" in multi
    assert text(nb, "check-push").strip() == "[(4, 'sales.asia'), (7, 'sales.asia'), (8, 'sales.asia')]"
    got = re.fullmatch(r"\(\{'a': (\d+), 'b': (\d+)\}, (True|False)\)", text(nb, "check-queue-push").strip())
    assert got, text(nb, "check-queue-push")
    a, b = int(got.group(1)), int(got.group(2))
    assert a + b == 20 and a > 0 and b > 0 and got.group(3) == "True"  # each task once, both workers busy
    fanin = text(nb, "check-multi-stream")
    assert row(r"EVENTS_EU events\.eu\.login 3", fanin) and row(r"EVENTS_US events\.us\.login 2", fanin)
    parts = text(nb, "check-partitions")
    assert "10 subjects, 30 messages in CUSTOMERS" in parts
    stored = re.findall(r"customers\.([012])\.(c\d) +(\d+)", parts)
    assert sorted(c for _, c, _ in stored) == [f"c{i}" for i in range(10)]  # each customer in ONE partition
    assert all(n == "3" for _, _, n in stored)  # with all three of its visits
    p0 = text(nb, "check-partition-0")
    assert sorted(re.findall(r"customers\.0\.c\d", p0)) == sorted(f"customers.0.{c}" for p, c, _ in stored if p == "0")
    assert "customers.1." not in p0 and "customers.2." not in p0


def check_acks(nb):
    dup = text(nb, "check-publish-dup")
    assert row(r"1 shop\.orders SHOP 1 True", dup) and row(r"2 shop\.orders SHOP 2 True", dup)
    assert "2 duplicates (already stored, not stored again)" in dup
    assert "2 messages in SHOP" in text(nb, "check-publish-count")
    ename, evalue = error(nb, "check-publish-expect")
    assert ename == "PublishError" and "wrong last sequence: 2" in evalue and "nothing published" in evalue
    assert "1 message → stream SHOP, seq 3" in text(nb, "check-publish-expect-ok")
    assert "1 message from MAIL > mailer, acked" in text(nb, "check-acks-ack")
    assert "nak'd (to be redelivered)" in text(nb, "check-acks-nak")
    delivery = r"0 {seq} mail\.send \S+ \S+ {n}\b"  # seq, subject, time (2 tokens), delivered
    assert row(delivery.format(seq=2, n=2), text(nb, "check-acks-nak-again"))  # num_delivered rose on nak
    assert row(delivery.format(seq=4, n=1), text(nb, "check-acks-delay-skip"))  # task 3 held back
    assert row(delivery.format(seq=3, n=2), text(nb, "check-acks-delay-back"))  # and back after the delay
    assert text(nb, "check-acks-progress").strip() == """(b'{"task": 6}', 1)"""
    info = text(nb, "check-acks-info")  # 1.8 s of work on a 1 s ack wait, never redelivered
    assert (state(info, "ack pending"), state(info, "redelivered")) == ("0", "0")
    assert state(info, "last delivered").endswith("stream seq 6")  # and the consumer's own sequence
    assert text(nb, "check-acks-max-deliver").strip() == "[[1], [2], [3], []]"
    double = text(nb, "check-acks-double")
    assert state(double, "ack pending") == "0" and state(double, "ack floor").endswith("stream seq 8")
    assert "8 messages from MAIL > dashboard, no acks needed" in text(nb, "check-acks-none")
    assert row(r"dashboard none 0 0 0", text(nb, "check-acks-none-info"))  # nothing waits for an ack


def check_key_value(nb):
    assert text(nb, "check-kv-update").strip().endswith("4")
    ename, evalue = error(nb, "check-kv-conflict")
    assert ename == "ConflictError" and "at revision 4, not 3" in evalue
    assert "LiveTable 'KV settings' live" in text(nb, "check-kv-watch")
    assert "application/vnd.jupyter.widget-view+json" in cell(nb, "check-kv-watch").outputs[0].data
    df = text(nb, "check-kv-df")  # the watch saw the put and the delete made after it started
    assert row(r"feature\.beta on 6 PUT", df) and row(r"feature\.dark_mode None 7 DEL", df)
    assert row(r"db\.host pg3\.local 4 PUT", df)
    assert row(r"sensor\.temp 24 12", text(nb, "check-kv-background"))  # the 5th put of the background task
    updates = text(nb, "check-kv-updates")  # only the change after the watch started, no snapshot
    assert row(r"0 db\.port 6543 13 PUT", updates) and "db.host" not in updates
    assert text(nb, "check-kv-ttl-before").strip() == "['alice']"
    assert text(nb, "check-kv-ttl-after").strip() == "[]"
    assert text(nb, "check-kv-keys").strip().endswith("['db.host', 'db.port']")


def check_object_store(nb):
    ls = text(nb, "check-obj-ls")
    assert row(r"blob\.bin 300000 3", ls) and "3 objects in files" in ls
    info = text(nb, "check-obj-info")
    assert "chunks: 3" in info and "(300,000 bytes)" in info
    stored = re.search(r"digest: (SHA-256=\S+)", info).group(1)
    assert text(nb, "check-obj-digest").strip() == repr(stored)  # the digest we computed is the server's
    assert text(nb, "check-obj-roundtrip").strip() == "True"
    assert text(nb, "check-obj-file").strip() == "True"
    watch = text(nb, "check-obj-watch")
    assert "sales/2026.csv" in watch and "sales/README" in watch and "blob.bin" not in watch
    assert row(r"blob\.bin 0 0 .* True", text(nb, "check-obj-deleted").replace("\n", " "))


def the_week():
    """The orders 06 generates, recomputed from its rules: (order_id, seconds after Mar 2, region) published."""
    rows = []
    for i in range(7 * 24 * 18):
        at, region = i * 200 + (i * 7919) % 150, ["eu", "us", "eu", "asia", "us", "eu"][i % 6]
        if region == "us" and 2 * 86400 + 12 * 3600 <= at < 2 * 86400 + 18 * 3600:
            continue  # the outage
        rows.append((1000 + i, at, region))
        if (1000 + i) % 200 == 7:
            rows.append((1000 + i, at, region))  # sent twice
    return rows


def check_replay(nb):
    week = the_week()
    published = text(nb, "check-replay-published")
    assert f"3 subjects, {len(week):,} messages in SHOP" in published
    for region in ("eu", "us", "asia"):
        assert row(rf"shop\.{region} {sum(r == region for *_, r in week)}", published)
    late = text(nb, "check-replay-since")  # --since is stored time: exactly the late pair
    n = len(week)
    assert row(rf"0 {n + 1} .* 9001 2026-03-03T09:15:00Z", late) and row(rf"1 {n + 2} .* 9002", late)
    assert not re.search(r"^2\s", late, re.M)
    assert text(nb, "check-replay-seq").strip() == "500"
    assert row(rf"{n + 1} {n + 2} shop\.eu .* 9002", text(nb, "check-replay-all"))
    in_window = sum(2 * 86400 <= at < 4 * 86400 for _, at, _ in week)  # March 4 and 5, event time
    window = text(nb, "check-replay-window")
    assert window.startswith(f"({in_window},") and "2026-03-04 00:" in window and "2026-03-05 23:" in window
    anomaly = re.search(r"2026-03-05 +([\d.]+) +([\d.]+) +([\d.]+)", text(nb, "check-replay-anomaly"))
    asia, eu, us = map(float, anomaly.groups())
    assert us > 1000 > max(asia, eu)  # the day the US amounts came in cents
    tests = [oid for oid, _, _ in week if oid % 150 == 0]
    repeated = len(week) + 2 - len({oid for oid, _, _ in week} | {9001, 9002})
    assert text(nb, "check-replay-problems").strip() == f"{{'repeated order ids': {repeated}, 'test orders': {len(tests)}}}"
    n_clean = len({oid for oid, _, _ in week if oid % 150} | {9001, 9002})
    assert text(nb, "check-replay-clean").strip() == f"({n + 2}, {n_clean})"
    daily = re.search(r"2026-03-05 +([\d.]+) +([\d.]+) +([\d.]+)", text(nb, "check-replay-daily"))
    assert float(daily.group(3)) < 10_000  # cleaned: US back to a normal day's revenue
    assert has_image(nb, "check-replay-plot")
    assert row(r"2026-03-04 12:00:00\+00:00 18 53 0", text(nb, "check-replay-outage"))  # the outage is a gap
    stored = re.findall(r"^\S+ \S+\+00:00 +(\d+) +(\d+) +(\d+)$", text(nb, "check-replay-stored"), re.M)
    assert sum(int(x) for r in stored for x in r) == n + 2 and stored[-1] == ("0", "2", "0")  # late pair last
    assert f"{n_clean:,} messages in SHOP_CLEAN" in text(nb, "check-replay-republished")
    us_raw, us_clean = map(float, re.search(r"^us +([\d.]+) +([\d.]+)", text(nb, "check-replay-compare"), re.M).groups())
    assert us_clean < us_raw / 10
    assert text(nb, "check-replay-equal").strip() == "True"
    # at data scale: --to Parquet read by DuckDB, --where, Polars, Dask
    assert re.search(rf"SHOP → \S*shop\.parquet: {n + 2:,} rows; seq 1–{n + 2}; .* row group", text(nb, "check-replay-parquet"))
    assert text(nb, "check-replay-duckdb").rstrip().endswith("True)")
    matched, smallest, expected = text(nb, "check-replay-where").strip("()\n").split(", ")
    assert int(matched) == int(expected) > 0 and float(smallest) > 100
    shops = text(nb, "check-replay-polars")
    for region in ("eu", "us", "asia"):
        count = sum(r == region for *_, r in week) + (2 if region == "eu" else 0)
        assert re.search(rf"│ {region}\s+┆ {count}\s+┆", shops), (region, count, shops)
    assert re.fullmatch(r"\(4, \{.*'eu': [\d.]+.*\}, True\)", text(nb, "check-replay-dask").strip(), re.S)


def check_operations(nb):
    events = text(nb, "check-events")  # the advisories the learner's own actions caused
    for kind in ("stream.created", "consumer.created", "consumer.msg_naked", "consumer.max_deliveries"):
        assert row(rf"{re.escape(kind)} OPS", events), kind
    trace = text(nb, "check-trace")
    assert trace.startswith("TRACE ONLY: nothing was stored or delivered") and "would be stored in ORDERS_EU" in trace
    assert text(nb, "check-health-ok").strip().splitlines()[-1].startswith("OK: stream ORDERS_ALL")
    ename, evalue = error(nb, "check-health-crit")
    assert ename == "CheckFailed" and "last ack (s ago) CRIT (never)" in evalue
    sources = text(nb, "check-sources")
    assert state(sources, "messages") == "50"  # 30 EU + 20 US new; the 5 US test orders stay out
    assert re.search(r"source ORDERS_EU: lag 0, active .* ago", sources)
    assert re.search(r"source ORDERS_US \(orders.us.new\): lag 0, active .* ago", sources)
    assert text(nb, "check-dashboard").strip() == "{'eu': 4, 'us': 2}"  # republished after storing
    mirror = text(nb, "check-mirror")
    assert "ORDERS_READ#1" in mirror and re.search(r"orders\.(eu|us)\.new", mirror)  # sources interleave
    report = text(nb, "check-report")
    assert row(r"ARCHIVE 20034 ORDERS_EU 0 0", report) and row(r"ORDERS_ALL 20056 ORDERS_EU, ORDERS_US 0 0", report)
    assert row(r"ORDERS_READ 20056 ORDERS_ALL 0 0", report)
    assert has_image(nb, "check-report")
    watch = text(nb, "check-watch")
    assert "{'pending': 6, 'ack_pending': 1, 'redelivered': 1}" in watch  # the learner saw a redelivery
    assert "{'pending': 0, 'ack_pending': 0, 'ack_floor_seq': 6}" in watch
    dead = text(nb, "check-dead")
    assert row(r"0 1 jobs.resize \{'image': 1\} terminated 1", dead)
    assert row(r"1 2 jobs.resize \{'image': 2\} max deliveries 2", dead)
    retry = text(nb, "check-retry")
    assert "Republished 2 dead letters of JOBS > worker to jobs.retry." in retry
    assert "2 messages from JOBS > worker, acked" in retry
    restore = text(nb, "check-restore")
    assert "Restored stream CLASS: 9 messages up to sequence 10, 1 consumer" in restore
    assert (state(restore, "last sequence"), state(restore, "deleted"), state(restore, "messages")) == ("10", "1", "9")
    assert state(text(nb, "check-restore-consumer"), "pending") == "9"


def check_modern(nb):
    """07: what changed in each scenario (server 2.11-2.14 features)."""
    assert row(r"before 3", text(nb, "check-ttl-summary")) and row(r"after 3 s 1", text(nb, "check-ttl-summary"))
    assert row(r"0 3 cara kiosk 3600s", text(nb, "check-ttl-after"))  # only the 1h session is left
    ename, evalue = error(nb, "check-ttl-refused")
    assert ename == "InputError" and "stream AUDIT does not allow per-message TTL" in evalue and "nothing published" in evalue
    ls = text(nb, "check-counter-ls")
    assert row(r"views\.docs 1 \+1", ls) and row(r"views\.home 43 \+1", ls) and row(r"views\.pricing 5 \+1", ls)
    assert text(nb, "check-counter-get").strip() == "40"
    assert text(nb, "check-counter-big").strip() == str(2**63)  # exact past int64
    ok = text(nb, "check-batch-ok")
    assert "3 messages → stream ORDERS, seq 1–3, one atomic batch" in ok
    assert row(r"orders\.1001\.line ORDERS 3 False 3", text(nb, "check-batch-acks"))
    ename, evalue = error(nb, "check-batch-refused")
    assert ename == "PublishError" and "atomic batch of 2 refused: wrong last sequence" in evalue and "nothing stored" in evalue
    assert "2 subjects, 3 messages in ORDERS" in text(nb, "check-batch-after")  # none of order 1002
    assert error(nb, "check-batch-too-big")[0] == "InputError"
    assert "1 pending schedule in REMINDERS" in text(nb, "check-schedule-pending")
    assert row(r"0 2 reminders\.due ann her order 1001 reminders\.schedule\.ann 3600s", text(nb, "check-schedule-fired"))
    assert "0 pending schedules in REMINDERS" in text(nb, "check-schedule-done")
    fast = text(nb, "check-fast-ok")  # server 2.14 fast batch, on a 2.12 async-persist stream
    assert "2,000 messages → stream SENSORS, seq 2000; one fast batch" in fast and "2,000 messages stored in order" in fast
    info = text(nb, "check-fast-info")
    assert "fast batch publish: yes (server 2.14+)" in info and "persist mode: async" in info
    assert state(info, "messages") == "2,000" and state(info, "last sequence") == "2,000"
    assert row(r"0 2000 True", text(nb, "check-fast-order"))  # every reading, in order
    pending = text(nb, "check-schedule-214")
    assert row(r"0 plant\.schedule\.sample @every 1s plant\.latest None plant\.temp sub", pending)
    assert row(r"1 plant\.schedule\.report 0 0 9 \* \* \* plant\.reports", pending) and "Europe/Amsterdam" in pending
    sampled = text(nb, "check-sampled")  # one message left of two or more firings: seq 6 was the first
    found = re.search(r"^0\s+(\d+)\s+plant\.latest\s+3\s+plant\.schedule\.sample", sampled, re.M)
    assert found and int(found.group(1)) >= 7 and sampled.count("plant.latest") == 1, sampled
    assert "0 messages from JOBS > shipper" in text(nb, "check-pause-empty")
    assert row(r"0 shipper 3 True", text(nb, "check-pause-ls"))  # three jobs wait while it is paused
    assert "3 messages from JOBS > shipper, acked" in text(nb, "check-pause-resumed")
    assert "pinned to this notebook" in text(nb, "check-pin-a")
    assert row(r"0 B \[\] None no message in time", text(nb, "check-pin-b-waits"))
    failover = text(nb, "check-pin-failover")
    assert row(r'1 B \[\{"step": 3\}\]', failover) and "another worker holds the pin" in failover
    assert "policy: pinned_client" in text(nb, "check-pin-info")
    assert "pinned to this notebook" in text(nb, "check-pin-unpin")


def check_exploring(nb):
    """09: the drifts of the shop's day found by schema, the contract's violations, the browser's page."""
    schema = text(nb, "check-schema")
    assert "170 messages (seq 1..170)" in schema and "10 non-JSON payloads" in schema
    assert row(r"\d+ amount type (\d+) \S+ \S+ int str", schema)
    first_text = int(re.search(r"amount\s+type\s+(\d+)", schema).group(1))
    assert row(r"\d+ coupon appeared \d+ .* None null", schema) or row(r"\d+ coupon appeared \d+ .* None str", schema)
    assert row(r"\d+ customer.region appeared \d+ .* None str", schema)
    assert row(r"\d+ amount int 80, str 80 160", schema)  # the day's halves: integer cents, then text
    history = text(nb, "check-config-history")
    assert row(r"0 1 PUT int-cents", history) and row(r"1 3 PUT decimal-string", history)
    first = text(nb, "check-first-text")
    assert row(rf"0 {first_text} orders.\w+ 13 \d+\.\d\d", first)  # the first text amount: at 13:00
    by_subject = text(nb, "check-by-subject")
    assert row(r"\d+ orders.app coupon null \d+, str \d+ 64", by_subject) and "orders.web coupon" not in by_subject
    assert has_image(nb, "check-plot")
    sample = text(nb, "check-sample")
    assert "40 messages" in sample and "sampled 40 of 170 sequences evenly" in sample
    contract = text(nb, "check-contract")
    assert "90 of 170 messages violate the schema" in contract
    assert row(r"orders.app 40", text(nb, "check-contract-reasons")) and row(r"orders.pos 10", text(nb, "check-contract-reasons"))
    page = text(nb, "check-browse-next")
    seqs = [int(m) for m in re.findall(r"^\d+\s+(\d+)\s+orders.app", page, re.M)]
    assert len(seqs) == 5 and seqs == sorted(seqs) and seqs[0] > 100
    assert text(nb, "check-browse-line").strip() == f"'%js_consume ORDERS -s orders.app --start-seq {seqs[0]} -n 5'"
    shown = [o for o in cell(nb, "check-browse").outputs if o.get("data")]
    assert shown, "the browse cell shows nothing"
    # time travel: the config just before the switch, what changed since, the orders as of then
    before = text(nb, "check-kv-before")
    assert row(r"0 checkout.amount_format int-cents 1", before) and "decimal-string" not in before
    assert "2 keys in shop-config as of revision 2" in before
    diff = text(nb, "check-kv-diff")
    assert row(r"0 checkout.amount_format changed int-cents decimal-string 1", diff)
    assert "0 added, 1 changed, 0 deleted" in diff
    at = text(nb, "check-stream-at")
    assert row(r"\d+ \d+ orders.web 12.0 \d+", at) and row(r"\d+ \d+ orders.app 12.0 \d+", at)
    assert row(r"\d+ \d+ orders.pos NaN NaN", at)
    assert row(r"0 ORDERS 80 subjects 170 orders.>", text(nb, "check-find"))  # 8 app orders an hour, 10 hours
    assert "Dry run: 170 messages" in text(nb, "check-dry-run") and "no consumer created" in text(nb, "check-dry-run")


CHECKS = {
    "00-tour.ipynb": check_tour,
    "01-streams.ipynb": check_streams,
    "02-consumers.ipynb": check_consumers,
    "03-acks.ipynb": check_acks,
    "04-key-value.ipynb": check_key_value,
    "05-object-store.ipynb": check_object_store,
    "06-replay-for-data-teams.ipynb": check_replay,
    "07-modern-jetstream.ipynb": check_modern,
    "08-operations.ipynb": check_operations,
    "09-exploring-history.ipynb": check_exploring,
}
# notebooks that delete every stream/bucket they create before %js_close
CLEANS_UP = {"01-streams.ipynb", "02-consumers.ipynb", "03-acks.ipynb", "05-object-store.ipynb",
             "06-replay-for-data-teams.ipynb", "07-modern-jetstream.ipynb", "08-operations.ipynb",
             "09-exploring-history.ipynb"}


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
