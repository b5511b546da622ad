"""The nats stream / consumer / kv / object verbs as coroutines that return data, and the KV and object watchers."""
