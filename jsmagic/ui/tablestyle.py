"""One look for every table jsmagic draws: live tables, their saved snapshots and result frames.

Styles are inline (a reopened, untrusted notebook drops ``<style>`` elements but keeps
inline styles), so a snapshot looks like the live table: fixed column widths that do not
jump as values arrive, a header rule, padding and stripes.  The change highlight fades
through a CSS animation (where ``<style>`` is kept: live widgets and trusted outputs);
elsewhere it simply stays pale.

A header is never cut (``pendi…``): the table is at least as wide as its headers need
(:func:`min_width`; a narrow page scrolls the box sideways), and stays on top while the rows
scroll under it.

Times in tables read ``2026-11-28 17:15:06.665`` (UTC, milliseconds); the full value stays
in ``.df``.
"""

from __future__ import annotations

import datetime as _dt
import html
from typing import Any, Iterable, Sequence

TABLE = ("table-layout:fixed;width:100%;border-collapse:collapse;font-size:12px;"
         "font-family:var(--jp-code-font-family,monospace)")
TH = ("text-align:left;padding:3px 8px;border-bottom:2px solid #8c959f;font-weight:600;"
      "overflow:hidden;text-overflow:ellipsis;white-space:nowrap;"
      "position:sticky;top:0;background:var(--jp-layout-color0,#fff)")
TD = "text-align:left;padding:3px 8px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap"
STRIPE = "background:rgba(140,149,159,0.10);"
HOT = "background:#fff3b0;"
MUTED = "color:#8c959f;text-decoration:line-through;"
# the fading highlight: the hot row's element is re-created on each render, so the fade restarts
FADE = ("<style>@keyframes jsmagic-fade{from{background:#fff3b0}to{background:transparent}}"
        "tr.jsmagic-hot{animation:jsmagic-fade 3s ease-out forwards}</style>")
CELL_MAX = 120  # characters of a value shown in a cell
NAME_MAX = 20  # header characters always shown whole (a longer name may end in "…"; its title has it all)
# fixed layout shares the width equally: columns of known content get the width they need
WIDTHS = {"time": "25ch", "modified": "25ch", "seq": "10ch", "size": "10ch", "revision": "10ch",
          "operation": "11ch", "chunks": "8ch"}


def min_width(columns: Sequence[str], widths: dict[str, str] = WIDTHS) -> str:
    """The CSS width under which a header would be cut: fixed columns plus each other one's widest name.

    A fixed layout shares what the fixed columns leave equally, so every other column needs
    the room of the longest name among them (up to :data:`NAME_MAX`); 16 px is a cell's padding, 1ch spare.
    """
    fixed = [int(widths[c].removesuffix("ch")) for c in columns if c in widths]
    free = [min(len(c), NAME_MAX) for c in columns if c not in widths]
    chars = sum(fixed) + len(free) * (max(free, default=0) + 1)
    return f"calc({chars}ch + {16 * len(columns)}px)"


def format_time(value: Any) -> str:
    """A time as tables show it: ``2026-11-28 17:15:06.665`` in UTC (nanoseconds and datetimes)."""
    if value is None or value == "":
        return ""
    if isinstance(value, int):
        secs, rest = divmod(value, 1_000_000_000)
        value = _dt.datetime.fromtimestamp(secs, _dt.timezone.utc).replace(microsecond=rest // 1000)
    if isinstance(value, _dt.datetime):  # pandas Timestamps too
        if value != value:  # NaT
            return ""
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    return str(value)


def cell(value: Any) -> str:
    """A value as escaped, shortened cell text (the table is for looking, ``.df`` for data)."""
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        text = repr(bytes(value))
    elif isinstance(value, (dict, list)):  # nested JSON reads as JSON
        try:
            import orjson

            text = orjson.dumps(value, default=str).decode()
        except TypeError:
            text = str(value)
    elif isinstance(value, _dt.datetime):
        text = format_time(value)
    else:
        text = str(value)
    if len(text) > CELL_MAX:
        text = text[: CELL_MAX - 1] + "…"
    return html.escape(text)


def table_html(columns: Sequence[str], rows: Iterable[tuple[Sequence[Any], bool, bool]],
               css_class: str = "jsmagic-live", fade: bool = True, widths: dict[str, str] | None = None) -> str:
    """``rows`` of (cells, muted, highlighted) as one styled table; cells are given as display text.

    ``widths``: column widths (in ``ch``) over :data:`WIDTHS`.
    """
    widths = {**WIDTHS, **(widths or {})}
    head = "".join(f"<th style='{TH}{f';width:{widths[c]}' if c in widths else ''}' title='{html.escape(c)}'>"
                   f"{html.escape(c)}</th>" for c in columns)
    body = []
    for i, (values, muted, hot) in enumerate(rows):
        style = (HOT if hot else STRIPE if i % 2 else "") + (MUTED if muted else "")
        cls = " class='jsmagic-hot'" if hot else ""
        cells = "".join(f"<td style='{TD}'>{v}</td>" for v in values)
        body.append(f"<tr{cls} style='{style}'>{cells}</tr>")
    return (f"{FADE if fade else ''}<table class='{css_class}' style='{TABLE};min-width:{min_width(columns, widths)}'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")
