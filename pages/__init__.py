"""The pages people read in a browser: the analysts' dashboard (static, over the JSON API)."""
