"""Security: TLS, every auth method, permission refusals, and no secret in anything shown.

Each test is a user's session against a real nats-server configured for TLS or auth
(see conftest.py for the generated CA, nkeys and creds).  Failures must be ONE line
that names the cause, must come fast (no waiting out a timeout), and must leave the
current connection as it was.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from jsmagic.connecting import permissions
from jsmagic.core.registry import context
from jsmagic.core.config import settings
from jsmagic.reading.reader import Selection, replay
from jsmagic.core.errors import AuthError, ConfigError, JSMagicError, PermissionDeniedError, TLSError, PublishError
from jsmagic.testing import nats_server

from .conftest import tls_config


def assert_one_line(err: JSMagicError, *words: str) -> str:
    """The notebook rendering of ``err`` is one line and names the cause."""
    rendered = err._render_traceback_()
    assert len(rendered) == 1 and "\n" not in rendered[0], rendered
    line = err.one_line()
    for word in words:
        assert word.lower() in line.lower(), line
    return line


def connect_fails(shell, line: str, error_type: type[JSMagicError]) -> tuple[JSMagicError, float]:
    """Run ``%js_connect line``, expect ``error_type``; return it and how long it took."""
    start = time.monotonic()
    with pytest.raises(error_type) as info:
        shell.run_line_magic("js_connect", line)
    return info.value, time.monotonic() - start


def roundtrip(shell, name: str) -> int:
    """Create a stream, publish one message, return the stream's message count (proves JetStream works).

    The message is replayed by the bulk reader, on its own connection with the same options.
    """
    ctx = context()

    async def go():
        await ctx.js.add_stream(name=name, subjects=[f"{name.lower()}.>"])
        await ctx.js.publish(f"{name.lower()}.a", b"hello")
        read = await replay(Selection(name), ctx=ctx)
        assert read.bulk == settings().bulk_replay and not read.notes, read.notes
        assert read.frame["data"].tolist() == ["hello"]
        info = await ctx.js.stream_info(name)
        await ctx.js.delete_stream(name)
        return info.state.messages

    return ctx.run(go())


# ---- TLS ---------------------------------------------------------------------------------


def test_tls_with_ca_and_client_certificate(bare_shell, tls_server, pki, caplog):
    ctx = bare_shell.run_line_magic(
        "js_connect",
        f"{tls_server.url} --tls-ca {pki.ca} --tls-cert {pki.client_cert} --tls-key {pki.client_key}",
    )
    assert ctx.connected and ctx.jetstream_enabled
    assert ctx.server_info.get("tls_required") is True
    assert roundtrip(bare_shell, "TLS_LINE") == 1
    bare_shell.run_line_magic("js_close", "")
    # asyncio's warning about nats-py's TLS protocol would land in the cell's stderr
    assert not [r for r in caplog.records if "eof_received" in r.getMessage()]
    assert not logging.getLogger("asyncio").filters  # filtered only while closing: the logger is left as found


def test_tls_from_a_nats_context_file(bare_shell, tls_server, pki):
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "nats"
    (folder / "context").mkdir(parents=True)
    (folder / "context" / "secure.json").write_text(
        json.dumps({"url": tls_server.url, "ca": pki.ca, "cert": pki.client_cert, "key": pki.client_key})
    )
    ctx = bare_shell.run_line_magic("js_connect", "--context secure")
    assert ctx.connected and "context secure" in ctx.connection_line()
    assert roundtrip(bare_shell, "TLS_CTX") == 1
    bare_shell.run_line_magic("js_close", "")
    # the context the nats CLI has selected is used with no arguments at all
    (folder / "context.txt").write_text("secure\n")
    ctx = bare_shell.run_line_magic("js_connect", "")
    assert ctx.connected and ctx.server_info.get("tls_required") is True


def test_wrong_ca_fails_at_once_with_one_tls_line_and_keeps_the_connection(bare_shell, server, tls_server, pki):
    bare_shell.run_line_magic("js_connect", server.url)
    err, took = connect_fails(
        bare_shell,
        f"{tls_server.url} --tls-ca {pki.wrong_ca} --tls-cert {pki.client_cert} --tls-key {pki.client_key}",
        TLSError,
    )
    assert_one_line(err, "TLS", "not signed by the --tls-ca CA", "CERTIFICATE_VERIFY_FAILED", "--tls-ca")
    assert took < 6, f"a wrong CA took {took:.1f}s to report"
    ctx = context()  # the connection we had is still the one we use
    assert ctx.connected and ctx.url == server.url
    assert roundtrip(bare_shell, "AFTER_TLS_FAIL") == 1


def test_missing_client_certificate_is_named(bare_shell, tls_server, pki):
    err, took = connect_fails(bare_shell, f"{tls_server.url} --tls-ca {pki.ca}", TLSError)
    assert_one_line(err, "requires a client certificate", "--tls-cert")
    assert took < 6


def test_tls_server_without_tls_options_asks_for_the_ca(bare_shell, tls_server):
    err, took = connect_fails(bare_shell, tls_server.url, TLSError)
    assert_one_line(err, "not trusted", "--tls-ca")
    assert took < 6
    assert not context().connected


def test_tls_handshake_first(bare_shell, pki):
    config = tls_config(pki).replace("timeout: 2", "timeout: 2\n  handshake_first: 300ms")  # INFO after 300ms for clients that wait
    with nats_server(config=config) as tls_first:
        creds = f"--tls-ca {pki.ca} --tls-cert {pki.client_cert} --tls-key {pki.client_key}"
        ctx = bare_shell.run_line_magic("js_connect", f"{tls_first.url} --tls-first {creds}")
        assert ctx.connected and roundtrip(bare_shell, "TLS_FIRST") == 1
        err, took = connect_fails(
            bare_shell, f"{tls_first.url} --tls-first --tls-ca {pki.wrong_ca} --tls-cert {pki.client_cert} --tls-key {pki.client_key}",
            TLSError,
        )
        assert_one_line(err, "not signed by the --tls-ca CA")
        assert took < 6 and context().connected
        bare_shell.run_line_magic("js_close", "")


def test_tls_options_against_a_plain_server_fail_before_sending_the_password(bare_shell, users_server, auth, pki):
    # nats-py alone would connect in plain text here and send the password
    err, took = connect_fails(
        bare_shell, f"{users_server.url} --user alice --password {auth.password} --tls-ca {pki.ca}", TLSError
    )
    assert_one_line(err, "does not offer TLS", "plain text")
    assert took < 6 and not context().connected


# ---- authentication ----------------------------------------------------------------------


@pytest.fixture
def auth_lines(auth, users_server, token_server, creds_server, operator):
    """For each method: (good %js_connect line, bad line, the bad secret)."""
    wrong_pw, wrong_token = "wrong-" + auth.password, "wrong-" + auth.token
    return {
        "user/password": (
            f"{users_server.url} --user alice --password {auth.password}",
            f"{users_server.url} --user alice --password {wrong_pw}",
            wrong_pw,
        ),
        "url credentials": (
            users_server.url.replace("nats://", f"nats://alice:{auth.password}@"),
            users_server.url.replace("nats://", f"nats://alice:{wrong_pw}@"),
            wrong_pw,
        ),
        "token": (f"{token_server.url} --token {auth.token}", f"{token_server.url} --token {wrong_token}", wrong_token),
        "nkey": (
            f"{users_server.url} --nkey {auth.nkey_file}",
            f"{users_server.url} --nkey {auth.stranger_file}",
            auth.stranger_seed,
        ),
        "creds": (
            f"{creds_server.url} --creds {operator.creds}",
            f"{creds_server.url} --creds {operator.stranger_creds}",
            operator.secrets[2],
        ),
    }


@pytest.mark.parametrize("method", ["user/password", "url credentials", "token", "nkey", "creds"])
def test_each_auth_method_connects_and_a_wrong_secret_is_one_line(bare_shell, auth_lines, method):
    good, bad, bad_secret = auth_lines[method]
    ctx = bare_shell.run_line_magic("js_connect", good)
    assert ctx.connected and ctx.jetstream_enabled
    assert roundtrip(bare_shell, "AUTH_" + method.replace("/", "_").replace(" ", "_").upper()) == 1
    url = ctx.url
    err, took = connect_fails(bare_shell, bad, AuthError)
    line = assert_one_line(err, "authorization violation")
    assert took < 6, f"a wrong {method} took {took:.1f}s to report"
    assert bad_secret not in line and bad_secret not in repr(context())
    assert context().connected and context().url == url  # still on the good connection


def test_malformed_secret_files_are_named_without_their_content(bare_shell, users_server, auth, tmp_path):
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("not a key\n")
    cases = [
        (f"--nkey {auth.nkey_seed}", "not the seed itself"),
        (f"--nkey {garbage}", "holds no nkey seed"),
        (f"--creds {garbage}", "not a NATS creds file"),
        (f"--creds {auth.nkey_file}", "not a NATS creds file"),  # a seed file is not a creds file
        (f"--nkey {tmp_path / 'missing.nk'}", "not found"),
    ]
    for flags, words in cases:
        err, took = connect_fails(bare_shell, f"{users_server.url} {flags}", ConfigError)
        line = assert_one_line(err, words)
        assert auth.nkey_seed not in line and took < 6


def test_url_password_with_special_characters(bare_shell, users_server, auth):
    special = auth.special_password
    raw = users_server.url.replace("nats://", f"nats://bob:{special}@")
    err, _ = connect_fails(bare_shell, raw, ConfigError)
    line = assert_one_line(err, "cannot read the server URL", "%40")
    for piece in special.replace("@", ":").replace("/", ":").split(":")[1:]:  # the random parts
        assert piece not in line, f"a piece of the password shows: {line}"
    # quoted as the hint says, it works (nats-py alone would send it still quoted)
    quoted = users_server.url.replace("nats://", f"nats://bob:{quote(special, safe='')}@")
    ctx = bare_shell.run_line_magic("js_connect", quoted)
    assert ctx.connected and ctx.jetstream_enabled
    shown = repr(ctx) + ctx.connection_line() + repr(ctx.options) + ctx.options.described()
    assert special not in shown and quote(special, safe="") not in shown


# ---- permissions -------------------------------------------------------------------------


def test_a_user_limited_to_orders_gets_permission_denied_and_keeps_working(bare_shell, users_server, auth):
    ctx = bare_shell.run_line_magic(
        "js_connect", f"{users_server.url} --user orders --password {auth.orders_password}"
    )
    stream = "PERM_ORDERS"
    ctx.run(ctx.js.add_stream(name=stream, subjects=["orders.>"]))

    with pytest.raises(PermissionDeniedError) as core:
        ctx.run(permissions.publish_checked(ctx.nc, "payments.eu", b"1"))
    assert_one_line(core.value, "permission denied", "publish", "payments.eu")

    with pytest.raises(PermissionDeniedError) as sub:
        ctx.run(permissions.subscribe_checked(ctx.nc, "payments.>"))
    assert_one_line(sub.value, "permission denied", "subscribe", "payments.>")

    start = time.monotonic()
    with pytest.raises(PermissionDeniedError) as jsp:
        ctx.run(permissions.js_publish_checked(ctx.js, ctx.nc, "payments.us", b"1"))
    assert_one_line(jsp.value, "permission denied", "payments.us")
    assert time.monotonic() - start < 2, "a refused JetStream publish must not wait out the timeout"

    # the context keeps working: allowed subjects publish and are stored
    ctx.run(permissions.publish_checked(ctx.nc, "orders.us", b"ok"))
    ack = ctx.run(permissions.js_publish_checked(ctx.js, ctx.nc, "orders.eu", b"ok"))
    assert ack.seq == 2 and ctx.connected  # the stream stores in order: both arrived
    info = ctx.run(ctx.js.stream_info(stream))
    assert info.state.messages == 2
    status = "\n".join(bare_shell.run_line_magic("js_status", "").lines())
    assert "state: connected" in status and 'publish to "payments.us"' in status
    assert auth.orders_password not in status
    ctx.run(ctx.js.delete_stream(stream))


# ---- secrets never shown -----------------------------------------------------------------


def _secrets_notebook(auth, operator, users_server, token_server, creds_server, pki, tls_server):
    """A notebook that connects with each method and fails once with each.

    Secret values are read from files inside the notebook, so its *sources* hold no
    secret either and the whole saved .ipynb can be scanned.
    """
    import nbformat

    wrong_pw = auth.write("wrong.pw", "wrong-" + auth.password[::-1])
    wrong_token = auth.write("wrong.token", "wrong-" + auth.token[::-1])
    files = {
        "pw": auth.write("alice.pw", auth.password),
        "token": auth.write("token", auth.token),
        "wrong_pw": wrong_pw,
        "wrong_token": wrong_token,
    }
    users, tokens, creds = users_server.url, token_server.url, creds_server.url
    show = (
        "status = %js_status\nprint(repr(status))\ndisplay(status)\nimport jsmagic\nctx = jsmagic.context()\n"
        "print(repr(ctx), repr(ctx.options), ctx.options.described(), vars(ctx))\nctx"
    )
    cells = [
        "%load_ext jsmagic\nimport os, jsmagic\nfrom pathlib import Path\n"
        f"FILES = {files!r}\n"
        "def secret(name):\n    return Path(FILES[name]).read_text().strip()\n"
        "ip = get_ipython()",
        # user / password on the line
        f"ip.run_line_magic('js_connect', f'{users} --user alice --password {{secret(\"pw\")}}')",
        show,
        ("fail", f"ip.run_line_magic('js_connect', f'{users} --user alice --password {{secret(\"wrong_pw\")}}')"),
        # user / password from the environment
        f"os.environ['NATS_PASSWORD'] = secret('pw')\n%js_connect {users} --user alice",
        show,
        ("fail", f"os.environ['NATS_PASSWORD'] = secret('wrong_pw')\n%js_connect {users} --user alice"),
        "del os.environ['NATS_PASSWORD']",
        # credentials in the URL
        f"ip.run_line_magic('js_connect', '{users}'.replace('nats://', f'nats://alice:{{secret(\"pw\")}}@'))",
        show,
        ("fail", f"ip.run_line_magic('js_connect', '{users}'.replace('nats://', f'nats://alice:{{secret(\"wrong_pw\")}}@'))"),
        # token
        f"ip.run_line_magic('js_connect', f'{tokens} --token {{secret(\"token\")}}')",
        show,
        ("fail", f"ip.run_line_magic('js_connect', f'{tokens} --token {{secret(\"wrong_token\")}}')"),
        # nkey seed file
        f"%js_connect {users} --nkey {auth.nkey_file}",
        show,
        ("fail", f"%js_connect {users} --nkey {auth.stranger_file}"),
        # creds file
        f"%js_connect {creds} --creds {operator.creds}",
        show,
        ("fail", f"%js_connect {creds} --creds {operator.stranger_creds}"),
        # a nats CLI context file holding user and password
        "%js_connect --context alice",
        show,
        ("fail", "%js_connect --context alice-wrong"),
        # TLS, and a wrong CA
        f"%js_connect {tls_server.url} --tls-ca {pki.ca} --tls-cert {pki.client_cert} --tls-key {pki.client_key}",
        show,
        ("fail", f"%js_connect {tls_server.url} --tls-ca {pki.wrong_ca} --tls-cert {pki.client_cert} --tls-key {pki.client_key}"),
        "%js_close",
        show,
    ]
    contexts = Path(os.environ["XDG_CONFIG_HOME"]) / "nats" / "context"
    contexts.mkdir(parents=True, exist_ok=True)
    for name, pw in (("alice", auth.password), ("alice-wrong", Path(wrong_pw).read_text())):
        (contexts / f"{name}.json").write_text(json.dumps({"url": users, "user": "alice", "password": pw}))
    nb = nbformat.v4.new_notebook()
    for cell in cells:
        if isinstance(cell, tuple):
            nb.cells.append(nbformat.v4.new_code_cell(cell[1], metadata={"tags": ["raises-exception"]}))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(cell))
    return nb


@pytest.mark.slow
@pytest.mark.kernel
def test_no_secret_in_any_output_repr_status_error_or_saved_notebook(
    tmp_path, auth, operator, users_server, token_server, creds_server, pki, tls_server
):
    import nbformat

    from jsmagic.notebook import execute

    src, out = tmp_path / "secrets.ipynb", tmp_path / "secrets-run.ipynb"
    nbformat.write(_secrets_notebook(auth, operator, users_server, token_server, creds_server, pki, tls_server), src)
    nb = execute(src, out, timeout=60, cwd=tmp_path)

    errors = [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    failing = [c for c in nb.cells if "raises-exception" in c.metadata.get("tags", [])]
    assert len(errors) == len(failing) == 8, [e.get("ename") for e in errors]
    for error in errors:  # each failure is one line that names the cause
        assert len(error["traceback"]) == 1, error["traceback"]
    names = [e["ename"] for e in errors]
    assert names == ["AuthError"] * 7 + ["TLSError"], names
    assert all("authorization violation" in e["evalue"] for e in errors[:7])
    shown = [o for c in nb.cells if "raises-exception" not in c.metadata.get("tags", []) for o in c.get("outputs", [])]
    text = json.dumps(shown)
    assert "Traceback" not in text  # no noise from nats-py/asyncio
    assert text.count("Connected to nats://") >= 8 and "from context alice" in text and "<JSContext connected" in text

    secret_values = {
        "password": auth.password,
        "wrong password": Path(auth.folder / "wrong.pw").read_text(),
        "token": auth.token,
        "wrong token": Path(auth.folder / "wrong.token").read_text(),
        "nkey seed": auth.nkey_seed,
        "unknown nkey seed": auth.stranger_seed,
        **{f"creds content {i}": s for i, s in enumerate(operator.secrets)},
        "client key": Path(pki.client_key).read_text().splitlines()[1],
    }
    saved = out.read_text()
    for label, value in secret_values.items():
        assert value not in saved, f"the {label} appears in the executed notebook"
        assert value not in text
    # creds files are multi-line: no line of their content may show either
    for path in (operator.creds, operator.stranger_creds):
        for line in Path(path).read_text().splitlines():
            if len(line) > 40 and not line.startswith(("*", "-")):
                assert line not in saved


def test_publish_magic_reports_a_refused_subject_at_once(bare_shell, users_server, auth):
    ctx = bare_shell.run_line_magic(
        "js_connect", f"{users_server.url} --user orders --password {auth.orders_password}"
    )
    ctx.run(ctx.js.add_stream(name="PERM_MAGIC", subjects=["orders.magic.>"]))
    ctx.run(ctx.js.add_stream(name="PERM_PAYMENTS", subjects=["payments.magic"]))  # stored, but not ours to publish
    start = time.monotonic()
    with pytest.raises(PublishError) as e:
        bare_shell.run_cell_magic("js_publish", "payments.magic", '{"a": 1}\n{"a": 2}\n')
    assert time.monotonic() - start < 2, "a refused publish must not wait out the ack timeout"
    assert_one_line(e.value, "2 of 2 messages failed", "permission denied", "payments.magic")
    acks = bare_shell.run_cell_magic("js_publish", "orders.magic.1", '{"a": 1}\n')
    assert list(acks["seq"]) == [1] and ctx.connected
