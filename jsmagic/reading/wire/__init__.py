"""The bulk replay reader: its own NATS connection, frames parsed from the receive buffer in bulk."""
