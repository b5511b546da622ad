"""Text that changes per message: ``nats pub`` templates and notebook variables.

Two syntaxes, chosen so that neither collides with JSON bodies, with each other, nor
with ``$JS.…``/``$KV.…`` subjects:

* ``{{Count}}``, ``{{ID}}``, ``{{TimeStamp}}``, ``{{Unix}}``, ``{{UnixNano}}``,
  ``{{Random 5 10}}`` — the ``nats pub`` templates (spaces and a leading dot are
  allowed: ``{{ .Count }}``), rendered *per message*.  ``Count`` is the 1-based
  number of the message within the publish (so ``--msg-id order-{{Count}}`` gives
  the same ids when a cell is re-run).
* ``{=name}`` or ``{=expression}`` — a notebook value, evaluated *once* per cell in
  the notebook's namespace.  JSON never contains ``{=`` (an object starts ``{"`` or
  ``{}``), so bodies stay literal.  Strings are inserted as they are; ``True``/
  ``None`` as ``true``/``null``; dicts and lists as JSON; anything else with ``str()``.
  An undefined name is an error, never left silently as text.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import string
import time
from typing import Any, Callable, Iterator, Mapping

import orjson
from nats.nuid import NUID

from ..core.errors import InputError

NAMES = ("Count", "ID", "TimeStamp", "Unix", "UnixNano", "Random")
_TEMPLATE = re.compile(r"\{\{(.*?)\}\}")
_JSON_START = re.compile(r"^[ \t]*[{\[]", re.MULTILINE)  # a line that starts like JSON is checked as JSON
_ALPHABET = string.ascii_letters + string.digits
_nuid = NUID()


def has_templates(text: str) -> bool:
    """Whether ``text`` needs per-message rendering (cheap: one substring search)."""
    return "{{" in text


def _random_text(low: int, high: int) -> str:
    """A random alphanumeric string of ``low``..``high`` characters (``{{Random a b}}``)."""
    return "".join(random.choices(_ALPHABET, k=random.randint(low, high)))


def _rfc3339() -> str:
    """Now as RFC 3339 with the local offset, as Go's ``time.RFC3339`` prints it (``Z`` for UTC)."""
    text = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _compile_tag(body: str, where: str) -> Callable[[int], str]:
    """One ``{{…}}`` tag → a function of the message count; unknown names fail here, before publishing."""
    words = body.strip().split()
    name = words[0].lstrip(".") if words else ""
    args = words[1:]
    simple: dict[str, Callable[[int], str]] = {
        "Count": str,
        "ID": lambda _n: _nuid.next().decode(),
        "TimeStamp": lambda _n: _rfc3339(),
        "Unix": lambda _n: str(int(time.time())),
        "UnixNano": lambda _n: str(time.time_ns()),
    }
    if name in simple:
        if args:
            raise InputError(f"template {{{{{body}}}}} in {where} takes no arguments")
        return simple[name]
    if name == "Random":
        try:
            low, high = (int(a) for a in args)
        except ValueError:
            low = high = -1
        if not 0 <= low <= high:
            raise InputError(
                f"bad template {{{{{body}}}}} in {where}", hint="use {{Random MIN MAX}}, e.g. {{Random 5 10}}"
            )
        return lambda _n: _random_text(low, high)
    raise InputError(
        f"unknown template {{{{{body.strip()}}}}} in {where}",
        hint="known: " + ", ".join("{{%s}}" % n for n in NAMES) + "; use --raw to publish the text as is",
    )


class Template:
    """A piece of text with ``{{…}}`` tags, compiled once and rendered per message."""

    __slots__ = ("text", "parts", "static")

    def __init__(self, text: str, where: str = "the text"):
        self.text = text
        self.parts: list[str | Callable[[int], str]] = []
        pos = 0
        for match in _TEMPLATE.finditer(text) if has_templates(text) else ():
            if match.start() > pos:
                self.parts.append(text[pos : match.start()])
            self.parts.append(_compile_tag(match.group(1), where))
            pos = match.end()
        if pos < len(text):
            self.parts.append(text[pos:])
        self.static = all(isinstance(p, str) for p in self.parts)

    @classmethod
    def literal(cls, text: str) -> "Template":
        """Text used exactly as written (``--raw``): no tags are looked for."""
        t = cls("")
        t.text, t.parts, t.static = text, [text], True
        return t

    def render(self, count: int) -> str:
        """The text for message number ``count`` (1-based)."""
        if self.static:
            return self.text
        return "".join(p if isinstance(p, str) else p(count) for p in self.parts)


# ---- notebook variables: {=expr} ---------------------------------------------------------

_VAR_OPEN = "{="


def format_value(value: Any) -> str:
    """How a notebook value is written into a subject, header or body (see module doc)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if value is None or isinstance(value, (bool, dict, list, tuple)):
        try:
            return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS, default=str).decode()
        except TypeError:
            return str(value)
    return str(value)


def _expression_end(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``{=`` expression that starts at ``start``, or -1.

    The expression may itself contain braces (``{={'a': 1}['a']}``): the first ``}`` after
    which the text compiles as a Python expression wins.  It never spans lines.
    """
    line_end = text.find("\n", start)
    limit = len(text) if line_end < 0 else line_end
    j = text.find("}", start, limit)
    while j >= 0:
        try:
            compile(text[start:j], "<{=…}>", "eval")
            return j
        except SyntaxError:
            j = text.find("}", j + 1, limit)
    return -1


def expand_variables(text: str, namespace: Mapping[str, Any], where: str = "the cell") -> str:
    """``text`` with every ``{=expr}`` replaced by its value in ``namespace``; loud on failure."""
    if _VAR_OPEN not in text:
        return text
    out: list[str] = []
    pos = 0
    while True:
        i = text.find(_VAR_OPEN, pos)
        if i < 0:
            out.append(text[pos:])
            return "".join(out)
        line = text.count("\n", 0, i) + 1
        place = f"{where}, line {line}" if "\n" in text else where
        end = _expression_end(text, i + 2)
        if end < 0:
            raise InputError(
                f"unterminated or invalid {{=…}} in {place}: {text[i:i + 40]!r}",
                hint="write {=name} or {=expression}; use --raw to publish the text as is",
            )
        out.append(text[pos:i])
        out.append(format_value(_evaluate(text[i + 2 : end].strip(), namespace, place)))
        pos = end + 1


def _evaluate(expr: str, namespace: Mapping[str, Any], place: str) -> Any:
    """Evaluate one ``{=expr}`` in the notebook namespace, turning failures into one-line errors."""
    if not expr:
        raise InputError(f"empty {{=}} in {place}", hint="write {=name} or {=expression}")
    try:
        return eval(expr, dict(namespace) if not isinstance(namespace, dict) else namespace)  # noqa: S307 - the user's own notebook
    except NameError as e:
        name = getattr(e, "name", None) or str(e)
        raise InputError(
            f"undefined name {name!r} in {{={expr}}} ({place})",
            hint="define it in a cell first, or use --raw to publish the text as is",
        ) from None
    except Exception as e:
        raise InputError(f"{{={expr}}} failed ({place}): {type(e).__name__}: {e}") from None


# ---- a cell's text as messages --------------------------------------------------------------

def _bodies(text: str, whole: bool) -> Iterator[tuple[int, str]]:
    """``(line number, body)``: each non-empty line, or the whole cell as line 1 (streamed, no list copy)."""
    if whole:
        body = text.rstrip("\r\n")
        if body.strip():
            yield 1, body
        return
    # str.find over the cell itself: io.StringIO would copy it at 4 bytes per character
    pos, size, number, find = 0, len(text), 0, text.find
    while pos < size:
        end = find("\n", pos)
        if end < 0:
            end = size
        number += 1
        line = text[pos:end]
        pos = end + 1
        if line and not line.isspace():
            yield number, line.rstrip("\r")


_INNER_BLANK = re.compile(r"\n[^\S\n]*(?=\n)")  # a blank line with a newline on both sides


def _line_stats(text: str) -> tuple[int, int]:
    """(non-blank lines, longest line in characters) without slicing the cell into lines.

    Counts exactly what :func:`_bodies` yields, at C speed for the blank lines.
    """
    if not text:
        return 0, 0
    ends_nl = text.endswith("\n")
    first_end = text.find("\n")
    segments = text.count("\n") + (0 if ends_nl else 1)
    blanks = sum(1 for _ in _INNER_BLANK.finditer(text))
    blanks += not text[: first_end if first_end >= 0 else len(text)].strip()
    if first_end >= 0 and not ends_nl:
        blanks += not text[text.rfind("\n") + 1 :].strip()
    longest, pos, find = 0, 0, text.find
    while True:
        end = find("\n", pos)
        if end < 0:
            return segments - blanks, max(longest, len(text) - pos)
        if end - pos > longest:
            longest = end - pos
        pos = end + 1


def scan_cell(text: str, *, whole: bool, json_mode: bool, max_payload: int, templates: bool = True,
              plain_text: bool = False) -> int:
    """Check a cell before anything is sent; return how many messages one pass gives.

    Bad JSON (``--json``; without it, a message that starts like JSON with ``{`` or ``[``
    unless ``plain_text``), an unknown template or a line above the server's max_payload
    fails here, naming the line, so a cell is never half-published for those reasons.
    So does text UTF-8 cannot carry (a lone surrogate), which would fail mid-publish.
    """
    if not text.isascii():  # isascii costs nothing; encoding copies the cell once
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:
            line = text.count("\n", 0, e.start) + 1
            raise InputError(f"line {line}: text that cannot be sent as UTF-8 ({e.reason}); nothing published") from None
    looks_json = not plain_text and _JSON_START.search(text) is not None
    if not (whole or json_mode or looks_json or (templates and has_templates(text))):
        count, longest = _line_stats(text)
        if longest * 4 <= max_payload:  # the common big cell: no per-line work needed
            return count
    n = 0
    for number, body in _bodies(text, whole):
        n += 1
        where = f"line {number}" if not whole else "the cell"
        if templates and has_templates(body):
            body = Template(body, where).render(n)
        if len(body) * 4 > max_payload and len(body.encode()) > max_payload:
            raise InputError(
                f"{where}: {len(body.encode()):,} bytes is larger than the server's max_payload ({max_payload:,}); nothing published"
            )
        if json_mode or (looks_json and body.lstrip()[:1] in ("{", "[")):
            _check_json(body, where, json_mode)
    return n


def _check_json(body: str, where: str, json_mode: bool) -> None:
    """A message that must be JSON (``--json``, or it starts like JSON) and does not parse: refuse, naming it."""
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as e:
        at = f"column {e.colno}" if "\n" not in body else f"its line {e.lineno}, column {e.colno}"
        if json_mode:
            raise InputError(f"{where} is not valid JSON ({e.msg} at {at}); nothing published",
                             hint="fix it, or drop --json") from None
        raise InputError(f"{where} starts like JSON but does not parse ({e.msg} at {at}); nothing published",
                         hint="fix it, or add --text to send such lines as plain text") from None


def cell_messages(
    text: str, subject: Template, headers: dict[str, Template], *, whole: bool = False, count: int = 1, templates: bool = True
) -> Iterator[tuple[int, str, bytes, dict | None]]:
    """``(line, subject, payload, headers)`` per message, ``count`` times over; ``{{Count}}`` runs on across passes."""
    fixed = subject.static and all(t.static for t in headers.values())
    shared = {k: t.text for k, t in headers.items()} or None
    subj = subject.text
    compiled: dict[int, Template] = {}  # only filled when lines repeat (--count > 1)
    n = 0
    for _ in range(count):
        for number, body in _bodies(text, whole):
            n += 1
            if templates and has_templates(body):
                tpl = compiled.get(number) or Template(body, f"line {number}")
                if count > 1:
                    compiled[number] = tpl
                body = tpl.render(n)
            if fixed:
                yield number, subj, body.encode(), shared
            else:
                yield number, subject.render(n), body.encode(), {k: t.render(n) for k, t in headers.items()} or None
