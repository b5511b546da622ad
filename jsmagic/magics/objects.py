"""``%js_obj VERB ...``: the object store in a cell (core: :mod:`jsmagic.admin.objects`, ``objtransfer``, ``objwatch``).

The core returns data; here it is made readable (:mod:`jsmagic.ui.buckets`): sizes and a
summary under tables, ``info`` as report sections, a progress line for transfers, a
sentence for what ``rm`` removed (its data goes to ``-o NAME``), the live watch widget.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand

from ..services import obj
from ..core.errors import InputError
from ..ui import buckets
from ..ui.objwatch import ObjectWatch
from .base import friendly, run, run_noted, user_namespace, with_progress
from .verbs import Verbs, confirming, dispatch

VERBS = Verbs("js_obj")
p = VERBS.add("add", "Create a bucket")
p.add_argument("bucket", help="bucket name")
p.add_argument("--description", help="a description of the bucket")
p.add_argument("--ttl", help="how long objects live (7d)")
p.add_argument("--max-bytes", help="bucket size limit (1GB)")
p.add_argument("--storage", help="file|memory")
p.add_argument("--replicas", type=int, default=1, help="how many copies of the data (in a cluster)")
p = VERBS.add("ls", "Buckets, or with BUCKET its objects: name, size, chunks, modified, digest, deleted")
p.add_argument("bucket", nargs="?", help="list this bucket's objects (default: the buckets)")
p.add_argument("--deleted", action="store_true", help="also list deleted objects")
p = VERBS.add("info", "A bucket's settings and usage, or one object's metadata")
p.add_argument("bucket", help="bucket name")
p.add_argument("name", nargs="?", help="an object's name (default: the bucket's settings and usage)")
p = VERBS.add("put", "Store a file (streamed in chunks), or a variable's bytes/str/DataFrame with --from")
p.add_argument("bucket", help="bucket name")
p.add_argument("file", nargs="?", help="the file to store (or --from VAR)")
p.add_argument("--name", help="object name (default: the file's name)")
p.add_argument("--from", dest="source", metavar="VAR", help="a notebook variable holding bytes, str or a DataFrame")
p.add_argument("--description", help="a description of the object")
p = VERBS.add("get", "An object's bytes, or written to a file with --file (streamed, digest verified)")
p.add_argument("bucket", help="bucket name")
p.add_argument("name", help="object name")
p.add_argument("--file", metavar="PATH", help="write to PATH instead of returning bytes (natscli: --output)")
p = VERBS.add("rm", "Delete an object, or a whole bucket when no NAME is given (needs --force)")
p.add_argument("bucket", help="bucket name")
p.add_argument("name", nargs="?", help="the object to delete (default: the whole bucket)")
p.add_argument("--force", action="store_true", help="do it (without --force: says what it would remove, changes nothing)")
p = VERBS.add("watch", "A live table of the bucket's objects (stop with .stop(), the Stop button or %js_close)")
p.add_argument("bucket", help="bucket name")
del p


def _get(a: Any) -> Any:
    return with_progress(f"get {a.name}", lambda p: obj.get(a.bucket, a.name, file=a.file, progress=p))


def _info(a: Any) -> Any:
    info = run(obj.info(a.bucket, a.name))
    return buckets.object_report(info) if a.name else buckets.bucket_report(info)


def _ls(a: Any) -> Any:
    if a.bucket:
        return buckets.objects_frame(run(obj.ls(a.bucket, deleted=a.deleted)), a.bucket)
    return buckets.object_buckets(run_noted(obj.ls()))  # its notes: on the summary line


def _rm(a: Any) -> tuple[Any, str]:
    removal = run(obj.rm(a.bucket, a.name, force=a.force))
    return removal, f"Deleted {removal.what}."


def _watch(a: Any) -> ObjectWatch:
    w = ObjectWatch(a.bucket)
    run(w.watcher.start())  # the core starts it; the view only shows it
    w.attach().table.display()
    return w


HANDLERS: dict[str, Callable[[Any], Any]] = {
    "add": lambda a: buckets.bucket_report(
        run(obj.add(a.bucket, description=a.description, ttl=a.ttl, max_bytes=a.max_bytes, storage=a.storage,
                    replicas=a.replicas))),
    "ls": _ls,
    "info": _info,
    "get": _get,
    "watch": _watch,
}


@magics_class
class ObjectMagics(Magics):
    """``%js_obj``: use JetStream's object store."""

    verbs = VERBS  # Tab completion offers these (registered by load_ipython_extension)

    def _put(self, a: Any) -> Any:
        if (a.file is None) == (a.source is None):
            raise InputError("give a FILE or --from VAR (one of them)")
        if a.file is not None:
            name = a.name or Path(a.file).expanduser().name
            return with_progress(f"put {name}", lambda p: obj.put(a.bucket, a.file, name=a.name,
                                                                  description=a.description, progress=p))
        ns = user_namespace(self)
        if a.source not in ns:
            raise InputError(f"no variable {a.source!r} in the notebook")
        if not a.name:
            raise InputError("--from needs --name for the object", hint="e.g. --name data.parquet")
        return with_progress(f"put {a.name}", lambda p: obj.put(a.bucket, data=ns[a.source], name=a.name,
                                                                description=a.description, progress=p))

    @no_var_expand
    @line_magic
    @friendly("object store")
    def js_obj(self, line: str = ""):
        return dispatch(self, VERBS, line, {**HANDLERS, "put": self._put, **confirming(self, {"rm": _rm})})

    js_obj.__doc__ = VERBS.doc(
        """Use the object store like ``nats object``: ``%js_obj VERB BUCKET [NAME] [flags]``.

        Examples::

            %js_obj add files
            %js_obj put files ./report.pdf --name reports/2026.pdf
            %js_obj put files --from df --name data.parquet
            data = %js_obj get files reports/2026.pdf
            %js_obj get files reports/2026.pdf --file ./out.pdf
            %js_obj ls files
            w = %js_obj watch files
            %js_obj rm files reports/2026.pdf --force
        """
    )
