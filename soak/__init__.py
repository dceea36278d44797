"""Reliability soak: real gunicorn and the projection worker on PostgreSQL, under load and injected faults.

Run it with `python -m soak --duration 180`. It prints a summary and exits non-zero when an acknowledged write
is missing from the event store, a read model differs from a clean rebuild, or the API misbehaves under faults.
"""
