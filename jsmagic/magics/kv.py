"""``%js_kv VERB BUCKET [KEY] [VALUE]``: Key-Value buckets, verbs in ``nats kv`` order."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import MagicArgumentParser

from ..admin import kv, kvwatch
from ..core.registry import context
from ..core.decode import MODES
from ..core.errors import InputError, did_you_mean
from ..core.units import parse_duration, parse_size
from .base import friendly, parse_line, run, user_namespace


def _parser(verb: str, *arguments: tuple) -> MagicArgumentParser:
    """One verb's parser (bad flags raise UsageError, never exit); every verb takes ``-o NAME``."""
    p = MagicArgumentParser(prog=f"%js_kv {verb}", add_help=False)
    for flags, options in arguments:
        p.add_argument(*flags, **options)
    p.add_argument("-o", "--out", metavar="NAME", help="also store the result in this variable")
    return p


_BUCKET = (("bucket",), {"help": "bucket name"})
_KEY = (("key",), {"help": "key (tokens separated by '.')"})
_DECODE = (("--decode",), {"default": "auto", "choices": MODES, "help": "how values are decoded"})
_FORCE = (("--force",), {"action": "store_true", "help": "really do it (it cannot be undone)"})
_VALUE = (("value",), {"nargs": "*", "help": "the value (text); or --from VAR, or the cell body with %%js_kv"})
_FROM = (("--from",), {"dest": "from_var", "metavar": "VAR", "help": "put a Python object (dict/list → JSON, str, bytes)"})

PARSERS = {
    "add": _parser(
        "add", _BUCKET,
        (("--history",), {"type": int, "default": 1, "help": "revisions kept per key (1-64)"}),
        (("--ttl",), {"help": "how long values live, e.g. 1h, 7d"}),
        (("--storage",), {"default": "file", "choices": ["file", "memory"]}),
        (("--replicas",), {"type": int, "default": 1}),
        (("--max-value-size",), {"help": "largest value, e.g. 1MB"}),
        (("--max-bucket-size",), {"help": "largest bucket, e.g. 1GB"}),
        (("--description",), {}),
    ),
    "put": _parser("put", _BUCKET, _KEY, _VALUE, _FROM),
    "get": _parser("get", _BUCKET, _KEY, (("--revision",), {"type": int, "help": "a past revision"}), _DECODE),
    "update": _parser(
        "update", _BUCKET, _KEY, (("value",), {"nargs": "?", "help": "the new value"}),
        (("last",), {"type": int, "help": "the revision the key must be at"}), _FROM,
    ),
    "create": _parser("create", _BUCKET, _KEY, _VALUE, _FROM),
    "del": _parser("del", _BUCKET, _KEY),
    "purge": _parser("purge", _BUCKET, _KEY, _FORCE),
    "history": _parser("history", _BUCKET, _KEY, _DECODE),
    "keys": _parser("keys", _BUCKET, (("pattern",), {"nargs": "?", "default": ">", "help": "NATS wildcards: users.*, db.>"})),
    "view": _parser("view", _BUCKET, (("pattern",), {"nargs": "?", "default": ">"}), _DECODE),
    "ls": _parser("ls"),
    "info": _parser("info", _BUCKET),
    "rm": _parser("rm", _BUCKET, _FORCE),
    "watch": _parser(
        "watch", _BUCKET, (("pattern",), {"nargs": "?", "default": ">", "help": "keys to watch: db.>, users.*"}),
        (("--history",), {"action": "store_true", "help": "every kept revision first"}),
        (("--updates",), {"action": "store_true", "help": "only changes from now on"}),
        (("--revision",), {"type": int, "help": "start at this revision"}),
        (("--no-deletes",), {"action": "store_true", "help": "drop deleted/purged keys from the table"}),
        _DECODE,
    ),
    "unwatch": _parser("unwatch", (("bucket",), {"nargs": "?", "help": "only this bucket's watches"})),
}


def _usage() -> str:
    return "\n".join("    " + p.format_usage().strip().removeprefix("usage: ") for p in PARSERS.values())


@magics_class
class KVMagics(Magics):
    """Key-Value buckets as DataFrames, and live watch widgets."""

    @no_var_expand
    @line_cell_magic
    @friendly("kv")
    def js_kv(self, line: str = "", cell: str | None = None):
        """Key-Value buckets: ``%js_kv VERB BUCKET [KEY] [VALUE]`` (``-o NAME`` stores the result).

        Examples::

            %js_kv add config --history 5
            %js_kv put config db.host postgres.local
            %js_kv update config db.host pg2 3      # only if db.host is at revision 3
            df = %js_kv view config
            %js_kv keys config 'users.*'            # server-side NATS wildcards
            w = %js_kv watch config 'db.>'          # live table; w.df, w.events, w.stop()

            %%js_kv put config settings.json
            {"theme": "dark"}

        Verbs:
        """
        verb, _, rest = line.strip().partition(" ")
        if verb not in PARSERS:
            close = did_you_mean(verb, PARSERS) if verb else ""
            hint = close if close.startswith("did you mean") else f"verbs: {', '.join(PARSERS)}"
            raise UsageError(f"%js_kv: unknown verb {verb!r}; {hint}" if verb else f"%js_kv: give a verb; {hint}")
        args = parse_line(PARSERS[verb], rest)
        if cell is not None and verb not in ("put", "create", "update"):
            raise UsageError(f"%%js_kv {verb} takes no cell body; use the line magic")
        result = getattr(self, "_" + verb)(args, cell)
        if args.out:
            user_namespace(self)[args.out] = result
        return result

    # ---- values ------------------------------------------------------------------------
    def _value(self, args, cell):
        """The value to store: the cell body, ``--from VAR``, or the line's text (exactly one)."""
        given = [x for x in (cell is not None, bool(args.from_var), bool(args.value)) if x]
        if len(given) != 1:
            raise InputError("give exactly one value: text on the line, --from VAR, or the cell body")
        if cell is not None:
            return cell.rstrip("\n")
        if args.from_var:
            ns = user_namespace(self)
            if args.from_var not in ns:
                raise InputError(f"no variable {args.from_var!r}", hint=did_you_mean(args.from_var, ns))
            return ns[args.from_var]
        return " ".join(args.value) if isinstance(args.value, list) else args.value

    # ---- verbs (nats kv order) ----------------------------------------------------------
    def _add(self, args, cell):
        ttl = parse_duration(args.ttl) if args.ttl else None
        size = lambda s: parse_size(s) if s else None  # noqa: E731
        info = run(kv.add(args.bucket, args.history, ttl, args.storage, args.replicas,
                          size(args.max_value_size), size(args.max_bucket_size), args.description))
        print(f"Created bucket {args.bucket} (history {info['history']}, ttl {info['ttl']}, {info['storage']})")

    def _put(self, args, cell):
        return run(kv.put(args.bucket, args.key, self._value(args, cell)))

    def _get(self, args, cell):
        entry = run(kv.get(args.bucket, args.key, args.revision, args.decode))
        print(entry.line())
        return entry.value

    def _update(self, args, cell):
        if args.value is not None and not isinstance(args.value, list):
            args.value = [args.value]
        return run(kv.update(args.bucket, args.key, self._value(args, cell), args.last))

    def _create(self, args, cell):
        return run(kv.create(args.bucket, args.key, self._value(args, cell)))

    def _del(self, args, cell):
        print(run(kv.delete(args.bucket, args.key)))

    def _purge(self, args, cell):
        print(run(kv.purge(args.bucket, args.key, args.force)))

    def _history(self, args, cell):
        return self._warn_partial(run(kv.history(args.bucket, args.key, args.decode)))

    def _keys(self, args, cell):
        return run(kv.keys(args.bucket, args.pattern))

    def _view(self, args, cell):
        return self._warn_partial(run(kv.view(args.bucket, args.pattern, args.decode)))

    def _ls(self, args, cell):
        return run(kv.ls())

    def _info(self, args, cell):
        import pandas as pd

        return pd.Series(run(kv.info(args.bucket)), name=args.bucket, dtype=object)

    def _rm(self, args, cell):
        print(run(kv.rm(args.bucket, args.force)))

    def _watch(self, args, cell):
        if sum([args.history, args.updates, args.revision is not None]) > 1:
            raise UsageError("%js_kv watch: choose one of --history, --updates, --revision")
        kv.check_bucket(args.bucket)
        kv.check_pattern(args.pattern)
        run(kv.info(args.bucket))  # unknown bucket: a clear error before any widget
        mode = "all" if args.history else "new" if args.updates else "last"
        watch = kvwatch.KVWatch(args.bucket, args.pattern, mode=mode, revision=args.revision,
                                deletes=not args.no_deletes, decode=args.decode)
        run(watch.start(context()))
        watch.table.display()
        return watch

    def _unwatch(self, args, cell):
        n = run(kvwatch.unwatch(context(), args.bucket))
        print(f"Stopped {n} watch(es).")
        return n

    @staticmethod
    def _warn_partial(frame):
        if frame.attrs.get("interrupted"):
            print("Interrupted: showing what arrived so far.")
        return frame


KVMagics.js_kv.__doc__ = (KVMagics.js_kv.__doc__ or "") + "\n" + _usage()
