"""What every HTTP answer shares, pages and JSON API alike: request ids and logs, metrics, the read connection."""
