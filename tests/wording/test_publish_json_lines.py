"""A publish cell whose line starts like JSON and does not parse is refused (issue 23, item 13)."""

from __future__ import annotations

import uuid

import pytest

from jsmagic.core.errors import InputError


@pytest.fixture
def stream(nc):
    client, js, run = nc
    name = f"WJ{uuid.uuid4().hex[:8].upper()}"
    run(js.add_stream(name=name, subjects=[f"{name.lower()}.>"]))
    yield name, (lambda: run(js.stream_info(name)).state.messages), run, js
    run(js.delete_stream(name))


def test_a_line_with_a_missing_brace_is_refused_with_its_line_and_nothing_is_stored(shell, stream):
    name, count, _, _ = stream
    cell = '{"id": 1, "qty": 2}\nplain words are fine\n{"id": 2, "qty": 3\n'
    with pytest.raises(InputError, match=r"line 3 starts like JSON but does not parse.*nothing published") as e:
        shell.run_cell_magic("js_publish", f"{name.lower()}.new", cell)
    assert "--text" in e.value.hint
    assert count() == 0  # the server's own count: nothing sent
    with pytest.raises(InputError, match=r"line 1 starts like JSON"):
        shell.run_cell_magic("js_publish", f"{name.lower()}.new", "[1, 2\n")
    with pytest.raises(InputError, match=r"the cell starts like JSON"):
        shell.run_cell_magic("js_publish", f"{name.lower()}.new --cell", '{\n  "id": 1,\n')
    assert count() == 0


def test_text_sends_such_lines_as_they_are(shell, stream):
    name, count, run, js = stream
    cell = '{"id": 1}\n{"id": 2\n[not json]\n'
    acks = shell.run_cell_magic("js_publish", f"{name.lower()}.new --text", cell)
    assert len(acks) == 3 and count() == 3
    assert run(js.get_msg(name, 2)).data == b'{"id": 2'
    # valid JSON lines and templates rendering to JSON still go through without --text
    acks = shell.run_cell_magic("js_publish", f"{name.lower()}.new --count 2", '{"n": {{Count}}}\n')
    assert len(acks) == 2 and count() == 5
