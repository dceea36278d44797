"""Every message a page shows is translated in every shipped language, in the catalogue and in what was compiled
from it (`make install` compiles them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from babel.support import Translations

from pages.i18n import DEFAULT, LANGUAGES, TRANSLATIONS

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "lazy_pgettext": ((1, "c"), 2),
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def extracted() -> set[str | tuple[str, str]]:
    """The messages of the pages' Python and templates, as `make messages` extracts them (pages/babel.cfg): a text,
    or a (singular, plural) pair."""
    method_map = [
        ("pages/**.py", "python"),
        ("api/errors.py", "python"),
        ("pages/templates/**.html", "jinja2"),
        ("pages/static/dashboard.js", "javascript"),
    ]
    found: set[str | tuple[str, str]] = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


def placeholders(text: str | tuple[str, ...]) -> set[str]:
    return {name for part in ([text] if isinstance(text, str) else text) for name in PLACEHOLDER.findall(part)}


MESSAGES = extracted()
TRANSLATED = [code for code in LANGUAGES if code != DEFAULT]


def test_the_pages_have_messages_to_translate() -> None:
    assert len(MESSAGES) > 40
    assert "Sign in" in MESSAGES
    assert ("%(num)d assignment", "%(num)d assignments") in MESSAGES


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_the_same_placeholders(language: str) -> None:
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalogue = read_po(po, locale=language)
    missing, fuzzy, changed = [], [], []
    for message in MESSAGES:
        entry = catalogue.get(message if isinstance(message, str) else message[0])
        forms = [entry.string] if entry is not None and isinstance(entry.string, str) else list(entry.string or ())
        if entry is None or not forms or not all(forms):
            missing.append(message)
        elif entry.fuzzy:
            fuzzy.append(message)
        elif any(placeholders(form) != placeholders(message) for form in forms):
            changed.append(message)
    assert not missing, f"{language} lacks: {sorted(map(str, missing))}"
    assert not fuzzy, f"{language} has fuzzy translations: {sorted(map(str, fuzzy))}"
    assert not changed, f"{language} changes the placeholders of: {sorted(map(str, changed))}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalogue_is_current(language: str) -> None:
    compiled = Translations.load(str(TRANSLATIONS), [language])
    assert isinstance(compiled, Translations), f"no compiled catalogue for {language}: run make install"
    untranslated = [
        m
        for m in MESSAGES
        if (compiled.gettext(m) == m if isinstance(m, str) else compiled.ngettext(*m, 1) == m[0])
        and m not in SAME_IN[language]
    ]
    assert not untranslated, f"compiled {language} catalogue is out of date (make install): {untranslated}"


# Messages whose translation is the English word itself.
SAME_IN = {
    "lt": {"MPI", "MPI %(mpi)s", "%(name)s (%(innovations)s)"},
    "it": {
        "MPI",
        "Password",
        "MPI %(mpi)s",
        "video",
        "password",
        "Hash",
        "partner",
        "File",
        "%(name)s (%(innovations)s)",
        "E-mail",
        "Endpoint",
        ("%(num)d endpoint", "%(num)d endpoints"),
    },
}


def test_every_word_of_the_domain_has_a_name_on_the_pages() -> None:
    from pages.vocabulary import NAMED

    for kind, (domain, named) in NAMED.items():
        assert domain == named, (
            f"{kind}: the domain has {sorted(domain - named)}, the pages name {sorted(named - domain)}"
        )


def test_the_pages_say_each_import_refusal_with_the_importers_values() -> None:
    from importers.common import REASONS
    from pages.vocabulary import IMPORT_REASONS

    for code, english in REASONS.items():
        assert placeholders(str(IMPORT_REASONS[code])) == placeholders(english), code


def test_the_wtforms_messages_the_pages_translate_are_wtforms_own_word_for_word() -> None:
    """pages.forms names WTForms' own messages for the catalogues; one that WTForms no longer says (or says in other
    words) would leave what it says now in English."""
    import wtforms

    from pages.forms import WTFORMS_MESSAGES

    with (Path(wtforms.__file__).parent / "locale" / "wtforms.pot").open("rb") as source:
        theirs = {message.id for message in read_po(source) if message.id}
    ours = {
        (message._args[0], message._args[1]) if message._func.__name__ == "ngettext" else message._args[0]
        for message in WTFORMS_MESSAGES
    }
    assert ours <= theirs, ours - theirs
    assert ours <= MESSAGES
