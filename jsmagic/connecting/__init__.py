"""Connecting: where to (line, NATS_* environment, nats CLI contexts), opening it, refusals, the embedded server."""
