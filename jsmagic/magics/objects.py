"""``%js_obj VERB ...``: the object store in a cell (core: :mod:`jsmagic.admin.objects`)."""

from __future__ import annotations

from typing import Any, Callable

from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand

from ..ui import completion
from ..admin import objects
from ..core.errors import InputError
from .base import friendly, run, user_namespace
from .verbs import Verbs, dispatch

VERBS = Verbs("js_obj")
p = VERBS.add("add", "Create a bucket")
p.add_argument("bucket")
p.add_argument("--description")
p.add_argument("--ttl", help="how long objects live (7d)")
p.add_argument("--max-bytes", help="bucket size limit (1GB)")
p.add_argument("--storage", help="file|memory")
p.add_argument("--replicas", type=int, default=1)
p = VERBS.add("ls", "Buckets, or with BUCKET its objects: name, size, chunks, modified, digest, deleted")
p.add_argument("bucket", nargs="?")
p.add_argument("--deleted", action="store_true", help="also list deleted objects")
p = VERBS.add("info", "A bucket's settings and usage, or one object's metadata")
p.add_argument("bucket")
p.add_argument("name", nargs="?")
p = VERBS.add("put", "Store a file (streamed in chunks), or a variable's bytes/str/DataFrame with --from")
p.add_argument("bucket")
p.add_argument("file", nargs="?")
p.add_argument("--name", help="object name (default: the file's name)")
p.add_argument("--from", dest="source", metavar="VAR", help="a notebook variable holding bytes, str or a DataFrame")
p.add_argument("--description")
p = VERBS.add("get", "An object's bytes, or written to a file with -O (streamed, digest verified)")
p.add_argument("bucket")
p.add_argument("name")
p.add_argument("-O", "--out", metavar="FILE", help="write to FILE instead of returning bytes")
p = VERBS.add("rm", "Delete an object, or a whole bucket when no NAME is given (needs --force)", output=False)
p.add_argument("bucket")
p.add_argument("name", nargs="?")
p.add_argument("--force", action="store_true")
p = VERBS.add("watch", "A live table of the bucket's objects (stop with .stop(), the Stop button or %js_close)")
p.add_argument("bucket")
del p
completion.register_verbs("js_obj", list(VERBS.parsers))


@magics_class
class ObjectMagics(Magics):
    """``%js_obj``: use JetStream's object store."""


    def _put(self, a: Any) -> Any:
        if (a.file is None) == (a.source is None):
            raise InputError("give a FILE or --from VAR (one of them)")
        if a.file is not None:
            return run(objects.put_file(a.bucket, a.file, a.name, a.description))
        ns = user_namespace(self)
        if a.source not in ns:
            raise InputError(f"no variable {a.source!r} in the notebook")
        if not a.name:
            raise InputError("--from needs --name for the object", hint="e.g. --name data.parquet")
        import io

        data = objects.value_bytes(ns[a.source], a.name)
        return run(objects.put(a.bucket, io.BytesIO(data), a.name, a.description, size=len(data)))

    def _watch(self, a: Any) -> Any:
        w = run(objects.watch(a.bucket))
        w.table.display()
        return w

    def _handlers(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "add": lambda a: run(objects.add_bucket(a.bucket, a.description, a.ttl, a.max_bytes, a.storage, a.replicas)),
            "ls": lambda a: run(objects.list_objects(a.bucket, a.deleted) if a.bucket else objects.list_buckets()),
            "info": lambda a: run(objects.bucket_info(a.bucket)) if not a.name
            else objects.describe_object(run(objects.object_info(a.bucket, a.name))),
            "put": self._put,
            "get": lambda a: run(objects.get(a.bucket, a.name, a.out)),
            "rm": lambda a: run(objects.remove_object(a.bucket, a.name, a.force) if a.name
                                else objects.remove_bucket(a.bucket, a.force)),
            "watch": self._watch,
        }

    @no_var_expand
    @line_magic
    @friendly("object store")
    def js_obj(self, line: str = ""):
        return dispatch(self, VERBS, line, self._handlers())

    js_obj.__doc__ = VERBS.doc(
        """Use the object store like ``nats object``: ``%js_obj VERB BUCKET [NAME] [flags]``.

        Examples::

            %js_obj add files
            %js_obj put files ./report.pdf --name reports/2026.pdf
            %js_obj put files --from df --name data.parquet
            data = %js_obj get files reports/2026.pdf
            %js_obj get files reports/2026.pdf -O ./out.pdf
            %js_obj ls files
            w = %js_obj watch files
            %js_obj rm files reports/2026.pdf --force
        """
    )
