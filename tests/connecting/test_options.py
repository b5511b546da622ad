"""Where %js_connect connects: line, then environment, then the nats CLI's context."""

import json

import pytest

from jsmagic.core.errors import ConfigError
from jsmagic.connecting.options import resolve, selected_context


def write_context(xdg, name, select=False, **fields):
    folder = xdg / "nats" / "context"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(fields))
    if select:
        (xdg / "nats" / "context.txt").write_text(name + "\n")


@pytest.fixture
def xdg(tmp_path):
    return tmp_path


def test_line_beats_env_beats_context(xdg):
    write_context(xdg, "dev", select=True, url="nats://ctx:4222", user="ctxuser", password="ctxpw", jetstream_domain="hub")
    env = {"XDG_CONFIG_HOME": str(xdg), "NATS_URL": "nats://env:4222", "NATS_USER": "envuser"}
    opts = resolve({"servers": ["nats://line:4222"]}, env=env)
    assert opts.servers == ["nats://line:4222"] and opts.source == "line"
    assert opts.user == "envuser"  # env fills what the line did not give
    assert opts.domain == "hub"  # the selected context fills the rest
    opts = resolve({}, env=env)
    assert opts.servers == ["nats://env:4222"] and opts.source == "env"
    opts = resolve({}, env={"XDG_CONFIG_HOME": str(xdg)})
    assert opts.servers == ["nats://ctx:4222"] and opts.source == "context dev"
    assert (opts.user, opts.password) == ("ctxuser", "ctxpw")


def test_comma_lists_and_bare_hosts_become_urls(xdg):
    opts = resolve({"servers": ["db1:4222,nats://db2:4222", "tls://db3:4443"]}, env={"XDG_CONFIG_HOME": str(xdg)})
    assert opts.servers == ["nats://db1:4222", "nats://db2:4222", "tls://db3:4443"]


def test_named_context_and_nats_context_variable(xdg):
    write_context(xdg, "prod", url="nats://prod:4222", token="t0ps3cret")
    write_context(xdg, "dev", select=True, url="nats://dev:4222")
    env = {"XDG_CONFIG_HOME": str(xdg)}
    assert resolve({"context": "prod"}, env=env).servers == ["nats://prod:4222"]
    assert resolve({}, env={**env, "NATS_CONTEXT": "prod"}).servers == ["nats://prod:4222"]
    assert selected_context(env) == "dev"


def test_context_paths_expand_home_and_variables(xdg, monkeypatch):
    monkeypatch.setenv("HOME", str(xdg / "home"))
    monkeypatch.setenv("CERTS", "/etc/certs")
    write_context(xdg, "tls", select=True, url="tls://x:4222", ca="$CERTS/ca.pem", creds="~/my.creds", tls_first=True)
    opts = resolve({}, env={"XDG_CONFIG_HOME": str(xdg)})
    assert opts.tls_ca == "/etc/certs/ca.pem"
    assert opts.creds == str(xdg / "home" / "my.creds")
    assert opts.tls_first is True


def test_unknown_context_names_the_close_one(xdg):
    write_context(xdg, "production", url="nats://p:4222")
    with pytest.raises(ConfigError) as e:
        resolve({"context": "prodution"}, env={"XDG_CONFIG_HOME": str(xdg)})
    assert "did you mean 'production'" in str(e.value)


def test_nothing_configured_means_no_servers(xdg):
    opts = resolve({}, env={"XDG_CONFIG_HOME": str(xdg)})
    assert opts.servers == [] and opts.source == ""


def test_options_never_show_secrets(xdg):
    opts = resolve(
        {"servers": ["nats://bob:hunter22@h:4222"], "user": "bob", "password": "pa55word!", "token": "tok-xyz-123"},
        env={"XDG_CONFIG_HOME": str(xdg)},
    )
    shown = repr(opts) + opts.described()
    for secret in ("pa55word!", "tok-xyz-123", "hunter22"):
        assert secret not in shown
    assert "bob" in opts.described()
