"""Execute a notebook top to bottom in a real kernel (``python -m jsmagic.notebook IN OUT``).

Used by ``make demo`` and by the tests that run the course notebooks.  Any cell error
fails the run; the executed notebook (with outputs) is written to OUT.
"""

from __future__ import annotations

import sys
from pathlib import Path


def execute(path: str | Path, out: str | Path | None = None, timeout: int = 600, cwd: str | Path | None = None):
    """Run every cell of ``path`` in a fresh python3 kernel; return the executed notebook."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd or path.parent)}},
    )
    client.execute()
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out)
    return nb


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m jsmagic.notebook NOTEBOOK [OUT]", file=sys.stderr)
        return 2
    execute(argv[0], argv[1] if len(argv) > 1 else None)
    print(f"executed {argv[0]} without errors" + (f" -> {argv[1]}" if len(argv) > 1 else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
