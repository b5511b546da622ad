"""A stream or bucket as it was: time travel and diffs (core of ``--at``, ``diff``).

* :mod:`.snapshot`: the last message of each subject as of a point in the stream's
  history, read by batched direct get with ``multi_last`` + ``up_to_seq`` (ADR-31), paged
  to the end and split into groups of at most 1,024 subjects (the server's cap); a consumer
  replay through the read engine when the stream has no direct get;
* :mod:`.kvtime`: a bucket's keys, or one key, at a time or revision, and what changed
  between two points;
* :mod:`.streamtime`: a last-value stream's state at a point (``%js_consume --at``) and its
  per-subject diff.
"""
