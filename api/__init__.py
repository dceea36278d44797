"""The HTTP API and the command-line tool: the outer layer that composes tracker and projections."""
