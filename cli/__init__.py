"""The `tracker` command line and the worker process loops."""
