"""Publishing to JetStream with every ack checked: a cell's lines, a DataFrame, any Python value.

* :mod:`.inputs` — the entry points ``publish_cell`` and ``publish_object``: every check first;
* :mod:`.templates`, :mod:`.sources` — a cell's text / a Python value as messages;
* :mod:`.capture` — which stream captures a subject (checked before sending);
* :mod:`.pipeline` — ``publish_prepared`` (stream checks, then send) and the pipelined send loop;
* :mod:`.acks` — collecting acks in a bounded window;
* :mod:`.expect` — ``--expect-*`` headers, chained message to message;
* :mod:`.result` — :class:`~.result.PublishResult`, the acks and counts as data.

How a result reads in a notebook (its summary line) is :mod:`jsmagic.ui.publish`.
"""
