"""Uploaded files, as the API and the pages save them."""

from __future__ import annotations

from pathlib import Path

from werkzeug.utils import secure_filename


def saved_name(filename: str | None, suffix: str) -> str:
    """The name an uploaded file is saved under: its own, made safe, so that what an import reports names the
    uploader's file; `upload<suffix>` where making it safe leaves no name or loses the suffix (a name in Greek or
    Cyrillic letters), since the suffix says how the file is read."""
    safe = secure_filename(filename or "")
    return safe if Path(safe).suffix.lower() == suffix else f"upload{suffix}"
