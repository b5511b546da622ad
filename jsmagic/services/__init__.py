"""The service layer: what every magic does, as plain coroutines for scripts, cells and the magics.

Grouped the way `nats` groups its verbs, and exposed on the package itself
(`jsmagic.streams.add`, `jsmagic.kv.watch`, `jsmagic.publish`…):

* `connection` — `connect`, `close`, `use`, `status`, `run`;
* `streams` — streams: `add`, `edit`, `info`, `ls`, `rm`, `purge`,
  `get`, `report`, `backup`, `restore`…;
* `consumers` — durable consumers: `add`, `info`, `ls`, `next`, `rm`…;
* `kv` — Key-Value buckets: `add`, `put`, `get`, `delete`, `history`,
  `ls`, `watch`…;
* `obj` — object stores: `add`, `put`, `get`, `ls`, `info`, `rm`;
* `counters` — distributed counters: `incr`, `decr`, `get`, `ls`;
* `messages` — `publish`, `replay`, `export`, `follow`;
* `publishing` — `publish`, and `publish_acks` (every ack, for a front-end that words them);
* `reading` — the reads behind `%js_consume` and the `jsmagic` command, returning the
  engine's whole `Replay` (`read`, `read_as`, `read_to`, `read_at`, `dry_run`);
* `finding` — `find` (which streams store a subject), `reset_plan`, `reset_since`.

Every service is a coroutine that takes a keyword-only `ctx=None`: the current
connection, a `JSContext`, or an alias name (`ctx="prod"`).
It returns data (DataFrames, dataclasses, numbers); a read that has something to say
carries its notes (`df.attrs["notes"]`) and warns them as
`ReadWarning`.  Live things (`kv.watch`, `follow`) are
async iterators that delete their consumer when the loop ends, breaks or is cancelled.
The words are the magics' words: durations like `"2h"`, sizes like `"10MB"`, NATS
subject wildcards, `{{Count}}` templates.
"""
