"""Store wiring: URLs, the eventsourcing environment, PostgreSQL and SQLite specifics, schema, locks, ciphers."""
