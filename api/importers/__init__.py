"""Importers for the European Commission's public data: each record goes through the application's commands."""
