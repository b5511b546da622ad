"""A real Jupyter kernel to run cells in, collecting what a frontend would see."""

from __future__ import annotations

import os
import queue
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from .shells import strip_ansi



@dataclass
class CellResult:
    """What a frontend received for one executed cell."""

    status: str
    stdout: str = ""
    stderr: str = ""
    result: str | None = None  # text/plain of the execute_result
    data: list[dict[str, Any]] = field(default_factory=list)  # execute_result + display_data bundles
    error: dict[str, Any] | None = None  # ename, evalue, traceback (ANSI stripped)
    comm: list[dict[str, Any]] = field(default_factory=list)  # comm_open/comm_msg contents
    messages: list[dict[str, Any]] = field(default_factory=list)
    prompts: list[dict[str, Any]] = field(default_factory=list)  # input requests the cell made

    @property
    def error_text(self) -> str:
        """The error as a notebook shows it (traceback lines joined)."""
        if not self.error:
            return ""
        return "\n".join(self.error["traceback"])

    @property
    def all_text(self) -> str:
        """Every text the cell produced: streams, result, displays, error."""
        parts = [self.stdout, self.stderr, self.result or "", self.error_text]
        for bundle in self.data:
            parts.extend(str(v) for v in bundle.values())
        return "\n".join(parts)


class KernelSession:
    """A real IPython kernel (``jupyter_client``) to run cells in, as a notebook would.

    ``env`` adds environment variables for the kernel process.  Use as a context
    manager; :meth:`run` executes a cell and returns a :class:`CellResult`.
    """

    def __init__(self, env: dict[str, str] | None = None, cwd: str | None = None, startup_timeout: float = 60):
        self.env = env or {}
        self.cwd = cwd
        self.startup_timeout = startup_timeout
        self.km = None
        self.kc = None
        self.comm_log: list[dict[str, Any]] = []

    def start(self) -> "KernelSession":
        from jupyter_client.manager import KernelManager

        env = dict(os.environ)
        env.update(self.env)
        env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        # IPC sockets (no TCP warning); an absolute path, since the kernel may run in another cwd
        self._ipc_dir = tempfile.mkdtemp(prefix="jsmagic-kernel-")
        self.km = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(self._ipc_dir, "ipc"))
        self.km.kernel_spec.argv[0] = sys.executable
        self.km.start_kernel(env=env, cwd=self.cwd)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=self.startup_timeout)
        return self

    @property
    def pid(self) -> int:
        return self.km.provisioner.pid if self.km.provisioner else self.km.kernel.pid

    def run(
        self, code: str, timeout: float = 120, allow_error: bool = False, stdin: list[str] | None = None
    ) -> CellResult:
        """Execute ``code``; raise ``AssertionError`` on error unless ``allow_error``.

        ``stdin`` answers the cell's ``input()``/``getpass()`` prompts in order (as a user
        typing in the frontend); the prompts are kept in ``CellResult.prompts``.
        """
        msg_id = self.kc.execute(code, allow_stdin=stdin is not None, stop_on_error=False)
        res = CellResult(status="?")
        answers = list(stdin or [])
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"cell did not finish in {timeout}s: {code[:80]!r}")
            if stdin is not None:
                self._answer_prompts(answers, res)
            try:
                msg = self.kc.get_iopub_msg(timeout=min(remaining, 1))
            except queue.Empty:
                continue
            self._record(msg, msg_id, res)
            if (
                msg["parent_header"].get("msg_id") == msg_id
                and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"
            ):
                break
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=timeout)
        res.status = reply["content"]["status"]
        if res.status == "error" and not allow_error:
            raise AssertionError(f"cell failed: {strip_ansi(res.error_text) or reply['content']}\n--- code:\n{code}")
        return res

    def _answer_prompts(self, answers: list[str], res: CellResult) -> None:
        """Reply to pending input requests with the next answers (the frontend's part)."""
        while True:
            try:
                req = self.kc.get_stdin_msg(timeout=0.01)
            except queue.Empty:
                return
            res.prompts.append({"prompt": req["content"]["prompt"], "password": req["content"].get("password", False)})
            self.kc.input(answers.pop(0) if answers else "")

    def _record(self, msg: dict[str, Any], msg_id: str, res: CellResult) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind.startswith("comm"):
            self.comm_log.append({"type": kind, **content})
        if msg["parent_header"].get("msg_id") != msg_id:
            return
        res.messages.append(msg)
        if kind == "stream":
            if content["name"] == "stdout":
                res.stdout += content["text"]
            else:
                res.stderr += content["text"]
        elif kind == "execute_result":
            res.result = content["data"].get("text/plain")
            res.data.append(content["data"])
        elif kind == "display_data":
            res.data.append(content["data"])
        elif kind == "error":
            res.error = {
                "ename": content["ename"],
                "evalue": content["evalue"],
                "traceback": [strip_ansi(t) for t in content["traceback"]],
            }
        elif kind.startswith("comm"):
            res.comm.append({"type": kind, **content})

    def drain_iopub(self, seconds: float = 0.5) -> None:
        """Collect messages that arrive while no cell runs (widget updates when idle)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                continue
            if msg["msg_type"].startswith("comm"):
                self.comm_log.append({"type": msg["msg_type"], **msg["content"]})

    def interrupt(self) -> None:
        """Interrupt the running cell, as the notebook's stop button does."""
        self.km.interrupt_kernel()

    def stop(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            self.km.shutdown_kernel(now=True)
        self.kc = self.km = None
        if getattr(self, "_ipc_dir", None):
            shutil.rmtree(self._ipc_dir, ignore_errors=True)

    @classmethod
    def isolated(cls, folder: Any) -> "KernelSession":
        """A kernel working in ``folder``, with a config folder of its own (no user's nats contexts)."""
        return cls(env={"XDG_CONFIG_HOME": os.path.join(str(folder), "xdg")}, cwd=str(folder))

    def value(self, expr: str) -> Any:
        """The value of ``expr`` in the kernel, through JSON (``default=str``): what a test compares."""
        import json

        res = self.run(f"import json as _j; print(_j.dumps({expr}, default=str))")
        return json.loads(res.stdout.strip().splitlines()[-1])

    def __enter__(self) -> "KernelSession":
        try:
            return self.start()
        except BaseException:  # a kernel that failed to start is still shut down (no process left behind)
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
