"""Health checks with verdicts (``nats server check``): OK / WARN / CRIT, the measured value and the threshold.

:mod:`.verdicts` holds the rules (how a value and its thresholds make a verdict, and the
``io.nats.monitor.*`` metadata natscli reads); :mod:`.checks` measures a stream, a consumer,
a KV bucket, the JetStream account of a server, or the connection, and returns the table.
"""
