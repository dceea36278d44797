"""The dashboard's page over the test client: who may open it, what it loads (nothing from elsewhere), and the words
its script writes, in the reader's language, drawn from the catalogues and the pages' vocabulary."""

from __future__ import annotations

import json
import re
from html import unescape

from pages.dashboard import SCRIPT, script_messages
from pages.vocabulary import EVIDENCE_KIND_NAMES, STAGE_NAMES
from tests.pages.conftest import Pages
from tests.pages.test_catalogues import SAME_IN

WORDS = re.compile(r'<script type="application/json" id="dashboard-words">(.*?)</script>', re.S)


def words_of(response: object) -> dict:
    found = WORDS.search(response.get_data(as_text=True))  # type: ignore[attr-defined]
    assert found, "the page carries no words for its script"
    return json.loads(unescape(found.group(1)))


def test_the_dashboard_asks_for_a_sign_in_and_is_for_those_who_read_everything(pages: Pages) -> None:
    client = pages.client()
    assert client.get("/dashboard").headers["Location"].startswith("/login")
    pages.person("provider", "pia@example.org", organisation=pages.world.owner)
    pages.sign_in(client, "pia@example.org")
    refused = client.get("/dashboard")
    assert refused.status_code == 403
    assert "Not for your role" in refused.get_data(as_text=True)
    for role in ("analyst", "manager", "admin"):
        reader = pages.client()
        pages.person(role, f"{role}@example.org")
        pages.sign_in(reader, f"{role}@example.org")
        assert reader.get("/dashboard").status_code == 200, role


def test_the_dashboard_loads_only_what_this_app_serves(pages: Pages) -> None:
    client = pages.client()
    pages.person("analyst", "ann@example.org")
    pages.sign_in(client, "ann@example.org")
    page = client.get("/dashboard")
    html = page.get_data(as_text=True)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert "/dashboard/vendor/chart.js" in html
    assert "http://" not in html
    assert "https://" not in html
    # The only inline script is data, which the policy does not run.
    assert re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html) == [' type="application/json" id="dashboard-words"']
    chart = client.get("/dashboard/vendor/chart.js")
    assert b"Chart.js v4" in chart.data[:200]
    chart.close()


def test_every_message_of_the_script_is_extracted() -> None:
    """A `_("...")` inside a template literal would be missed by the extractor (and shown in English): every call in
    the script must be one the extractor finds."""
    calls = re.findall(r'\b_\("((?:[^"\\]|\\.)*)"', SCRIPT.read_text(encoding="utf-8"))
    assert len(calls) > 30
    assert set(calls) == set(script_messages())


def test_the_script_gets_its_words_in_the_readers_language(pages: Pages) -> None:
    client = pages.client()
    pages.person("analyst", "ausra@example.org", locale="lt")
    pages.sign_in(client, "ausra@example.org")
    words = words_of(client.get("/dashboard"))
    assert words["language"] == "lt"
    assert set(words["messages"]) == set(script_messages())
    assert words["messages"]["The portfolio now: %(total)s innovations."] == "Portfelis dabar: inovacijų %(total)s."
    untranslated = [m for m, text in words["messages"].items() if text == m and m not in SAME_IN["lt"]]
    assert not untranslated, untranslated
    assert set(words["stages"]) == set(STAGE_NAMES)
    assert words["stages"]["testing"] == "išbandymas"
    assert set(words["evidence"]) == set(EVIDENCE_KIND_NAMES)

    english = pages.client()
    pages.person("analyst", "ann@example.org")
    pages.sign_in(english, "ann@example.org")
    words = words_of(english.get("/dashboard"))
    assert words["messages"]["The portfolio now: %(total)s innovations."] == "The portfolio now: %(total)s innovations."
    assert words["stages"]["testing"] == "testing"
