"""``%js_kv VERB BUCKET [KEY] [VALUE]``: Key-Value buckets, verbs in ``nats kv`` order (service: :mod:`jsmagic.services.kv`).

Each verb calls one coroutine of the service layer, the one ``jsmagic.kv.*`` is, so the
magic and the Python API cannot drift.  The service returns data; here it is made readable
(:mod:`jsmagic.ui.buckets`): units and a summary under tables, a sentence for what
``add``/``del``/``purge``/``rm`` did (their data goes to ``-o NAME``), a progress line for
long reads, and the live watch widget.
"""

from __future__ import annotations

from typing import Any, Callable

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand

from ..core.decode import HELP
from ..core.errors import IncompleteError, InputError, did_you_mean
from ..services import kv
from ..ui import buckets
from ..ui.kvwatch import KVWatch
from .base import friendly, run, user_namespace, with_progress
from . import kvttl
from .kvttl import add_kv_flags
from . import timetravel
from .verbs import Verbs, confirming, dispatch

VERBS = Verbs("js_kv", interrupted="Interrupted: showing what arrived so far.")
PARSERS = VERBS.parsers  # every verb's parser, by verb

_BUCKET = (("bucket",), {"help": "bucket name"})
_KEY = (("key",), {"help": "key (tokens separated by '.')"})
_DECODE = (("--decode",), {"default": "auto", "help": HELP})
_FORCE = (("--force",), {"action": "store_true", "help": "really do it (it cannot be undone)"})
_VALUE = (("value",), {"nargs": "*", "help": "the value (text); or --from VAR, or the cell body with %%js_kv"})
_FROM = (("--from",), {"dest": "from_var", "metavar": "VAR", "help": "put a Python object (dict/list → JSON, str, bytes)"})


def _verb(verb: str, help: str, *arguments: tuple, cell: bool = False, text: bool = False) -> None:
    parser = VERBS.add(verb, help, cell=cell, text=text)
    for flags, options in arguments:
        parser.add_argument(*flags, **options)


_verb("add", "Create a bucket (direct get on); creating an identical one again is harmless", _BUCKET,
      (("--history",), {"type": int, "default": 1, "help": "revisions kept per key (1-64)"}),
      (("--ttl",), {"help": "how long values live, e.g. 1h, 7d"}),
      (("--storage",), {"default": "file", "choices": ["file", "memory"], "help": "where values are kept"}),
      (("--replicas",), {"type": int, "default": 1, "help": "how many copies of the data (in a cluster)"}),
      (("--max-value-size",), {"help": "largest value, e.g. 1MB"}),
      (("--max-bucket-size",), {"help": "largest bucket, e.g. 1GB"}),
      (("--description",), {"help": "a description of the bucket"}))
_verb("put", "Store a value (text, --from VAR or the cell body); returns the revision", _BUCKET, _KEY, _VALUE, _FROM,
      cell=True)
_verb("get", "A key's value (decoded), after a line with its revision and time", _BUCKET, _KEY,
      (("--revision",), {"type": int, "help": "a past revision"}), _DECODE, text=True)
_verb("update", "Store a value only if the key is at revision LAST", _BUCKET, _KEY,
      (("value",), {"nargs": "?", "help": "the new value"}),
      (("last",), {"type": int, "help": "the revision the key must be at"}), _FROM, cell=True)
_verb("create", "Store a value only if the key does not exist (or was deleted)", _BUCKET, _KEY, _VALUE, _FROM,
      cell=True)
_verb("del", "Place a delete marker (history is kept)", _BUCKET, _KEY)
_verb("purge", "Remove a key and every revision of it (needs --force)", _BUCKET, _KEY, _FORCE)
_verb("history", "Every kept revision of a key: revision, operation, value, time", _BUCKET, _KEY, _DECODE)
_verb("keys", "Current keys, filtered on the server", _BUCKET,
      (("pattern",), {"nargs": "?", "default": ">", "help": "NATS wildcards: users.*, db.>"}))
_verb("view", "Every current key with its value, revision and time, sorted by key", _BUCKET,
      (("pattern",), {"nargs": "?", "default": ">", "help": "keys to show: users.*, db.>"}), _DECODE)
_verb("ls", "Every bucket with its size and settings")
_verb("info", "A bucket's configuration and state", _BUCKET)
_verb("rm", "Delete a bucket and all its values (needs --force)", _BUCKET, _FORCE)
_verb("watch", "A live table of the bucket's keys (stop: .stop(), the Stop button, %js_kv unwatch, %js_close)",
      _BUCKET, (("pattern",), {"nargs": "?", "default": ">", "help": "keys to watch: db.>, users.*"}),
      (("--history",), {"action": "store_true", "help": "every kept revision first"}),
      (("--updates",), {"action": "store_true", "help": "only changes from now on"}),
      (("--revision",), {"type": int, "help": "start at this revision"}),
      (("--no-deletes",), {"action": "store_true", "help": "drop deleted/purged keys from the table"}),
      _DECODE)
add_kv_flags(VERBS)  # server 2.11 flags on add/create/purge; revert, compact, edit
timetravel.add_kv_verbs(VERBS)  # --at/--revision on view and get, diff
_verb("unwatch", "Stop the live watches (of BUCKET); returns how many", (("bucket",), {"nargs": "?",
      "help": "only this bucket's watches"}))


def _reading(bucket: str, work: Callable[[Any], Any]) -> Any:
    """A read of many keys, with a progress line; an interrupted read shows what arrived (marked partial)."""
    async def partial(progress: Any) -> Any:
        try:
            return await work(progress)
        except IncompleteError as e:  # the service's "stopped early": the magic shows the part, flagged
            if e.frame is None or not getattr(e.frame, "attrs", {}).get("interrupted"):
                raise
            return e.frame

    return with_progress(f"reading {bucket}", partial, unit="messages")


def _add(a: Any) -> tuple[Any, str]:
    bucket = run(kv.add(a.bucket, history=a.history, ttl=a.ttl or None, storage=a.storage, replicas=a.replicas,
                        max_value_size=a.max_value_size or None, max_bucket_size=a.max_bucket_size or None,
                        description=a.description, marker_ttl=a.marker_ttl or None))
    return bucket, buckets.kv_created(bucket)


def _get(a: Any) -> Any:
    entry = run(kv.get(a.bucket, a.key, revision=a.revision, decode=a.decode))
    print(buckets.entry_line(entry))
    return entry.value


def _watch(a: Any) -> KVWatch:
    if sum([a.history, a.updates, a.revision is not None]) > 1:
        raise UsageError("%js_kv watch: choose one of --history, --updates, --revision")
    mode = "all" if a.history else "new" if a.updates else "last"
    watch = KVWatch(a.bucket, a.pattern, mode=mode, revision=a.revision, deletes=not a.no_deletes, decode=a.decode)
    run(kv.start_watcher(watch.watcher))  # checks names and bucket, then starts (errors in the cell, before any widget)
    watch.attach().table.display()
    return watch


def _purge(a: Any) -> tuple[Any, str]:
    done = run(kv.purge(a.bucket, a.key, force=a.force, ttl=a.ttl))  # with --ttl: a sentence saying when the marker goes
    return done, done if a.ttl else f"purged {a.key} from {a.bucket}"


def _unwatch(a: Any) -> int:
    n = run(kv.unwatch(a.bucket))
    print(f"Stopped {n:,} {'watch' if n == 1 else 'watches'}.")
    return n


HANDLERS: dict[str, Callable[[Any], Any]] = {
    "get": _get,
    "history": lambda a: buckets.kv_history(
        _reading(a.bucket, lambda p: kv.history(a.bucket, a.key, decode=a.decode, progress=p)), a.key),
    "keys": lambda a: _reading(a.bucket, lambda p: kv.keys(a.bucket, a.pattern, progress=p)),
    "view": lambda a: buckets.kv_view(
        _reading(a.bucket, lambda p: kv.view(a.bucket, a.pattern, decode=a.decode, progress=p)), a.bucket),
    "ls": lambda a: buckets.kv_buckets(run(kv.ls())),
    "info": lambda a: buckets.kv_info(run(kv.info(a.bucket))),
    "watch": _watch,
    "unwatch": _unwatch,
}
CONFIRMED: dict[str, Callable[[Any], tuple[Any, str]]] = {
    "add": _add,
    "del": lambda a: (run(kv.delete(a.bucket, a.key)), f"deleted {a.key} from {a.bucket}"),
    "purge": _purge,
    "rm": lambda a: (run(kv.rm(a.bucket, force=a.force)), f"deleted bucket {a.bucket}"),
}


@magics_class
class KVMagics(Magics):
    """Key-Value buckets as DataFrames, and live watch widgets."""

    def _value(self, a: Any) -> Any:
        """The value to store: the cell body, ``--from VAR``, or the line's text (exactly one)."""
        given = [x for x in (a.cell is not None, bool(a.from_var), a.value not in (None, [])) if x]
        if len(given) != 1:
            raise InputError("give exactly one value: text on the line, --from VAR, or the cell body")
        if a.cell is not None:
            return a.cell.rstrip("\n")
        if a.from_var:
            ns = user_namespace(self)
            if a.from_var not in ns:
                raise InputError(f"no variable {a.from_var!r}", hint=did_you_mean(a.from_var, ns))
            return ns[a.from_var]
        return " ".join(a.value) if isinstance(a.value, list) else a.value

    def _handlers(self) -> dict[str, Callable[[Any], Any]]:
        writes = {
            "put": lambda a: buckets.Revision(run(kv.put(a.bucket, a.key, self._value(a))), a.key),
            "create": lambda a: run(kv.create(a.bucket, a.key, self._value(a), ttl=a.ttl or None)),
            "update": lambda a: run(kv.update(a.bucket, a.key, self._value(a), a.last)),  # a conflict: one line
        }
        return {**HANDLERS, **writes, **kvttl.HANDLERS, **timetravel.kv_handlers(HANDLERS),
                **confirming(self, {**CONFIRMED, **kvttl.CONFIRMED})}

    @no_var_expand
    @line_cell_magic
    @friendly("kv")
    def js_kv(self, line: str = "", cell: str | None = None):
        return dispatch(self, VERBS, line, self._handlers(), cell)

    js_kv.__doc__ = VERBS.doc(
        """Key-Value buckets: ``%js_kv VERB BUCKET [KEY] [VALUE]`` (``-o NAME`` stores the result).

        Examples::

            %js_kv add config --history 5
            %js_kv put config db.host postgres.local
            %js_kv update config db.host pg2 1      # only if db.host is still at revision 1
            df = %js_kv view config
            %js_kv keys config 'users.*'            # server-side NATS wildcards
            w = %js_kv watch config 'db.>'          # live table; w.df, w.events, w.stop()
            %js_kv view config --at 2h              # the bucket as it was 2 hours ago
            %js_kv diff config 2026-11-26T14:00:00Z # added, changed (old → new), deleted since then

            %%js_kv put config settings.json
            {"theme": "dark"}
        """
    )
