"""The kernel-independent heart: contexts and their registry, the runner, settings, errors, secrets, units."""
