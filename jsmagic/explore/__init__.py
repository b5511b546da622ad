"""Exploring a stream's history: its payload schema and drift (``schema.py``, ``fields.py``, ``drift.py``,
``check.py``) and a browser's pages (``browse.py``).  Everything here reads without changing the stream."""
