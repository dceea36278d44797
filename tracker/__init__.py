"""Innovation Ecosystem Tracker: the event-sourced domain (no web, no SQL)."""
