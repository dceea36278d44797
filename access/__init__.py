"""Who may act: API keys, stored hashed in the read-model database."""
