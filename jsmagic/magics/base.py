"""What every jsmagic magic shares: the context, running coroutines, progress, friendly errors, results.

Results: :func:`keep_result` stores a frame (``-o NAME``, ``jsmagic.last_result()``) and fails
an interrupted cell so Run All stops; :func:`present` makes sure its summary line shows.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from typing import Any, Awaitable, Callable, TypeVar

from IPython.core.error import UsageError
from IPython.utils.process import arg_split

from ..core.registry import context
from ..core.errors import InterruptedWithResult, NotConnectedError, translate
from ..core.errors import TimeoutError as ServerTimeout
from ..core.lastresult import keep
from ..services.common import ReadWarning
from ..ui.progress import Progress

F = TypeVar("F", bound=Callable[..., Any])


def run(coro: Awaitable[Any]) -> Any:
    """Run a service coroutine on the current context's loop."""
    return context().run(coro)


def run_noted(coro: Awaitable[Any]) -> Any:
    """Run a service whose notes the magic says on its summary line (``noted``): not warned a second time."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReadWarning)
        return context().run(coro)


def with_progress(label: str, work: Callable[[Progress], Awaitable[Any]], unit: str = "bytes",
                  count: Callable[[Any], float] | None = None, noted: bool = False) -> Any:
    """Run ``work(progress)`` with a progress display (shown only when it takes a while), closed whatever happens.

    ``count(result)`` is the true final figure (the frame's rows); the last line says
    "done", "interrupted" (the result says so, or nothing was kept) or "failed".
    ``noted``: the magic says the service's notes on its summary line (:func:`run_noted`).
    """
    progress = Progress(label, unit=unit)
    result, ended = None, "failed"
    try:
        result = (run_noted if noted else run)(work(progress))
        ended = "interrupted" if getattr(result, "interrupted", False) else "done"
        return result
    except KeyboardInterrupt:
        ended = "interrupted"
        raise
    finally:
        progress.close(done=count(result) if count is not None and result is not None else None, ended=ended)


@contextlib.contextmanager
def announce_after(delay: float, text: str):
    """Print ``text`` if the block is still running after ``delay`` seconds (the loop keeps running meanwhile)."""
    from ..core.runner import current_loop

    try:
        handle = current_loop().call_later(delay, lambda: print(text, flush=True))
    except RuntimeError:
        handle = None
    try:
        yield
    finally:
        if handle is not None:
            handle.cancel()


def friendly(what: str = "") -> Callable[[F], F]:
    """Turn nats-py exceptions escaping a magic into jsmagic's one-line errors.

    jsmagic errors and IPython's ``UsageError`` pass through; an exception we have no
    words for is left alone, since hiding a bug's traceback helps nobody.
    """

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def inner(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except (UsageError, KeyboardInterrupt):
                raise
            except Exception as e:
                mapped = translate(e, what)  # a JSMagicError is itself
                if mapped is None:
                    raise
                if isinstance(mapped, (ServerTimeout, NotConnectedError)):  # the server down: say so
                    mapped = context().unreachable(what) or mapped
                if mapped is e:
                    raise
                raise mapped from None

        return inner  # type: ignore[return-value]

    return wrap


def user_namespace(magics: Any) -> dict[str, Any]:
    """The notebook's variables (``-o NAME`` stores results there)."""
    return magics.shell.user_ns if magics.shell is not None else {}


COMMENT_RULE = ("A # that starts a word outside quotes begins a comment, as in a shell "
                "(%js_status   # a note); '#' in quotes and a#b stay data.")
LINE_SYNTAX = ("The line is split like a shell's: quotes group words and are removed; no {x} or $x "
               f"expansion. {COMMENT_RULE}")


def say_comment_rule(classes: list[type]) -> None:
    """Add :data:`COMMENT_RULE` to the help (``%magic?``) of every magic of ``classes``, once."""
    for cls in classes:
        for names in cls.magics.values():
            for method in set(names.values()):
                func = getattr(cls, method)
                if func.__doc__ and COMMENT_RULE not in func.__doc__:
                    func.__doc__ = f"{func.__doc__.rstrip()}\n\n{LINE_SYNTAX}\n"


def strip_comment(line: str) -> str:
    """``line`` up to a ``#`` that starts a word outside quotes (a shell's comment rule).

    ``'a # b'`` and ``"a # b"`` are data, so is ``a#b`` (the ``#`` does not start a word),
    and ``\\#`` is an escaped ``#``.  An unbalanced quote is left for the splitter to refuse.
    """
    quote, escaped, word_start = "", False, True
    for i, ch in enumerate(line):
        if escaped:
            escaped, word_start = False, False
        elif quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"':
                escaped = True
        elif ch == "\\":
            escaped, word_start = True, False
        elif ch in "'\"":
            quote, word_start = ch, False
        elif ch.isspace():
            word_start = True
        elif ch == "#" and word_start:
            return line[:i]
        else:
            word_start = False
    return line


def split_line(line: str) -> list[str]:
    """The words of a magic line, split like a shell: quotes group words and are removed, ``# …`` is a comment.

    The ONE splitter of every jsmagic magic line (the first line of a cell magic too):
    :func:`parse_line` and :class:`jsmagic.magics.verbs.Verbs` split through here.
    """
    try:
        return arg_split(strip_comment(line), posix=True, strict=True)
    except ValueError as e:
        raise UsageError(f"cannot parse the line: {e} — close the quote (or put a lone quote inside the other kind)") from None


def parse_line(parser_or_magic: Any, line: str | list[str]) -> Any:
    """Parse a magic line (or its words from :func:`split_line`) with a magic's parser.

    IPython's own ``parse_argstring`` keeps the quotes (``'orders.>'`` would reach the
    server with them) and knows no comments, so every jsmagic magic parses through here.
    Takes a magic decorated with ``@magic_arguments`` or a ``MagicArgumentParser``.  A
    ``-o/--output NAME`` that is not a variable name is refused here, before anything runs.
    """
    parser = getattr(parser_or_magic, "parser", parser_or_magic)
    argv = split_line(line) if isinstance(line, str) else line
    try:
        args = parser.parse_args(argv)
    except UsageError as e:
        magic = str(parser.prog).split()[0].lstrip("%")
        raise UsageError(f"%{parser.prog}: {e} — see %{magic}? for every option") from None
    check_output(args, f"%{parser.prog}")
    return args


def check_output(args: Any, where: str) -> None:
    """``-o NAME`` names a notebook variable: ``--output report.pdf`` (natscli's file flag) is refused."""
    name = getattr(args, "output", None)
    if name and not name.isidentifier():
        to_file = "; to write a file use --file PATH" if hasattr(args, "file") else ""
        raise UsageError(f"{where}: -o/--output NAME stores the result in a notebook variable, "
                         f"and {name!r} is not a variable name{to_file}")


def store_output(magics: Any, args: Any, value: Any) -> None:
    """Keep ``value`` in the notebook variable ``-o/--output NAME`` names (if given)."""
    if getattr(args, "output", None):
        user_namespace(magics)[args.output] = value


def keep_result(magics: Any, args: Any, value: Any, interrupted: bool = False, kept: str = "",
                left: str = "nothing is left on the server") -> None:
    """Store ``value`` (``-o NAME`` and ``jsmagic.last_result()``); an interrupted run then fails the cell.

    Failing is what stops Run All; the error line says what was ``kept`` and where it is.
    """
    keep(value)
    store_output(magics, args, value)
    if interrupted:
        name = getattr(args, "output", None)
        where = f"in {name}" if name else "in jsmagic.last_result()"
        raise InterruptedWithResult(f"{kept}; kept {where}; {left}", result=value)


def show_note(shell: Any, text: str) -> None:
    """A note under the cell: small HTML in a notebook (it is not the cell's printed text), a line in a terminal."""
    if hasattr(shell, "kernel"):
        import html

        from IPython.display import display

        display({"text/html": f"<div><small>{html.escape(text)}</small></div>"}, raw=True)
    else:
        print(text)


def present(magics: Any, args: Any, frame: Any) -> Any:
    """What a consume or publish cell returns, with its summary line shown either way.

    With ``-o NAME`` this cell shows only the summary, not the table (the variable displays
    in full in later cells).  When the frame is not displayed at all (``df = %js_consume …``,
    a trailing ``;``) the summary is displayed once the cell has run.
    """
    shell = getattr(magics, "shell", None)
    if shell is None or not getattr(frame, "summary", None):
        return frame
    count = shell.execution_count
    if getattr(args, "output", None):
        frame.quiet = count

    def after_cell(*_a):
        shell.events.unregister("post_execute", after_cell)
        if shell.execution_count == count and not getattr(frame, "shown", False):
            show_note(shell, frame.summary)

    shell.events.register("post_execute", after_cell)
    return frame
