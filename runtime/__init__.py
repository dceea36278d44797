"""What one process runs: its settings from the environment, and the services built from them."""
