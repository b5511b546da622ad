"""Core NATS, without JetStream: publish, subscribe, request (scatter-gather) and NATS micro services.

``nats pub``, ``nats sub``, ``nats request`` and ``nats micro`` in plain Python:
:mod:`.messages` (publish, request, collect), :mod:`.subscriber` (a live subscription
that a display follows), :mod:`.services` (``$SRV.PING/INFO/STATS``).  Every function
takes ``ctx=None`` (the current connection) and returns data.
"""
