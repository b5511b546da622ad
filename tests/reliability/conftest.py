"""Fixtures for the security and leak suites: a test PKI, nkeys, creds, and servers that use them.

Everything is generated in the test run (nothing checked in): a self-signed CA with a
server and a client certificate, a second unrelated CA (the "wrong CA"), nkey user
seeds, and an operator/account/user JWT chain so that a real ``.creds`` file can be
used against a server in operator mode.  Every secret is a fresh random value, so a
scan of notebook output for it cannot match by accident.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
import os
import secrets as pysecrets
import time
from dataclasses import dataclass
from pathlib import Path

import nkeys
import pytest

from jsmagic.testing import nats_server

# ---------------------------------------------------------------------------------------
# TLS: a CA, a server certificate for 127.0.0.1/localhost, a client certificate
# ---------------------------------------------------------------------------------------


@dataclass
class PKI:
    """Paths of the generated PEM files."""

    ca: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str
    wrong_ca: str


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key, path: Path) -> str:
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(path)


def _write_cert(cert, path: Path) -> str:
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


def _cert(subject_cn: str, key, issuer_cert=None, issuer_key=None, ca: bool = False, server: bool = False):
    """One X.509 certificate; self-signed when no issuer is given (a CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_cert.subject if issuer_cert is not None else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key if issuer_key is not None else key, hashes.SHA256())


def make_pki(folder: Path) -> PKI:
    """Generate a CA, a server and a client certificate signed by it, and an unrelated CA."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca = _cert("jsmagic test CA", ca_key, ca=True)
    srv_key = _key()
    srv = _cert("127.0.0.1", srv_key, issuer_cert=ca, issuer_key=ca_key, server=True)
    cli_key = _key()
    cli = _cert("jsmagic client", cli_key, issuer_cert=ca, issuer_key=ca_key)
    other_key = _key()
    other = _cert("some other CA", other_key, ca=True)
    return PKI(
        ca=_write_cert(ca, folder / "ca.pem"),
        server_cert=_write_cert(srv, folder / "server.pem"),
        server_key=_write_key(srv_key, folder / "server-key.pem"),
        client_cert=_write_cert(cli, folder / "client.pem"),
        client_key=_write_key(cli_key, folder / "client-key.pem"),
        wrong_ca=_write_cert(other, folder / "wrong-ca.pem"),
    )


# ---------------------------------------------------------------------------------------
# nkeys, JWTs and creds files
# ---------------------------------------------------------------------------------------


def new_nkey(prefix: int = nkeys.PREFIX_BYTE_USER) -> tuple[str, str]:
    """A fresh ``(seed, public_key)`` pair (user keys by default)."""
    seed = nkeys.encode_seed(os.urandom(32), prefix)
    kp = nkeys.from_seed(bytearray(seed))
    return seed.decode(), kp.public_key.decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def issue_jwt(issuer_seed: str, subject: str, name: str, nats_claims: dict) -> str:
    """A NATS v2 JWT (``ed25519-nkey``) for ``subject``, signed by ``issuer_seed``."""
    kp = nkeys.from_seed(bytearray(issuer_seed.encode()))
    claims = {
        "jti": "",
        "iat": int(time.time()),
        "iss": kp.public_key.decode(),
        "name": name,
        "sub": subject,
        "nats": {**nats_claims, "version": 2},
    }
    claims["jti"] = base64.b32encode(hashlib.sha256(json.dumps(claims).encode()).digest()).rstrip(b"=").decode()
    header = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = kp.sign(f"{header}.{body}".encode())
    return f"{header}.{body}.{_b64(signature)}"


def creds_text(user_jwt: str, user_seed: str) -> str:
    """The ``.creds`` file format of ``nsc``/``nats`` (JWT block, then seed block)."""
    return (
        "-----BEGIN NATS USER JWT-----\n"
        f"{user_jwt}\n"
        "------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n"
        "NKEYs are sensitive and should be treated as secrets.\n\n"
        "-----BEGIN USER NKEY SEED-----\n"
        f"{user_seed}\n"
        "------END USER NKEY SEED------\n\n"
        "*************************************************************\n"
    )


_UNLIMITED = {
    "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1, "wildcards": True,
    "conn": -1, "leaf": -1,
}


@dataclass
class Operator:
    """An operator-mode setup: server config text and a good and a bad creds file."""

    config: str
    creds: str  # a user of the JetStream-enabled account
    stranger_creds: str  # a user signed by an account the server does not know
    secrets: list[str]  # every seed and JWT written into the creds files


def make_operator(folder: Path) -> Operator:
    """Operator, system account, app account with JetStream, a user of it, and a stranger."""
    folder.mkdir(parents=True, exist_ok=True)
    op_seed, op_pub = new_nkey(nkeys.PREFIX_BYTE_OPERATOR)
    sys_seed, sys_pub = new_nkey(nkeys.PREFIX_BYTE_ACCOUNT)
    app_seed, app_pub = new_nkey(nkeys.PREFIX_BYTE_ACCOUNT)
    user_seed, user_pub = new_nkey()
    rogue_seed, rogue_pub = new_nkey(nkeys.PREFIX_BYTE_ACCOUNT)
    stranger_seed, stranger_pub = new_nkey()

    op_jwt = issue_jwt(op_seed, op_pub, "test-operator", {"type": "operator", "system_account": sys_pub})
    sys_jwt = issue_jwt(op_seed, sys_pub, "SYS", {"type": "account", "limits": _UNLIMITED})
    app_limits = {**_UNLIMITED, "mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1}
    app_jwt = issue_jwt(op_seed, app_pub, "APP", {"type": "account", "limits": app_limits})
    user_claims = {"type": "user", "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1}
    user_jwt = issue_jwt(app_seed, user_pub, "app-user", user_claims)
    stranger_jwt = issue_jwt(rogue_seed, stranger_pub, "stranger", user_claims)

    good = folder / "app-user.creds"
    good.write_text(creds_text(user_jwt, user_seed))
    bad = folder / "stranger.creds"
    bad.write_text(creds_text(stranger_jwt, stranger_seed))
    config = (
        f'operator: "{op_jwt}"\n'
        f'system_account: "{sys_pub}"\n'
        "resolver: MEMORY\n"
        f'resolver_preload: {{\n  {sys_pub}: "{sys_jwt}"\n  {app_pub}: "{app_jwt}"\n}}\n'
    )
    return Operator(
        config=config,
        creds=str(good),
        stranger_creds=str(bad),
        secrets=[user_seed, user_jwt, stranger_seed, stranger_jwt, app_seed, op_seed],
    )


# ---------------------------------------------------------------------------------------
# Secrets and the servers that ask for them
# ---------------------------------------------------------------------------------------


@dataclass
class Auth:
    """The credentials of the auth servers (plain values and the files that hold them)."""

    folder: Path
    password: str
    token: str
    orders_password: str
    nkey_seed: str
    nkey_public: str
    nkey_file: str
    stranger_seed: str  # a valid nkey seed the server does not know
    stranger_file: str
    special_password: str = ""  # with @ : / (must be %-quoted in a URL)

    def write(self, name: str, value: str) -> str:
        """A file holding ``value`` (so notebook sources never contain a secret)."""
        path = self.folder / name
        path.write_text(value)
        return str(path)


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> PKI:
    """A fresh test CA, server and client certificates, and an unrelated CA."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def auth(tmp_path_factory) -> Auth:
    """Random passwords, a token and nkey seeds, written to files as well."""
    folder = tmp_path_factory.mktemp("auth")
    seed, public = new_nkey()
    stranger, _ = new_nkey()
    a = Auth(
        folder=folder,
        password="pw-" + pysecrets.token_urlsafe(12),
        token="tok-" + pysecrets.token_urlsafe(16),
        orders_password="opw-" + pysecrets.token_urlsafe(12),
        nkey_seed=seed,
        nkey_public=public,
        nkey_file="",
        stranger_seed=stranger,
        stranger_file="",
    )
    a.special_password = f"sp@{pysecrets.token_hex(4)}:{pysecrets.token_hex(4)}/{pysecrets.token_hex(4)}"
    a.nkey_file = a.write("user.nk", seed + "\n")
    a.stranger_file = a.write("stranger.nk", stranger + "\n")
    return a


def users_config(a: Auth) -> str:
    """alice and bob (passwords), orders (password, only ``orders.>``) and an nkey user."""
    return f"""
authorization {{
  users = [
    {{ user: alice, password: "{a.password}" }}
    {{ user: bob, password: "{a.special_password}" }}
    {{ user: orders, password: "{a.orders_password}",
       permissions: {{
         publish: ["orders.>", "$JS.API.>"]
         subscribe: ["orders.>", "_INBOX.>"]
       }} }}
    {{ nkey: {a.nkey_public} }}
  ]
}}
"""


@pytest.fixture(scope="session")
def users_server(auth):
    """A JetStream server with user/password, a restricted user and an nkey user."""
    with nats_server(config=users_config(auth)) as s:
        yield s


@pytest.fixture(scope="session")
def token_server(auth):
    """A JetStream server that wants a token."""
    with nats_server(config=f'authorization {{ token: "{auth.token}" }}\n') as s:
        yield s


def tls_config(p: PKI, verify: bool = True) -> str:
    """A TLS block: our server cert, our CA, and (``verify``) client certificates required."""
    return f"""
tls {{
  cert_file: "{p.server_cert}"
  key_file: "{p.server_key}"
  ca_file: "{p.ca}"
  verify: {"true" if verify else "false"}
  timeout: 2
}}
"""


@pytest.fixture(scope="session")
def tls_server(pki):
    """A JetStream server with TLS that requires a client certificate from our CA."""
    with nats_server(config=tls_config(pki, verify=True)) as s:
        yield s


@pytest.fixture(scope="session")
def operator(tmp_path_factory) -> Operator:
    """An operator/account/user JWT chain and its creds files."""
    return make_operator(tmp_path_factory.mktemp("operator"))


@pytest.fixture(scope="session")
def creds_server(operator):
    """A JetStream server in operator mode (accounts from JWTs, users from creds files)."""
    with nats_server(config=operator.config) as s:
        yield s
