"""Field limits: the domain enforces them, and the API's schemas document and check the same numbers."""

from __future__ import annotations

from typing import NamedTuple


class Range(NamedTuple):
    """The inclusive bounds of a number."""

    low: int
    high: int


# Text a person writes.
NAME_MAX = 300  # titles and organisation names
TEXT_MAX = 5000  # summaries, descriptions, notes, rationales
LABEL_MAX = 80  # one theme or target group
LABELS_MAX = 20  # themes or target groups of one innovation
URL_MAX = 2000
IDENTIFIER_MAX = 20  # an organisation's PIC or OID
ID_MAX = 200  # an actor's id, a correlation id
COMMENT_MAX = 2000  # an assessment's comment on one criterion

# Innovations and their pilots.
READINESS = Range(1, 9)
PARTICIPANTS = Range(0, 1_000_000)
COMPLETION_RATE = Range(0, 1)
SATISFACTION = Range(0, 5)

# Ecosystems.
ACRONYM_MAX = 80
ECOSYSTEM_TITLE_MAX = 500
PROGRAMME_MAX = 120
ACTION_MAX = 200  # key action and action type
PROJECT_IDENTIFIER_MAX = 100
FIRST_CALL_YEAR = 1987  # the first Erasmus call
