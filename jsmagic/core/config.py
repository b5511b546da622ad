"""``%config JSMagic.<trait>``: the defaults that every jsmagic magic uses.

One :class:`JSMagic` configurable exists per process.  Core code reads it through
:func:`settings` (no IPython needed); the extension registers the same object with
the shell so ``%config JSMagic.timeout = 10`` changes it for every later cell.
"""

from __future__ import annotations

import os

from traitlets import Bool, Float, Int, Unicode, validate, TraitError
from traitlets.config import Configurable


class JSMagic(Configurable):
    """Defaults for jsmagic's magics; set them with ``%config JSMagic.<name> = value``."""

    timeout = Float(
        5.0,
        help="Seconds to wait for the server (connect, API calls, an idle fetch). Example: %config JSMagic.timeout = 10",
    ).tag(config=True)
    display_limit = Int(
        20, help="Rows shown when a DataFrame is displayed; the returned frame is always complete."
    ).tag(config=True)
    short_errors = Bool(
        True, help="Show jsmagic errors as one line; False shows the full traceback (secrets still masked)."
    ).tag(config=True)
    autostart_embedded = Bool(
        True,
        help="With nothing configured and nothing on 127.0.0.1:4222, start an embedded nats-server.",
    ).tag(config=True)
    embedded_store = Unicode(
        "", help="Storage directory of the embedded server; empty means a temporary directory."
    ).tag(config=True)
    probe_local = Bool(
        True, help="Try nats://127.0.0.1:4222 before starting an embedded server."
    ).tag(config=True)
    publish_window = Int(
        20_000, help="Publishes in flight before %%js_publish waits for acks."
    ).tag(config=True)
    fetch_batch = Int(5_000, help="Messages asked for per pull request when replaying.").tag(config=True)
    bulk_replay = Bool(
        os.environ.get("JSMAGIC_BULK_REPLAY", "1") != "0",
        help="Replay through the bulk reader (its own connection, frames parsed in bulk); False: through nats-py. "
        "Default from JSMAGIC_BULK_REPLAY (0: off), e.g. to run a test suite against the nats-py reader.",
    ).tag(config=True)
    max_render_rate = Float(10.0, help="Most renders per second of a live widget.").tag(config=True)
    events_cap = Int(100_000, help="Events kept by a live watch's .events frame.").tag(config=True)
    follow_max_rows = Int(
        1_000_000, help="Rows a live tail (%js_consume --follow) keeps in .df; older ones are dropped and counted."
    ).tag(config=True)
    progress_after = Float(1.5, help="Seconds before long work shows a progress bar.").tag(config=True)
    result_type = Unicode(
        "pandas",
        help="What %js_consume returns without --as: pandas, arrow (a pyarrow.Table) or polars. "
        "Example: %config JSMagic.result_type = 'polars'",
    ).tag(config=True)
    arrow_dtypes = Bool(
        False, help="pandas results with Arrow-backed dtypes (pd.ArrowDtype), built through Arrow."
    ).tag(config=True)

    @validate("timeout", "max_render_rate", "progress_after")
    def _positive_float(self, proposal):
        if proposal["value"] <= 0:
            raise TraitError(f"{proposal['trait'].name} must be > 0")
        return proposal["value"]

    @validate("display_limit", "publish_window", "fetch_batch", "events_cap")
    def _positive_int(self, proposal):
        if proposal["value"] < 1:
            raise TraitError(f"{proposal['trait'].name} must be >= 1")
        return proposal["value"]

    @validate("result_type")
    def _result_type(self, proposal):
        if proposal["value"] not in ("pandas", "arrow", "polars"):
            raise TraitError("result_type must be 'pandas', 'arrow' or 'polars'")
        return proposal["value"]


_settings: JSMagic | None = None


def settings() -> JSMagic:
    """The process-wide :class:`JSMagic` settings (created on first use)."""
    global _settings
    if _settings is None:
        _settings = JSMagic()
    return _settings


def use_settings(obj: JSMagic) -> None:
    """Make ``obj`` the process-wide settings (the extension passes the shell-bound one)."""
    global _settings
    _settings = obj
