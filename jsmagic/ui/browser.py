"""``%js_stream browse``: a stream browser widget over :class:`jsmagic.explore.browse.Browser`.

Buttons page (first, previous, next, last), a sequence or a time jumps, a subject filter
narrows; a list picks one message, shown with its headers and decoded payload; the
``%js_consume`` line that reads the page is under it.  The browser reads (the core); this
widget only calls it and renders, on the kernel's loop while it is idle.

Display as every live view does (see :mod:`jsmagic.ui.livetable`): shown with a display id
whose bundle carries a static ``text/html`` copy (refreshed on each page and by Save); once
stopped (Stop, :meth:`BrowserView.stop`, the kernel shutting down) the output is replaced by
:meth:`BrowserView.snapshot` alone, so a saved notebook shows the page, not "model not
found".  The snapshot is its own method so the live-view protocol can call it.
"""

from __future__ import annotations

import asyncio
import atexit
import html
import logging
import weakref
from typing import Any, Awaitable, Callable

import orjson

from ..core.runner import current_loop
from .tablestyle import cell, format_time, table_html

log = logging.getLogger("jsmagic.ui.browser")

SHOWN_COLUMNS = ["seq", "subject", "time", "size", "value"]
DETAIL_CHARS = 20_000  # a payload longer than this is cut in the detail pane


def _pretty(value: Any) -> str:
    if isinstance(value, (dict, list)):
        try:
            text = orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()
        except TypeError:
            text = repr(value)
    elif isinstance(value, (bytes, bytearray)):
        text = repr(bytes(value))
    else:
        text = str(value)
    return text if len(text) <= DETAIL_CHARS else text[:DETAIL_CHARS] + "\n… (cut)"


class BrowserView:
    """The widget: ``.browser`` (the core), ``.page`` (the page's frame), ``.stop()``, ``.snapshot()``."""

    def __init__(self, browser: Any) -> None:
        import ipywidgets as w

        self.browser = browser
        self.selected: int | None = None
        self.error = ""
        self.stopped = False
        self._display: Any = None
        self._tasks: set[asyncio.Future] = set()
        self.header = w.HTML()
        buttons = [("« first", browser.first), ("◀ previous", browser.previous), ("next ▶", browser.next),
                   ("last »", browser.last)]
        self.buttons = []
        for label, method in buttons:
            b = w.Button(description=label, layout=w.Layout(width="auto", flex="0 0 auto"))
            b.on_click(lambda _b, m=method: self._spawn(m()))
            self.buttons.append(b)
        # the boxes act when their value is entered (Enter, or leaving the box), not on each key
        self.seq_box = w.Text(placeholder="go to sequence", continuous_update=False, layout=w.Layout(width="10em"))
        self.seq_box.observe(lambda c: c["new"].strip() and self._spawn(browser.at_text(c["new"])), names="value")
        self.time_box = w.Text(placeholder="go to time (ISO, or 2h ago)", continuous_update=False,
                               layout=w.Layout(width="16em"))
        self.time_box.observe(lambda c: c["new"].strip() and self._spawn(browser.at_time_text(c["new"])), names="value")
        self.filter_box = w.Text(value=browser.subject or "", placeholder="subject filter (orders.*)",
                                 continuous_update=False, layout=w.Layout(width="16em"))
        self.filter_box.observe(lambda c: self._spawn(browser.filtered(c["new"])), names="value")
        self.save_button = w.Button(description="save", tooltip="keep this page in the notebook file",
                                    layout=w.Layout(width="auto", flex="0 0 auto"))
        self.save_button.on_click(lambda _b: self.save())
        self.stop_button = w.Button(description="stop", button_style="warning",
                                    layout=w.Layout(width="auto", flex="0 0 auto"))
        self.stop_button.on_click(lambda _b: self.stop())
        self.picker = w.Select(rows=1, layout=w.Layout(width="auto"), description="message")
        self.picker.observe(self._picked, names="value")
        self.table = w.HTML()
        self.detail = w.HTML()
        self.line = w.HTML()
        self.controls = [*self.buttons, self.seq_box, self.time_box, self.filter_box, self.save_button,
                         self.stop_button, self.picker]
        self.widget = w.VBox([self.header,
                              w.HBox([*self.buttons, self.save_button, self.stop_button]),
                              w.HBox([self.seq_box, self.time_box, self.filter_box]),
                              self.table, self.picker, self.detail, self.line])
        self.render()

    # ---- actions: the buttons schedule the core's moves on the kernel's loop; ui awaits nothing ----
    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Future:
        """Schedule one move of the core browser; the page renders when it ends (an error: one line)."""
        if self.stopped:
            if hasattr(coro, "close"):
                coro.close()  # never awaited: no "coroutine was never awaited" warning
            done = current_loop().create_future()
            done.set_result(None)
            return done
        task = asyncio.ensure_future(coro, loop=current_loop())
        self._tasks.add(task)
        task.add_done_callback(self._ended)
        return task

    def _ended(self, task: asyncio.Future) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        e = task.exception()
        if e is None:
            self.error, self.selected = "", None
        else:  # shown in the widget's status line, as one line (logged)
            log.info("browser action failed: %r", e)
            self.error = " ".join(str(e).split()) or type(e).__name__
        self.render()
        self.refresh()

    def go(self, action: Callable[[], Awaitable[Any]]) -> asyncio.Future:
        """Run one browser action (``view.browser.next``) as a button does; ``await`` it to wait for the page."""
        return self._spawn(action())

    def _picked(self, change: dict) -> None:
        self.selected = change["new"]
        self.detail.value = self._detail_html()
        self.refresh()

    # ---- rendering ---------------------------------------------------------------------------
    @property
    def page(self):
        """The page shown, as a DataFrame."""
        return self.browser.page.frame

    def _header_html(self) -> str:
        state = "stopped" if self.stopped else "live"
        colour = "#6e7781" if self.stopped else "#1a7f37"
        error = f" <span style='color:#cf222e'>{html.escape(self.error)}</span>" if self.error else ""
        return (f"<b>stream browser</b> <span style='color:{colour}'>● {state}</span> "
                f"<small>{html.escape(self.browser.describe())}</small>{error}")

    def _table_html(self) -> str:
        df = self.page
        rows = []
        for rec in df.itertuples(index=False):
            r = rec._asdict()
            values = [cell(int(r["seq"])), cell(r["subject"]), cell(format_time(r["time"])), cell(int(r["size"])),
                      cell(r["value"])]
            rows.append((values, False, self.selected is not None and int(r["seq"]) == self.selected))
        return table_html(SHOWN_COLUMNS, rows, css_class="jsmagic-browser", fade=False)

    def _detail_html(self) -> str:
        if self.selected is None:
            return "<small>pick a message to see its headers and payload</small>"
        try:
            m = self.browser.message(self.selected)
        except Exception as e:  # noqa: BLE001 - the page changed under the pick: say so (logged)
            log.info("picked message gone: %r", e)
            return f"<small>{html.escape(str(e))}</small>"
        headers = "".join(f"<div><code>{html.escape(str(k))}: {html.escape(str(v))}</code></div>"
                          for k, v in (m.get("headers") or {}).items()) or "<small>no headers</small>"
        error = m.get("decode_error")
        note = f"<div style='color:#cf222e'>{html.escape(str(error))}</div>" if isinstance(error, str) else ""
        return (f"<div class='jsmagic-message'><b>seq {int(m['seq'])}</b> {html.escape(m['subject'])} "
                f"<small>{html.escape(format_time(m['time']))}, {int(m['size'])} bytes</small><div>{headers}</div>{note}"
                f"<pre style='margin:4px 0;max-height:24em;overflow:auto'>{html.escape(_pretty(m['value']))}</pre></div>")

    def _line_html(self) -> str:
        return f"<div><small>this page as a DataFrame:</small> <code>{html.escape(self.browser.consume_line())}</code></div>"

    def render(self) -> None:
        self.header.value = self._header_html()
        self.table.value = self._table_html()
        options = [(f"{int(s)}  {subj}", int(s)) for s, subj in zip(self.page["seq"], self.page["subject"])]
        self.picker.unobserve(self._picked, names="value")
        self.picker.options = options
        self.picker.value = self.selected if self.selected in [o[1] for o in options] else None
        self.picker.observe(self._picked, names="value")
        self.detail.value = self._detail_html()
        self.line.value = self._line_html()
        for c in self.controls:
            c.disabled = self.stopped

    def pick(self, seq: int) -> None:
        """Show one message of the page (as picking it in the list does)."""
        self.picker.value = int(seq)

    def html(self) -> str:
        """A static copy of what the widget shows (the page, the picked message, the line)."""
        return (f"<div class='jsmagic-browse'><div style='margin-bottom:4px'>{self._header_html()}</div>"
                f"{self._table_html()}{self._detail_html() if self.selected is not None else ''}{self._line_html()}</div>")

    def snapshot(self) -> dict[str, str]:
        """The output that replaces the widget once stopped: static HTML and text, no widget view."""
        return {"text/html": self.html(), "text/plain": repr(self)}

    def bundle(self, include=None, exclude=None) -> dict:
        """The live output: the widget view, with the static copy as its ``text/html`` fallback."""
        out = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        out["text/html"] = self.html()
        out["text/plain"] = repr(self)
        return out

    def __repr__(self) -> str:
        return f"<StreamBrowser {self.browser.describe()}{' stopped' if self.stopped else ''}>"

    # ---- display, save and stop --------------------------------------------------------------
    def display(self) -> "BrowserView":
        """Display the widget with a display id (its static copy is refreshed on each page)."""
        from IPython.display import display

        self._display = display(_Live(self), display_id=True)
        if not _SHOWN:
            atexit.register(stop_all)
        _SHOWN.add(self)
        return self

    def refresh(self) -> None:
        """Re-send the output: live, the widget with a fresh static copy; stopped, the snapshot alone."""
        if self._display is None:
            return
        try:
            self._display.update(self.snapshot() if self.stopped else _Live(self), raw=self.stopped)
        except Exception as e:  # noqa: BLE001 - no frontend (plain Python): nothing to refresh (logged)
            log.debug("refresh without a frontend: %r", e)

    def save(self) -> None:
        """Keep the current page in the notebook file (the static copy of the output)."""
        self.refresh()

    def stop(self) -> None:
        """Stop browsing: the output becomes the static snapshot of the current page."""
        if self.stopped:
            return
        self.stopped = True
        for task in list(self._tasks):
            task.cancel()
        self.render()
        self.refresh()
        _SHOWN.discard(self)


class _Live:
    """What is displayed while the browser runs (the view itself shows as text: ``Out[]`` is no second widget)."""

    def __init__(self, view: BrowserView) -> None:
        self.view = view

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.view.bundle(include, exclude)


_SHOWN: "weakref.WeakSet[BrowserView]" = weakref.WeakSet()  # displayed and not stopped


def stop_all() -> None:
    """Stop every displayed browser (the kernel is going away): each output becomes its snapshot."""
    for view in list(_SHOWN):
        try:
            view.stop()
        except Exception as e:  # noqa: BLE001 - the kernel's channels may be gone: best effort (logged)
            log.debug("stopping a browser at shutdown failed: %r", e)
    atexit.unregister(stop_all)
