"""Execute a notebook top to bottom in a real kernel (``python -m jsmagic.notebook IN OUT``).

Used by ``make demo`` and by the tests that run the course notebooks.  Any cell error
fails the run; the executed notebook (with outputs) is written to OUT, and an HTML
rendering beside it when nbconvert is installed (it comes with JupyterLab).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path


def execute(path: str | Path, out: str | Path | None = None, timeout: int = 600, cwd: str | Path | None = None):
    """Run every cell of ``path`` in a fresh python3 kernel; return the executed notebook."""
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    ipc_dir = tempfile.mkdtemp(prefix="jsmagic-nb-")
    # IPC sockets: nothing listens on TCP, and no "running over TCP without encryption" warning
    km = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(ipc_dir, "ipc"))
    try:
        client = NotebookClient(
            nb, km=km, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd or path.parent)}}
        )
        client.execute()
    finally:
        if km.has_kernel:  # we made the manager, so nbclient leaves the kernel to us
            km.shutdown_kernel(now=True)
        shutil.rmtree(ipc_dir, ignore_errors=True)
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out)
    return nb


def write_html(nb, out: str | Path) -> Path | None:
    """Render ``nb`` as HTML at ``out`` (None when nbconvert is not installed)."""
    try:
        from nbconvert import HTMLExporter
    except ImportError:
        return None
    body, _ = HTMLExporter().from_notebook_node(nb)
    Path(out).write_text(body, encoding="utf-8")
    return Path(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m jsmagic.notebook NOTEBOOK [OUT]", file=sys.stderr)
        return 2
    out = argv[1] if len(argv) > 1 else None
    nb = execute(argv[0], out)
    html = write_html(nb, Path(out).with_suffix(".html")) if out else None
    print(f"executed {argv[0]} without errors" + (f" -> {out}" if out else "") + (f" and {html}" if html else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
