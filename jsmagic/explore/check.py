"""``--check FILE``: payloads validated against a JSON Schema, or an AsyncAPI document's message schemas.

:func:`load_checker` reads FILE (JSON, or YAML when PyYAML is installed).  A document with an
``asyncapi`` key is an AsyncAPI document (2.x or 3.x, as FastStream generates for its NATS
subscribers): each channel's subject (its NATS binding's ``subject``, else its ``address``,
else its name) gets the payload schemas of the channel's messages, and a message validates
when one of the schemas of a channel matching its subject (NATS wildcards) accepts it; a
message on a subject no channel describes is a violation too.  Any other document is one
JSON Schema for every payload.  ``$ref`` s resolve inside the document.  Validation is the
``jsonschema`` package's (``pip install 'jsmagic[check]'``).
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote, unquote
from typing import Any

import pandas as pd

from ..core.errors import InputError
from ..core.extras import require

MAX_VIOLATIONS = 10_000  # violating messages listed (the rest are counted)
DOC = "urn:jsmagic:check"  # the document's URI, for its $refs


def _load(path: str) -> dict:
    expanded = os.path.expanduser(path)
    if not os.path.isfile(expanded):
        raise InputError(f"--check {path}: no such file", hint="give the path of a JSON Schema or an AsyncAPI document")
    with open(expanded, encoding="utf-8") as f:
        text = f.read()
    try:
        doc = json.loads(text)
    except ValueError:
        try:
            import yaml
        except ImportError:
            raise InputError(f"--check {path} is not JSON", hint="give a JSON file, or pip install pyyaml for YAML") from None
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise InputError(f"--check {path} is neither JSON nor YAML ({' '.join(str(e).split())[:200]})") from None
    if not isinstance(doc, dict):
        raise InputError(f"--check {path} holds no schema (a JSON object)")
    return doc


def _subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard matching: ``*`` one token, ``>`` the rest."""
    p, s = pattern.split("."), subject.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(s) > i
        if i >= len(s) or (tok != "*" and tok != s[i]):
            return False
    return len(p) == len(s)


def _messages(node: Any, where: str) -> list[str]:
    """Pointers to the message objects of a message field (a ``$ref``, a ``oneOf`` of them, or inline)."""
    if isinstance(node, dict) and "$ref" in node:
        return [node["$ref"]]
    if isinstance(node, dict) and isinstance(node.get("oneOf"), list):
        return [p for i, m in enumerate(node["oneOf"]) for p in _messages(m, f"{where}/oneOf/{i}")]
    return [where]


def _resolve(doc: dict, ref: str) -> Any:
    """The node a local ``$ref`` (``#/components/messages/orders.%2A:Message``, percent-encoded) points at."""
    node: Any = doc
    for part in unquote(ref.lstrip("#/")).split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def asyncapi_channels(doc: dict) -> list[tuple[str, list[str]]]:
    """``(subject, [JSON pointers of payload schemas])`` for each channel of an AsyncAPI document."""
    out = []
    for name, ch in (doc.get("channels") or {}).items():
        subject = ((ch.get("bindings") or {}).get("nats") or {}).get("subject") or ch.get("address") or name
        pointers = []
        esc = quote(name.replace("~", "~0").replace("/", "~1"), safe="~:")
        messages = [(f"#/channels/{esc}/{op}/message", ch[op]["message"]) for op in ("publish", "subscribe")
                    if isinstance(ch.get(op), dict) and "message" in ch[op]]  # AsyncAPI 2
        messages += [(f"#/channels/{esc}/messages/{k}", m) for k, m in (ch.get("messages") or {}).items()]  # 3
        for where, msg in messages:
            for ref in _messages(msg, where):
                target = _resolve(doc, ref)
                while isinstance(target, dict) and "$ref" in target and "payload" not in target:
                    ref = target["$ref"]
                    target = _resolve(doc, ref)
                if isinstance(target, dict) and "payload" in target:
                    pointers.append(f"{ref}/payload")
        out.append((subject, pointers))
    return out


class Checker:
    """Validates payloads (:meth:`check`), keeping the first :data:`MAX_VIOLATIONS` violations."""

    def __init__(self, doc: dict, path: str = "") -> None:
        jsonschema = require("jsonschema", "check", "--check")
        from referencing import Registry, Resource  # jsonschema's own dependency
        from referencing.jsonschema import DRAFT7, specification_with

        self.path = path
        self.checked = self.violating = 0
        self.rows: list[tuple] = []
        self.asyncapi = "asyncapi" in doc
        spec = specification_with(doc.get("$schema", ""), default=DRAFT7)  # none said: draft 7
        registry = Registry().with_resource(DOC, Resource(contents=doc, specification=spec))
        cls = jsonschema.validators.validator_for(doc if not self.asyncapi else {}, default=jsonschema.Draft7Validator)

        def make(pointer: str) -> Any:
            return cls({"$ref": f"{DOC}{pointer}"}, registry=registry)

        if self.asyncapi:
            self.channels = [(subject, [make(p) for p in ptrs]) for subject, ptrs in asyncapi_channels(doc)]
            if not self.channels:
                raise InputError(f"--check {path}: the AsyncAPI document describes no channel")
        else:
            cls.check_schema(doc)
            self.validator = cls(doc, registry=registry)
        self._errors = jsonschema.exceptions

    def _validators(self, subject: str) -> list[Any] | None:
        if not self.asyncapi:
            return [self.validator]
        matched = [vs for pattern, vs in self.channels if _subject_matches(pattern, subject)]
        return [v for vs in matched for v in vs] if matched else None

    def reason(self, subject: str, value: Any, error: str | None) -> str | None:
        """Why this payload does not validate, or None when it does."""
        if error is not None:
            return f"not decodable: {error}"
        validators = self._validators(subject)
        if validators is None:
            return f"no channel of the AsyncAPI document carries subject {subject}"
        if isinstance(value, (bytes, bytearray)):
            return "not JSON (binary payload)"
        reasons = []
        for v in validators:
            best = self._errors.best_match(v.iter_errors(value))
            if best is None:
                return None
            where = "/".join(str(p) for p in best.absolute_path)
            reasons.append(f"{where}: {best.message}" if where else best.message)
        return " | ".join(dict.fromkeys(reasons))[:500] if reasons else "no message schema for this channel"

    def check(self, seq: int, ns: int, subject: str, value: Any, error: str | None) -> None:
        self.checked += 1
        why = self.reason(subject, value, error)
        if why is None:
            return
        self.violating += 1
        if len(self.rows) < MAX_VIOLATIONS:
            self.rows.append((seq, subject, ns, why))

    def frame(self) -> pd.DataFrame:
        """The violating messages listed: ``seq, subject, time, reason``."""
        df = pd.DataFrame(self.rows, columns=["seq", "subject", "time", "reason"])
        df["seq"] = df["seq"].astype("uint64")
        df["time"] = pd.to_datetime(df["time"].astype("int64"), unit="ns", utc=True)
        return df


def load_checker(path: str) -> Checker:
    """A :class:`Checker` for a JSON Schema or AsyncAPI file (a bad schema fails here, before reading)."""
    doc = _load(path)
    try:
        return Checker(doc, path)
    except (KeyError, TypeError) as e:
        raise InputError(f"--check {path}: a $ref or message in the document does not resolve ({e})") from None
    except Exception as e:  # noqa: BLE001 - jsonschema's SchemaError: worded as one line
        if type(e).__name__ in ("SchemaError", "Unresolvable", "PointerToNowhere"):
            raise InputError(f"--check {path} is not a valid JSON Schema: {' '.join(str(e).split())[:200]}") from None
        raise
