"""``python -m jsmagic``: the ``jsmagic`` command (:mod:`jsmagic.command.main`)."""

from .command.main import entry

if __name__ == "__main__":
    entry()
