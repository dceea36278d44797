"""The pages' languages (Flask-Babel): the reader's own setting, else what the browser asks for, else English.

Every string a person reads on a page goes through gettext; dates and numbers are formatted by Babel for the
locale. The catalogues live in pages/translations and are compiled by `make install` (pybabel compile)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, request, session
from flask_babel import Babel, refresh
from flask_login import current_user

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
# The shipped languages, each named in itself (the switcher shows them so).
LANGUAGES = {"en": "English", "lt": "Lietuvių", "it": "Italiano"}
DEFAULT = "en"
# Where a reader who is not signed in keeps the language they picked.
SESSION_LANGUAGE = "language"
# The language of the person a page is for, when they are not signed in yet (flask.g).
READER_LANGUAGE = "reader_language"


def language_of(tag: str) -> str:
    """The language of a locale tag (pt-PT counts as pt)."""
    return tag.split("-")[0].lower()


def locale() -> str:
    """The reader's language: theirs if signed in (a tag such as pt-PT counts by its language), else the one they
    picked on the sign-in pages, else that of the person a page is for (`for_reader`), else the best of
    Accept-Language, else English."""
    if current_user.is_authenticated:
        chosen = language_of(current_user.locale)
        if chosen in LANGUAGES:
            return chosen
    picked = session.get(SESSION_LANGUAGE)
    if picked in LANGUAGES:
        return str(picked)
    # A page for one person not signed in yet (an invitation) reads in that person's language.
    meant_for = language_of(str(g.get(READER_LANGUAGE) or ""))
    if meant_for in LANGUAGES:
        return meant_for
    # Accept-Language in the reader's order of preference; a regional tag (it-IT) counts by its language.
    for tag, _quality in request.accept_languages:
        language = language_of(tag)
        if language in LANGUAGES:
            return language
    return DEFAULT


def for_reader(language: str) -> None:
    """This request's page is for a person in `language` who is not signed in (an invitation): it reads in their
    language, unless the browser picked another with the switcher."""
    g.setdefault(READER_LANGUAGE, language)
    refresh()


def install(app: Flask) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT
    Babel(app, locale_selector=locale)
