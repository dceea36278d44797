"""The outbox: what leaves the tracker (webhooks to other systems, e-mail to people), derived from the event log
exactly once and sent at least once."""
