"""SQL read models built from the tracker's event log."""
