"""The words every core watcher reports its state with, and every live view shows.

``live`` (answers arrive), ``reconnecting`` (the server, a leader or the watched thing is
away: the watcher keeps asking), ``paused`` (a paused consumer: fetching returns nothing),
``stopped`` (ended: by the user, ``%js_close``, or by itself with a note).  Watchers report
them through an ``on_status(status, note)`` callback; :mod:`jsmagic.ui.watchview` shows them.
"""

LIVE, RECONNECTING, PAUSED, STOPPED = "live", "reconnecting", "paused", "stopped"
