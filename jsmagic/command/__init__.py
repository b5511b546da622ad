"""The ``jsmagic`` command line (``jsmagic export``, ``jsmagic replay``): see :mod:`jsmagic.command.main`."""
